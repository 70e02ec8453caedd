"""Every setting callcard has, with the spec's defaults. Passed to constructors; no globals.

The defaults are those of ``shared/spec/README.md`` ("Defaults and decisions"). ``Settings.for_tests()``
gives the test profile: limits off, fast watchdog-free start, everything else as in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["Settings", "WatchdogSettings", "LimitSettings"]


@dataclass(frozen=True)
class WatchdogSettings:
    """Slow-handler watchdog (placements.md §4, README decision 1)."""

    enabled: bool = True
    threshold_ms: int = 5000
    strikes: int = 3
    window_s: float = 86400.0


@dataclass(frozen=True)
class LimitSettings:
    """Cloud rate limits (rest-api.md §6)."""

    enabled: bool = True
    bucket_capacity: int = 50
    drain_per_s: float = 2.0
    operating_limit_s: float = 480.0
    operating_window_s: float = 600.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".callcard")
    host: str = "127.0.0.1"
    port: int = 8765
    #: the primary listener itself is TLS (``CallcardServer(https=True)``); ``public_url`` is then https
    https: bool = False
    #: also serve the app over TLS on this port (``callcard serve --https``), next to the plain listener;
    #: OAuth payloads, webhooks and login links keep naming ``public_url``
    https_port: int | None = None
    #: public base URL of the portal as the browser sees it; derived from host/port/https when empty
    base_url: str = ""
    lang: str = "en"
    app_status: str = "L"
    durability: str = "normal"

    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 28 * 86400
    session_ttl_s: int = 12 * 3600
    login_link_ttl_s: int = 600

    auto_close_delay_s: float = 60.0
    bind_event_guard_ms: int = 1000
    dedup_window_s: float = 30 * 60
    card_restore_s: float = 15.0
    #: a registered call with no open card and no finish this long is reported as "register without finish"
    unfinished_call_grace_s: float = 60.0

    strict_handler_url: bool = False
    strict_placement_rest: bool = False
    enforce_scopes: bool = True
    invalid_credentials_status: int = 401

    delivery_policy: str = "once"  # 'once' (as the platform) or 'retry'
    delivery_timeout_s: float = 10.0
    delivery_max_attempts: int = 8

    journal_size: int = 5000  # timeline ring buffer; 0 switches it off

    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)

    demo: bool = True

    @property
    def protocol(self) -> int:
        return 1 if self.https else 0

    @property
    def public_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        scheme = "https" if self.https else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def uses_tls(self) -> bool:
        """Either listener speaks TLS: certificates are needed and delivery trusts the local CA."""
        return self.https or self.https_port is not None

    @property
    def https_url(self) -> str | None:
        """Base URL of the second, TLS listener (``https_port``), or None when there is none."""
        if self.https_port is None:
            return None
        return f"https://{self.host}:{self.https_port}"

    @property
    def domain(self) -> str:
        """host[:port] as in frame names, without :80/:443."""
        netloc = self.public_url.split("://", 1)[1]
        for default in (":80", ":443"):
            if netloc.endswith(default):
                netloc = netloc[: -len(default)]
        return netloc

    @property
    def db_path(self) -> Path:
        return Path(self.data_dir) / "callcard.sqlite3"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def for_tests(cls, data_dir: Path, **changes: object) -> Settings:
        base = cls(data_dir=Path(data_dir), limits=LimitSettings(enabled=False), demo=False)
        return replace(base, **changes)  # type: ignore[arg-type]
