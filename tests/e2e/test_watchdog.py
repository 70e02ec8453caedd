"""The slow-handler watchdog in the browser (placements.md §3, §4).

A callcard of its own with small watchdog settings (threshold 1 s, 2 strikes). The slow app's server
answers the frame's form POST 1.6 s late, so its iframe's onload comes after the threshold on every
portal page load; a fast app on the same pages stays. After the configured strikes the slow app's row is
deleted, its errorHandlerUrl receives the notice (form fields ``error`` and ``error_description`` only, no
auth), and the next page no longer renders its frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import pytest
from app_origin import AppOrigin
from e2e_support import SharedBrowser, portal_login, wait_until

from callcard.settings import WatchdogSettings

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True

THRESHOLD_MS = 1000
STRIKES = 2
DELAY_MS = 1600
USER = 2


@pytest.fixture(scope="module")
def watchdog_stack(app_origin: AppOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from callcard.testing.server import CallcardServer

    settings = {"watchdog": WatchdogSettings(threshold_ms=THRESHOLD_MS, strikes=STRIKES)}
    with CallcardServer(tmp_path_factory.mktemp("callcard-watchdog"), **settings) as server:
        rows = {}
        for name, query in (("slow", f"?delay_ms={DELAY_MS}"), ("fast", "")):
            app = server.install_app(f"{name} worker", handler=f"{app_origin.url}/slow.html")
            reply = server.rest("placement.bind", {
                "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": f"{app_origin.url}/slow.html{query}",
                "OPTIONS": {"errorHandlerUrl": f"{app_origin.url}/sink/{name}-error"},
            }, auth=app)
            assert reply.ok, reply.body
            rows[name] = next(int(r["id"]) for r in server.services.placements.background_rows(USER, False)
                              if int(r["app_id"]) == app.app_id)
        yield {"server": server, "rows": rows}


def row(server: Any, row_id: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = server.services.store.get("placements", row_id)
    return found


def has_strikes(server: Any, row_id: int, count: int) -> bool:
    return (row(server, row_id) or {}).get("overtime_count") == count


def load_portal(browser: SharedBrowser, server: Any) -> tuple[Any, Any]:
    context, page = portal_login(browser.get(), server, USER)
    return context, page


def test_slow_handler_loses_its_binding_and_error_handler_hears(
    watchdog_stack: dict[str, Any], app_origin: AppOrigin, browser: SharedBrowser
) -> None:
    server, rows = watchdog_stack["server"], watchdog_stack["rows"]
    slow, fast = rows["slow"], rows["fast"]
    for strike in range(1, STRIKES + 1):
        context, page = load_portal(browser, server)
        # both frames are rendered on every page, the slow one included until it is removed
        assert page.locator(f"#placement_rest_{slow} iframe").count() == 1
        assert page.locator(f"#placement_rest_{fast} iframe").count() == 1
        loaded = "#pp-background-list [data-row-id='{}'].is-loaded"
        page.wait_for_selector(loaded.format(fast), state="attached")
        page.wait_for_selector(loaded.format(slow), state="attached", timeout=DELAY_MS + 10000)
        # the page measured both loads from insertion to the iframe's onload
        assert float(page.get_attribute(loaded.format(fast), "data-load-ms") or 1e9) < THRESHOLD_MS
        assert float(page.get_attribute(loaded.format(slow), "data-load-ms") or 0) > DELAY_MS
        if strike < STRIKES:
            wait_until(partial(has_strikes, server, slow, strike), what=f"strike {strike}")
        else:
            wait_until(lambda: row(server, slow) is None, what="the slow row to be removed")
        context.close()

    # the fast handler loaded under the threshold every time: no strike, still bound
    fast_row = row(server, fast)
    assert fast_row is not None and not fast_row["overtime_count"]

    notice = app_origin.wait_posts("/sink/slow-error", timeout=10)
    assert len(notice) == 1 and not app_origin.posts("/sink/fast-error")
    fields = dict(parse_qsl(notice[0].body.decode(), keep_blank_values=True))
    assert notice[0].content_type.startswith("application/x-www-form-urlencoded")
    assert set(fields) == {"error", "error_description"}  # no auth block, no tokens
    assert fields["error"] == "ERROR_PLACEMENT_LOADING_OVERTIME"
    assert "1 s" in fields["error_description"] and f"{STRIKES} times" in fields["error_description"]

    slow_app = next(a for a in server.services.directory.apps.list_apps() if a.name == "slow worker")
    kinds = [f["kind"] for f in server.services.conformance.findings(slow_app.id)]
    assert "slow_frame_load" in kinds

    # from the next page load on, the slow frame is gone; the fast one stays
    context, page = load_portal(browser, server)
    page.wait_for_selector(f"#placement_rest_{fast} iframe", state="attached")
    page.wait_for_timeout(300)
    assert page.locator(f"#placement_rest_{slow}").count() == 0
    assert page.locator(".pp-app-frame").count() == 1
    context.close()
