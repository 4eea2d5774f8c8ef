import sqlite3


def connect():
    return sqlite3.connect("shop.db")


def find_products(term):
    cursor = connect().cursor()
    cursor.execute("SELECT * FROM products WHERE name LIKE '%" + term + "%'")
    return cursor.fetchall()


def product(product_id):
    cursor = connect().cursor()
    cursor.execute("SELECT * FROM products WHERE id = ?", (product_id,))
    return cursor.fetchone()
