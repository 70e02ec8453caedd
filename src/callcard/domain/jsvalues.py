"""JavaScript value coercions: how the platform's JS reads the params an app sends with a command.

Command params arrive as whatever JSON the app posted. The platform tests flags with ``!!value`` and
writes texts into the card as JS would render them; ``js_truthy`` and ``js_string`` reproduce both for
any decoded JSON value (None, bool, int, float, str, list, dict). Pure functions, no state.
"""

from __future__ import annotations

import json
import math

__all__ = ["js_string", "js_truthy"]


def js_truthy(value: object) -> bool:
    """JavaScript truthiness: the platform tests command params with ``!!value`` (so "false" is true)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def js_string(value: object) -> str:
    """How a param renders as text on the card; missing (None) is the empty string (team choice)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
