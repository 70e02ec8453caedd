"""What the control API and the CLI can do, as plain methods over ``Services`` (no HTTP here)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx

from ..demo import DEMO_APP_NAME
from ..domain import conformance as conf
from ..domain.apps import AppUninstaller
from ..domain.callcrm import CARD_CRM_CHIPS
from ..faults import Faults
from ..services import Services

__all__ = ["Operations"]

log = logging.getLogger("callcard.control")

#: tables ``reset`` empties: what happened, not what is configured (apps, users, webhooks, placements stay)
RESET_TABLES = ("calls", "call_stats", "call_records", "cards", "outbox", "delivery_attempts", "conformance",
                "crm_activities")
#: tables the state dump leaves out: secrets and blobs
SECRET_TABLES = ("access_tokens", "refresh_tokens", "sessions")


class Operations:
    def __init__(self, services: Services) -> None:
        self.s = services
        if services.faults is None:
            services.faults = Faults()
        self.faults: Faults = services.faults

    # -- apps ---------------------------------------------------------------------------------------

    def app_view(self, app: Any) -> dict[str, Any]:
        return {"id": app.id, "name": app.name, "client_id": app.client_id, "scopes": list(app.scopes),
                "installed": app.installed, "uninstalled": app.uninstalled, "handler": app.handler,
                "status": app.status}

    def create_app(self, name: str, scopes: list[str], handler: str = "") -> dict[str, Any]:
        """Install an app on the local portal and hand out its credentials with tokens for user 1."""
        directory = self.s.directory
        app = directory.apps.create_app(name, scopes, handler)
        app = directory.apps.mark_installed(app.id)
        pair = directory.tokens.issue_tokens(app.id, 1)
        payload = directory.oauth_payload(app, 1, pair)
        return {
            "app_id": app.id,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in,
            "member_id": payload["member_id"],
            "domain": payload["domain"],
            "client_endpoint": payload["client_endpoint"],
            "server_endpoint": payload["server_endpoint"],
            "application_token": app.application_token,
        }

    def uninstall_app(self, app_id: int, clean: bool) -> dict[str, Any]:
        """Uninstall an app (``AppUninstaller``): ONAPPUNINSTALL is queued in the outbox inside the same
        transaction that removes its handlers. Unknown app: ``ERROR_NOT_FOUND``."""
        s = self.s
        uninstaller = AppUninstaller(
            s.store, s.clock, s.settings, s.directory.apps, placements=s.placements,
            event_handlers=s.event_handlers, card_handlers=s.card_handlers, lines=s.calls.lines,
            tokens=s.directory.tokens,
        )
        done = uninstaller.uninstall(app_id, clean, accept=s.hub.publish)
        removed = done.removed
        if s.journal is not None and s.journal.enabled:
            s.journal.add(
                "note",
                f"app {done.app.id} ({done.app.name}) uninstalled, CLEAN={int(clean)}: "
                + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in removed.items())
                + f" removed; ONAPPUNINSTALL to {len(done.events)} handler(s)",
                {"removed": removed, "clean": clean, "notified": len(done.events)},
                app_id=done.app.id,
            )
        return {"app_id": done.app.id, "clean": clean, "notified": len(done.events), "removed": removed}

    def _telephony_app(self, app_id: int | None) -> Any:
        apps = self.s.directory.apps.list_apps()
        if app_id is not None:
            for app in apps:
                if app.id == app_id:
                    if app.uninstalled:
                        raise ValueError(f"app {app_id} is uninstalled")
                    return app
            raise ValueError(f"no app {app_id}")
        apps = [app for app in apps if not app.uninstalled]
        for app in apps:  # the demo softphone first, then any app with telephony
            if app.name == DEMO_APP_NAME:
                return app
        for app in apps:
            if "telephony" in app.scopes:
                return app
        raise ValueError("no app with the telephony scope is installed")

    # -- calls and cards ------------------------------------------------------------------------------

    async def simulate_call(self, *, direction: str, phone: str, user_id: int, app_id: int | None) -> Any:
        """Simulate a call the way it reaches a real portal.

        incoming: the demo softphone's PBX is told (the app registers the call itself); any other app
        gets the call registered on its behalf (SHOW=1), which opens the card.
        outgoing: click-to-call — ``ONEXTERNALCALLSTART`` goes to the app's bound handlers; if the app
        bound none, the call is registered and shown on its behalf.
        """
        if direction not in ("incoming", "outgoing"):
            raise ValueError("direction must be 'incoming' or 'outgoing'")
        phone = phone or "+4930123456789"
        app = self._telephony_app(app_id)
        demo_url = getattr(self.s, "demo_url", None)
        if direction == "incoming":
            if app.name == DEMO_APP_NAME and demo_url:
                async with httpx.AsyncClient(timeout=5) as client:
                    resp = await client.post(f"{demo_url}/pbx/incoming", json={"phone": phone, "user_id": user_id})
                    resp.raise_for_status()
                return {"queued_for": "demo", "phone_number": phone, "user_id": user_id}
            result, events = self.s.calls.register(
                app.id, {"USER_ID": user_id, "PHONE_NUMBER": phone, "TYPE": 2, "SHOW": 1}
            )
            self.s.hub.publish(events, touched=[user_id])
            return result
        if self.s.event_handlers.handlers_for("ONEXTERNALCALLSTART", app.id):
            event, result = self.s.calls.start_outgoing(user_id, phone, app.id)
            self.s.hub.publish([event])
            return result
        result, events = self.s.calls.register(
            app.id, {"USER_ID": user_id, "PHONE_NUMBER": phone, "TYPE": 1, "SHOW": 1}
        )
        self.s.hub.publish(events, touched=[user_id])
        return result

    def card_view(self, user_id: int) -> Any:
        card = self.s.cards.get(user_id)
        return card.view(self.s.clock.now()) if card is not None else None

    def press(self, user_id: int, button: str, value: Any) -> Any:
        """A card button, or a chip of the CRM row (addLead, addContact; addDeal and addInvoice are refused
        as on the page). ValueError when the card does not offer it. The card view after it."""
        if button in CARD_CRM_CHIPS:
            _, events = self.s.calls.create_from_card(user_id, button)
        else:
            events = self.s.cards.press(user_id, button, value)
        self.s.hub.publish(events, touched=[user_id])
        return self.card_view(user_id) or {"uiState": None, "closed": True}

    def set_state(self, user_id: int, ui_state: str) -> Any:
        events = self.s.cards.set_ui_state(user_id, ui_state)
        self.s.hub.publish(events, touched=[user_id])
        return self.card_view(user_id)

    # -- what happened --------------------------------------------------------------------------------

    def timeline(self, kinds: list[str] | None, app_id: int | None, user_id: int | None, since: int) -> Any:
        journal = self.s.journal
        entries = journal.entries(kinds=kinds, app_id=app_id, user_id=user_id, since=since) if journal else []
        return {"enabled": bool(journal and journal.enabled), "entries": entries}

    def conformance(self, app_id: int | None) -> Any:
        """The stored findings, plus the calls registered and never finished (computed now: they leave the
        report as soon as the app finishes them), with totals over exactly those findings."""
        findings = self.s.conformance.findings(app_id) + self.unfinished_calls(app_id)
        return {"findings": findings, "summary": conf.summarize(findings)}

    def unfinished_calls(self, app_id: int | None) -> list[dict[str, Any]]:
        now = self.s.clock.now()
        shown = {card.call_id for card in self.s.cards.open_cards()}
        kind = conf.KINDS[conf.REGISTER_WITHOUT_FINISH]
        out = []
        for row in self.s.store.find("calls", None if app_id is None else {"app_id": app_id}):
            age = now - float(row["created_at"])
            if row["call_id"] in shown or age < self.s.settings.unfinished_call_grace_s:
                continue
            out.append({
                "id": None, "app_id": row["app_id"], "kind": kind.code, "severity": kind.severity,
                "message": f"call {row['call_id']} to {row['phone_number']} was registered "
                           f"{age:.0f} s ago and never finished",
                "detail": {"CALL_ID": row["call_id"], "USER_ID": row["user_id"]},
                "count": 1, "first_at": row["created_at"], "at": now,
                "title": kind.title, "why": kind.why, "fix": kind.fix,
            })
        return out

    def set_delivery_policy(self, policy: str) -> Any:
        changed = self.s.outbox.set_policy(policy)
        return {"policy": self.s.outbox.policy, "pending_changed": changed}

    def deliveries(self, status: str | None) -> Any:
        rows = self.s.outbox.list(status)
        for row in rows:
            row["attempts_made"] = self.s.outbox.attempts(row["id"])
        return {"policy": self.s.outbox.policy, "counts": self.s.outbox.counts(), "deliveries": rows}

    def frames(self) -> Any:
        pages = self.s.pages
        return {"frames": pages.frames() if pages is not None and hasattr(pages, "frames") else []}

    def state(self) -> Any:
        store = self.s.store
        dump = {t: store.find(t) for t in store.iter_tables() if t not in SECRET_TABLES}
        for row in dump.get("call_records", []):
            row["content"] = None if row.get("content") is None else f"<{len(row['content'])} bytes>"
        return dump

    def reset(self) -> Any:
        with self.s.store.transaction():
            for table in RESET_TABLES:
                self.s.store.delete(table, {})
        self.faults.clear()
        if self.s.pages is not None:  # open pages drop the cards that are gone
            for user in self.s.store.find("users"):
                self.s.hub.push_card(int(user["id"]))
        if self.s.journal is not None:
            self.s.journal.clear()
        return {"reset": True}

    def snapshot_export(self, path: Path) -> Any:
        target = self.s.store.export_to(path)
        return {"path": str(target), "bytes": target.stat().st_size}

    def snapshot_import(self, path: Path) -> Any:
        self.s.store.import_from(path)
        return {"imported": str(path)}
