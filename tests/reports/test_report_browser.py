"""report.html in a real browser: headless Chromium (the distribution's package; `.ci/run`
installs it) renders the page to a PNG that is not blank, every image loads, and the page
requests nothing outside the file. Skips, saying why, where no Chromium is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium installed (apt-get install chromium; .ci/run installs it)",
)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
PROBE = """<script>
addEventListener("load", () => {
  const imgs = [...document.images].map(i => i.complete && i.naturalWidth > 0);
  document.body.setAttribute("data-images", JSON.stringify(imgs));
});
</script></body>"""
SHOTS = os.environ.get("NNPARITY_SCREENSHOTS")  # a folder to keep the screenshot in


def chromium(page: Path, work: Path, *args: str) -> tuple[str, list[str]]:
    """Run Chromium on ``page`` with a fresh profile; return its stdout and the URLs the page
    requested over the network (the browser's own requests, with no page as initiator, are
    not the page's)."""
    profile = work / f"profile-{len(list(work.glob('profile-*')))}"
    net = profile.with_suffix(".net.json")
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={net}", *args]
    run = subprocess.run(
        [*cmd, page.resolve().as_uri()], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    log = json.loads(net.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]
    return run.stdout, urls


def check_page(page: Path, work: Path) -> tuple[Path, list[bool], list[str]]:
    """The screenshot's path, whether each image loaded, and the URLs the page requested."""
    shot = work / "report.png"
    _, urls = chromium(page, work, f"--screenshot={shot}", "--window-size=1280,1600")
    probe = work / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE))
    dom, more = chromium(probe, work, "--dump-dom", "--virtual-time-budget=10000")
    loaded = json.loads(dom.split('data-images="')[1].split('"')[0].replace("&quot;", '"'))
    return shot, loaded, urls + more


def not_blank(png: Path) -> bool:
    """At least 2% of the pixels differ from the page's background (its commonest colour)."""
    from PIL import Image

    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=img.width * img.height)
    top = max(n for n, _ in colours)
    return 1 - top / (img.width * img.height) > 0.02


def test_report_html_renders_with_every_image_and_no_request(report, tmp_path):
    shot, loaded, urls = check_page(report.files["html"], tmp_path)
    assert not_blank(shot)
    pngs = [n for n in report.files if n.endswith(".png")]
    assert len(loaded) == len(pngs) >= 3 and all(loaded), (loaded, pngs)
    assert urls == []
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(SHOTS) / "report.png")


def test_the_checks_catch_a_blank_page_a_broken_image_and_an_outside_request(tmp_path):
    good = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )  # one pixel
    page = tmp_path / "planted.html"
    page.write_text(
        f'<!DOCTYPE html><html><body><img src="{good}"><img src="http://192.0.2.1/x.png">'
        "</body></html>"
    )  # 192.0.2.1: TEST-NET-1, never routed
    shot, loaded, urls = check_page(page, tmp_path)
    assert not not_blank(shot)  # a white page with one pixel
    assert loaded == [True, False]
    assert set(urls) == {"http://192.0.2.1/x.png"}  # requested by both runs
