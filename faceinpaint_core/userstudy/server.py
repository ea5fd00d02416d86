"""``faceinpaint userstudy serve``: the participant-facing web server (Python's standard library, SQLite).

Routes:

* ``GET /`` — consent page and the study page (``participant.html``);
* ``POST /api/start`` ``{"consent": true}`` → ``{"token", "time_limit_s", "trials": [...]}`` (the participant's
  own trial and option order; option keys are anonymous, methods are never sent);
* ``POST /api/answer`` ``{"token", "trial", "choice", "scores": {feature: 1..5}}``;
* ``POST /api/submit`` ``{"token"}`` — ends the participation (once);
* ``GET /images/<file>.png`` — the study's images.

Every request is validated on the server: a body over :data:`MAX_BODY` bytes (413), malformed JSON (400), an
unknown participant (404), an unknown trial, a choice that is not one of the trial's options or a score out of
range (422), a replayed answer or second submission (409), an answer after the time limit (403). Nothing is
stored for a rejected request; an accepted answer is one SQLite transaction.
"""
from __future__ import annotations

import json
import secrets
import time
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path

from ..utils.http import BacklogServer, BodyError, JsonHandler, serve_until_signal
from .design import load_study, participant_view
from .store import Conflict, StudyStore

MAX_BODY = 64 * 1024
PAGE = Path(__file__).with_name("participant.html")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class StudyApp:
    """The study's logic, independent of HTTP (the handler below only parses and serialises)."""

    def __init__(self, study_dir: str | Path, clock=time.time, grace_s: float = 5.0):
        self.dir = Path(study_dir)
        self.study = load_study(self.dir)
        self.trials = {t["id"]: t for t in self.study["trials"]}
        self.store = StudyStore(self.dir / "responses.sqlite", clock)
        self.clock, self.grace_s = clock, grace_s  # grace: network latency allowed past the limit

    def start(self, body: dict) -> dict:
        if body.get("consent") is not True:
            raise ApiError(HTTPStatus.BAD_REQUEST, "consent is required to take part: send {\"consent\": true}")
        token = secrets.token_urlsafe(16)
        self.store.add_participant(token)
        view = participant_view(self.study, token)
        trials = [{"id": tid, "input": self.trials[tid]["input"], "scored": view.scored[tid],
                   "options": [{"key": k, "image": self.trials[tid]["options"][k]["image"]} for k in view.options[tid]]}
                  for tid in view.trials]
        return {"token": token, "time_limit_s": self.study["time_limit_s"], "features": self.study["features"],
                "score_range": self.study["score_range"], "questions": self.study["questions"], "trials": trials}

    def _participant(self, body: dict) -> tuple[str, dict]:
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(HTTPStatus.BAD_REQUEST, "missing participant token")
        p = self.store.participant(token)
        if p is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "unknown participant token")
        if p["submitted_at"] is not None:
            raise ApiError(HTTPStatus.CONFLICT, "this participant has already submitted")
        if self.clock() > p["started_at"] + self.study["time_limit_s"] + self.grace_s:
            raise ApiError(HTTPStatus.FORBIDDEN, f"the {self.study['time_limit_s']} s time limit has passed")
        return token, p

    def answer(self, body: dict) -> dict:
        token, _ = self._participant(body)
        tid = body.get("trial")
        if tid not in self.trials:
            raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"unknown trial {tid!r}")
        trial = self.trials[tid]
        choice = body.get("choice")
        if choice not in trial["options"]:
            raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"choice {choice!r} is not an option of trial {tid}")
        scores = body.get("scores")
        lo, hi = self.study["score_range"]
        if not isinstance(scores, dict) or set(scores) != set(self.study["features"]):
            raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"scores must give exactly {self.study['features']}")
        for feat, v in scores.items():
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"score for {feat!r} must be an integer {lo}-{hi}, "
                                                                f"got {v!r}")
        scored = participant_view(self.study, token).scored[tid]
        try:
            self.store.add_answer(token, tid, choice, scored, json.dumps(scores, sort_keys=True))
        except Conflict as exc:
            raise ApiError(HTTPStatus.CONFLICT, str(exc)) from None
        return {"stored": True}

    def submit(self, body: dict) -> dict:
        token, _ = self._participant(body)
        try:
            self.store.submit(token)
        except Conflict as exc:
            raise ApiError(HTTPStatus.CONFLICT, str(exc)) from None
        return {"submitted": True}

    ROUTES = {"/api/start": "start", "/api/answer": "answer", "/api/submit": "submit"}


class Handler(JsonHandler):
    app: StudyApp  # set on the subclass made by make_server
    server_version = "faceinpaint-userstudy"

    def do_GET(self):
        if self.path in ("/", "/index.html"):
            return self.send_bytes(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        if self.path.startswith("/images/") and self.path.endswith(".png"):
            name = self.path[len("/images/"):]
            if "/" in name or ".." in name or "\\" in name:
                return self.send_json(404, {"error": "not found"})
            path = self.app.dir / "images" / name
            if path.is_file():
                return self.send_bytes(200, path.read_bytes(), "image/png")
        return self.send_json(404, {"error": "not found"})

    def do_POST(self):
        action = StudyApp.ROUTES.get(self.path)
        if action is None:
            return self.send_json(404, {"error": f"no such endpoint {self.path}"})
        try:
            body = self.read_json_object(MAX_BODY)
            return self.send_json(200, getattr(self.app, action)(body))
        except (BodyError, ApiError) as exc:
            return self.send_json(int(exc.status), {"error": exc.message})


def make_server(study_dir, host: str = "127.0.0.1", port: int = 0, clock=time.time) -> ThreadingHTTPServer:
    """A ready (not yet serving) server; ``port=0`` picks a free port (``server.server_address``)."""
    app = StudyApp(study_dir, clock)
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = BacklogServer((host, port), handler)
    server.app = app
    return server


def serve(study_dir, host: str = "127.0.0.1", port: int = 8765) -> int:
    """Serve until SIGINT/SIGTERM; prints the URL when ready."""
    server = make_server(study_dir, host, port)
    try:
        serve_until_signal(server, f"faceinpaint userstudy: serving {study_dir}")
    finally:
        counts = server.app.store.counts()
        server.app.store.close()
    print(f"faceinpaint userstudy: stopped ({counts['participants']} participants, {counts['answers']} answers "
          f"stored)", flush=True)
    return 0
