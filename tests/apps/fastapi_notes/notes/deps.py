import sqlite3

from fastapi import Header


def get_db():
    return sqlite3.connect("notes.db")


def current_user(x_user: str = Header(...)):
    return x_user
