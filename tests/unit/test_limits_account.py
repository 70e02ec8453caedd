"""Limits.account (what every successful REST call does) is exactly record + report, in one go."""

from __future__ import annotations

import random

from callcard.clock import FakeClock
from callcard.rest.limits import Limits
from callcard.settings import LimitSettings


def test_account_is_record_then_report() -> None:
    rng = random.Random(7)
    clock_a, clock_b = FakeClock(1_763_700_000.0), FakeClock(1_763_700_000.0)
    a, b = Limits(LimitSettings(), clock_a), Limits(LimitSettings(), clock_b)
    for _ in range(3000):
        step = rng.choice([0.0, 0.001, 0.5, 7.0, 61.0, 400.0])
        clock_a.advance(step)
        clock_b.advance(step)
        method, owner = rng.choice(["m1", "m2"]), rng.choice(["app:1", "app:2", "webhook:3"])
        seconds = rng.choice([0.0, -1.0, 0.002, 3.5, 90.0])
        got = a.account(method, owner, seconds)
        b.record(method, owner, seconds)
        want = b.report(method, owner)
        assert got == want and type(got[0]) is type(want[0])
        assert a.operating.blocked((method, owner)) == b.operating.blocked((method, owner))
