"""The HTML report (``--format html``) in a real headless browser: Chromium from Debian's packages.

Run by ``make browser-test`` (``.ci/run`` calls it; it installs Chromium when missing and it can),
which sets ORIGIN_AUDITOR_BROWSER_TEST=1; ``make test`` skips these. Without Chromium under
``make browser-test`` they fail: CI must not pass without having looked.

How the page is checked, and why this way (robust, no reference image to drift):

1. ``chromium --dump-dom``: the DOM Chromium built from the page. The page's ``data-*`` hooks
   (``data-sent``, ``data-issuing``, ``data-path-end``, ``data-expiry``, ``data-code``) must be
   where the report says: a page the HTML parser restructured (a stray tag, bad nesting) fails.
2. ``chromium --screenshot``: the pixels. Each mark is painted in its own exact colour
   (``report_html.MARK_COLORS`` / ``BAR_COLORS`` / ``NOW_COLOR``); solid fills keep it exactly,
   so the test finds the painted regions and asserts on where they are relative to each other
   (the out-of-order marks in both columns, the expired bar left of "now", the valid ones right
   of it), not on fonts or exact positions, which vary with the machine.

Two reports: the demo's (the seed incident: wrong order -> OUTAGE, missing intermediate ->
LATENT, expiring in 5 days -> AT_RISK, healthy), whose top is the README's screenshot
(``make screenshot`` rewrites docs/html-report.png), and ``check`` of a real loopback origin
sending an expired leaf with its root before its intermediate.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from origin_auditor.cli import main
from origin_auditor.report_html import BADGE_COLORS, BAR_COLORS, MARK_COLORS, NOW_COLOR
from origin_auditor_lab.pki import NOW, Pki, issue
from origin_auditor_lab.servers import TlsServer
from unit.test_report_html import Page  # tests/ holds the packages unit and browser

from .png import Blob, Image, blobs, decode

ROOT = Path(__file__).resolve().parents[2]
README_SCREENSHOT = ROOT / "docs" / "html-report.png"
WIDTH = 1100
CHROMIUM_SECONDS = 60


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.environ.get("ORIGIN_AUDITOR_BROWSER_TEST") != "1":
        pytest.skip("run by `make browser-test`, which provides Chromium")
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("make browser-test: chromium not found (Debian: apt-get install chromium)")
    return found


def browse(chromium: str, page: Path, *args: str) -> str:
    """Run headless Chromium on ``page`` (a file URL: nothing served, nothing fetched)."""
    profile = page.parent / "profile"
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; the page is
    # our own static file, with no script, under a CSP of default-src 'none'.
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
           "--disable-sync", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
           *args, page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_SECONDS, check=False,
                          env={**os.environ, "HOME": str(page.parent)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(chromium: str, page: Path, height: int) -> tuple[Image, bytes]:
    shot = page.with_suffix(".png")
    browse(chromium, page, f"--window-size={WIDTH},{height}", f"--screenshot={shot}")
    data = shot.read_bytes()
    image = decode(data)
    assert (image.width, image.height) == (WIDTH, height)
    return image, data


def painted(image: Image, color: str) -> list[Blob]:
    return blobs(image.pixels_of(color))


def origin_of(attrs: dict[str, str | None], host: str) -> bool:
    return (attrs.get("data-origin") or "").startswith(host + ":")


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, err = io.StringIO(), io.StringIO()
    assert main(["demo", "--format", "html"], out=out, err=err) == 0, err.getvalue()
    page = tmp_path_factory.mktemp("demo") / "demo.html"
    page.write_text(out.getvalue(), encoding="utf-8")
    return page


def test_the_demo_report_renders_with_its_chains_marks_and_timeline(chromium: str, demo_page: Path) -> None:
    dom = Page(browse(chromium, demo_page, "--dump-dom"))
    assert [a["data-classification"] for a, _ in dom.with_attr("data-classification")] == \
        ["OUTAGE", "LATENT", "AT_RISK", "HEALTHY"]
    # api.demo sends leaf, root, intermediate: the last two marked, the issuing order beside them.
    sent = [a for a, _ in dom.with_attr("data-sent") if origin_of(a, "api.demo")]
    assert [a["data-marks"] for a in sent] == ["", "out-of-order", "out-of-order"]
    assert [a["data-issuing"] for a, _ in dom.with_attr("data-issuing") if origin_of(a, "api.demo")] == \
        ["1", "3", "2"]
    # assets.shop.demo lost its intermediate: the path ends with the missing issuer named.
    [(end, text)] = [(a, t) for a, t in dom.with_attr("data-path-end") if origin_of(a, "assets.shop.demo")]
    assert end["data-path-end"] == "incomplete" and "Intermediate 1" in text
    # images.demo expires in 5 days: on the timeline, as expiring.
    states = {a["data-state"] for a, _ in dom.with_attr("data-expiry") if origin_of(a, "images.demo")}
    assert "expiring" in states
    codes = {a["data-code"] for a, _ in dom.with_attr("data-code")}
    assert {"CHAIN_WRONG_ORDER", "CHAIN_INCOMPLETE", "CERT_EXPIRING_SOON"} <= codes


def test_the_demo_screenshot_shows_the_marks_in_both_columns(chromium: str, demo_page: Path) -> None:
    # The top of the page: the distributions, then the OUTAGE origin (api.demo, wrong order).
    image, data = screenshot(chromium, demo_page, 1600)
    outage = painted(image, BADGE_COLORS["OUTAGE"])
    assert outage, "no OUTAGE/FAIL badge painted"
    out_of_order = [b for b in painted(image, MARK_COLORS["out-of-order"]) if b.x1 - b.x0 > 30]
    # "out of order: belongs at #k" under #2 and #3 as sent (left column); "sent as #3" and
    # "sent as #2" in the issuing order (right column).
    middle = WIDTH // 2
    left = [b for b in out_of_order if b.x1 < middle]
    right = [b for b in out_of_order if b.x0 > middle]
    assert len(left) >= 2 and len(right) >= 2, out_of_order
    # The timeline: every bar of a valid certificate starts at "now" and runs right of it.
    now = painted(image, NOW_COLOR)
    valid = painted(image, BAR_COLORS["valid"])
    assert now and valid
    now_x = min(b.x0 for b in now)
    assert all(abs(b.x0 - now_x) <= 3 for b in valid if b.y1 - b.y0 < 20), (now_x, valid)
    if os.environ.get("ORIGIN_AUDITOR_UPDATE_SCREENSHOT") == "1":
        README_SCREENSHOT.write_bytes(data)


def test_an_expired_leaf_sent_out_of_order_by_a_real_origin(chromium: str, tmp_path: Path) -> None:
    pki = Pki(hostnames=("origin.test",))
    expired = issue("origin.test", pki.intermediates[0], not_before=NOW - dt.timedelta(days=100),
                    not_after=NOW - dt.timedelta(days=10), key=pki.leaf.key)
    roots = tmp_path / "root.pem"
    roots.write_bytes(pki.root_pem)
    with TlsServer([expired, pki.root, pki.intermediates[0]], key=pki.leaf.key) as server:
        out, err = io.StringIO(), io.StringIO()
        code = main(["check", f"origin.test:{server.port}", "--resolve", "origin.test=127.0.0.1",
                     "--ca-bundle", str(roots), "--format", "html"], out=out, err=err)
    assert code == 1, err.getvalue()
    page = tmp_path / "check.html"
    page.write_text(out.getvalue(), encoding="utf-8")

    dom = Page(browse(chromium, page, "--dump-dom"))
    sent = [a["data-marks"] for a, _ in dom.with_attr("data-sent")]
    assert sent == ["expired", "out-of-order", "out-of-order"]
    assert [a["data-state"] for a, _ in dom.with_attr("data-expiry")] == ["expired", "valid", "valid"]
    assert {"CERT_EXPIRED", "CHAIN_WRONG_ORDER"} <= {a["data-code"] for a, _ in dom.with_attr("data-code")}

    image, _ = screenshot(chromium, page, 1000)
    assert painted(image, MARK_COLORS["expired"]), "no 'expired' mark painted"
    assert len(painted(image, MARK_COLORS["out-of-order"])) >= 2
    now = painted(image, NOW_COLOR)
    expired_bar = painted(image, BAR_COLORS["expired"])
    valid_bars = painted(image, BAR_COLORS["valid"])
    assert now and len(expired_bar) == 1 and len(valid_bars) == 2, (now, expired_bar, valid_bars)
    now_x = min(b.x0 for b in now)
    # The expired leaf's bar ends at "now", on its left; the valid ones start there.
    assert expired_bar[0].x1 <= now_x + 1 and expired_bar[0].x1 >= now_x - 3
    assert all(now_x - 1 <= b.x0 <= now_x + 3 for b in valid_bars)
    # The expired bar is on the first timeline row (the leaf, #1 as sent).
    assert expired_bar[0].y0 < min(b.y0 for b in valid_bars)
