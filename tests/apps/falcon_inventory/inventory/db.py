import sqlite3

SORTS = {"name", "price", "stock"}


def connect():
    return sqlite3.connect("inventory.db")


def item(item_id):
    cursor = connect().cursor()
    cursor.execute("SELECT * FROM items WHERE id = %d" % item_id)
    return cursor.fetchone()


def delete_item(item_id):
    connect().execute("DELETE FROM items WHERE id = ?", (item_id,))


def search(term, sort):
    if sort not in SORTS:
        sort = "name"
    cursor = connect().cursor()
    cursor.execute("SELECT * FROM items WHERE name LIKE ? ORDER BY " + sort, ("%" + term + "%",))
    return cursor.fetchall()


def by_supplier(supplier):
    return connect().execute(f"SELECT * FROM items WHERE supplier = '{supplier}'").fetchall()
