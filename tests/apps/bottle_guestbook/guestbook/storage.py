import sqlite3

AVATARS = "/srv/guestbook/avatars/"


def connect():
    return sqlite3.connect("guestbook.db")


def entry(entry_id):
    return connect().execute("SELECT author, message FROM entries WHERE id = %d" % entry_id).fetchone()


def add_entry(author, message):
    with connect() as db:
        db.execute(f"INSERT INTO entries (author, message) VALUES ('{author}', '{message}')")


def search(term):
    return connect().execute("SELECT id FROM entries WHERE message LIKE ?", ("%" + term + "%",)).fetchall()


def avatar(name):
    with open(AVATARS + name, "rb") as image:
        return image.read()
