"""Database helpers: one builds SQL by string formatting, one binds parameters."""

import sqlite3

DATABASE = "shop.db"


def connect():
    return sqlite3.connect(DATABASE)


def find_products(term):
    connection = connect()
    cursor = connection.cursor()
    query = "SELECT id, name FROM products WHERE name LIKE '%" + term + "%'"  # step[a]
    cursor.execute(query)  # sink[a]: CWE-89
    return cursor.fetchall()


def find_product_safely(term):
    connection = connect()
    cursor = connection.cursor()
    cursor.execute("SELECT id, name FROM products WHERE name LIKE ?", (f"%{term}%",))  # ok
    return cursor.fetchall()


def order_count(customer_id: int):
    cursor = connect().cursor()
    cursor.execute(f"SELECT COUNT(*) FROM orders WHERE customer = {int(customer_id)}")  # ok
    return cursor.fetchone()[0]
