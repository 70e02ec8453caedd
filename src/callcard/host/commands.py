"""What the server does for a page's requests: relayed app commands, operator clicks, frame renders.

The page's bridge answers getInitData and getInterface by itself; everything that needs the server
(tokens, options, install state, the card, the CRM entity) arrives here over the page's WebSocket,
named by APP_SID. A request is honoured only for a layout of the same page (and so of the same user).

Answers are dicts merged into the ``re`` message: ``{"ok": True, "reply": value}``, or
``{"ok": True, "noReply": True}`` when the app must get no callback at all (the timers on success, a
non-admin's setAppOption, setInstallFinish), or ``{"ok": False, "error": text}``.

``after`` (``requests.AfterReply``): where a request leaves what can wait until its reply is written — the
card view, the outbox, the timeline. Without it everything happens before the method returns.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..domain import conformance as conf
from ..domain.callcrm import created_notice
from ..domain.cards import NO_REPLY
from ..domain.placements import BACKGROUND, CALL_CARD, CRM_TABS, DEFAULT, crm_tab_code, tab_title
from ..domain.uistate import CALL_CARD_COMMANDS, PAGE_BACKGROUND_WORKER_COMMANDS
from ..services import Services
from .frames import LOCAL_REPLIES, FrameFactory, Layout, LayoutRegistry
from .pages import entity_html

if TYPE_CHECKING:
    from .ownership import Page
    from .requests import AfterReply
    from .ws import PageManager

__all__ = ["PageCommands", "PageRequestError"]

log = logging.getLogger("callcard.host.commands")

NO_ANSWER: dict[str, Any] = {"ok": True, "noReply": True}


class PageRequestError(Exception):
    """A page asked for something it may not have (another page's frame, a tab of no card...)."""


def _ok(reply: Any) -> dict[str, Any]:
    return {"ok": True, "reply": reply}


class PageCommands:
    def __init__(
        self, services: Services, factory: FrameFactory, layouts: LayoutRegistry, pages: PageManager
    ) -> None:
        self.s = services
        self.factory = factory
        self.layouts = layouts
        self.pages = pages

    def _layout(self, page: Page, sid: str) -> Layout:
        layout = self.layouts.get(sid)
        if layout is None or layout.page_id != page.page_id:
            raise PageRequestError(f"no frame {sid!r} on this page")
        return layout

    # -- relayed app commands ----------------------------------------------------------------------------

    def run(
        self, page: Page, sid: str, command: str, params: Any, after: AfterReply | None = None
    ) -> dict[str, Any]:
        layout = self._layout(page, sid)
        if layout.placement == BACKGROUND and command in PAGE_BACKGROUND_WORKER_COMMANDS:
            return self._card_command(page, layout, command, params, after)
        if layout.placement == CALL_CARD and command in CALL_CARD_COMMANDS:
            return self._card_command(page, layout, command, params, after)
        if layout.placement in CRM_TABS and command == "reloadData":
            return self._reload_data(page)
        generic = getattr(self, "_cmd_" + command, None)
        if generic is None:
            self.pages.conformance(
                layout.app_id,
                conf.COMMAND_IGNORED,
                f"Command {command} ignored (unknown)",
                {"command": command, "placement": layout.placement},
            )
            return dict(NO_ANSWER)
        result: dict[str, Any] = generic(page, layout, params)
        return result

    def _card_command(
        self, page: Page, layout: Layout, command: str, params: Any, after: AfterReply | None
    ) -> dict[str, Any]:
        card = self.s.cards.get(page.user_id)
        owner = self.pages.owns(page, card)
        if (
            command != "CallCardGetListUiStates"
            and (card is None or not owner)
            and layout.placement == BACKGROUND
        ):
            self.pages.conformance(
                layout.app_id,
                conf.COMMAND_BEFORE_INITIALIZED,
                f"{command} sent while no call card is open on the page",
                {"command": command},
            )
        outcome = self.s.cards.command(page.user_id, command, params, owner=owner)
        if not outcome.known:
            return dict(NO_ANSWER)
        if outcome.hidden_ui_state:
            self.pages.conformance(
                layout.app_id,
                conf.HIDDEN_UI_STATE,
                f"CallCardSetUiState to undocumented state {outcome.hidden_ui_state}",
                {"uiState": outcome.hidden_ui_state},
            )
        # events first: a command's reply may come after the events it caused (wire-protocol.md §10)
        self.pages.publish(outcome.events, page.user_id, after=after)
        if outcome.reply is NO_REPLY:
            return dict(NO_ANSWER)
        return _ok(outcome.reply)

    def _reload_data(self, page: Page) -> dict[str, Any]:
        if page.crm is None:
            raise PageRequestError("reloadData outside a CRM entity page")
        entity_type, entity_id = page.crm
        entity = self.s.crm.get(entity_type, entity_id)
        return {"ok": True, "reply": [], "html": entity_html(entity_type, entity, self._activities(page.crm))}

    def _activities(self, crm: tuple[str, int]) -> list[dict[str, Any]]:
        rows = self.s.store.find(
            "crm_activities", {"owner_type": crm[0], "owner_id": crm[1]}, order_by="-id", limit=20
        )
        return [dict(r) for r in rows]

    # generic commands the server runs (wire-protocol.md §8)

    def _cmd_refreshAuth(self, page: Page, layout: Layout, params: Any) -> dict[str, Any]:  # noqa: N802
        pair = self.s.directory.tokens.issue_tokens(layout.app_id, layout.user_id)
        return _ok(
            {
                "AUTH_ID": pair.access_token,
                "AUTH_EXPIRES": int(pair.expires_in),
                "REFRESH_ID": pair.refresh_token,
            }
        )

    def _cmd_setUserOption(self, page: Page, layout: Layout, params: Any) -> dict[str, Any]:  # noqa: N802
        if isinstance(params, dict) and isinstance(params.get("name"), str):
            self.s.directory.apps.set_user_options(
                layout.app_id, layout.user_id, {params["name"]: params.get("value")}
            )
        return _ok(params)

    def _cmd_setAppOption(self, page: Page, layout: Layout, params: Any) -> dict[str, Any]:  # noqa: N802
        if not self.s.directory.is_admin(layout.user_id):
            return dict(NO_ANSWER)  # the platform answers non-admins nothing
        if isinstance(params, dict) and isinstance(params.get("name"), str):
            self.s.directory.apps.set_app_options(layout.app_id, {params["name"]: params.get("value")})
        return _ok(params)

    def _cmd_setInstall(self, page: Page, layout: Layout, params: Any) -> dict[str, Any]:  # noqa: N802
        return _ok(params)

    def _cmd_setInstallFinish(self, page: Page, layout: Layout, params: Any) -> dict[str, Any]:  # noqa: N802
        value = params.get("value") if isinstance(params, dict) else None
        self.s.directory.apps.mark_installed(layout.app_id)
        descriptor = self.factory.render(
            page.ctx,
            page_id=page.page_id,
            app_id=layout.app_id,
            user_id=layout.user_id,
            placement=layout.placement,
            handler=layout.handler,
            options=layout.options,
            row_id=layout.row_id,
            extra_query={"install_finished": "N" if value is False else "Y"},
        )
        return {"ok": True, "noReply": True, "reload": descriptor}

    # -- operator clicks and frame renders ----------------------------------------------------------------

    def press(self, page: Page, button: str, value: Any, after: AfterReply | None = None) -> dict[str, Any]:
        if not self.pages.is_owner(page):
            raise PageRequestError("this page does not show the call card")
        try:
            events = self.s.cards.press(page.user_id, button, value)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        self.pages.publish(events, page.user_id, after=after)
        return {"ok": True}

    def crm(self, page: Page, action: str, after: AfterReply | None = None) -> dict[str, Any]:
        """A chip of the card's CRM row other than Comment (call-card.md §3.4), from the page that shows
        the card: Lead / Contact create the entity and bind the call (``ExternalCalls.create_from_card``);
        the answer's ``toast`` tells the operator. Deal / Invoice, a stale click: ``{"ok": False, "error"}``."""
        if not self.pages.is_owner(page):
            raise PageRequestError("this page does not show the call card")
        try:
            result, events = self.s.calls.create_from_card(page.user_id, action)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        self.pages.publish(events, page.user_id, after=after)
        entity_type, entity_id = result["CRM_ENTITY_TYPE"], result["CRM_ENTITY_ID"]
        return {"ok": True, "toast": created_notice(entity_type, entity_id),
                "entity": {"entityType": entity_type, "entityId": entity_id}}

    def frame(self, page: Page, placement: str, row_id: Any, options: Any = None) -> dict[str, Any]:
        """Render a tab frame (CALL_CARD or a CRM detail tab) or an app's DEFAULT page (a slider)."""
        is_admin = self.s.directory.is_admin(page.user_id)
        if placement == DEFAULT:
            app = self.s.directory.apps.get_app(int(row_id))
            if app is None or not app.handler or not (app.installed or is_admin):
                raise PageRequestError("the app has no page to open")
            opts = dict(options) if isinstance(options, dict) else {}
            return _ok(
                self.factory.render(
                    page.ctx,
                    page_id=page.page_id,
                    app_id=app.id,
                    user_id=page.user_id,
                    placement=DEFAULT,
                    handler=app.handler,
                    options=opts,
                    title=app.name,
                )
            )
        rows: list[dict[str, Any]]
        if placement == CALL_CARD:
            card = self.s.cards.get(page.user_id)
            if card is None or not self.pages.is_owner(page):
                raise PageRequestError("no call card on this page")
            rows = self.s.placements.call_card_rows(is_admin)
            opts = {**card.status_as_strings(), "URI": page.ctx.uri}
        elif page.crm is not None and placement == crm_tab_code(page.crm[0]):
            rows = self.s.placements.crm_tab_rows(page.crm[0], is_admin)
            opts = {"ID": str(page.crm[1])}
        else:
            raise PageRequestError(f"no {placement} tabs on this page")
        row = next((r for r in rows if int(r["id"]) == _int(row_id)), None)
        if row is None:
            raise PageRequestError(f"no {placement} registration {row_id!r}")
        app = self.s.directory.apps.get_app(int(row["app_id"]))
        title = tab_title(row, self.s.settings.lang, app.name if app else "")
        return _ok(
            self.factory.render(
                page.ctx,
                page_id=page.page_id,
                app_id=int(row["app_id"]),
                user_id=page.user_id,
                placement=placement,
                handler=row["handler"],
                options=opts,
                row_id=int(row["id"]),
                title=title,
            )
        )

    # -- fire-and-forget notices ----------------------------------------------------------------------------

    def notice(self, page: Page, kind: Any, message: dict[str, Any], after: AfterReply | None = None) -> None:
        sid = str(message.get("sid", ""))
        layout = self.layouts.get(sid)
        if layout is not None and layout.page_id != page.page_id:
            return
        if kind == "drop":
            if layout is not None:
                self.layouts.drop(sid)
        elif kind == "load" and layout is not None:
            self._load(page, layout, message.get("ms"))
        elif kind == "wire" and layout is not None:
            self._journal_message(page, layout, message)
        elif kind == "used" and layout is not None:
            self._used(page, layout, str(message.get("cmd", "")), after)
        elif kind == "conf" and layout is not None:
            detail = message.get("detail") if isinstance(message.get("detail"), dict) else None
            self.pages.conformance(
                layout.app_id, str(message.get("kind", "")), str(message.get("message", "")), detail
            )

    def _load(self, page: Page, layout: Layout, ms: Any) -> None:
        try:
            load_ms = float(ms)
        except (TypeError, ValueError):
            return
        layout.load_ms = load_ms
        if self.s.journal is not None and self.s.journal.enabled:
            self.s.journal.add(
                "note",
                f"frame {layout.placement} of app {layout.app_id} loaded in {load_ms:.0f} ms",
                {"sid": layout.sid, "row_id": layout.row_id, "load_ms": load_ms},
                app_id=layout.app_id,
                user_id=page.user_id,
            )
        if layout.placement == BACKGROUND and layout.row_id is not None:
            events = self.s.placements.report_load(layout.row_id, load_ms)
            if events:
                self.pages.publish(events)

    def _used(self, page: Page, layout: Layout, command: str, after: AfterReply | None) -> None:
        """The page answered a worker command by itself (CallCardGetListUiStates, which needs no card):
        mark the card used exactly as running the command here would have (call-card.md §8.2)."""
        if layout.placement != BACKGROUND or command not in LOCAL_REPLIES.get(BACKGROUND, {}):
            return
        card = self.s.cards.get(page.user_id)
        if card is None or card.used or not self.pages.owns(page, card):
            return  # nothing to mark, or already marked: no write, no new view
        self.s.cards.command(page.user_id, command, None, owner=True)
        self.pages.publish([], page.user_id, after=after)  # the view shows `used`

    def _journal_message(self, page: Page, layout: Layout, message: dict[str, Any]) -> None:
        journal = self.s.journal
        if journal is None or not journal.enabled:
            return
        direction = "in" if message.get("dir") == "in" else "out"
        what = str(message.get("kind", ""))
        journal.add(
            "message",
            f"{direction} {what} ({layout.placement}, app {layout.app_id})",
            message.get("data"),
            app_id=layout.app_id,
            user_id=page.user_id,
            direction=direction,
            sid=layout.sid,
            placement=layout.placement,
        )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
