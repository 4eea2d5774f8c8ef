import sqlite3


def connect():
    return sqlite3.connect("pets.db")


def latest(limit):
    return connect().execute(f"SELECT id, name FROM pets ORDER BY id DESC LIMIT {limit}").fetchall()


def by_tag(tag, limit):
    sql = "SELECT id, name FROM pets WHERE tag = '%s' LIMIT %d" % (tag, limit)
    return connect().execute(sql).fetchall()


def pet(pet_id):
    return connect().execute("SELECT id, name, tag FROM pets WHERE id = ?", (pet_id,)).fetchone()


def add(name, tag):
    with connect() as conn:
        conn.execute("INSERT INTO pets (name, tag) VALUES (?, ?)", (name, tag))
