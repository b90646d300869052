"""The report renders in a real browser: headless Chromium (driven over its DevTools pipe,
tests/py/cdp.py) loads index.html, takes a screenshot, and sees no console errors, no
uncaught exceptions, no failed loads, and every image decoded. A broken page checks that
the checker itself catches such problems. Skipped when Debian's chromium is not installed
(`make test` tries to install it: scripts/deps-test.sh)."""
import os
import struct

import pytest

import cdp

pytestmark = pytest.mark.skipif(not os.access(cdp.CHROMIUM, os.X_OK), reason="chromium not installed")


def url(path):
    return "file://" + os.path.abspath(path)


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "screenshot is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_renders_in_chromium(full_report, tmp_path):
    r = cdp.load_page(url(os.path.join(full_report, "index.html")), str(tmp_path / "profile"))
    assert r["errors"] == [], r["errors"]
    assert len(r["images"]) == 6, r["images"]
    for src, complete, width in r["images"]:
        assert complete and width > 0, f"{src} did not load"
    w, h = png_size(r["screenshot"])
    assert w >= 800 and h >= 2000, (w, h)  # the whole page, several figures tall
    assert len(r["screenshot"]) > 50_000
    (tmp_path / "screenshot.png").write_bytes(r["screenshot"])


def test_no_data_report_renders_in_chromium(empty_report, tmp_path):
    r = cdp.load_page(url(os.path.join(empty_report, "index.html")), str(tmp_path / "profile"))
    assert r["errors"] == [] and r["images"] == []
    assert png_size(r["screenshot"])[0] >= 800


def test_checker_catches_a_broken_page(full_report, tmp_path):
    """A missing image, a console.error and an exception must all be reported."""
    page = tmp_path / "broken.html"
    fig = os.path.join(full_report, "fig_split.png")
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>b</title></head><body>'
                    f'<img src="{url(fig)}"><img src="missing.png">'
                    f'<script>console.error("boom"); no_such_function();</script></body></html>')
    r = cdp.load_page(url(page), str(tmp_path / "profile"))
    text = "\n".join(r["errors"])
    assert "boom" in text and "Uncaught" in text and "missing.png" in text, r["errors"]
    widths = {os.path.basename(s): w for s, _, w in r["images"]}
    assert widths["missing.png"] == 0 and widths["fig_split.png"] > 0
