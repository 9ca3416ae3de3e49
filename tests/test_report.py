"""The run report: written at the end of training, self-contained, with the
config changes highlighted and the history of the run; opened in a real
headless browser (Chromium through Playwright), where it loads without
errors, shows its images and fetches nothing (a study's page is checked the
same way in test_studies.py)."""
import json
import os
import shutil

import numpy as np
import pytest

from genjax import report_html, run
from tests.conftest import ROOT, smoke

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_browser(path: str, screenshot: str):
  """(requests made, page errors, [complete, natural width] per image) of the
  page at `path`, and its full-page screenshot."""
  playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a test "
                                   "dependency (pip install -e .[test])")
  if not CHROMIUM:
    pytest.skip("No Chromium on this machine (Debian: apt-get install chromium; .ci/run "
                "installs it)")
  with playwright.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
        "--disable-component-update", "--disable-sync", "--disable-quic"])
    try:
      page = browser.new_page(viewport={"width": 1280, "height": 900})
      requests, errors = [], []
      page.on("request", lambda r: requests.append(r.url))
      page.on("pageerror", lambda e: errors.append(str(e)))
      page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
      page.goto("file://" + os.path.abspath(path))
      page.wait_for_load_state("load")
      imgs = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
      page.screenshot(path=screenshot, full_page=True)
    finally:
      browser.close()
  return requests, errors, imgs


def assert_shows_its_images_and_fetches_nothing(path, shot):
  requests, errors, imgs = open_in_browser(path, shot)
  assert not errors, errors
  assert [u for u in requests if not u.startswith("data:")] == [
      "file://" + os.path.abspath(path)]  # the page itself, nothing else
  assert imgs and all(done and width > 0 for done, width in imgs), imgs
  from PIL import Image
  pixels = np.asarray(Image.open(shot).convert("L"), np.float32)
  assert pixels.shape[0] > 900 and pixels.std() > 20  # not a blank page


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
  wd = str(tmp_path_factory.mktemp("report") / "gan")
  cfg = smoke("dcgan", num_steps=4, sample_every=2)
  origin = {"config": os.path.join(ROOT, "configs", "dcgan.py") + ":smoke",
            "overrides": {"train.sample_every": 2}}
  run.train_and_evaluate(cfg, wd, origin=origin)
  return wd


def test_training_writes_a_self_contained_report_with_config_changes_and_history(gan_run):
  html = open(os.path.join(gan_run, "report.html")).read()
  for section in ("Curves", "Samples over training", "Evaluation", "Data", "Config", "History"):
    assert f"<h2>{section}</h2>" in html
  assert "src=\"http" not in html and "<script" not in html and "<link" not in html
  assert html.count("data:image/png;base64,") >= 3  # curves and the two sample grids
  assert "1 of" in html and '<tr class="changed"><td><code>train.sample_every</code>' in html
  history = [json.loads(l) for l in open(os.path.join(gan_run, "history.jsonl"))]
  assert [h["event"] for h in history] == ["start", "end"]
  assert history[0]["origin"]["overrides"] == {"train.sample_every": 2}
  assert history[1]["step"] == 4


def test_the_run_report_renders_in_a_browser(gan_run, tmp_path):
  assert_shows_its_images_and_fetches_nothing(os.path.join(gan_run, "report.html"),
                                              str(tmp_path / "run.png"))


def test_a_directory_that_is_no_run_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="neither a genjax run"):
    report_html.write(str(tmp_path))
