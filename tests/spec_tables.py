"""The spec's call-card tables, transcribed once for every test that checks against them.

Tests compare callcard with these, never with callcard's own constants, so a mistake in
``callcard.domain.uistate`` cannot agree with itself. Source: shared/spec/call-card.md §2, §3.1, §3.3.
"""

#: §2: the UiState keys with their numbers
UI_STATE_NUMBERS = {
    "incoming": 1, "transferIncoming": 2, "outgoing": 3, "connectingIncoming": 4, "connectingOutgoing": 5,
    "connected": 6, "transferring": 7, "transferFailed": 8, "transferConnected": 9, "idle": 10, "error": 11,
    "moneyError": 12, "sipPhoneError": 13, "redial": 14, "externalCard": 15,
}

#: §2: what CallCardGetListUiStates returns, in order
LISTED_STATES = ["incoming", "transferIncoming", "outgoing", "connectingIncoming", "connectingOutgoing",
                 "connected", "transferring", "transferFailed", "transferConnected", "error", "moneyError",
                 "redial"]

#: §3.1 with the conditions that never hold in callcard removed (no SIP phone, call list, device call or
#: transferred call). ``fold`` appears only while the card is foldable; ``idle`` is for an incoming call
#: (an outgoing one shows redial, close).
SPEC_BUTTONS: dict[str, list[str]] = {
    "incoming": ["answer", "skip"],
    "transferIncoming": ["answer", "skip"],
    "outgoing": ["call"],
    "connectingIncoming": ["hangup"],
    "connectingOutgoing": ["hangup"],
    "connected": ["hold", "mute", "qualityMeter", "fold", "transfer", "dialpad", "hangup"],
    "transferring": ["transferComplete", "transferCancel"],
    "transferFailed": ["transferCancel"],
    "transferConnected": ["hangup"],
    "idle": ["close"],
    "error": ["close"],
    "moneyError": ["notifyAdmin", "close"],
    "sipPhoneError": ["close"],
    "redial": ["redial"],
    "externalCard": ["close", "fold"],
}

#: §3.3: states where Esc closes the card
CLOSABLE = {"outgoing", "idle", "error", "moneyError", "sipPhoneError", "redial"}
