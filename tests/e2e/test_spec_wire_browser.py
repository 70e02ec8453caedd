"""wire-protocol.md, checked statement by statement in a real browser where only the page can show it.

The classic BX24 test app (``SDK = "bx24"``, user 3) runs in its worker frame on the apps' origin; most tests
post raw wire messages from that frame (``testApp.post``, exactly as an SDK would) and read what the portal
posted back (``testApp.messages``). Each raw message carries its own callback id, so a reply (or its
absence) is unambiguous. Expected values come from the spec's text, never from callcard's constants.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from card_scenarios import phone
from e2e_support import PortalSession, find_frame, frame_where, wait_until

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True

ALLOW = "geolocation *; microphone *; camera *; autoplay *;"  # §2
SILENCE_MS = 700  # a reply, had there been one, would be here by now (the target is < 100 ms, §6)
_ids = itertools.count(1)


def cb(tag: str) -> str:
    """A fresh callback id (legacy style: 32 [0-9a-z])."""
    return f"{tag}{next(_ids):04d}".ljust(32, "0")[:32]


def post(frame: Any, data: Any) -> None:
    frame.evaluate("d => testApp.post(d)", data)


def replies(frame: Any, callback: str) -> list[str]:
    """Everything the portal posted to ``frame`` under ``callback``: the text after ``<callback>:``."""
    texts: list[str] = frame.evaluate("testApp.messages.map(m => m.data)")
    return [t[len(callback) + 1:] for t in texts if t.startswith(callback + ":")]


def reply(frame: Any, callback: str) -> Any:
    """The one reply under ``callback``, JSON-decoded (``None`` for ``<cb>:``)."""
    found = wait_until(lambda: replies(frame, callback), what=f"the reply to {callback}")
    assert len(found) == 1, found
    return json.loads(found[0]) if found[0] else None


def no_reply(session: PortalSession, frame: Any, *callbacks: str) -> None:
    session.page.wait_for_timeout(SILENCE_MS)
    for callback in callbacks:
        assert replies(frame, callback) == [], callback


class TestWire:
    SDK = "bx24"

    # -- §1–§3: the iframe, its form, and the POST the app received --------------------------------------

    def test_frame_name_attributes_form_and_the_post_the_app_received(self, session: PortalSession) -> None:
        page, sid = session.page, session.worker.evaluate("testApp.sid")
        host = page.evaluate("location.host")  # DOMAIN as the browser sees it (§1)
        iframe = page.locator(f"iframe[id='appframe_{sid}']")
        assert iframe.get_attribute("name") == f"{host}|0|{sid}"
        assert iframe.get_attribute("allow") == ALLOW
        assert iframe.get_attribute("sandbox") is None
        assert iframe.get_attribute("src") is None  # loaded by the form, not by src (§3)
        form = page.locator(f"form[name='appform_{sid}']")
        assert form.evaluate("f => [f.method, f.target, f.enctype]") == [
            "post", f"{host}|0|{sid}", "application/x-www-form-urlencoded"]
        assert not form.is_visible()

        posted = [r for r in session.origin.posts(session.app.page_path) if r.query.get("APP_SID") == sid]
        assert len(posted) == 1  # submitted once
        got = posted[0]
        assert got.content_type.startswith("application/x-www-form-urlencoded")
        assert {k: got.query[k] for k in ("DOMAIN", "PROTOCOL", "LANG", "APP_SID")} == {
            "DOMAIN": host, "PROTOCOL": "0", "LANG": "en", "APP_SID": sid}
        assert got.query["role"] == "worker"  # the handler's own query is kept, ours appended with '&'
        form_fields = got.form
        assert set(form_fields) == {"AUTH_ID", "AUTH_EXPIRES", "REFRESH_ID", "SERVER_ENDPOINT",
                                    "APPLICATION_TOKEN", "APPLICATION_SCOPE", "member_id", "status",
                                    "PLACEMENT", "PLACEMENT_OPTIONS"}
        assert all(form_fields.values())
        assert form_fields["AUTH_EXPIRES"] == "3600" and form_fields["status"] == "L"
        assert form_fields["PLACEMENT"] == "PAGE_BACKGROUND_WORKER"
        assert json.loads(form_fields["PLACEMENT_OPTIONS"]) == {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/"}

    # -- §4.1 / §4.2: the split rule and the object form ----------------------------------------------

    def test_split_rule_and_object_form(self, session: PortalSession) -> None:
        sid = "a" * 32
        cases = {
            # legacy, params + callback
            'CallCardSetUiState:{"uiState":"connected"}:k3j0:' + sid:
                ["CallCardSetUiState", {"uiState": "connected"}, "k3j0", sid, False],
            "getInitData::k3j1:" + sid: ["getInitData", [], "k3j1", sid, False],  # legacy, no params
            'resizeWindow:{"width":"100%","height":300}::' + sid:  # legacy, no callback
                ["resizeWindow", {"width": "100%", "height": 300}, "", sid, False],
            "cmd:params:cb": ["cmd", [], "params", "cb", False],  # APP_SID unknown: the last piece is it
            "getInitData:6f1c-uuid:" + sid: ["getInitData", [], "6f1c-uuid", sid, False],  # b24jssdk, 3 pieces
            'placementBindEvent:{"event":"BackgroundCallCard::initialized"}:u1:' + sid:  # PARAMS with '::'
                ["placementBindEvent", {"event": "BackgroundCallCard::initialized"}, "u1", sid, False],
            "setValue:plain: text:u2:" + sid: ["setValue", "plain: text", "u2", sid, True],  # raw, not JSON
        }
        got = session.page.evaluate(
            """cases => Object.keys(cases).map(text => {
                   const m = CallcardBridge.parseString(text);
                   return [m.command, m.params, m.callbackId, m.appSid, m.rawParams];
               })""", cases)
        assert got == list(cases.values())
        # fewer than 3 pieces: ignored
        assert session.page.evaluate("['getInitData:' + 'a'.repeat(32), 'x', ''].map(CallcardBridge.parseString)") \
            == [None, None, None]
        objects = session.page.evaluate(
            """sid => [
                 {method: 'getInitData', params: '', callback: 'c1', appSid: sid, requestId: 'r', extra: 1},
                 {method: 'getInitData', appSid: sid},
                 {method: 'placement:call', params: {a: 1}, callback: 'c2', appSid: sid},
               ].map(d => { const m = CallcardBridge.parseObject(d);
                            return [m.form, m.command, m.params, m.callbackId, m.appSid]; })""", sid)
        assert objects == [
            ["object", "getInitData", [], "c1", sid],
            ["object", "getInitData", [], "", sid],
            ["object", "placement:call", {"a": 1}, "c2", sid],
        ]

    def test_an_empty_or_missing_callback_gets_no_reply_in_either_form(self, session: PortalSession) -> None:
        w, sid = session.worker, session.worker.evaluate("testApp.sid")
        before = len(w.evaluate("testApp.messages"))
        post(w, f"getInitData:::{sid}")  # legacy: empty params, empty callback id
        post(w, {"method": "getInitData", "params": "", "callback": "", "appSid": sid})
        post(w, {"method": "getInitData", "params": "", "appSid": sid})
        control = cb("ctl")
        post(w, f"getInitData::{control}:{sid}")
        assert reply(w, control)["PLACEMENT"] == "PAGE_BACKGROUND_WORKER"
        session.page.wait_for_timeout(SILENCE_MS)
        texts = [m["data"] for m in w.evaluate("testApp.messages")[before:]]
        assert [t.split(":", 1)[0] for t in texts] == [control]  # nothing posted for the three others

    # -- §7.2 and §10: refreshAuth, then getInitData, in arrival order, with the new tokens -----------

    def test_refresh_auth_then_get_init_data_answered_in_order_with_the_new_tokens(
        self, session: PortalSession
    ) -> None:
        w, sid = session.worker, session.worker.evaluate("testApp.sid")
        old = reply_init(w, sid)
        refresh, init = cb("ref"), cb("ini")
        # posted back to back: getInitData (answered in the page) must wait for refreshAuth (a server trip)
        w.evaluate("""([a, b]) => { testApp.post(a); testApp.post(b); }""",
                   [f"refreshAuth::{refresh}:{sid}", f"getInitData::{init}:{sid}"])
        wait_until(lambda: replies(w, init), what="the getInitData reply")
        order = [t.split(":", 1)[0] for t in w.evaluate("testApp.messages.map(m => m.data)")]
        assert order.index(refresh) < order.index(init)
        auth = reply(w, refresh)
        assert set(auth) == {"AUTH_ID", "AUTH_EXPIRES", "REFRESH_ID"}
        assert isinstance(auth["AUTH_ID"], str) and isinstance(auth["REFRESH_ID"], str)
        assert auth["AUTH_EXPIRES"] == 3600
        assert auth["AUTH_ID"] != old["AUTH_ID"] and auth["REFRESH_ID"] != old["REFRESH_ID"]
        later = reply(w, init)
        assert (later["AUTH_ID"], later["REFRESH_ID"]) == (auth["AUTH_ID"], auth["REFRESH_ID"])
        assert 3598 <= later["AUTH_EXPIRES"] <= 3600

    def test_first_run_is_cleared_after_the_reply(self, session: PortalSession) -> None:
        w, sid = session.worker, session.worker.evaluate("testApp.sid")
        # as rendered for the first ever frame of an app (the server's side is in the unit tests)
        session.page.evaluate("sid => { callcardBridge.layout(sid).init.FIRST_RUN = true; }", sid)
        assert reply_init(w, sid)["FIRST_RUN"] is True
        assert reply_init(w, sid)["FIRST_RUN"] is False

    # -- §8: setInstall, setUserOption ---------------------------------------------------------------

    def test_set_install_is_echoed_and_leaves_install_mode_alone(self, session: PortalSession) -> None:
        # what the classic library and b24jssdk send after a first run; INSTALL is the app's install mode
        w, sid = session.worker, session.worker.evaluate("testApp.sid")
        assert reply_init(w, sid)["INSTALL"] is False  # an installed app
        for value in (True, False):
            install = cb("ins")
            post(w, f"setInstall:{json.dumps({'install': value})}:{install}:{sid}")
            assert reply(w, install) == {"install": value}
            assert reply_init(w, sid)["INSTALL"] is False

    def test_set_install_is_answered_even_when_the_server_request_fails(self, session: PortalSession) -> None:
        # §11: b24jssdk awaits setInstall in init when FIRST_RUN is true; without a reply the app hangs
        w, sid = session.worker, session.worker.evaluate("testApp.sid")
        session.page.evaluate("""() => {
            const server = callcardBridge.server, request = server.request;
            server.request = msg => msg.cmd === 'setInstall' ? Promise.reject(new Error('connection closed'))
                                                             : request.call(server, msg);
        }""")
        install = cb("inf")
        post(w, f'setInstall:{{"install":true}}:{install}:{sid}')
        assert reply(w, install) == {"install": True}

    def test_set_user_option_reaches_the_next_get_init_data_of_the_frame(self, session: PortalSession) -> None:
        w, sid = session.worker, session.worker.evaluate("testApp.sid")
        option = cb("opt")
        post(w, {"method": "setUserOption", "params": {"name": "theme", "value": "dark"}, "callback": option,
                 "appSid": sid})
        assert reply(w, option) == {"name": "theme", "value": "dark"}
        assert reply_init(w, sid)["USER_OPTIONS"] == {"theme": "dark"}

    # -- §6 and §8: silences ------------------------------------------------------------------------------

    def test_denied_and_messenger_commands_get_no_reply(self, session: PortalSession) -> None:
        w, sid, page = session.worker, session.worker.evaluate("testApp.sid"), session.page
        page.evaluate("window.__notReloaded = true")
        scroll, reload_ = cb("scr"), cb("rel")
        post(w, f'setScroll:{{"scroll":100}}:{scroll}:{sid}')  # denied outside DEFAULT
        post(w, f"reloadWindow::{reload_}:{sid}")  # denied outside DEFAULT: the page must not reload
        im = {
            "imCallTo": {"userId": 2, "video": False},
            "imPhoneTo": {"phone": "+15550123"},
            "imOpenMessenger": {"dialogId": "chat42"},
            "imOpenHistory": {"dialogId": "chat43"},
        }
        ids = {name: cb(name[:5].lower()) for name in im}
        for name, params in im.items():
            post(w, f"{name}:{json.dumps(params)}:{ids[name]}:{sid}")
        for text in ("user 2", "+15550123", "chat42", "chat43"):  # each one shows a toast
            page.wait_for_selector(f".pp-toast:has-text('{text}')", state="attached")
        no_reply(session, w, scroll, reload_, *ids.values())
        assert page.evaluate("window.__notReloaded === true")
        conformance = session.server.services.conformance

        def denied() -> set[str]:
            return {f["detail"]["command"] for f in conformance.findings(session.app.app.app_id)
                    if f["kind"] == "command_ignored" and f["detail"]["reason"] == "denied"}

        wait_until(lambda: {"setScroll", "reloadWindow"} <= denied(), what="both denials in the report")

    # -- §9 / §9.1: events on a raw binding -----------------------------------------------------------

    def test_events_held_back_by_the_guard_arrive_in_order_under_the_bind_callback_id(
        self, session: PortalSession
    ) -> None:
        s, w = session, session.worker
        sid = w.evaluate("testApp.sid")
        s.open_card(phone())
        s.set_state("connected")
        bound = cb("bnd")
        guard_ms = s.page.evaluate("callcardPage.boot.guardMs")
        bind_at = w.evaluate("""([text, bound]) => {
            window.__arrivals = [];
            window.addEventListener('message', e => {
              if (typeof e.data === 'string' && e.data.startsWith(bound + ':'))
                __arrivals.push(performance.now());
            });
            const at = performance.now();
            testApp.post(text);
            return at;
        }""", [f'placementBindEvent:{{"event":"BackgroundCallCard::muteButtonClick"}}:{bound}:{sid}', bound])
        s.page.wait_for_function(
            "cb => callcardBridge.bindings.some(b => b.cb === cb)", arg=bound, polling=20)
        s.click("mute")
        s.click("mute")  # both clicks well within the guard of the new binding
        wait_until(lambda: len(replies(w, bound)) >= 2, what="both events on the raw binding")
        s.page.wait_for_timeout(300)
        assert replies(w, bound) == ["true", "false"]  # in order, nothing at bind time, same callback id
        arrivals = w.evaluate("__arrivals")
        assert all(at - bind_at >= guard_ms for at in arrivals), (arrivals, bind_at)

    # -- §6–§8 in DEFAULT: the app's own page in the openApplication slider ---------------------------

    def test_default_page_in_the_slider(self, session: PortalSession) -> None:
        s, w = session, session.worker
        opened = cb("opn")
        post(w, {"method": "openApplication", "params": {"from": "test"}, "callback": opened,
                 "appSid": w.evaluate("testApp.sid")})

        def is_default(url: str) -> bool:
            parts = urlsplit(url)
            return parts.path == s.app.page_path and "role=" not in parts.query

        slider = frame_where(s.page, is_default)
        slider.wait_for_function("window.testApp && testApp.ready", polling=50)
        assert slider.evaluate("[testApp.placement, testApp.options]") == ["DEFAULT", {"from": "test"}]
        dsid = slider.evaluate("testApp.sid")
        iface, title, bind = cb("ifc"), cb("ttl"), cb("dbd")
        post(slider, f"getInterface::{iface}:{dsid}")
        assert reply(slider, iface) == {"command": [], "event": []}
        post(slider, f'setTitle:{{"title":"From the app"}}:{title}:{dsid}')  # allowed in DEFAULT only
        assert reply(slider, title) == {"title": "From the app"}
        assert s.page.title() == "From the app"
        scroll = cb("dsc")
        post(slider, f'setScroll:{{"scroll":0}}:{scroll}:{dsid}')  # allowed in DEFAULT only
        assert reply(slider, scroll) == {"scroll": 0}
        post(slider, f'placementBindEvent:{{"event":"BackgroundCallCard::initialized"}}:{bind}:{dsid}')
        no_reply(s, slider, bind)
        wait_until(lambda: any(f["kind"] == "command_ignored" and f["detail"]["command"] == "placementBindEvent"
                               and f["detail"]["placement"] == "DEFAULT"
                               for f in s.server.services.conformance.findings(s.app.app.app_id)),
                   what="the ignored bind in the report")
        assert replies(w, opened) == []  # openApplication answers when the slider closes...
        close, again = cb("cls"), cb("cla")
        post(w, f"closeApplication::{close}:{w.evaluate('testApp.sid')}")  # from the app's worker frame
        assert reply(w, opened) is None  # ...with no value: `<cb>:`
        assert reply(w, close) is None
        s.page.wait_for_selector("[data-role='slider']", state="detached")
        post(w, f"closeApplication::{again}:{w.evaluate('testApp.sid')}")  # no slider open: no reply
        no_reply(s, w, again)

    # -- §8: resizeWindow in a visible frame; selectCRM ---------------------------------------------------

    def test_resize_window_to_full_width_answers_the_applied_size_in_px(self, session: PortalSession) -> None:
        s = session
        s.open_card(phone())
        s.page.click(f"[data-callcard='card'] [data-tab='app-{s.app.tab_row}']")
        tab = find_frame(s.page, s.app.page_path, "tab")
        tsid = tab.evaluate("testApp.sid")
        size = cb("rsz")
        post(tab, f'resizeWindow:{{"width":"100%","height":400}}:{size}:{tsid}')
        got = reply(tab, size)
        iframe = s.page.locator(f"iframe[id='appframe_{tsid}']")
        applied = iframe.evaluate("f => { const r = f.getBoundingClientRect();"
                                  " return {width: Math.round(r.width), height: Math.round(r.height)}; }")
        assert got == applied and got["width"] > 100 and got["height"] == 400
        assert isinstance(got["width"], int)
        assert iframe.evaluate("f => [f.style.width, f.style.height]") == ["100%", "400px"]
        assert iframe.evaluate("f => f.getBoundingClientRect().width === f.parentElement.clientWidth")

    def test_select_crm_buckets_are_objects_keyed_from_zero(self, session: PortalSession) -> None:
        s = session
        crm = s.server.services.crm
        made = [crm.add("LEAD", {"TITLE": f"Picker lead {n}"}) for n in range(1, 12)]
        leads = [made[2], made[10]]  # the 3rd and the 11th: list order, not "10" < "2" as text
        s.page.reload()  # the page lists the CRM items it was rendered with
        s.page.wait_for_selector("html[data-ws='open']", state="attached")
        s = PortalSession(s.server, s.origin, s.page, s.app)
        w, sid = s.worker, s.worker.evaluate("testApp.sid")
        picked = cb("crm")
        post(w, f'selectCRM:{{"entityType":["lead"],"multiple":true}}:{picked}:{sid}')
        for lead in leads:
            s.page.click(f"[data-role='picker'] [data-pick='L_{lead}']")
        s.page.click("[data-role='picker'] [data-pick='ok']")
        got = reply(w, picked)
        assert list(got) == ["lead"]
        assert list(got["lead"]) == ["0", "1"]  # an object keyed "0".."n", not an array
        assert [got["lead"][k]["id"] for k in ("0", "1")] == [f"L_{lead}" for lead in leads]


def reply_init(frame: Any, sid: str) -> dict[str, Any]:
    """getInitData sent by hand (legacy form); its reply."""
    init = cb("gid")
    post(frame, f"getInitData::{init}:{sid}")
    data: dict[str, Any] = reply(frame, init)
    return data
