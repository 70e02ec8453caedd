"""The official @bitrix24/b24jssdk (UMD bundle, unmodified) in a frame on another origin, against the
portal page: every call-card scenario of ``card_scenarios.CardScenarios``, plus what only this SDK does
(safe-mode calls that resolve by themselves after 900 ms, the bindEvent trap of wire-protocol.md §9.1)."""

from __future__ import annotations

import pytest
from card_scenarios import CardScenarios, phone
from e2e_support import PortalSession

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True


class TestB24jssdkApp(CardScenarios):
    SDK = "b24jssdk"

    def test_unknown_command_resolves_by_itself(self, session: PortalSession) -> None:
        # the host ignores it silently; b24jssdk's safe mode settles the call after 900 ms
        assert session.call("NoSuchCommand", {"a": 1}) == {"isSafely": True}
        kinds = {f["kind"] for f in session.server.services.conformance.findings(session.app.app.app_id)}
        assert "command_ignored" in kinds

    def test_card_raised_right_after_the_binds_still_reaches_the_handler(self, session: PortalSession) -> None:
        # No settle(): the call is registered while the bindings are younger than 900 ms. On the platform
        # b24jssdk would resolve the bind promise with `initialized` and lose it; the host holds it back.
        age = session.worker.evaluate("performance.now() - testApp.boundAt")
        call_id = session.register_call(phone())
        payload = session.wait_event("initialized", timeout=5)[0]
        assert payload["CALL_ID"] == call_id
        if age < 500:  # (certainly still younger than the guard when the event comes)
            kinds = {f["kind"] for f in session.server.services.conformance.findings(session.app.app.app_id)}
            assert "event_held_back" in kinds
