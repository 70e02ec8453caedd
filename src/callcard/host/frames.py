"""App frame descriptors and the layouts they create (wire-protocol.md §1–§3, §7.1, §7.3).

A *descriptor* is everything the page needs to insert one app frame: the iframe's name and id, the hidden
form (action URL with the query fields, POST body fields), the app's origin for the postMessage checks,
the getInitData reply (answered in the page, without a server round trip) and the placement's interface.

Every render makes a fresh APP_SID and fresh tokens, and registers a *layout* (``Layout``): the server's
record of which app, user, placement and page an APP_SID belongs to. Commands the page relays to the
server name their APP_SID; the server trusts only layouts of the page's own user.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..domain.events import BACKGROUND_EVENTS, CALL_CARD_EVENTS
from ..domain.uistate import CALL_CARD_COMMANDS, LISTED_STATES, PAGE_BACKGROUND_WORKER_COMMANDS
from ..services import Services

__all__ = [
    "ALLOW",
    "DEFAULT",
    "DENIED_NON_DEFAULT",
    "GENERIC_COMMANDS",
    "LOCAL_REPLIES",
    "FrameFactory",
    "Layout",
    "LayoutRegistry",
    "PageContext",
    "app_origin",
    "interface_for",
]

DEFAULT = "DEFAULT"
ALLOW = "geolocation *; microphone *; camera *; autoplay *;"

#: the generic commands of wire-protocol.md §8 (placementBindEvent is added for non-DEFAULT placements)
GENERIC_COMMANDS: tuple[str, ...] = (
    "getInitData",
    "refreshAuth",
    "getInterface",
    "resizeWindow",
    "setTitle",
    "setScroll",
    "setUserOption",
    "setAppOption",
    "setInstall",
    "setInstallFinish",
    "reloadWindow",
    "imCallTo",
    "imPhoneTo",
    "imOpenMessenger",
    "imOpenHistory",
    "openApplication",
    "closeApplication",
    "openPath",
    "selectUser",
    "selectAccess",
    "selectCRM",
)

#: placement commands whose reply never depends on the card or the server: the page answers them by itself
#: (no WebSocket round trip) and then tells the server with a ``used`` notice, which marks the card used as
#: the command would have (call-card.md §8.2). CallCardGetListUiStates: the 12 states, no guard (§2).
LOCAL_REPLIES: dict[str, dict[str, Any]] = {
    "PAGE_BACKGROUND_WORKER": {"CallCardGetListUiStates": list(LISTED_STATES)},
}

#: commands every non-DEFAULT placement refuses (silently), wire-protocol.md §6
DENIED_NON_DEFAULT: tuple[str, ...] = ("setTitle", "setScroll", "reloadWindow")

CRM_TAB_PLACEMENTS = (
    "CRM_DEAL_DETAIL_TAB",
    "CRM_LEAD_DETAIL_TAB",
    "CRM_CONTACT_DETAIL_TAB",
    "CRM_COMPANY_DETAIL_TAB",
)


def interface_for(placement: str) -> dict[str, Any]:
    """The placement's interface as the page's bridge uses it.

    ``commands``/``events`` are what getInterface answers (placement-specific commands only, §7.3);
    ``denied`` are the generic commands this placement ignores; ``bindable`` says whether
    placementBindEvent exists (not for DEFAULT); ``local``: the replies the page gives by itself
    (``LOCAL_REPLIES``).
    """
    if placement == "PAGE_BACKGROUND_WORKER":
        commands, events = list(PAGE_BACKGROUND_WORKER_COMMANDS), list(BACKGROUND_EVENTS)
    elif placement == "CALL_CARD":
        commands, events = list(CALL_CARD_COMMANDS), list(CALL_CARD_EVENTS)
    elif placement in CRM_TAB_PLACEMENTS:
        commands, events = ["reloadData"], []
    else:
        commands, events = [], []
    denied = [] if placement == DEFAULT else list(DENIED_NON_DEFAULT)
    return {
        "commands": commands,
        "events": events,
        "denied": denied,
        "bindable": placement != DEFAULT,
        "local": dict(LOCAL_REPLIES.get(placement, {})),
        # no placement callcard renders is shown in a popup, so resizeWindow is never denied here
        "popup": False,
    }


def app_origin(handler: str) -> str:
    """scheme://host[:port] of a handler URL, as a browser spells ``event.origin`` (default port dropped)."""
    parts = urlsplit(handler)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme == "http" and port == 80) or (scheme == "https" and port == 443):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class PageContext:
    """What a render knows about the page as the browser sees it."""

    domain: str  # host[:port] without :80/:443
    protocol: int  # 0 http, 1 https
    uri: str  # path + query of the portal page

    @property
    def base_url(self) -> str:
        return ("https" if self.protocol else "http") + "://" + self.domain

    @classmethod
    def from_request(cls, scheme: str, netloc: str, uri: str) -> PageContext:
        domain = netloc
        for default in (":80", ":443"):
            if domain.endswith(default):
                domain = domain[: -len(default)]
        return cls(domain=domain, protocol=1 if scheme in ("https", "wss") else 0, uri=uri)


