"""CPU time per REST call inside the ASGI app, without sockets: the part of bench/rest.py callcard owns.

    python bench/asgi_cpu.py [--calls 3000] [--method user.current]

Calls the apps directly with in-memory ASGI messages and reports process CPU time per call (best of
three rounds), which a shared machine disturbs far less than wall-clock req/s. Measures the bare
Starlette endpoint of bench/bare_app.py, one OAuth REST method, and register+finish pairs. Under
``py-spy record -- python bench/asgi_cpu.py`` it shows where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_app import app as bare_app  # noqa: E402

from callcard.app import create_app  # noqa: E402
from callcard.control.operations import Operations  # noqa: E402
from callcard.settings import LimitSettings, Settings  # noqa: E402


async def call(app: Any, path: str, body: bytes) -> tuple[int, bytes]:
    """One POST through the ASGI app: (status, body)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8765"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8765), "state": {},
    }
    sent = False
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        return {}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    await app(scope, receive, send)
    return out[0]["status"], b"".join(m.get("body", b"") for m in out[1:])


async def cpu_per_call(one: Callable[[], Awaitable[None]], calls: int) -> float:
    """Best of three rounds of ``calls`` calls, in microseconds of process CPU per call."""
    for _ in range(min(200, calls)):
        await one()
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(calls):
            await one()
        best = min(best, time.process_time() - started)
    return best / calls * 1e6


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--method", default="user.current")
    args = ap.parse_args()

    data = tempfile.TemporaryDirectory(prefix="callcard-cpu-")  # removed when the script ends
    settings = Settings(data_dir=Path(data.name), limits=LimitSettings(enabled=False), demo=False)
    app = create_app(settings)
    token = Operations(app.state.services).create_app("bench", ["telephony", "user", "crm", "placement"])[
        "access_token"]
    auth = json.dumps({"auth": token}).encode()

    async def bare() -> None:
        assert (await call(bare_app, "/json", auth))[0] == 200

    async def method() -> None:
        assert (await call(app, f"/rest/{args.method}", auth))[0] == 200

    n = 0

    async def pair() -> None:
        nonlocal n
        n += 1
        status, body = await call(app, "/rest/telephony.externalCall.register", json.dumps(
            {"auth": token, "USER_ID": 1, "PHONE_NUMBER": f"+4930{n:07d}", "TYPE": 2, "SHOW": 0}).encode())
        call_id = json.loads(body)["result"]["CALL_ID"]
        status, body = await call(app, "/rest/telephony.externalCall.finish", json.dumps(
            {"auth": token, "CALL_ID": call_id, "USER_ID": 1, "DURATION": 10}).encode())
        assert status == 200, body

    print(f"bare Starlette JSON POST   {await cpu_per_call(bare, args.calls):7.1f} us CPU per call")
    print(f"{args.method:<26} {await cpu_per_call(method, args.calls):7.1f} us CPU per call")
    print(f"register+finish pair       {await cpu_per_call(pair, max(1, args.calls // 2)):7.1f} us CPU per pair")
    app.state.services.store.close()
    data.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
