"""moto's server, processing one request at a time.

The AWS services make each request atomic: a DynamoDB conditional write either sees the item as
it was or as another write left it, never both writers passing the same condition. moto's
in-memory backends take no lock, so under its threaded server two concurrent conditional
`PutItem`s can both succeed (seen here: two function instances both claiming one delivery). One
lock around each request gives moto the atomicity the real services guarantee; connections are
still accepted concurrently, and faults that delay answers live in the proxy, not here.

Usage: python moto_serial.py HOST PORT
"""

from __future__ import annotations

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class Serialized:
    """A WSGI app that runs the wrapped one for one request at a time."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # The backend's work happens in the call; the body is already built when it returns.
            return list(self.app(environ, start_response))


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, Serialized(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
