"""Parameter handling for external calls: the platform's number clean-up, CALL_START_DATE parsing,
user-id lists, click-to-call number parts, and the REST-name → keyword mapping of register / finish.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import error
from .dates import iso

__all__ = [
    "FINISH_PARAMS", "REGISTER_PARAMS", "international", "merge_params", "parse_start_date",
    "split_extension", "strip_letters", "target_users",
]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}))?$")
_EXTENSION = re.compile(r"^(.*?)\s*(?:;\s*ext\s*=|ext\.?|x|#|,)\s*(\d+)\s*$", re.IGNORECASE)


def strip_letters(number: Any) -> str:
    """The platform's number clean-up: keep digits and ``# * + , ;``; an empty result is unsupported."""
    return re.sub(r"[^0-9#*+,;]", "", str(number or ""))


def parse_start_date(value: Any, now: float) -> tuple[float, str]:
    """CALL_START_DATE → (unix time, ISO text). Empty means now; a date needs a time zone."""
    if value is None or value == "":
        return now, iso(now)
    text = str(value).strip() if isinstance(value, str) else ""
    if not _ISO.match(text):
        raise error("ERROR_CORE", "CALL_START_DATE should be in the ISO-8601 format")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise error("ERROR_CORE", "CALL_START_DATE should be in the ISO-8601 format") from None
    if parsed.tzinfo is None:  # date only: midnight, portal time (UTC)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp(), parsed.isoformat(timespec="seconds")


#: REST parameter name → keyword of ``register`` / ``finish``, for callers that pass the params mapping.
REGISTER_PARAMS = {
    "USER_ID": "user_id", "USER_PHONE_INNER": "user_phone_inner", "PHONE_NUMBER": "phone_number",
    "TYPE": "call_type", "CALL_START_DATE": "call_start_date", "CRM_CREATE": "crm_create",
    "CRM_SOURCE": "crm_source", "CRM_ENTITY_TYPE": "crm_entity_type", "CRM_ENTITY_ID": "crm_entity_id",
    "SHOW": "show", "ADD_TO_CHAT": "add_to_chat", "CALL_LIST_ID": "call_list_id",
    "LINE_NUMBER": "line_number", "EXTERNAL_CALL_ID": "external_call_id",
}
FINISH_PARAMS = {
    "CALL_ID": "call_id", "USER_ID": "user_id", "USER_PHONE_INNER": "user_phone_inner",
    "DURATION": "duration", "COST": "cost", "COST_CURRENCY": "cost_currency", "STATUS_CODE": "status_code",
    "FAILED_REASON": "failed_reason", "RECORD_URL": "record_url", "VOTE": "vote",
    "ADD_TO_CHAT": "add_to_chat",
}
_FLAGS = {"crm_create", "show", "add_to_chat"}
_INTS = {"user_id", "call_type", "crm_entity_id", "call_list_id", "duration", "vote"}


def merge_params(
    params: Mapping[str, Any], names: Mapping[str, str], given: Mapping[str, Any],
) -> dict[str, Any]:
    """Keyword arguments from a REST params mapping (keys case-insensitive, unknown keys ignored), with
    explicitly given keywords winning. Values should be coerced already; flag and number strings pass."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        name = names.get(str(key).upper())
        if name is None or value is None:
            continue
        if name in _FLAGS and isinstance(value, str):
            value = value.strip().upper() not in ("", "0", "N", "FALSE")
        elif name in _INTS and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        out[name] = value
    out.update({k: v for k, v in given.items() if v is not None})
    return out


def target_users(value: Any, default: int) -> list[int]:
    """USER_ID of show/hide: an int, a list (or urlencoded map) of ints, or nothing → the call's user."""
    if value is None or value == "" or value == []:
        return [default]
    items = list(value.values()) if isinstance(value, Mapping) else value
    items = items if isinstance(items, (list, tuple)) else [items]
    out: list[int] = []
    for item in items:
        try:
            out.append(int(str(item).strip()))
        except ValueError:
            continue  # the platform casts garbage to 0, which matches nobody
    return out


def split_extension(phone: str) -> tuple[str, str]:
    """``"+4930123;ext=55"`` → (``"+4930123"``, ``"55"``); also ``x``, ``ext.``, ``#`` and ``,``."""
    match = _EXTENSION.match(phone.strip())
    return (match.group(1), match.group(2)) if match else (phone.strip(), "")


def international(number: str) -> str:
    """E.164 when the number says its country (``+`` or ``00``); callcard has no portal country to
    guess from, so a national number is returned as its digits."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits
