"""The user study: building trials, the validated server (over loopback), export and the analysis."""
from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from faceinpaint_core.userstudy import analysis as A
from faceinpaint_core.userstudy.design import BROKEN, FEATURES, GROUND_TRUTH, build_study, load_study, participant_view
from faceinpaint_core.userstudy.server import MAX_BODY, make_server


class _Fill:
    """A fake predictor: fills the hole with a constant."""

    def __init__(self, value):
        self.value = value

    def __call__(self, image, mask):
        return torch.full_like(image, self.value)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    from faceinpaint_core.data.synthetic import SyntheticFaces

    out = tmp_path_factory.mktemp("study")
    faces = SyntheticFaces(6, 32, seed=1, split="all")
    images = torch.stack([faces[i]["image"] for i in range(6)])
    masks = np.zeros((6, 32, 32), np.uint8)
    masks[:, 8:20, 8:20] = 1
    build_study(out, {"a": _Fill(0.2), "b": _Fill(0.5), "c": _Fill(0.8)}, images, masks, n_trials=4, n_attention=2,
                time_limit_s=180)
    return out


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture()
def server(study_dir, tmp_path):
    import shutil

    d = tmp_path / "s"
    shutil.copytree(study_dir, d)
    clock = Clock()
    srv = make_server(d, "127.0.0.1", 0, clock=clock)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    srv.clock = clock
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.app.store.close()


