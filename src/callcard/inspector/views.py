"""Server-rendered HTML of the inspector: shell, timeline, state diagram and conformance report.

Plain functions returning strings. Every interpolated value goes through ``esc`` (HTML) or ``boot_json``
(JSON inside ``<script type="application/json">``, with ``<``, ``>`` and ``&`` escaped so no value can
close the tag). The pages come alive with ``static/*.js``; the conformance report and the diagram are
complete without JavaScript.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "boot_json",
    "conformance_page",
    "conformance_report",
    "diagram_page",
    "esc",
    "login_required_page",
    "timeline_page",
]

STATIC = "/inspector/static"
TABS = (("timeline", "/inspector/", "Timeline"), ("diagram", "/inspector/diagram", "States"),
        ("conformance", "/inspector/conformance", "Conformance"))


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def boot_json(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def user_name(user: Mapping[str, Any]) -> str:
    name = f"{user.get('name') or ''} {user.get('last_name') or ''}".strip()
    return name or f"User {user.get('id')}"


def _time(at: Any) -> str:
    try:
        return datetime.fromtimestamp(float(at)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _shell(title: str, body: str, *, active: str = "", user: Mapping[str, Any] | None = None,
           boot: Any = None, script: str = "") -> str:
    tabs = "".join(
        f'<a class="ci-tab{" is-active" if key == active else ""}" href="{href}" data-tab="{key}">{label}</a>'
        for key, href, label in TABS
    )
    who = (
        f'<span class="ci-who" data-user-id="{esc(user.get("id"))}">{esc(user_name(user))}</span>'
        if user else ""
    )
    header = (
        '<header class="ci-top"><a class="ci-brand" href="/inspector/"><span class="ci-brand__dot"></span>'
        'callcard <b>inspector</b></a>'
        f'<nav class="ci-tabs">{tabs}</nav><div class="ci-top__right">{who}'
        '<a class="ci-link" href="/" title="Back to the portal page">Portal ↗</a></div></header>'
        if active else ""
    )
    boot_tag = "" if boot is None else (
        f'<script type="application/json" id="inspector-boot">{boot_json(boot)}</script>'
    )
    scripts = "" if not script else (
        f'<script src="{STATIC}/common.js"></script><script src="{STATIC}/{script}"></script>'
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        f'<link rel="stylesheet" href="{STATIC}/inspector.css"></head>\n'
        f'<body class="ci-body ci-page--{esc(active or "plain")}">{header}{body}{boot_tag}{scripts}'
        "</body></html>\n"
    )


def login_required_page() -> str:
    """The 401 page: the inspector shares the portal's session."""
    return _shell(
        "Sign in — callcard inspector",
        '<main class="ci-login"><div class="ci-login__box">'
        '<div class="ci-brand">callcard <b>inspector</b></div>'
        "<h1>Sign in required</h1>"
        "<p>The inspector uses the portal's session. Open a login link first; the server prints one when it "
        "starts and <code>callcard login-url --user N</code> makes a new one.</p>"
        "<p>Add <code>?next=/inspector/</code> to the login link to land here.</p></div></main>",
    )


def _options(items: Iterable[tuple[Any, str]], selected: Any = None, *, any_label: str | None = None) -> str:
    out = [f'<option value="">{esc(any_label)}</option>'] if any_label is not None else []
    out += [
        f'<option value="{esc(value)}"{" selected" if value == selected else ""}>{esc(label)}</option>'
        for value, label in items
    ]
    return "".join(out)


# -- timeline --------------------------------------------------------------------------------------------


