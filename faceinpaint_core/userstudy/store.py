"""The study database: SQLite, one row per participant and one per answer, every write one transaction.

Constraints live in the schema as well as in the server's validation: an answer is unique per
(participant, trial), so a replayed request can never store a second copy even under concurrency.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    token TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    submitted_at REAL
);
CREATE TABLE IF NOT EXISTS answers (
    token TEXT NOT NULL REFERENCES participants(token),
    trial TEXT NOT NULL,
    choice TEXT NOT NULL,
    scored TEXT NOT NULL,
    scores TEXT NOT NULL,
    answered_at REAL NOT NULL,
    PRIMARY KEY (token, trial)
);
"""


class Conflict(Exception):
    """The write would break a rule (replayed answer, second submission)."""


class StudyStore:
    """A thread-safe handle on ``<study>/responses.sqlite`` (WAL journal; writes serialised by a lock)."""

    def __init__(self, path: str | Path, clock=time.time):
        self.path, self.clock = Path(path), clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, statements) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add_participant(self, token: str) -> float:
        now = self.clock()
        self._tx([("INSERT INTO participants (token, started_at) VALUES (?, ?)", (token, now))])
        return now

    def participant(self, token: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT started_at, submitted_at FROM participants WHERE token = ?",
                                   (token,)).fetchone()
        return None if row is None else {"started_at": row[0], "submitted_at": row[1]}

    def add_answer(self, token: str, trial: str, choice: str, scored: str, scores_json: str) -> None:
        try:
            self._tx([("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                       (token, trial, choice, scored, scores_json, self.clock()))])
        except sqlite3.IntegrityError:
            raise Conflict(f"trial {trial} was already answered by this participant") from None

    def submit(self, token: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute("UPDATE participants SET submitted_at = ? WHERE token = ? AND submitted_at IS NULL",
                                   (self.clock(), token))
            self._db.execute("COMMIT")
        if cur.rowcount != 1:
            raise Conflict("this participant has already submitted")

    def answers(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT a.token, a.trial, a.choice, a.scored, a.scores, a.answered_at, "
                                    "p.started_at, p.submitted_at FROM answers a JOIN participants p "
                                    "USING (token) ORDER BY a.token, a.answered_at").fetchall()
        keys = ("token", "trial", "choice", "scored", "scores", "answered_at", "started_at", "submitted_at")
        return [dict(zip(keys, r)) for r in rows]

    def counts(self) -> dict:
        with self._lock:
            n_p = self._db.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
            n_a = self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        return {"participants": n_p, "answers": n_a}
