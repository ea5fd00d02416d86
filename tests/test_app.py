"""The web app without a browser: catalogue by task, decoding uploads, inpainting a photo, the HTTP API's errors."""
from __future__ import annotations

import base64
import http.client
import io
import json
import threading

import numpy as np
import pytest
from PIL import Image

from faceinpaint_core.app import service as S
from faceinpaint_core.app.server import make_app_server


def _data_url(arr: np.ndarray, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _face(size=64):
    from faceinpaint_core.data.synthetic import render_face

    return render_face(0, 1, size)[0]


def test_catalogue_lists_classical_and_tabs_follow_registered_tasks(monkeypatch, tmp_path):
    cat = S.methods_catalogue(tmp_path)
    names = [m["name"] for m in cat["inpaint"]]
    assert names[:3] == list(S.CLASSICAL) and "clgn" in names
    from faceinpaint_core import methods

    class FakeRestorer:
        task, label = "restore", "fake restorer"

    before = [m["name"] for m in S.methods_catalogue(tmp_path)["restore"]]
    monkeypatch.setitem(methods.METHODS, "fake-restorer", "x:y")
    monkeypatch.setattr(methods, "get_method_class", lambda n, _g=methods.get_method_class:
                        FakeRestorer if n == "fake-restorer" else _g(n))
    cat = S.methods_catalogue(tmp_path)
    fake = [m for m in cat["restore"] if m["name"] == "fake-restorer"]
    assert [m["name"] for m in cat["restore"]] == before + ["fake-restorer"]
    assert fake[0]["label"] == "fake restorer" and fake[0]["checkpoints"] == []
    with pytest.raises(S.UserError, match="no trained checkpoint"):
        S.run_task("restore", _face(), "fake-restorer", None, tmp_path)


def test_decode_rejects_non_images_and_downscales_large_ones():
    with pytest.raises(S.UserError, match="not an image"):
        S.decode_image("data:image/png;base64," + base64.b64encode(b"not an image").decode())
    with pytest.raises(S.UserError, match="base64"):
        S.decode_image("data:image/png;base64,@@@")
    big = np.zeros((1500, 300, 3), np.uint8)
    arr, notes = S.decode_image(_data_url(big))
    assert max(arr.shape[:2]) == S.MAX_SIDE and "downscaled" in notes[0]


def test_inpaint_photo_changes_only_the_hole(tmp_path):
    photo = _face(64)
    hole = np.zeros((64, 64), np.float32)
    hole[20:40, 24:44] = 1
    out, notes = S.inpaint_photo(photo, hole, "telea", results_dir=tmp_path)
    assert out.shape == photo.shape and (out[hole == 0] == photo[hole == 0]).all()
    assert not (out[hole > 0] == 128).all() and "training-free" in notes[0]
    with pytest.raises(S.UserError, match="empty"):
        S.inpaint_photo(photo, np.zeros_like(hole), "telea", results_dir=tmp_path)
    with pytest.raises(S.UserError, match="no trained checkpoint"):
        S.inpaint_photo(photo, hole, "clgn", results_dir=tmp_path)


@pytest.fixture()
def app(tmp_path):
    srv = make_app_server("127.0.0.1", 0, tmp_path)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _call(srv, method, path, body=None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    conn.request(method, path, body=None if body is None else json.dumps(body).encode(),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    out = r.status, json.loads(r.read())
    conn.close()
    return out


def test_http_api_inpaints_and_answers_bad_input_with_a_message(app):
    st, cat = _call(app, "GET", "/api/methods")
    assert st == 200 and "inpaint" in cat
    photo = _face(64)
    st, res = _call(app, "POST", "/api/inpaint", {"image": _data_url(photo), "mask_kind": "rect", "method": "biharmonic"})
    assert st == 200 and res["result"].startswith("data:image/png;base64,")
    st, res = _call(app, "POST", "/api/inpaint", {"image": "data:image/png;base64,aGVsbG8=", "mask_kind": "rect",
                                                  "method": "telea"})
    assert st == 400 and "not an image" in res["error"] and "Traceback" not in res["error"]
    st, res = _call(app, "POST", "/api/inpaint", {"image": _data_url(photo), "method": "telea"})
    assert st == 400 and "no mask" in res["error"]
    st, res = _call(app, "POST", "/api/inpaint", {"image": _data_url(photo), "mask_kind": "rect", "method": "nope"})
    assert st == 400 and "unknown inpaint method" in res["error"]
