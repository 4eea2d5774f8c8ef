import base64
import pickle

from ariadne import MutationType, QueryType, make_executable_schema

type_defs = """
type Query { stats(kind: String!): String }
type Mutation { restore(blob: String!): Boolean }
"""

query = QueryType()
mutation = MutationType()


@query.field("stats")
def resolve_stats(_, info, kind):
    return eval("collect_" + kind + "()")


def resolve_restore(_, info, blob):
    state = pickle.loads(base64.b64decode(blob))
    return bool(state)


mutation.set_field("restore", resolve_restore)
schema = make_executable_schema(type_defs, query, mutation)
