"""Open a report in headless Chromium, as an instructor's browser would: what is visible on
its first screen once its JavaScript has run (pytest-html renders the results with it),
and a screenshot.

Chromium runs with no network and a fresh profile each time. Run by hand on any report:

    .venv/bin/python -m suite.report.browser reports/offline.html     # writes reports/offline.png
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from localaws.system_tools import require_tool

PACKAGE = "chromium"  # Debian's; scripts/setup.sh installs it
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--proxy-server=127.0.0.1:9", "--window-size=1280,2400",
         "--virtual-time-budget=5000"]  # lets the report's scripts run before the DOM is read


def _chromium(report: Path, *action: str, timeout: float) -> str:
    binary = require_tool(["chromium"], PACKAGE)  # MissingSystemTool names the package
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *action, report.resolve().as_uri()],
                              capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def rendered_dom(report: Path, timeout: float = 120) -> str:
    return _chromium(report, "--dump-dom", timeout=timeout)


# Runs after the report's own scripts; writes what it sees into the DOM, which --dump-dom returns.
PROBE = """<script>window.addEventListener("load", () => setTimeout(() => {
  const seen = {};
  for (const [name, selector] of Object.entries(%s)) {
    const element = document.querySelector(selector);
    const box = element && element.getBoundingClientRect();
    seen[name] = element && {
      visible: box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== "hidden",
      onFirstScreen: box.top < window.innerHeight, text: element.innerText.slice(0, 2000)};
  }
  const out = document.createElement("pre");
  out.id = "browser-probe";
  out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
}, 0));</script>"""


def visible(report: Path, selectors: dict[str, str], timeout: float = 120) -> dict[str, dict | None]:
    """For each named CSS selector: is its element visible, on the first screen, and its text.

    The probe runs in a copy of the report beside it (same folder, same relative links)."""
    copy = report.with_name(f".{report.stem}.probe.html")
    copy.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE % json.dumps(selectors) + "</body>"),
                    encoding="utf-8")
    try:
        dom = rendered_dom(copy, timeout)
    finally:
        copy.unlink()
    found = re.search(r'<pre id="browser-probe">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError("the report's page never finished loading in chromium (no probe result)")
    return json.loads(html.unescape(found.group(1)))


def screenshot(report: Path, image: Path | None = None, timeout: float = 120) -> Path:
    """A PNG of the report's first screen, next to the report unless told otherwise."""
    image = (image or report.with_suffix(".png")).resolve()
    _chromium(report, f"--screenshot={image}", timeout=timeout)
    if not image.is_file():
        raise RuntimeError(f"chromium wrote no screenshot at {image}")
    return image


if __name__ == "__main__":
    for path in map(Path, sys.argv[1:]):
        verdict = visible(path, {"verdict": "#workshop-verdict"})["verdict"]
        shown = verdict["text"].splitlines()[0] if verdict and verdict["visible"] else "NO VERDICT VISIBLE"
        print(f"{path}: {shown}; screenshot: {screenshot(path)}")
