"""Real clients against a real ``callcard serve``: the server runs as a child process on loopback.

Fixtures:

* ``served`` [session] — ``callcard serve --no-limits --no-demo`` over plain http on a free port in a
  temporary data directory; the SDK tests share it (limits off because every test in the session comes
  from 127.0.0.1 and would share one leaky bucket; ``test_serve_cli`` checks the default has them on);
* ``served_https`` [session] — a second server with ``--https``: plain http on ``url`` as always, and the
  same portal over TLS on ``https_url`` (local CA generated into its data dir);
* ``start_serve(*args, https=False)`` [function] — start another server (stopped after the test), e.g. to
  measure start-up or to see the default flags.

``Served`` wraps one process: its URLs, data dir and banner, ``cli(...)`` (runs ``callcard … --data DIR``),
``control`` (an httpx client with the control token, on ``url``), ``install_app`` and ``webhook``. SDKs
that need TLS (b24pysdk) go to ``https_url`` / ``https_domain``; the CLI and the control API keep ``url``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

#: the console script next to this interpreter (not a pyenv shim, which adds its own start-up time)
_SCRIPT = Path(sys.executable).with_name("callcard")
CALLCARD: list[str] = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "callcard.cli"]

#: the last line of the banner: once printed, the banner is complete
BANNER_END = "Open the portal link in a browser."
START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """One running ``callcard serve`` child process."""

    proc: subprocess.Popen[str]
    #: the plain http listener (control API, CLI, the URLs the server hands out)
    url: str
    data_dir: Path
    port: int
    https: bool
    spawned_at: float
    #: the TLS listener of ``--https`` (the same portal), else None
    https_url: str | None = None
    https_port: int | None = None
    #: seconds from spawn to the first successful answer of ``/_callcard/health`` (on every listener)
    ready_after_s: float = 0.0
    output: list[str] = field(default_factory=list)
    _control: httpx.Client | None = None

    # -- process --------------------------------------------------------------------------------------

    @property
    def banner(self) -> str:
        return "".join(self.output)

    def wait_banner(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while BANNER_END not in self.banner:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no complete banner; output so far:\n{self.banner}")
            time.sleep(0.02)
        return self.banner

    def stop(self) -> int | None:
        if self._control is not None:
            self._control.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    # -- trust ----------------------------------------------------------------------------------------

    @property
    def ca_bundle(self) -> Path:
        """The bundle ``callcard ca-path`` prints for this data dir (system CAs + the local CA)."""
        return self.data_dir / "tls" / "bundle.pem"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What a client of ``https_url`` verifies with: the bundle (True without ``--https``)."""
        return ssl.create_default_context(cafile=str(self.ca_bundle)) if self.https else True

    @property
    def https_domain(self) -> str:
        """``host:port`` of the TLS listener: what b24pysdk takes as ``domain``."""
        if self.https_port is None:
            raise AssertionError("this server was started without --https")
        return f"127.0.0.1:{self.https_port}"

    # -- CLI and control API ----------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, data: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``callcard ARGS --data DIR`` (``--data`` after the subcommand's own arguments)."""
        argv = [*CALLCARD, *args, *(["--data", str(self.data_dir)] if data else [])]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env={**os.environ, **(env or {})})
        if check and done.returncode != 0:
            raise AssertionError(f"{argv} exited {done.returncode}: {done.stderr}{done.stdout}")
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args).stdout)

    @property
    def token(self) -> str:
        return (self.data_dir / "control-token").read_text().strip()

    @property
    def control(self) -> httpx.Client:
        if self._control is None:
            self._control = httpx.Client(base_url=f"{self.url}/_callcard",
                                         headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        return self._control

    def install_app(self, name: str, scope: str = "telephony,placement,crm,user") -> dict[str, Any]:
        data: dict[str, Any] = self.cli_json("app", "create", "--name", name, "--scope", scope, "--json")
        return data

    def webhook(self, user_id: int = 1, scope: str = "telephony,placement,crm,user") -> str:
        data = self.cli_json("webhook", "create", "--user", str(user_id), "--scope", scope, "--json")
        return str(data["url"])


def _pump(stream: Any, sink: list[str]) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
    stream.close()


def spawn_serve(data_dir: Path, *args: str, https: bool = False, port: int | None = None,
                https_port: int | None = None, timeout: float = START_TIMEOUT_S) -> Served:
    """Start ``callcard serve`` and wait until ``/_callcard/health`` answers 200 on every listener
    (with ``https``: the plain one and the TLS one, on ``https_port`` or a free port).

    Polls as tightly as the machine allows (every 5 ms) so ``ready_after_s`` measures the server, not
    the probe.
    """
    port = port or free_port()
    if https:
        https_port = https_port or free_port()
    tls_args = ["--https", "--https-port", str(https_port)] if https else []
    argv = [*CALLCARD, "serve", "--host", "127.0.0.1", "--port", str(port), *tls_args, *args,
            "--data", str(data_dir)]
    spawned_at = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    served = Served(proc=proc, url=f"http://127.0.0.1:{port}", data_dir=data_dir, port=port, https=https,
                    spawned_at=spawned_at, https_url=f"https://127.0.0.1:{https_port}" if https else None,
                    https_port=https_port if https else None)
    threading.Thread(target=_pump, args=(proc.stdout, served.output), daemon=True).start()
    pending = [served.url, *([served.https_url] if served.https_url else [])]
    # Readiness only; trust is exercised by the tests (the CA may not exist before the first start).
    with httpx.Client(verify=False, timeout=1.0) as probe:
        while True:
            try:
                while pending and probe.get(f"{pending[0]}/_callcard/health").status_code == 200:
                    pending.pop(0)
                if not pending:
                    served.ready_after_s = time.perf_counter() - spawned_at
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.perf_counter() - spawned_at > timeout:
                served.stop()
                raise RuntimeError(f"callcard serve did not come up ({argv}):\n{served.banner}")
            time.sleep(0.005)
    return served


@contextlib.contextmanager
def serving(*args: str, https: bool = False, **kwargs: Any) -> Iterator[Served]:
    data_dir = Path(tempfile.mkdtemp(prefix="callcard-sdk-"))
    served = spawn_serve(data_dir, *args, https=https, **kwargs)
    try:
        served.wait_banner()
        yield served
    finally:
        served.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    with serving("--no-limits", "--no-demo") as s:
        yield s


@pytest.fixture(scope="session")
def served_https() -> Iterator[Served]:
    with serving("--no-limits", "--no-demo", https=True) as s:
        yield s


@pytest.fixture
def start_serve() -> Iterator[Callable[..., Served]]:
    """``start_serve(*args, https=False, data_dir=None)`` — another server, stopped after the test."""
    started: list[tuple[Served, bool]] = []

    def start(*args: str, https: bool = False, data_dir: Path | None = None, **kwargs: Any) -> Served:
        own = data_dir is None
        folder = data_dir or Path(tempfile.mkdtemp(prefix="callcard-sdk-"))
        s = spawn_serve(folder, *args, https=https, **kwargs)
        started.append((s, own))
        return s

    yield start
    for s, own in started:
        s.stop()
        if own:
            shutil.rmtree(s.data_dir, ignore_errors=True)
