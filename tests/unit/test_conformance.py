"""Conformance report: recording, de-duplication by counting, kinds with why/fix, summary, clear."""

from __future__ import annotations

import pytest

from callcard.clock import FakeClock
from callcard.domain import conformance as c
from callcard.domain.conformance import KINDS, Conformance
from callcard.store import SQLiteStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_000.0)


@pytest.fixture
def report(tmp_path, clock) -> Conformance:
    return Conformance(SQLiteStore(tmp_path / "db.sqlite3"), clock)


def test_record_stores_a_finding_with_the_kind_texts(report, clock):
    report.record(7, c.HIDDEN_UI_STATE, "warning", "CallCardSetUiState idle", {"uiState": "idle"})
    [f] = report.findings()
    assert f["app_id"] == 7
    assert f["kind"] == "hidden_ui_state"
    assert f["severity"] == "warning"
    assert f["message"] == "CallCardSetUiState idle"
    assert f["detail"] == {"uiState": "idle"}
    assert f["count"] == 1
    assert f["first_at"] == f["at"] == 1_000.0
    assert "12" in f["why"] and f["fix"]
    assert f["title"] == KINDS[c.HIDDEN_UI_STATE].title


def test_severity_and_message_default_to_the_kind(report):
    report.record(1, c.FINISH_UNKNOWN_CALL)
    [f] = report.findings()
    assert f["severity"] == "error"
    assert f["message"] == KINDS[c.FINISH_UNKNOWN_CALL].title


def test_identical_consecutive_findings_are_counted_not_repeated(report, clock):
    for _ in range(3):
        clock.advance(5)
        report.record(1, c.COMMAND_IGNORED, "warning", "unknown command foo", {"command": "foo"})
    [f] = report.findings()
    assert f["count"] == 3
    assert f["first_at"] == 1_005.0
    assert f["at"] == 1_015.0


def test_a_different_finding_in_between_breaks_the_run(report):
    report.record(1, c.COMMAND_IGNORED, "warning", "foo")
    report.record(1, c.DUPLICATE_BIND, "warning", "bar")
    report.record(1, c.COMMAND_IGNORED, "warning", "foo")
    assert [(f["kind"], f["count"]) for f in report.findings()] == [
        ("command_ignored", 1),
        ("duplicate_bind", 1),
        ("command_ignored", 1),
    ]


def test_different_detail_or_severity_is_a_new_finding(report):
    report.record(1, c.RAW_PARAMS, "warning", "raw", {"params": "a"})
    report.record(1, c.RAW_PARAMS, "warning", "raw", {"params": "b"})
    report.record(1, c.RAW_PARAMS, "error", "raw", {"params": "b"})
    assert [f["count"] for f in report.findings()] == [1, 1, 1]


def test_runs_are_per_app(report):
    # Another app's finding in between does not break app 1's run.
    report.record(1, c.SLOW_HANDLER, "warning", "slow")
    report.record(2, c.SLOW_HANDLER, "warning", "slow")
    report.record(1, c.SLOW_HANDLER, "warning", "slow")
    report.record(None, c.EVENT_HELD_BACK, "warning", "held")
    report.record(None, c.EVENT_HELD_BACK, "warning", "held")
    assert {(f["app_id"], f["count"]) for f in report.findings()} == {(1, 2), (2, 1), (None, 2)}
    assert [f["app_id"] for f in report.findings(app_id=1)] == [1]


def test_unknown_kind_or_severity_is_a_programming_error(report):
    with pytest.raises(ValueError):
        report.record(1, "no_such_kind", "warning", "x")
    with pytest.raises(ValueError):
        report.record(1, c.RAW_PARAMS, "fatal", "x")
    assert report.findings() == []


def test_every_required_kind_exists_with_why_and_fix():
    required = {
        c.COMMAND_BEFORE_INITIALIZED,
        c.HIDDEN_UI_STATE,
        c.AWAITED_TIMER,
        c.DUPLICATE_BIND,
        c.COMMAND_IGNORED,
        c.REGISTER_WITHOUT_FINISH,
        c.FINISH_UNKNOWN_CALL,
        c.SLOW_FRAME_LOAD,
        c.HANDLER_ERROR,
        c.SLOW_HANDLER,
        c.REST_ERROR,
        c.EVENT_HELD_BACK,
        c.DOTLESS_HANDLER_HOST,
        c.RAW_PARAMS,
    }
    assert required <= set(KINDS)
    for kind in KINDS.values():
        assert kind.why.strip() and kind.fix.strip() and kind.title.strip()
        assert kind.severity in ("error", "warning")
    # The wire-protocol §9.1 wording for events held back by the bind guard.
    assert "would have been lost by b24jssdk apps" in KINDS[c.EVENT_HELD_BACK].why


def test_summary_sums_occurrences(report):
    report.record(1, c.COMMAND_IGNORED, "warning", "foo")
    report.record(1, c.COMMAND_IGNORED, "warning", "foo")
    report.record(2, c.FINISH_UNKNOWN_CALL, "error", "bar")
    report.record(None, c.EVENT_HELD_BACK, "warning", "baz")
    assert report.summary() == {
        "findings": 3,
        "occurrences": 4,
        "errors": 1,
        "warnings": 3,
        "by_kind": {"command_ignored": 2, "finish_unknown_call": 1, "event_held_back": 1},
        "by_app": {1: 2, 2: 1, 0: 1},
    }


def test_clear_all_or_one_app(report):
    report.record(1, c.COMMAND_IGNORED, "warning", "foo")
    report.record(2, c.COMMAND_IGNORED, "warning", "foo")
    assert report.clear(app_id=1) == 1
    assert [f["app_id"] for f in report.findings()] == [2]
    assert report.clear() == 1
    assert report.findings() == []
    assert report.summary()["findings"] == 0


def test_findings_survive_a_reopened_store(tmp_path, clock):
    path = tmp_path / "db.sqlite3"
    store = SQLiteStore(path)
    Conformance(store, clock).record(3, c.REST_ERROR, "warning", "ERROR_ARGUMENT")
    store.close()
    [f] = Conformance(SQLiteStore(path), clock).findings()
    assert (f["app_id"], f["kind"], f["message"]) == (3, "rest_error", "ERROR_ARGUMENT")
