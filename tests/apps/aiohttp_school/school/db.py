import aiopg

ALLOWED_SORTS = {"name", "grade", "enrolled"}


async def create_pool(dsn):
    return await aiopg.create_pool(dsn)


class StudentDao:
    def __init__(self, pool):
        self.pool = pool

    async def search(self, name_filter):
        async with self.pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute("SELECT id, name FROM students WHERE name LIKE '%%%s%%'" % name_filter.term)
                return await cur.fetchall()

    async def by_id(self, student_id):
        async with self.pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute(f"SELECT * FROM students WHERE id = {student_id}")
                return await cur.fetchone()

    async def by_login(self, username):
        async with self.pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute("SELECT id, password FROM users WHERE username = %s", (username,))
                return await cur.fetchone()

    async def ordered(self, sort):
        if sort not in ALLOWED_SORTS:
            raise ValueError(sort)
        async with self.pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute(f"SELECT id, name FROM students ORDER BY {sort}")
                return await cur.fetchall()
