"""The CLI's workflow commands against a running `callcard serve`: call, press, report, reset."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.sdk


def test_call_press_and_reset(served: Any) -> None:
    app = served.install_app("cli workflow")
    out = served.cli("call", "incoming", "+4930600", "--user", "3", "--app", str(app["app_id"])).stdout
    assert "incoming call externalCall." in out and "user 3" in out
    served.control.post("/cards/3/state", json={"uiState": "connected"})

    pressed = served.cli("press", "mute", "--user", "3").stdout
    assert "pressed mute; card is now connected" in pressed
    assert served.control.get("/cards/3").json()["muted"] is True
    served.cli("press", "dialpad", "7", "--user", "3")
    names = [e["summary"] for e in served.control.get("/timeline", params={"kind": "event"}).json()["entries"]]
    assert "BackgroundCallCard::dialpadButtonClick" in names

    bad = served.cli("press", "answer", "--user", "3", check=False)  # not a button of `connected`
    assert bad.returncode != 0 and "Error" in bad.stderr

    assert served.cli("reset").stdout.strip() == "reset"
    assert served.control.get("/cards/3").json() is None


def test_report_exits_non_zero_only_on_errors(served: Any) -> None:
    served.cli("reset")
    clean = served.cli("report", check=False)
    assert clean.returncode == 0 and "no protocol mistakes seen" in clean.stdout

    app = served.install_app("report check")
    # A REST mistake is a warning: reported, exit code still 0.
    httpx.post(f"{served.url}/rest/telephony.externalCall.register", json={"auth": app["access_token"]})
    warned = served.cli("report", "--app", str(app["app_id"]), check=False)
    assert warned.returncode == 0 and "[warning]" in warned.stdout and "why:" in warned.stdout

    rows = json.loads(served.cli("report", "--app", str(app["app_id"]), "--json").stdout)["findings"]
    assert rows and all(f["severity"] == "warning" for f in rows)

    # An error-severity finding (a finish for a call never registered) makes it exit 1, for CI.
    httpx.post(f"{served.url}/rest/telephony.externalCall.finish",
               json={"auth": app["access_token"], "CALL_ID": "externalCall.nope.1", "USER_ID": 1})
    failed = served.cli("report", "--app", str(app["app_id"]), check=False)
    assert failed.returncode == 1 and "[error]" in failed.stdout
