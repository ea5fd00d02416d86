"""Browser tests with headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium).

Skipped, with the reason shown, where no browser is installed (`make test` installs it on Debian as root).
Set ``FACEINPAINT_UI_SHOTS=DIR`` to also save screenshots of both UIs (synthetic faces only).
"""
from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="no headless browser: install Debian's chromium + chromium-driver "
                                       "(make test does so as root)")
SHOTS = os.environ.get("FACEINPAINT_UI_SHOTS")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("selenium", reason="selenium is not installed (make setup installs the dev lock)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900",
                "--disable-gpu"):
        opts.add_argument(arg)
    downloads = tmp_path_factory.mktemp("downloads")
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait(cond, timeout=30.0, what="condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _shot(driver, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def test_participant_completes_a_study(browser, tmp_path):
    import torch
    from selenium.webdriver.common.by import By

    from faceinpaint_core.data.synthetic import SyntheticFaces
    from faceinpaint_core.eval.classical import ClassicalInpainter
    from faceinpaint_core.userstudy.design import build_study
    from faceinpaint_core.userstudy.server import make_server

    faces = SyntheticFaces(5, 64, seed=2, split="all")
    images = torch.stack([faces[i]["image"] for i in range(5)])
    masks = np.zeros((5, 64, 64), np.uint8)
    masks[:, 20:44, 16:48] = 1
    build_study(tmp_path, {m: ClassicalInpainter(m) for m in ("telea", "biharmonic")}, images, masks, n_trials=3,
                n_attention=2)
    srv = make_server(tmp_path, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{srv.server_address[1]}/")
        _shot(browser, "userstudy_consent")
        browser.find_element(By.ID, "agree").click()
        browser.find_element(By.ID, "start").click()
        for k in range(5):
            _wait(lambda: browser.find_element(By.ID, "progress").text == f"Question {k + 1} of 5", what=f"trial {k}")
            browser.find_elements(By.CSS_SELECTOR, ".opt")[0].click()
            for radio in browser.find_elements(By.CSS_SELECTOR, "input[type=radio][value='4']"):
                radio.click()
            if k == 0:
                _shot(browser, "userstudy_trial")
            browser.find_element(By.ID, "next").click()
        _wait(lambda: browser.find_element(By.ID, "done").is_displayed(), what="the thank-you page")
        counts = srv.app.store.counts()
        assert counts == {"participants": 1, "answers": 5}
        assert srv.app.store.participant(srv.app.store.answers()[0]["token"])["submitted_at"] is not None
    finally:
        srv.shutdown()
        srv.server_close()


def test_app_upload_draw_inpaint_download(browser, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from faceinpaint_core.app.server import make_app_server
    from faceinpaint_core.data.synthetic import render_face

    face = tmp_path / "face.png"
    Image.fromarray(render_face(0, 3, 256)[0]).save(face)
    srv = make_app_server("127.0.0.1", 0, tmp_path / "results")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{srv.server_address[1]}/")
        _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#method option"), what="the method list")
        browser.find_element(By.ID, "file").send_keys(str(face))
        _wait(lambda: browser.find_element(By.ID, "run").is_enabled(), what="the upload")
        Select(browser.find_element(By.ID, "method")).select_by_value("biharmonic")
        canvas = browser.find_element(By.ID, "paint")
        chain = ActionChains(browser).move_to_element_with_offset(canvas, -30, -10).click_and_hold()
        for dx in range(0, 60, 6):
            chain = chain.move_by_offset(6, 1)
        chain.release().perform()
        browser.find_element(By.ID, "run").click()
        _wait(lambda: browser.find_element(By.ID, "status").text == "done" or browser.find_element(By.ID, "error").text,
              what="the result")
        assert browser.find_element(By.ID, "error").text == ""
        result = browser.find_element(By.ID, "download").get_attribute("href")
        assert result.startswith("data:image/png;base64,")
        _shot(browser, "app_inpaint")
        browser.find_element(By.ID, "download").click()
        path = _wait(lambda: [p for p in browser.downloads.glob("*.png")], what="the download")[0]
        out = np.asarray(Image.open(path).convert("RGB"))
        assert out.shape == (256, 256, 3)
        assert base64.b64decode(result.split(",", 1)[1]) == path.read_bytes()
    finally:
        srv.shutdown()
        srv.server_close()
