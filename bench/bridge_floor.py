"""The floor under bench/bridge.py, without callcard: how long a frame -> page -> server -> page -> frame
round trip takes when the page and the server do nothing at all.

    python bench/bridge_floor.py [--calls 1000] [--rounds 10]

A bare Starlette app on the same uvicorn and loop as callcard (uvloop, the default WebSocket
implementation) serves a page on 127.0.0.1 with one iframe from localhost, in the system Chromium with the
end-to-end suite's flags. The frame times, with ``performance.now()``, alternating in ``--rounds`` blocks:

* **ping** — the frame posts a string to the page, which posts it straight back (bench/bridge.py's
  baseline);
* **via WebSocket** — the page forwards the string over its WebSocket, the server sends it back unchanged,
  and the page posts it to the frame: the least any host that keeps its state on a server can do;

and the page times its own bare WebSocket echo. If "via WebSocket" is already above 2.5x the ping, no
server-side card can meet bench/bridge.py's ratio target on this machine (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))
from e2e_support import SharedBrowser  # noqa: E402

PAGE = """<!doctype html><title>floor</title><script>
const ws = new WebSocket('ws://127.0.0.1:%(port)d/ws');
let waiting = null, own = null;
ws.onmessage = e => {
  if (own) { const r = own; own = null; r(); return; }
  waiting.source.postMessage('pong|' + e.data, waiting.origin);
};
addEventListener('message', e => {
  const [kind, body] = e.data.split('|');
  if (kind === 'ping') e.source.postMessage('pong|' + body, e.origin);
  else if (kind === 'ws') { waiting = {source: e.source, origin: e.origin}; ws.send(body); }
});
window.opened = new Promise(r => { ws.onopen = r; });
window.ownEcho = () => new Promise(r => { own = r; ws.send('x'); });
</script><iframe src="http://localhost:%(port)d/frame"></iframe>"""

FRAME = """<!doctype html><title>frame</title><script>
let answer = null;
addEventListener('message', () => { if (answer) { const r = answer; answer = null; r(); } });
const trip = kind => new Promise(r => { answer = r; parent.postMessage(kind + '|abc', '*'); });
window.run = async (n, rounds, warmup) => {
  for (let i = 0; i < warmup; i++) { await trip('ping'); await trip('ws'); }
  const out = {ping: [], ws: []}, per = Math.ceil(n / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['ping', 'ws']) {
      for (let i = 0; i < per; i++) {
        const t = performance.now(); await trip(kind); out[kind].push(performance.now() - t);
      }
    }
  }
  return out;
};
</script>"""

OWN_JS = """async n => {
  await window.opened;
  const out = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await ownEcho(); out.push(performance.now() - t); }
  return out;
}"""


def make_app(port: int) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE % {"port": port})

    async def frame(request: Request) -> HTMLResponse:
        return HTMLResponse(FRAME)

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[Route("/", page), Route("/frame", frame), WebSocketRoute("/ws", echo)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int) -> uvicorn.Server:
    # Both names resolve to loopback; the frame is cross-origin (localhost) as an app's frame would be.
    server = uvicorn.Server(uvicorn.Config(make_app(port), host="127.0.0.1", port=port, log_level="warning"))
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None

    def run() -> None:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(server.serve())

    threading.Thread(target=run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def median_p99(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(values):5.2f} ms  p99 {ordered[int(0.99 * (len(ordered) - 1))]:5.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    port = free_port()
    server = serve(port)
    browser = SharedBrowser()
    try:
        page = browser.get().new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        frame = page.wait_for_selector("iframe").content_frame()
        assert frame is not None
        frame.wait_for_function("typeof window.run === 'function'", polling=20)
        own = page.evaluate(OWN_JS, args.calls)
        out = frame.evaluate("([n, r, w]) => run(n, r, w)", [args.calls, args.rounds, args.warmup])
        version = browser.get().version
    finally:
        browser.stop()
        server.should_exit = True
    ratio = statistics.median(out["ws"]) / statistics.median(out["ping"])
    print(f"Chromium {version}, Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print(f"ping (frame -> page -> frame)                 {median_p99(out['ping'])}")
    print(f"via WebSocket (frame -> page -> ws -> frame)  {median_p99(out['ws'])}  {ratio:.2f}x ping")
    print(f"the page's own WebSocket echo                 {median_p99(own)}")


if __name__ == "__main__":
    main()
