import os
import subprocess

PHOTOS = "/srv/pets/photos"
CERTIFICATES = "/srv/pets/certificates"


def save_photo(pet_id, content):
    with open(os.path.join(PHOTOS, "%d.jpg" % pet_id), "wb") as photo:
        photo.write(content)


def certificate(name):
    return subprocess.check_output("openssl x509 -noout -subject -in " + CERTIFICATES + "/" + name + ".pem", shell=True)
