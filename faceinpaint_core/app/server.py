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

import logging
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np

from ..utils.http import BacklogServer, BodyError, JsonHandler, serve_until_signal
from . import service as S

PAGE = Path(__file__).with_name("app.html")
MAX_BODY = 40 * 1024 * 1024  # a large photo as base64
log = logging.getLogger("faceinpaint.app")


class AppHandler(JsonHandler):
    results_dir: str = "results"
    server_version = "faceinpaint-app"

    def do_GET(self):
        if self.path in ("/", "/index.html"):
            return self.send_bytes(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        if self.path == "/api/methods":
            return self.send_json(200, S.methods_catalogue(self.results_dir))
        return self.send_json(404, {"error": "not found"})

    def do_POST(self):
        routes = {"/api/inpaint": self._inpaint, "/api/restore": lambda b: self._task("restore", b),
                  "/api/frontalize": lambda b: self._task("frontalize", b)}
        if self.path not in routes:
            return self.send_json(404, {"error": f"no such endpoint {self.path}"})
        try:
            body = self.read_json_object(MAX_BODY)
        except BodyError as exc:
            return self.send_json(exc.status, {"error": exc.message if exc.status != 413 else
                                               f"the upload is over {MAX_BODY // (1024 * 1024)} MB"})
        try:
            return self.send_json(200, routes[self.path](body))
        except S.UserError as exc:
            return self.send_json(400, {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the page gets one line, the server log the details
            log.exception("request %s failed", self.path)
            return self.send_json(500, {"error": f"processing failed: {type(exc).__name__}: {str(exc)[:200]}"})

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


def make_app_server(host: str = "127.0.0.1", port: int = 0, results_dir: str | Path = "results") -> ThreadingHTTPServer:
    handler = type("BoundAppHandler", (AppHandler,), {"results_dir": str(results_dir)})
    return BacklogServer((host, port), handler)


def serve_app(host: str = "127.0.0.1", port: int = 7860, results_dir: str | Path = "results") -> int:
    """Serve until SIGINT/SIGTERM; prints the URL when ready. Binds this machine only unless ``host`` says
    otherwise; there is no public sharing."""
    server = make_app_server(host, port, results_dir)
    serve_until_signal(server, f"faceinpaint app: ready (methods and checkpoints from {results_dir})")
    print("faceinpaint app: stopped", flush=True)
    return 0
