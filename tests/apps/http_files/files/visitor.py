class Visitor:
    """Who is asking: read from the request once, shown on every page."""

    def __init__(self, handler):
        self.agent = handler.headers.get("User-Agent", "unknown")
        self.address = handler.client_address[0]

    def banner(self):
        return "<footer>Your browser: " + self.agent + "</footer>"
