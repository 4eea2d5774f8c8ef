import falcon

from .resources import ItemResource, LabelResource, LegacyResource, ReportResource, SearchResource, WebhookResource

app = falcon.App()
app.add_route("/items/{item_id:int}", ItemResource())
app.add_route("/search", SearchResource())
app.add_route("/reports/{name}", ReportResource())
app.add_route("/webhooks", WebhookResource())
app.add_route("/legacy", LegacyResource())
app.add_route("/labels", LabelResource())
