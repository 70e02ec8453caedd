"""The demo softphone takes a call through the card, in the browser, against a real `callcard serve`.

`callcard serve` runs as a child process with its defaults (the demo app on, its origin on localhost).
The operator's portal page renders the demo's background frame; a simulated incoming call (control API
``POST /calls``) reaches the demo's PBX, the softphone registers it, and the card goes: incoming → answer
→ connected with a running timer → mute / hold → keypad → transfer → transfer connected → hang up, which
makes the softphone call ``telephony.externalCall.finish`` and the card close.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import CARD, SharedBrowser, frame_where, portal_login, wait_until

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True

OPERATOR = 2
NUMBER = "+4930555123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo:
    """A `callcard serve` child process and a client of its control API."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port, self.demo_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.demo_url = f"http://localhost:{self.demo_port}"
        self.log = data / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.control: httpx.Client | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "callcard.cli", "serve", "--data", str(self.data),
                 "--port", str(self.port), "--demo-port", str(self.demo_port)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/_callcard/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"callcard serve did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        info = json.loads((self.data / "server.json").read_text())
        assert info["demo_url"] == self.demo_url
        self.control = httpx.Client(base_url=f"{self.url}/_callcard", timeout=10,
                                    headers={"Authorization": f"Bearer {info['control_token']}"})

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        assert self.control is not None
        resp = self.control.request(method, path, json=body, params=params or None)
        assert resp.status_code == 200, resp.text
        return resp.json()

    # the shape CallcardServer.login_url has, for portal_login()
    def login_url(self, user_id: int) -> str:
        return str(self.call("POST", "/login-url", {"user_id": user_id})["url"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    server = Demo(tmp_path_factory.mktemp("callcard-serve"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_demo_softphone_takes_a_call_through_the_card(demo: Demo, browser: SharedBrowser) -> None:
    context, page = portal_login(browser.get(), demo, OPERATOR)
    try:
        run_the_call(demo, page)
    finally:
        context.close()


def run_the_call(demo: Demo, page: Any) -> None:
    frame = frame_where(page, lambda url: url.startswith(demo.demo_url + "/"))
    frame.wait_for_function(
        "(document.getElementById('log') || {textContent: ''}).textContent.includes('softphone ready for user 2')",
        polling=50, timeout=15000)
    # its event bindings are older than the bind guard: what the card does now reaches it at once
    page.wait_for_function("""() => { const b = callcardBridge.bindings;
        return b.length >= 15 && b.every(x => performance.now() - x.at > callcardPage.boot.guardMs + 30); }""",
                           polling=50)

    def state(name: str) -> None:
        page.wait_for_selector(f"{CARD}[data-ui-state='{name}']", state="attached")

    def status(text: str) -> None:
        page.wait_for_function("t => (document.querySelector(\"[data-callcard='card'] [data-role='status']\")"
                               " || {}).textContent === t", arg=text, polling=50)

    def click(button: str) -> None:
        page.click(f"{CARD} [data-button='{button}']")

    queued = demo.call("POST", "/calls", {"direction": "incoming", "phone_number": NUMBER, "user_id": OPERATOR})
    assert queued["queued_for"] == "demo"
    state("incoming")
    page.wait_for_selector(f"{CARD} [data-role='title']:text-is('Incoming call')")
    status(f"Ringing… {NUMBER}")

    click("answer")
    state("connected")
    status(f"Talking to {NUMBER}")
    timer = f"{CARD} [data-role='timer']"
    page.wait_for_selector(f"{timer}[data-running='true']", state="visible")
    page.wait_for_function(f"+document.querySelector(\"{timer}\").dataset.seconds >= 1", polling=100)
    assert re.fullmatch(r"Call duration 00:0\d", page.locator(timer).text_content() or "")

    click("mute")
    page.wait_for_selector(f"{CARD} [data-button='mute'][aria-pressed='true']")
    frame.wait_for_function("document.getElementById('log').textContent.includes('microphone off')", polling=50)
    click("hold")
    status("On hold")
    page.wait_for_selector(f"{CARD} [data-button='hold'][aria-pressed='true']")
    click("hold")
    status(f"Talking to {NUMBER}")

    click("dialpad")
    click("dialpad-5")
    status("Sent tone 5")
    page.click(f"{CARD} [data-action='popup-close']")

    click("transfer")
    click("transfer-target-3")
    state("transferring")
    status("Transferring to 3…")
    click("transferComplete")
    state("transferConnected")
    status("Transferred")

    click("hangup")
    page.wait_for_selector(CARD, state="detached")
    # the softphone reported the end of the call with telephony.externalCall.finish
    finishes = wait_until(lambda: [e for e in demo.call("GET", "/timeline", kind="rest")["entries"]
                                   if e.get("method") == "telephony.externalCall.finish"], what="finish")
    assert len(finishes) == 1 and finishes[0]["status"] == 200
    record = finishes[0]["payload"]["response"]["result"]
    assert record["PHONE_NUMBER"] == NUMBER and int(record["CALL_DURATION"]) >= 1
    assert demo.call("GET", f"/cards/{OPERATOR}") is None
    frame.wait_for_function("/finished, \\d+ s/.test(document.getElementById('log').textContent)", polling=50)
