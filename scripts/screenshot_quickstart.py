"""Take the README's quick-start screenshots from a real `callcard serve` with the demo softphone.

    .venv/bin/python scripts/screenshot_quickstart.py      # writes docs/quickstart/*.png

It does what the README tells a newcomer to do: start the server, open the login link, press
"Simulate incoming call", answer, and look at the timeline.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "quickstart"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="callcard-shots-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "callcard.cli", "serve", "--port", str(port),
                               "--demo-port", str(free_port()), "--data", str(data)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        login = ""
        for line in server.stdout:
            if "portal (admin)" in line:
                login = line.split()[-1]
            if line.startswith("Open the portal link"):
                break
        info = json.loads((data / "server.json").read_text())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            page.goto(login)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "1-portal.png"))
            page.click('[data-button="simulate-incoming"]')
            page.wait_for_selector('[data-callcard="card"][data-ui-state="incoming"]', timeout=10000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUT / "2-incoming.png"))
            page.click('[data-button="answer"]')
            page.wait_for_selector('[data-callcard="card"][data-ui-state="connected"]', timeout=10000)
            page.wait_for_timeout(3200)
            page.click('[data-button="mute"]')
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / "3-connected.png"))
            page.click('[data-button="hangup"]')
            page.wait_for_selector('[data-callcard="card"]', state="detached", timeout=10000)
            page.goto(info["url"] + "/inspector/")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "4-timeline.png"))
            browser.close()
        httpx.get(info["url"] + "/_callcard/health")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
