"""What the project's two small web servers (``faceinpaint app``, ``faceinpaint userstudy serve``) share: JSON
responses, reading a bounded JSON body, a threaded server with a listen backlog, and serving until SIGINT/SIGTERM.
Python's standard library only."""
from __future__ import annotations

import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BodyError(Exception):
    """A request body that cannot be used: ``status`` and the message the client gets."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class JsonHandler(BaseHTTPRequestHandler):
    """Request handler with JSON replies and a bounded JSON-object body reader; quiet logging (no client
    addresses in the server's output)."""

    def log_message(self, fmt, *args):
        pass

    def send_bytes(self, status: int, payload: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def send_json(self, status: int, obj) -> None:
        self.send_bytes(status, json.dumps(obj).encode(), "application/json")

    def read_json_object(self, max_body: int) -> dict:
        """The body as a JSON object; :class:`BodyError` (411 no length, 413 over ``max_body`` -- the body is then
        not read --, 400 not a JSON object) otherwise."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BodyError(411, "a Content-Length header is required")
        if int(length) > max_body:
            self.close_connection = True
            raise BodyError(413, f"request body over {max_body} bytes")
        try:
            body = json.loads(self.rfile.read(int(length)))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BodyError(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BodyError(400, "the body must be a JSON object")
        return body


class BacklogServer(ThreadingHTTPServer):
    """Threaded server (daemon threads) with a listen backlog for bursts of clients (the stdlib default of 5
    resets connections when 20 arrive at once)."""

    request_queue_size = 128
    daemon_threads = True


def serve_until_signal(server: ThreadingHTTPServer, banner: str) -> None:
    """Print ``banner`` with the server's URL, serve until SIGINT/SIGTERM, then close the socket."""
    stop = threading.Event()

    def _stop(*_):
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    h, p = server.server_address[:2]
    print(f"{banner} at http://{h}:{p}/ (Ctrl-C or SIGTERM stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
