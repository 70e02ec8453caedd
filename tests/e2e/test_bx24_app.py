"""The classic BX24 library callcard serves at /api/v1/, in a frame on another origin: every call-card
scenario of ``card_scenarios.CardScenarios``, plus what only the legacy library does (callbacks kept
forever, so one bound handler hears every occurrence; no timeouts anywhere)."""

from __future__ import annotations

import pytest
from card_scenarios import CardScenarios, phone
from e2e_support import PortalSession

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True


class TestBx24App(CardScenarios):
    SDK = "bx24"

    def test_one_binding_hears_every_occurrence(self, session: PortalSession) -> None:
        s = session
        s.open_card(phone())
        s.set_state("connected")
        for expected in ([True], [True, False], [True, False, True]):
            s.click("mute")
            assert s.wait_event("muteButtonClick", len(expected)) == expected

    def test_unknown_command_never_calls_back(self, session: PortalSession) -> None:
        assert session.call("NoSuchCommand", {"a": 1}) == {"noReply": True}
