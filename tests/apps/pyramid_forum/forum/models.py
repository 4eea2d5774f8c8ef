import sqlite3


def connect():
    return sqlite3.connect("forum.db")


def topic(topic_id):
    row = connect().execute(f"SELECT title, body FROM topics WHERE id = {topic_id}").fetchone()
    return {"title": row[0], "body": row[1]}


def search(term):
    cursor = connect().cursor()
    cursor.execute("SELECT title FROM topics WHERE title LIKE '%%%s%%'" % term)
    return cursor.fetchall()
