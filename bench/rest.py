"""REST throughput of `callcard serve`, beside a bare Starlette JSON endpoint measured in the same run.

    python bench/rest.py [--seconds 8] [--connections 16] [--runs 3]

Prints req/s for: the bare endpoint (the physical limit on this machine), `user.current`, and durable
`telephony.externalCall.register` + `finish` pairs, with the ratios the targets are stated in:

    user.current >= 0.6 x bare        register+finish >= 2,000 pairs/s

The load generator is wrk (Debian package `wrk`; the script installs it if missing), one thread, so it
takes one core and the server the other. Each figure is the median of `--runs` runs. Each run also
reports the server's CPU time per operation (from /proc), which a busy machine disturbs less.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
PY = sys.executable

REGISTER_FINISH_LUA = r"""
-- Alternate register and finish: every finished call was registered by this same thread.
local token = os.getenv("CC_TOKEN")
local pending = {}
local n = 0
request = function()
  local call_id = table.remove(pending)
  if call_id then
    return wrk.format("POST", "/rest/telephony.externalCall.finish", {["Content-Type"]="application/json"},
      '{"auth":"' .. token .. '","CALL_ID":"' .. call_id .. '","USER_ID":1,"DURATION":10}')
  end
  n = n + 1
  return wrk.format("POST", "/rest/telephony.externalCall.register", {["Content-Type"]="application/json"},
    '{"auth":"' .. token .. '","USER_ID":1,"PHONE_NUMBER":"+4930' .. string.format("%07d", n) ..
    '","TYPE":2,"SHOW":0}')
end
finished = 0
response = function(status, headers, body)
  local call_id = string.match(body, '"CALL_ID":"(externalCall%.[%w]+%.[%d]+)"')
  if string.find(body, '"ID"', 1, true) and string.find(body, '"CALL_DURATION"', 1, true) then
    finished = finished + 1
  elseif call_id and status == 200 then
    table.insert(pending, call_id)
  end
end
done = function(summary, latency, requests)
  io.write(string.format("errors %d\n", summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""

POST_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("CC_BODY") or "{}"
done = function(summary, latency, requests)
  io.write(string.format("errors %d\n", summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not come up")


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def run_wrk(wrk: str, url: str, script: str, seconds: int, connections: int, env: dict[str, str]) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", f.name, url],
            capture_output=True, text=True, env={**os.environ, **env}, check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    errors = int(re.search(r"errors (\d+)", out).group(1)) if "errors" in out else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if errors:
        print(f"  (wrk reported {errors} errors)")
    return rps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    wrk = ensure_wrk()
    load_before = f"{os.getloadavg()[0]:.2f}"

    data = Path(tempfile.mkdtemp(prefix="callcard-bench-"))
    port, bare_port = free_port(), free_port()
    server = subprocess.Popen(
        [PY, "-m", "callcard.cli", "serve", "--port", str(port), "--data", str(data), "--no-limits", "--no-demo"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen(
        [PY, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port), "--log-level", "warning",
         "--app-dir", str(HERE)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        wait_up(base + "/_callcard/health")
        wait_up(bare_url + "/json")
        creds = json.loads(subprocess.run(
            [PY, "-m", "callcard.cli", "app", "create", "--name", "bench", "--json", "--data", str(data)],
            capture_output=True, text=True, check=True).stdout)
        token = creds["access_token"]

        results: dict[str, list[float]] = {"bare": [], "user.current": [], "pairs": []}
        #: per run: (server CPU microseconds per operation, share of one core the server got)
        cpu: dict[str, list[tuple[float, float]]] = {key: [] for key in results}

        def measure(key: str, pid: int, per_op: int, url: str, script: str, env: dict[str, str]) -> None:
            cpu_before, wall_before = process_cpu(pid), time.monotonic()
            ops = run_wrk(wrk, url, script, args.seconds, args.connections, env) / per_op
            used, wall = process_cpu(pid) - cpu_before, time.monotonic() - wall_before
            results[key].append(ops)
            cpu[key].append((used / (ops * wall) * 1e6, used / wall))

        body = {"CC_BODY": json.dumps({"auth": token})}
        for _ in range(args.runs):  # interleaved, so drift hits every figure alike
            measure("bare", bare.pid, 1, bare_url + "/json", POST_LUA, body)
            measure("user.current", server.pid, 1, base + "/rest/user.current", POST_LUA, body)
            # Each pair is two requests: register, then finish of that call.
            measure("pairs", server.pid, 2, base, REGISTER_FINISH_LUA, {"CC_TOKEN": token})
        stats = httpx.get(base + "/_callcard/state", headers={"Authorization": f"Bearer {creds_token(data)}"},
                          timeout=30).json()
        finished = len(stats.get("call_stats", []))
    finally:
        for proc in (server, bare):
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    ratio = med["user.current"] / med["bare"]
    print(f"machine: {machine()}")
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, median of {args.runs} interleaved runs; "
          f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f}")
    for key, values in results.items():
        print(f"  runs {key:<13} " + "  ".join(f"{v:.0f}" for v in values))
    print("server CPU per operation (the steadier figure on a shared machine), and the share of a core it got:")
    for key, values in cpu.items():
        print(f"  cpu  {key:<13} " + "  ".join(f"{us:.0f} us ({share:.0%})" for us, share in values))
    print(f"bare Starlette JSON POST        {med['bare']:>9.0f} req/s")
    print(f"user.current (OAuth, JSON)      {med['user.current']:>9.0f} req/s   ratio {ratio:.2f} (target >= 0.60)")
    print(f"register+finish (durable)       {med['pairs']:>9.0f} pairs/s (target >= 2000)")
    print(f"finished calls recorded         {finished:>9d}")
    ok = ratio >= 0.6 and med["pairs"] >= 2000
    print("targets met" if ok else "targets NOT met")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores {model}, Python {sys.version.split()[0]}".strip()


def creds_token(data: Path) -> str:
    return (data / "control-token").read_text().strip()


if __name__ == "__main__":
    main()