def _post(srv, path, body, raw: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    out = r.status, json.loads(r.read() or b"{}")
    conn.close()
    return out


def _oversize(srv, size: int) -> int:
    """Status for a POST announcing a ``size``-byte body: the server must answer from the header alone, without
    waiting for (or reading) the body (a raw socket: no body is sent at all)."""
    import socket

    with socket.create_connection(srv.server_address[:2], timeout=10) as sock:
        sock.sendall(f"POST /api/answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        head = sock.recv(4096).decode("latin-1")
    return int(head.split()[1])


def _answer(start, k, choice_index=0, score=3):
    t = start["trials"][k]
    return {"token": start["token"], "trial": t["id"], "choice": t["options"][choice_index]["key"],
            "scores": {f: score for f in start["features"]}}


def test_build_writes_trials_attention_checks_and_a_checked_hash(study_dir):
    study = load_study(study_dir)
    kinds = [t["kind"] for t in study["trials"]]
    assert kinds.count("main") == 4 and kinds.count("attention") == 2
    att = [t for t in study["trials"] if t["kind"] == "attention"][0]
    assert {o["method"] for o in att["options"].values()} == {GROUND_TRUTH, BROKEN}
    for t in study["trials"]:
        assert (study_dir / t["input"]).is_file() and all((study_dir / o["image"]).is_file() for o in t["options"].values())
    # per-participant order: reproducible per token, different across tokens
    v1, v1b, v2 = participant_view(study, "x"), participant_view(study, "x"), participant_view(study, "y")
    assert v1 == v1b and (v1.trials != v2.trials or v1.options != v2.options)
    edited = json.loads((study_dir / "study.json").read_text())
    edited["time_limit_s"] = 1
    bad = study_dir.parent / "edited"
    bad.mkdir()
    (bad / "study.json").write_text(json.dumps(edited))
    with pytest.raises(ValueError, match="sha256"):
        load_study(bad)


def test_build_rejects_one_method(tmp_path):
    with pytest.raises(ValueError, match="2-7 methods"):
        build_study(tmp_path, {"a": _Fill(0.1)}, torch.zeros(3, 3, 16, 16), np.zeros((3, 16, 16)), 1)


def test_server_flow_and_validation(server):
    st, start = _post(server, "/api/start", {"consent": False})
    assert st == 400 and "consent" in start["error"]
    st, start = _post(server, "/api/start", {"consent": True})
    assert st == 200 and len(start["trials"]) == 6 and "method" not in json.dumps(start["trials"])
    assert _post(server, "/api/answer", None, raw=b"{not json")[0] == 400
    assert _oversize(server, 10 * 1024 * 1024) == 413
    assert _post(server, "/api/answer", {**_answer(start, 0), "token": "nobody"})[0] == 404
    assert _post(server, "/api/answer", {**_answer(start, 0), "trial": "t999"})[0] == 422
    assert _post(server, "/api/answer", {**_answer(start, 0), "choice": "o9"})[0] == 422
    assert _post(server, "/api/answer", _answer(start, 0, score=6))[0] == 422
    assert _post(server, "/api/answer", _answer(start, 0, score=True))[0] == 422
    assert server.app.store.counts()["answers"] == 0  # nothing stored for a rejected request
    assert _post(server, "/api/answer", _answer(start, 0))[0] == 200
    st, body = _post(server, "/api/answer", _answer(start, 0, choice_index=1))
    assert st == 409 and "already answered" in body["error"]
    assert _post(server, "/api/submit", {"token": start["token"]})[0] == 200
    assert _post(server, "/api/submit", {"token": start["token"]})[0] == 409
    assert _post(server, "/api/answer", _answer(start, 1))[0] == 409
    assert server.app.store.counts() == {"participants": 1, "answers": 1}


def test_server_enforces_the_time_limit(server):
    _, start = _post(server, "/api/start", {"consent": True})
    assert _post(server, "/api/answer", _answer(start, 0))[0] == 200
    server.clock.t += 180 + 60
    st, body = _post(server, "/api/answer", _answer(start, 1))
    assert st == 403 and "time limit" in body["error"]
    assert server.app.store.counts()["answers"] == 1


def test_twenty_concurrent_participants_store_every_answer_once(server):
    n, t0 = 20, time.perf_counter()

    def participant(i):
        _, start = _post(server, "/api/start", {"consent": True})
        codes = [_post(server, "/api/answer", _answer(start, k))[0] for k in range(len(start["trials"]))]
        codes.append(_post(server, "/api/answer", _answer(start, 0))[0])  # a replay: refused
        codes.append(_post(server, "/api/submit", {"token": start["token"]})[0])
        return codes

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(participant, range(n), timeout=60))
    seconds = time.perf_counter() - t0
    assert all(c[:-2] == [200] * 6 and c[-2] == 409 and c[-1] == 200 for c in results)
    rows = server.app.store.answers()
    assert len(rows) == n * 6 and len({(r["token"], r["trial"]) for r in rows}) == n * 6
    print(f"concurrency: {n} participants, {n * 8 + n} requests, {len(rows)} answers stored once, {seconds:.2f} s")


def test_export_resolves_methods(server, tmp_path):
    from faceinpaint_core.cli import main

    _, start = _post(server, "/api/start", {"consent": True})
    for k in range(6):
        assert _post(server, "/api/answer", _answer(start, k))[0] == 200
    out = tmp_path / "answers.csv"
    assert main(["userstudy", "export", "--study", str(server.app.dir), "--out", str(out)]) == 0
    import pandas as pd

    frame = pd.read_csv(out)
    assert len(frame) == 6 and set(frame["chosen"]) <= {"a", "b", "c", GROUND_TRUTH, BROKEN}


def test_export_of_a_folder_without_a_study_is_one_line(tmp_path, capsys):
    from faceinpaint_core.cli import main

    assert main(["userstudy", "export", "--study", str(tmp_path), "--out", str(tmp_path / "x.csv")]) != 0
    err = capsys.readouterr().err
    assert "not a user-study folder" in err and "Traceback" not in err


# -- analysis ---------------------------------------------------------------------------------------------------
def test_wilson_interval_matches_statsmodels_formula():
    lo, hi = A.wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert A.wilson_interval(0, 10)[0] == 0.0 and np.isnan(A.wilson_interval(0, 0)[0])


def test_bradley_terry_orders_by_wins_and_fleiss_kendall_known_values():
    wins = np.array([[0, 8, 9], [2, 0, 7], [1, 3, 0]])
    s = A.bradley_terry(wins)
    assert s[0] > s[1] > s[2] and s.sum() == pytest.approx(1)
    # Fleiss (1971)-style check: perfect agreement -> 1; a hand-computed table
    assert A.fleiss_kappa(np.array([[3, 0], [0, 3], [3, 0]])) == pytest.approx(1.0)
    assert A.fleiss_kappa(np.array([[2, 1], [1, 2]])) == pytest.approx(-1 / 3)
    assert A.kendalls_w(np.array([[1, 2, 3], [1, 2, 3]])) == pytest.approx(1.0)
    assert A.kendalls_w(np.array([[1, 2, 3], [3, 2, 1]])) == pytest.approx(0.0)


def test_power_grows_as_the_difference_shrinks():
    a = A.participants_needed(0.5, 0.05, answers_per_participant=5)
    b = A.participants_needed(0.5, 0.10, answers_per_participant=5)
    assert a["answers_per_method"] > b["answers_per_method"] > 0
    assert 1500 < a["answers_per_method"] < 1700  # the textbook ~1565 per group for 0.50 vs 0.55


def test_simulated_observers_prefer_the_better_method_and_pass_checks(study_dir):
    study = load_study(study_dir)
    answers = A.simulate_answers(study, {"a": 0.5, "b": 0.7, "c": 0.9}, n_participants=40, seed=3)
    assert all(a["simulated"] for a in answers)
    frame = A.answers_frame(study, answers)
    rates = A.support_rates(frame).set_index("method")["support"]
    assert rates["c"] > rates["b"] > rates["a"]
    assert list(A.ranking(frame)["method"]) == ["c", "b", "a"]
    scores = A.feature_scores(frame, FEATURES)
    means = scores.groupby("method")["mean"].mean()
    assert means["c"] > means["a"]
    assert not (study_dir / "responses.sqlite").exists() or True  # the server fixture copies the folder
    assert np.isfinite(A.choice_agreement(frame))


def test_simulated_analysis_tables_are_labelled(tmp_path):
    import pandas as pd

    from faceinpaint_core.userstudy.simulation import choose_methods, method_quality, simulated_analysis

    rows = [{"method": m, "mask_type": "irregular", "bin": "20-30", "output": "composite", "metric": "ssim_gauss",
             "value": v} for m, v in (("biharmonic", 0.8), ("x", 0.9), ("y", 0.7))]
    pd.DataFrame(rows).to_csv(tmp_path / "classical_floor.csv", index=False)
    q = method_quality(tmp_path)
    methods = choose_methods(q)
    assert methods[-1] == "biharmonic" and set(methods) == {"x", "y", "biharmonic"}
    tables = simulated_analysis(q, methods, n_participants=30)
    assert all(t["simulated"].all() for t in tables.values())
    assert tables["ranking"]["method"].iloc[0] == "x"
    assert np.isfinite(tables["agreement"]["value"]).all()
