import falcon
import requests

from . import db, reports


class ItemResource:
    def on_get(self, req, resp, item_id):
        resp.media = db.item(item_id)

    def on_delete(self, req, resp, item_id):
        db.delete_item(item_id)
        resp.status = falcon.HTTP_204


class SearchResource:
    def on_get(self, req, resp):
        supplier = req.get_param("supplier")
        if supplier:
            resp.media = {"items": db.by_supplier(supplier)}
            return
        term = req.get_param("q") or ""
        resp.media = {"items": db.search(term, req.get_param("sort"))}


class ReportResource:
    def on_get(self, req, resp, name):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = reports.read(name)

    def on_post(self, req, resp, name):
        reports.rebuild(name)
        resp.media = {"rebuilt": name}


class WebhookResource:
    def on_post(self, req, resp):
        hook = req.get_media()
        requests.post(hook["callback"], json={"ok": True}, timeout=5)
        resp.media = {"registered": hook["callback"]}


class LegacyResource:
    def on_get(self, req, resp):
        raise falcon.HTTPFound(req.get_param("to"))


class LabelResource:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.text = "<span class='label'>" + req.get_param("text") + "</span>"

    def on_post(self, req, resp):
        # No type set: sent as the app's default media type (JSON).
        resp.text = req.get_param("text")