def timeline_page(user: Mapping[str, Any], boot: Mapping[str, Any]) -> str:
    """The network-panel-like timeline; rows are rendered by ``timeline.js`` from the API and the stream."""
    kinds = "".join(
        f'<button type="button" class="ci-chip ci-kind--{esc(k)} is-on" data-kind="{esc(k)}" '
        f'aria-pressed="true"><span class="ci-chip__dot"></span>{esc(k)}'
        f'<span class="ci-chip__n" data-count="{esc(k)}">0</span></button>'
        for k in boot["kinds"]
    )
    apps = _options(((a["id"], f"#{a['id']} {a['name']}") for a in boot["apps"]), any_label="All apps")
    users = _options(((u["id"], f"#{u['id']} {u['name']}") for u in boot["users"]), any_label="All users")
    off = "" if boot["journal"]["enabled"] else (
        '<div class="ci-banner ci-banner--warn" data-role="journal-off">The timeline is switched off '
        "(<code>journal_size = 0</code>). Start callcard with a journal size above 0 to record.</div>"
    )
    body = (
        '<main class="ci-main ci-timeline">'
        '<div class="ci-toolbar" role="toolbar">'
        '<button type="button" class="ci-btn ci-btn--rec is-live" data-action="pause" '
        'title="Pause / resume the live view (entries keep being recorded)">'
        '<span class="ci-rec"></span><span data-role="pause-label">Pause</span></button>'
        '<button type="button" class="ci-btn" data-action="clear" title="Clear the view (not the journal)">'
        "⌫ Clear</button>"
        '<span class="ci-sep"></span>'
        '<input type="search" class="ci-search" data-role="search" placeholder="Filter text…" '
        'title="Shows entries whose summary, method or payload contains this text" spellcheck="false">'
        f'<span class="ci-sep"></span><div class="ci-chips" data-role="kinds">{kinds}</div>'
        '<span class="ci-sep"></span>'
        f'<select class="ci-select" data-role="app" title="App">{apps}</select>'
        f'<select class="ci-select" data-role="user" title="User">{users}</select>'
        '<span class="ci-grow"></span>'
        '<label class="ci-check"><input type="checkbox" data-role="autoscroll" checked> Auto-scroll</label>'
        "</div>"
        f"{off}"
        '<div class="ci-grid" data-role="scroller"><table class="ci-table" data-role="table">'
        '<colgroup><col class="c-seq"><col class="c-time"><col class="c-kind"><col class="c-app">'
        '<col class="c-user"><col class="c-sum"><col class="c-status"><col class="c-dur"></colgroup>'
        "<thead><tr><th>#</th><th>Time</th><th>Kind</th><th>App</th><th>User</th><th>Summary</th>"
        "<th>Status</th><th>Duration</th></tr></thead>"
        '<tbody data-role="rows"></tbody></table>'
        '<div class="ci-empty" data-role="empty">Waiting for activity… REST calls, postMessages, card '
        "changes, events and deliveries appear here as they happen.</div></div>"
        '<footer class="ci-status"><span class="ci-live" data-role="live">connecting…</span>'
        '<span data-role="shown">0 shown</span><span data-role="journal"></span>'
        '<span class="ci-grow"></span><span class="ci-muted">click a row to expand its payload · '
        "<kbd>Esc</kbd> collapses</span></footer></main>"
    )
    return _shell("Timeline — callcard inspector", body, active="timeline", user=user, boot=boot,
                  script="timeline.js")


# -- diagram ---------------------------------------------------------------------------------------------


def diagram_page(
    user: Mapping[str, Any], users: list[dict[str, Any]], trace: Mapping[str, Any], svg: str
) -> str:
    """The UiState diagram of one user's card, with the path of its call beside it."""
    choices = _options(((u["id"], f"#{u['id']} {u['name']}") for u in users), trace["user_id"])
    body = (
        '<main class="ci-main ci-diagram">'
        '<div class="ci-toolbar"><label class="ci-label">Card of</label>'
        f'<select class="ci-select" data-role="user">{choices}</select>'
        '<span class="ci-sep"></span><span class="ci-live" data-role="live">connecting…</span>'
        '<span class="ci-sep"></span><label class="ci-check"><input type="checkbox" data-role="fit" checked>'
        " Fit to width</label>"
        '<span class="ci-grow"></span><span class="ci-muted">15 UiStates from domain/uistate.py · '
        "buttons → the BackgroundCallCard event each fires</span></div>"
        '<div class="ci-split"><div class="ci-canvas is-fit" data-role="canvas">'
        f"{svg}</div>"
        f'<aside class="ci-side" data-role="side">{_trace_panel(trace)}</aside></div></main>'
    )
    return _shell("States — callcard inspector", body, active="diagram", user=user,
                  boot={"trace": trace, "users": users}, script="diagram.js")


def _trace_panel(trace: Mapping[str, Any]) -> str:
    view = trace.get("view")
    if view:
        head = (
            f'<div class="ci-card-now"><span class="ci-state-pill is-current">{esc(trace["current"])}</span>'
            f'<span class="ci-muted">{esc(view.get("direction"))} · {esc(view.get("phoneNumber"))}</span>'
            "</div>"
        )
    elif trace.get("path"):
        head = '<div class="ci-card-now"><span class="ci-state-pill">card closed</span></div>'
    else:
        head = '<div class="ci-card-now"><span class="ci-state-pill">no card</span></div>'
    steps = "".join(
        f'<li data-seq="{esc(s["seq"])}"><span class="ci-step">{i}</span>'
        f'<span class="ci-state-pill{" is-current" if (i == len(trace["path"]) and view) else ""}">'
        f'{esc(s["state"])}</span><a class="ci-muted" href="/inspector/?focus={esc(s["seq"])}">'
        f'#{esc(s["seq"])}</a></li>'
        for i, s in enumerate(trace["path"], start=1)
    )
    path = (
        f'<ol class="ci-path" data-role="path">{steps}</ol>'
        + ('<p class="ci-muted">The card was closed.</p>' if trace.get("closed") else "")
        if steps else '<p class="ci-muted" data-role="path">No card changes recorded for this user yet.</p>'
    )
    return (
        f"<h2>Current card</h2>{head}"
        f'<dl class="ci-kv"><dt>Call</dt><dd>{esc(trace.get("call_id") or "—")}</dd>'
        f'<dt>Direction</dt><dd>{esc(trace.get("direction") or "—")}</dd></dl>'
        f"<h2>States taken in this call</h2>{path}"
        '<h2>Card view</h2><div class="ci-json" data-role="view"></div>'
    )


