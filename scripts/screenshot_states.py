"""Render the call card in each of the 15 UiStates (plus folded, keypad, transfer, comment, rating,
app tabs and a 320 px phone) and write PNGs to docs/states/.

Usage: python scripts/screenshot_states.py [--out docs/states] [--only connected,folded]

Uses the static harness (tests/e2e/harness/card.html) with the package's card.js/card.css and the
system Chromium at /usr/bin/chromium (never `playwright install`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e" / "harness"))
sys.path.insert(0, str(ROOT / "tests"))  # spec_tables, which the harness reads

from card_harness import (  # noqa: E402  (the harness lives with the e2e tests)
    UI_STATES,
    launch,
    make_view,
    open_harness,
    render,
)
from playwright.sync_api import sync_playwright  # noqa: E402

DESKTOP = {"width": 1000, "height": 760}
PHONE = {"width": 320, "height": 640}

TABS = [
    {"id": "app-7", "title": "Helpdesk notes", "active": True},
    {"id": "app-9", "title": "Order history", "active": False},
]


def _fill_tab_body(page: Any) -> None:
    # The host puts an app iframe here; the screenshot shows a stand-in document instead.
    page.evaluate("""() => {
      const body = document.querySelector('[data-role="tab-body"]');
      const f = document.createElement('iframe');
      f.srcdoc = '<body style="margin:0;font:14px Arial,sans-serif;color:#334155;padding:20px">' +
        '<h3 style="margin:0 0 12px">Helpdesk notes</h3><p>Open tickets for +1 415 555 0142:</p>' +
        '<ul><li>#4411 Delivery delayed</li><li>#4380 Invoice copy requested</li></ul></body>';
      body.appendChild(f);
    }""")


def _open_dialpad(page: Any) -> None:
    page.click('[data-button="dialpad"]')
    for key in "2047#":
        page.click(f'[data-button="dialpad-{key}"]')


def _open_quality(page: Any) -> None:
    page.click('[data-button="qualityMeter"]')
    page.hover('[data-button="quality-4"]')


def _open_transfer(page: Any) -> None:
    page.click('[data-button="transfer"]')
    page.mouse.move(0, 0)


def _extra_shots() -> dict[str, tuple[dict[str, Any], Callable[[Any], None] | None, dict[str, int]]]:
    connected = make_view("connected")
    return {
        "folded": (make_view("connected", folded=True), None, DESKTOP),
        "dialpad": (connected, _open_dialpad, DESKTOP),
        "transfer": (connected, _open_transfer, DESKTOP),
        "quality": (connected, _open_quality, DESKTOP),
        "comment": (make_view("connected", muted=True, comment={
            "text": "Customer asks for a callback about order #4411 tomorrow morning.",
            "editorOpen": True}), None, DESKTOP),
        "tabs": (connected, _fill_tab_body, DESKTOP),
        "phone-320": (connected, None, PHONE),
        "phone-320-incoming": (make_view("incoming"), None, PHONE),
    }


def shoot(out: Path, only: set[str] | None) -> list[Path]:
    """Write the screenshots; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, dict[str, Any], Callable[[Any], None] | None, dict[str, int]]] = [
        (key, make_view(key), None, DESKTOP) for key in UI_STATES
    ]
    jobs += [(name, view, action, size) for name, (view, action, size) in _extra_shots().items()]
    written: list[Path] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            for name, view, action, size in jobs:
                if only and name not in only:
                    continue
                context = browser.new_context(viewport=size, device_scale_factor=1,
                                              reduced_motion="reduce")
                page = open_harness(context)
                tabs = TABS if name == "tabs" else []
                render(page, view, tabs)
                if action:
                    action(page)
                page.wait_for_timeout(50)
                path = out / f"{name}.png"
                page.screenshot(path=str(path), animations="disabled")
                written.append(path)
                context.close()
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "states")
    parser.add_argument("--only", default="", help="comma-separated shot names")
    args = parser.parse_args()
    only = {s for s in args.only.split(",") if s} or None
    for path in shoot(args.out, only):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
