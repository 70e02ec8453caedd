"""Server-rendered HTML of the portal: the login pages, the portal shell, the home and CRM entity pages.

Plain functions returning strings; every interpolated value goes through ``esc`` (HTML) or ``boot_json``
(JSON inside ``<script type="application/json">``, with ``<`` escaped so no value can close the tag).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "boot_json",
    "crm_content",
    "entity_html",
    "esc",
    "home_content",
    "login_failed_page",
    "login_required_page",
    "portal_page",
]

CRM_TYPES = {"lead": "LEAD", "contact": "CONTACT", "company": "COMPANY"}
TYPE_LABELS = {"LEAD": "Lead", "CONTACT": "Contact", "COMPANY": "Company"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def boot_json(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _shell(title: str, body: str, *, head: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="stylesheet" href="/static/portal.css">'
        f"{head}</head>\n<body>{body}</body></html>\n"
    )


def login_required_page() -> str:
    return _shell(
        "Sign in — callcard",
        '<main class="pp-login"><div class="pp-login__box"><div class="pp-brand">callcard</div>'
        "<h1>Sign in required</h1>"
        "<p>Open a login link to use the portal. The server prints one when it starts; "
        "<code>callcard login-url --user N</code> makes a new one.</p></div></main>",
    )


def login_failed_page(reason: str) -> str:
    return _shell(
        "Login link not valid — callcard",
        '<main class="pp-login"><div class="pp-login__box"><div class="pp-brand">callcard</div>'
        f"<h1>This login link cannot be used</h1><p>{esc(reason)}.</p>"
        "<p>Login links work once and expire after a few minutes. Ask for a new one with "
        "<code>callcard login-url --user N</code>.</p></div></main>",
    )


def portal_page(
    *,
    title: str,
    user: Mapping[str, Any],
    content: str,
    boot: Mapping[str, Any],
    has_background: bool,
    embedded: bool = False,
) -> str:
    """The portal shell: header (user, toolbar slot), content, background container, card root, scripts."""
    name = f"{user.get('name', '')} {user.get('last_name', '')}".strip() or f"User {user.get('id')}"
    role = "Administrator" if user.get("is_admin") else "Operator"
    header = (
        ""
        if embedded
        else (
            '<header class="pp-header"><a class="pp-brand" href="/">callcard</a>'
            '<nav class="pp-nav"><a href="/">Home</a><a href="/inspector/">Timeline</a>'
            '<a href="/inspector/diagram">States</a><a href="/inspector/conformance">Conformance</a></nav>'
            '<form id="toolbar" class="pp-toolbar" data-role="simulate">'
            '<input name="phone" type="tel" value="+4930123456789" aria-label="Caller number" '
            'data-role="simulate-phone">'
            '<button type="submit" name="direction" value="incoming" data-button="simulate-incoming">'
            'Simulate incoming call</button>'
            '<button type="submit" name="direction" value="outgoing" data-button="simulate-outgoing">'
            'Call out</button></form>'
            f'<div class="pp-user" data-user-id="{esc(user.get("id"))}"><span class="pp-user__avatar">'
            f'{esc(name[:1].upper())}</span><span><span class="pp-user__name">{esc(name)}</span>'
            f'<span class="pp-user__role">{esc(role)}</span></span></div></header>'
        )
    )
    background = (
        '<div id="intranet-placement-PAGE_BACKGROUND_WORKER" style="display:none"></div>'
        if has_background
        else ""
    )
    body = (
        f'{header}<main id="content" class="pp-content">{content}</main>{background}'
        '<div id="callcard-root" class="pp-card-root"></div>'
        '<div id="pp-toasts" class="pp-toasts" aria-live="polite"></div>'
        f'<script type="application/json" id="callcard-boot">{boot_json(boot)}</script>'
        # in dependency order: each file reads the CallcardParts its predecessors registered
        '<script src="/static/bridge_wire.js"></script>'
        '<script src="/static/bridge_events.js"></script>'
        '<script src="/static/bridge_commands.js"></script>'
        '<script src="/static/bridge.js"></script>'
        '<script src="/static/dialogs.js"></script>'
        '<script src="/static/card_dom.js"></script>'
        '<script src="/static/card_view.js"></script>'
        '<script src="/static/card_popups.js"></script>'
        '<script src="/static/card.js"></script>'
        '<script src="/static/portal_socket.js"></script>'
        '<script src="/static/portal_ui.js"></script>'
        '<script src="/static/portal_frames.js"></script>'
        '<script src="/static/portal_card.js"></script>'
        '<script src="/static/portal_crm.js"></script>'
        '<script src="/static/portal.js"></script>'
        '<script src="/static/toolbar.js"></script>'
    )
    return _shell(title, body, head='<link rel="stylesheet" href="/static/card.css">')


def home_content(
    user: Mapping[str, Any],
    background: Iterable[Mapping[str, Any]],
    tabs: Iterable[Mapping[str, Any]],
    entities: Iterable[tuple[str, Mapping[str, Any]]],
) -> str:
    """The home page: what is running on this page and the CRM entities to open."""
    name = user.get("name") or f"User {user.get('id')}"
    bg_items = (
        "".join(
            f'<li data-row-id="{esc(r["rowId"])}"><span class="pp-dot" data-role="load-state"></span>'
            f'<strong>{esc(r["appName"])}</strong> <span class="pp-muted">{esc(r["handler"])}</span></li>'
            for r in background
        )
        or '<li class="pp-muted">No app runs in the background of this page.</li>'
    )
    tab_items = (
        "".join(
            f'<li><strong>{esc(t["title"])}</strong> <span class="pp-muted">tab in the call card</span></li>'
            for t in tabs
        )
        or '<li class="pp-muted">No CALL_CARD tabs are registered.</li>'
    )
    rows = "".join(
        f'<tr><td><span class="pp-badge pp-badge--{esc(t.lower())}">{esc(TYPE_LABELS[t])}</span></td>'
        f'<td><a href="/crm/{esc(t.lower())}/details/{esc(e.get("ID"))}/">{esc(_entity_name(e))}</a></td>'
        f"<td>{esc(_first_phone(e))}</td></tr>"
        for t, e in entities
    )
    crm = (
        f'<table class="pp-table"><thead><tr><th>Type</th><th>Name</th><th>Phone</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="pp-muted">The CRM is empty. Calls create leads when CRM_CREATE=1.</p>'
    )
    return (
        f'<section class="pp-hero"><h1>Hello, {esc(name)}</h1>'
        "<p>This is your local Bitrix24 portal. Incoming and outgoing calls of your telephony apps open the "
        "call card on this page.</p></section>"
        '<div class="pp-grid">'
        f'<section class="pp-panel"><h2>Background apps</h2><ul class="pp-list" id="pp-background-list">'
        f"{bg_items}</ul></section>"
        f'<section class="pp-panel"><h2>Call card tabs</h2><ul class="pp-list">{tab_items}</ul></section>'
        f'</div><section class="pp-panel"><h2>CRM</h2>{crm}</section>'
    )


def crm_content(
    entity_type: str,
    entity: Mapping[str, Any],
    activities: list[dict[str, Any]],
    tabs: Iterable[Mapping[str, Any]],
) -> str:
    """The CRM entity page: the entity card (re-rendered by reloadData) and the app tabs."""
    tab_buttons = "".join(
        f'<button type="button" class="pp-tab" role="tab" data-crm-tab="{esc(t["rowId"])}">'
        f"{esc(t['title'])}</button>"
        for t in tabs
    )
    return (
        f'<div class="pp-crumbs"><a href="/">Home</a> / {esc(TYPE_LABELS[entity_type])}</div>'
        f'<div id="pp-entity">{entity_html(entity_type, entity, activities)}</div>'
        '<section class="pp-panel pp-tabs"><div class="pp-tabbar" role="tablist">'
        '<button type="button" class="pp-tab pp-tab--active" role="tab" data-crm-tab="main">General'
        f'</button>{tab_buttons}</div><div class="pp-tabbody" id="pp-crm-tab-body" data-role="crm-tab-body">'
        '<p class="pp-muted">Pick an app tab to open it.</p></div></section>'
    )


def entity_html(entity_type: str, entity: Mapping[str, Any], activities: list[dict[str, Any]]) -> str:
    """The entity card: title, the main fields, phones/e-mails and a short timeline."""
    fields = [
        ("ID", entity.get("ID")),
        ("Title", entity.get("TITLE")),
        ("Name", " ".join(str(p) for p in (entity.get("NAME"), entity.get("LAST_NAME")) if p)),
        ("Status", entity.get("STATUS_ID")),
        ("Source", entity.get("SOURCE_ID")),
        ("Responsible", entity.get("ASSIGNED_BY_ID")),
        ("Created", entity.get("DATE_CREATE")),
        ("Modified", entity.get("DATE_MODIFY")),
    ]
    field_rows = "".join(
        f'<div class="pp-field"><dt>{esc(k)}</dt><dd data-field="{esc(k)}">{esc(v)}</dd></div>'
        for k, v in fields
        if v not in (None, "")
    )
    comms = "".join(
        f'<div class="pp-field"><dt>{esc(kind.title())}</dt><dd data-field="{esc(kind)}">'
        + ", ".join(esc(item.get("VALUE")) for item in entity.get(kind) or [] if isinstance(item, Mapping))
        + "</dd></div>"
        for kind in ("PHONE", "EMAIL")
        if entity.get(kind)
    )
    timeline = (
        "".join(
            f'<li><strong>{esc(a.get("subject") or "Call")}</strong> <span class="pp-muted">'
            f"{esc(a.get('call_id'))}</span></li>"
            for a in activities
        )
        or '<li class="pp-muted">No activities yet.</li>'
    )
    return (
        f'<section class="pp-panel pp-entity" data-entity-type="{esc(entity_type)}" '
        f'data-entity-id="{esc(entity.get("ID"))}"><div class="pp-entity__head">'
        f'<span class="pp-badge pp-badge--{esc(entity_type.lower())}">{esc(TYPE_LABELS[entity_type])}</span>'
        f'<h1 data-role="entity-title">{esc(_entity_name(entity))}</h1></div>'
        f'<dl class="pp-fields">{field_rows}{comms}</dl>'
        f'<h2>Timeline</h2><ul class="pp-list" data-role="timeline">{timeline}</ul></section>'
    )


def _entity_name(entity: Mapping[str, Any]) -> str:
    person = " ".join(str(p) for p in (entity.get("NAME"), entity.get("LAST_NAME")) if p)
    return person or str(entity.get("TITLE") or f"#{entity.get('ID')}")


def _first_phone(entity: Mapping[str, Any]) -> str:
    for item in entity.get("PHONE") or []:
        if isinstance(item, Mapping) and item.get("VALUE"):
            return str(item["VALUE"])
    return ""