@dataclass
class Layout:
    """The server's record of one rendered frame (one APP_SID)."""

    sid: str
    app_id: int
    user_id: int
    placement: str
    page_id: str
    handler: str
    row_id: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    #: insertion -> first onload, as the page measured it (None until the frame has loaded)
    load_ms: float | None = None


class LayoutRegistry:
    """APP_SID -> Layout, grouped by page; thread-safe (REST threads and the event loop both read it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sid: dict[str, Layout] = {}

    def add(self, layout: Layout) -> None:
        with self._lock:
            self._by_sid[layout.sid] = layout

    def get(self, sid: str) -> Layout | None:
        with self._lock:
            return self._by_sid.get(sid)

    def drop(self, sid: str) -> Layout | None:
        with self._lock:
            return self._by_sid.pop(sid, None)

    def for_page(self, page_id: str) -> list[Layout]:
        with self._lock:
            return [lay for lay in self._by_sid.values() if lay.page_id == page_id]

    def drop_page(self, page_id: str) -> int:
        with self._lock:
            gone = [sid for sid, lay in self._by_sid.items() if lay.page_id == page_id]
            for sid in gone:
                del self._by_sid[sid]
            return len(gone)

    def all(self) -> list[Layout]:
        with self._lock:
            return list(self._by_sid.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_sid)


class FrameFactory:
    """Renders frame descriptors: fresh APP_SID and tokens per render, one layout registered each."""

    def __init__(self, services: Services, layouts: LayoutRegistry) -> None:
        self.s = services
        self.layouts = layouts

    def render(
        self,
        ctx: PageContext,
        *,
        page_id: str,
        app_id: int,
        user_id: int,
        placement: str,
        handler: str,
        options: dict[str, Any],
        row_id: int | None = None,
        title: str = "",
        extra_query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One descriptor (JSON-ready) for a frame of ``app_id`` shown to ``user_id`` in ``placement``."""
        s = self.s
        app = s.directory.apps.get_app(app_id)
        if app is None:
            raise LookupError(f"app {app_id} does not exist")
        is_admin = s.directory.is_admin(user_id)
        sid = s.ids.hex(16)
        pair = s.directory.tokens.issue_tokens(app_id, user_id)
        member_id = s.directory.member_id
        status = app.status or s.settings.app_status

        query: dict[str, str] = {
            "DOMAIN": ctx.domain,
            "PROTOCOL": str(ctx.protocol),
            "LANG": s.settings.lang,
            "APP_SID": sid,
        }
        if extra_query:
            query.update(extra_query)
        action = handler + ("&" if "?" in handler else "?") + urlencode(query)
        options_json = json.dumps(options, separators=(",", ":"), ensure_ascii=False) if options else "{}"
        fields = {
            "AUTH_ID": pair.access_token,
            "AUTH_EXPIRES": str(pair.expires_in),
            "REFRESH_ID": pair.refresh_token,
            "SERVER_ENDPOINT": ctx.base_url + "/oauth/",
            "APPLICATION_TOKEN": app.application_token,
            "APPLICATION_SCOPE": ",".join(app.scopes),
            "member_id": member_id,
            "status": status,
            "PLACEMENT": placement,
            "PLACEMENT_OPTIONS": options_json,
        }
        init_data = {
            "LANG": s.settings.lang,
            "DOMAIN": ctx.domain,
            "PROTOCOL": ctx.protocol,
            "PATH": "/rest",
            "AUTH_ID": pair.access_token,
            "AUTH_EXPIRES": int(pair.expires_in),
            "REFRESH_ID": pair.refresh_token,
            "MEMBER_ID": member_id,
            "FIRST_RUN": bool(s.directory.apps.take_first_run(app_id)),
            "IS_ADMIN": is_admin,
            "INSTALL": not app.installed,
            "USER_OPTIONS": s.directory.apps.user_options(app_id, user_id),
            "APP_OPTIONS": s.directory.apps.app_options(app_id),
            "PLACEMENT": placement,
            "PLACEMENT_OPTIONS": dict(options),
        }
        self.layouts.add(
            Layout(
                sid=sid,
                app_id=app_id,
                user_id=user_id,
                placement=placement,
                page_id=page_id,
                handler=handler,
                row_id=row_id,
                options=dict(options),
                created_at=s.clock.now(),
            )
        )
        delay_ms = getattr(s.faults, "frame_load_delay_ms", 0) or 0
        return {
            "appSid": sid,
            "appId": app_id,
            "appName": app.name,
            "rowId": row_id,
            "placement": placement,
            "title": title,
            "frameName": f"{ctx.domain}|{ctx.protocol}|{sid}",
            "frameId": f"appframe_{sid}",
            "formName": f"appform_{sid}",
            "action": action,
            "allow": ALLOW,
            "fields": fields,
            "origin": app_origin(handler),
            "initData": init_data,
            "interface": interface_for(placement),
            # the control API's slow-frame-load fault (callcard.faults), for background workers only
            "submitDelayMs": delay_ms if placement == "PAGE_BACKGROUND_WORKER" else 0,
        }
