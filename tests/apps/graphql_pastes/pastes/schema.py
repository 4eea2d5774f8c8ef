import os
import shlex

import graphene
import requests
from sqlalchemy import text

from .models import Paste, db
from .storage import write_export

LANGUAGES = ["python", "rust", "text"]


class PasteObject(graphene.ObjectType):
    id = graphene.Int()
    title = graphene.String()
    content = graphene.String()


class Query(graphene.ObjectType):
    pastes = graphene.List(PasteObject, keyword=graphene.String())
    paste = graphene.Field(PasteObject, id=graphene.Int())
    highlight = graphene.String(language=graphene.String(), code=graphene.String())

    def resolve_pastes(self, info, keyword=""):
        sql = f"SELECT id, title, content FROM paste WHERE title LIKE '%{keyword}%'"
        return db.session.execute(text(sql)).fetchall()

    def resolve_paste(self, info, id):
        return Paste.query.filter_by(id=id).first()

    def resolve_highlight(self, info, language, code):
        if language not in LANGUAGES:
            return ""
        return os.popen("pygmentize -l " + language + " -f html", "r").read()


class ImportPaste(graphene.Mutation):
    class Arguments:
        url = graphene.String(required=True)

    paste = graphene.Field(PasteObject)

    def mutate(root, info, url):
        content = requests.get(url, timeout=5).text
        paste = Paste(title=url, content=content)
        db.session.add(paste)
        db.session.commit()
        return ImportPaste(paste=paste)


class ExportPaste(graphene.Mutation):
    class Arguments:
        id = graphene.Int(required=True)
        filename = graphene.String(required=True)

    path = graphene.String()

    @staticmethod
    def mutate(root, info, id, filename):
        paste = Paste.query.get(id)
        return ExportPaste(path=write_export(filename, paste.content))


class PreviewPaste(graphene.Mutation):
    class Arguments:
        title = graphene.String()

    ok = graphene.Boolean()

    def mutate(root, info, title):
        os.system("notify-send " + shlex.quote(title))
        os.system("wall 'paste created: " + title + "'")
        return PreviewPaste(ok=True)


class Mutation(graphene.ObjectType):
    import_paste = ImportPaste.Field()
    export_paste = ExportPaste.Field()
    preview_paste = PreviewPaste.Field()


schema = graphene.Schema(query=Query, mutation=Mutation)
