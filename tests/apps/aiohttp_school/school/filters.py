class NameFilter:
    """The search form, read once from the query string."""

    def __init__(self, request):
        self.term = request.query.get("name", "")
        self.page = int(request.query.get("page", "1"))
