"""Make the README's pictures with dagrad's own commands (run from anywhere; needs Graphviz).

    .venv/bin/python scripts/make_readme_images.py

docs/images/rosenbrock-dag.svg and .png come from ``dagrad rosenbrock -o``; docs/images/
stepper.png is headless Chromium's screenshot of ``dagrad rosenbrock --html`` in the middle of
the backward pass (needs /usr/bin/chromium and the playwright package; never downloads one).
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

from dagrad.cli import main

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
STOP_AT = "∂v3/∂v2"  # the backward step shown: v̄3 · ∂v3/∂v2 = 100 · (2·v2 = −0.5) = −50


def dagrad(*args: str) -> None:
    """Run one ``dagrad`` command quietly; stop with its output if it fails."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    if code != 0:
        sys.exit(f"dagrad {' '.join(args)} failed ({code}):\n{out.getvalue()}")
    print(f"dagrad {' '.join(args)}")


def screenshot(page_path: Path, png: Path) -> None:
    """Open the stepper, go to the backward step STOP_AT, and save a screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 800}, device_scale_factor=1.5)
        page.goto(page_path.as_uri())
        page.click("#dg-backward-pass")
        while STOP_AT not in page.text_content("#dg-step-text"):
            if page.is_disabled("#dg-next"):
                sys.exit(f"no backward step mentions {STOP_AT}")
            page.click("#dg-next")
        page.wait_for_timeout(400)  # let the fade-in transitions finish
        page.screenshot(path=str(png))
        browser.close()
    print(f"screenshot {png}")


def run() -> None:
    """Write the three pictures under docs/images/."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    dagrad("rosenbrock", "-o", str(IMAGES / "rosenbrock-dag.svg"))
    dagrad("rosenbrock", "-o", str(IMAGES / "rosenbrock-dag.png"))
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "stepper.html"
        dagrad("rosenbrock", "--html", str(page))
        screenshot(page, IMAGES / "stepper.png")


if __name__ == "__main__":
    run()
