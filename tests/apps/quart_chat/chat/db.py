import sqlite3


def connect():
    return sqlite3.connect("chat.db")


def history(room):
    cursor = connect().cursor()
    cursor.execute("SELECT author, text FROM messages WHERE room = '" + room + "' ORDER BY sent")
    return cursor.fetchall()


def members(room_id):
    cursor = connect().cursor()
    cursor.execute("SELECT name FROM members WHERE room_id = ?", (room_id,))
    return cursor.fetchall()
