from django.db import connection


def posts_with_tag(tag):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, title FROM blog_post WHERE tag = '%s'" % tag)
        return cursor.fetchall()


def posts_of_year(year):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, title FROM blog_post WHERE year = " + year)
        return cursor.fetchall()