# -- conformance -----------------------------------------------------------------------------------------


def conformance_report(findings: list[dict[str, Any]], summary: Mapping[str, Any],
                       apps: Mapping[int, str], app_id: int | None) -> str:
    """The report body (also fetched by ``conformance.js`` to refresh in place)."""
    groups: dict[int | None, list[dict[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(finding["app_id"], []).append(finding)
    head = (
        '<div class="ci-summary" data-role="summary">'
        f'<div class="ci-stat ci-stat--error"><b>{esc(summary["errors"])}</b> errors</div>'
        f'<div class="ci-stat ci-stat--warning"><b>{esc(summary["warnings"])}</b> warnings</div>'
        f'<div class="ci-stat"><b>{esc(summary["findings"])}</b> findings</div>'
        f'<div class="ci-stat"><b>{esc(len(groups))}</b> apps</div></div>'
    )
    if not findings:
        scope = f"app #{app_id}" if app_id is not None else "any app"
        return head + (
            f'<div class="ci-clean" data-role="clean"><b>✓ Clean.</b> Nothing recorded for {esc(scope)} that '
            "would break on a real Bitrix24 portal.</div>"
        )
    sections = []
    for gid, rows in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        name = apps.get(gid, f"App #{gid}") if gid is not None else "Portal (no app)"
        errors = sum(r["count"] for r in rows if r["severity"] == "error")
        warnings = sum(r["count"] for r in rows if r["severity"] != "error")
        cards = "".join(_finding_html(r) for r in reversed(rows))  # newest first
        sections.append(
            f'<section class="ci-app" data-app-id="{esc(gid if gid is not None else "")}">'
            f'<h2>{esc(name)} <span class="ci-muted">#{esc(gid if gid is not None else "—")}</span>'
            f'<span class="ci-badge ci-badge--error">{errors} errors</span>'
            f'<span class="ci-badge ci-badge--warning">{warnings} warnings</span></h2>{cards}</section>'
        )
    return head + "".join(sections)


def _finding_html(f: Mapping[str, Any]) -> str:
    detail = ""
    if f.get("detail"):
        text = json.dumps(f["detail"], indent=2, ensure_ascii=False, default=str)
        detail = f'<details class="ci-detail"><summary>Detail</summary><pre>{esc(text)}</pre></details>'
    count = f'<span class="ci-count" title="occurrences">×{esc(f["count"])}</span>' if f["count"] > 1 else ""
    when = _time(f["at"]) if f["count"] == 1 else f"{_time(f['first_at'])} → {_time(f['at'])}"
    return (
        f'<article class="ci-finding ci-finding--{esc(f["severity"])}" data-kind="{esc(f["kind"])}" '
        f'data-finding-id="{esc(f["id"])}">'
        f'<header><span class="ci-sev">{esc(f["severity"])}</span><h3>{esc(f["title"])}</h3>{count}'
        f'<code class="ci-kindcode">{esc(f["kind"])}</code><time>{esc(when)}</time></header>'
        f'<div class="ci-what"><h4>What happened</h4><p>{esc(f["message"])}</p></div>'
        f'<div class="ci-why"><h4>Why it matters on the real portal</h4><p>{esc(f["why"])}</p></div>'
        f'<div class="ci-fix"><h4>What to do</h4><p>{esc(f["fix"])}</p></div>{detail}</article>'
    )


def conformance_page(
    user: Mapping[str, Any], report: str, apps: Mapping[int, str], app_id: int | None
) -> str:
    choices = _options(((i, f"#{i} {n}") for i, n in sorted(apps.items())), app_id, any_label="All apps")
    body = (
        '<main class="ci-main ci-conformance">'
        '<div class="ci-toolbar"><label class="ci-label">App</label>'
        f'<select class="ci-select" data-role="app">{choices}</select>'
        '<button type="button" class="ci-btn" data-action="refresh">↻ Refresh</button>'
        '<label class="ci-check"><input type="checkbox" data-role="auto" checked> Live</label>'
        '<span class="ci-grow"></span><span class="ci-muted">What works against callcard but would break on '
        "Bitrix24 · JSON at <code>/_callcard/conformance</code></span></div>"
        f'<div class="ci-report" data-role="report">{report}</div></main>'
    )
    return _shell("Conformance — callcard inspector", body, active="conformance", user=user,
                  boot={"app_id": app_id}, script="conformance.js")
