import subprocess

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter

from .storage import write_export


@strawberry.type
class Query:
    @strawberry.field
    def ping(self, host: str, count: int = 1) -> str:
        subprocess.run(["ping", "-c", str(count), "example.org"])
        return subprocess.check_output("ping -c 1 " + host, shell=True).decode()


@strawberry.type
class Mutation:
    @strawberry.mutation
    def save_snippet(self, name: str, body: str) -> str:
        return write_export(name, body)


graphql_app = GraphQLRouter(strawberry.Schema(query=Query, mutation=Mutation))
api = FastAPI()
api.include_router(graphql_app, prefix="/graphql")
