"""An identity provider of the tests, served on 127.0.0.1 in a thread of its own: a WSGI app
(its `app` method) that `with` starts and stops."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class LocalWSGIServer:
    def __init__(self):
        self.requests: list[str] = []  # "METHOD /path", in order
        self.server: WSGIServer = make_server("127.0.0.1", 0, self.app, handler_class=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def app(self, environ, start_response):
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
