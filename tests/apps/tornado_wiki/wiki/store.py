import sqlite3


def connect():
    return sqlite3.connect("wiki.db")


def page_by_id(page_id):
    cursor = connect().cursor()
    cursor.execute(f"SELECT title, body FROM pages WHERE id = {page_id}")
    return cursor.fetchone()


def search(term):
    cursor = connect().cursor()
    cursor.execute("SELECT title FROM pages WHERE body LIKE '%" + term + "%'")
    return cursor.fetchall()
