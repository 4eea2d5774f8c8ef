import requests

from . import db, files


def find_pets(tag=None, limit=20):
    if tag is None:
        return db.latest(limit)
    return db.by_tag(tag, limit)


def get_pet(pet_id):
    return db.pet(pet_id) or ({"detail": "not found"}, 404)


def add_pet(body):
    db.add(body["name"], body.get("tag"))
    return {"name": body["name"]}, 201


def import_photo(pet_id, source):
    photo = requests.get(source, timeout=10)
    files.save_photo(pet_id, photo.content)
    return None, 204


def certificate(name):
    return files.certificate(name)
