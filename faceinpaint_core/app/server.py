"""The web app's HTTP side (Python's standard library): one page and a small JSON API.

* ``GET /`` — the page (``app.html``): upload, brush or generated mask, method and checkpoint, before/after
  slider, download;
* ``GET /api/methods`` — every task's registered methods and their checkpoints (tabs show per task);
* ``POST /api/inpaint`` ``{"image", "mask" | "mask_kind", "method", "checkpoint"}`` →
  ``{"result", "masked", "notes"}`` (images as PNG data URLs);
* ``POST /api/restore`` / ``POST /api/frontalize`` ``{"image", "method", "checkpoint"}`` → ``{"result", "notes"}``.

Bad input (not an image, no mask, unknown method, a body over :data:`MAX_BODY`) is answered with a 4xx and one
message shown in the page; an unexpected failure is logged on the server and the page gets a one-line message,
never a traceback.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from . import service as S

PAGE = Path(__file__).with_name("app.html")
MAX_BODY = 40 * 1024 * 1024  # a large photo as base64
log = logging.getLogger("faceinpaint.app")


class AppHandler(BaseHTTPRequestHandler):
    results_dir: str = "results"
    server_version = "faceinpaint-app"

    def log_message(self, fmt, *args):
        log.debug(fmt, *args)

    def _send(self, status: int, payload: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def do_GET(self):
        if self.path in ("/", "/index.html"):
            return self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        if self.path == "/api/methods":
            return self._json(200, S.methods_catalogue(self.results_dir))
        return self._json(404, {"error": "not found"})

    def do_POST(self):
        routes = {"/api/inpaint": self._inpaint, "/api/restore": lambda b: self._task("restore", b),
                  "/api/frontalize": lambda b: self._task("frontalize", b)}
        if self.path not in routes:
            return self._json(404, {"error": f"no such endpoint {self.path}"})
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return self._json(411, {"error": "a Content-Length header is required"})
        if int(length) > MAX_BODY:
            self.close_connection = True
            return self._json(413, {"error": f"the upload is over {MAX_BODY // (1024 * 1024)} MB"})
        try:
            body = json.loads(self.rfile.read(int(length)))
            if not isinstance(body, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            return self._json(400, {"error": "the request is not a JSON object"})
        try:
            return self._json(200, routes[self.path](body))
        except S.UserError as exc:
            return self._json(400, {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the page gets one line, the server log the details
            log.exception("request %s failed", self.path)
            return self._json(500, {"error": f"processing failed: {type(exc).__name__}: {str(exc)[:200]}"})

    def _inpaint(self, body: dict) -> dict:
        photo, notes = S.decode_image(body.get("image"), "photo")
        shape = photo.shape[:2]
        if body.get("mask_kind"):
            hole = S.generated_mask(str(body["mask_kind"]), shape, int(body.get("seed", 0)))
        else:
            hole = S.decode_mask(body.get("mask"), shape)
        out, more = S.inpaint_photo(photo, hole.astype(np.float32), str(body.get("method", "")),
                                    body.get("checkpoint"), self.results_dir)
        masked = photo.copy()
        masked[hole > 0] = 128
        return {"result": S.encode_png(out), "masked": S.encode_png(masked), "notes": notes + more}

    def _task(self, task: str, body: dict) -> dict:
        photo, notes = S.decode_image(body.get("image"), "photo")
        out, more = S.run_task(task, photo, str(body.get("method", "")), body.get("checkpoint"), self.results_dir)
        return {"result": S.encode_png(out), "notes": notes + more}


class _Server(ThreadingHTTPServer):
    """Threaded server with a listen backlog for bursts of participants (the stdlib default of 5 resets
    connections when 20 arrive at once)."""

    request_queue_size = 128


def make_app_server(host: str = "127.0.0.1", port: int = 0, results_dir: str | Path = "results") -> ThreadingHTTPServer:
    handler = type("BoundAppHandler", (AppHandler,), {"results_dir": str(results_dir)})
    server = _Server((host, port), handler)
    server.daemon_threads = True
    return server


def serve_app(host: str = "127.0.0.1", port: int = 7860, results_dir: str | Path = "results") -> int:
    """Serve until SIGINT/SIGTERM; prints the URL when ready. Binds this machine only unless ``host`` says
    otherwise; there is no public sharing."""
    server = make_app_server(host, port, results_dir)
    stop = threading.Event()

    def _stop(*_):
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    h, p = server.server_address[:2]
    print(f"faceinpaint app: ready at http://{h}:{p}/ (methods and checkpoints from {results_dir}; Ctrl-C or "
          f"SIGTERM stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("faceinpaint app: stopped", flush=True)
    return 0
