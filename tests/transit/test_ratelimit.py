"""transit.ratelimit: one message per kind per interval, every occurrence counted, no clock read."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transit.ratelimit import RateLimitedLog

log = logging.getLogger("tests.ratelimit")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == log.name]


def test_data_time_paces_per_kind_and_reports_the_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=log.name)
    rl = RateLimitedLog(log, 10.0)
    assert rl.warn("a", "bad %d", 1, t=100.0)
    assert not rl.warn("a", "bad %d", 2, t=105.0)
    assert not rl.warn("a", "bad %d", 3, t=109.9)
    assert rl.warn("b", "other", t=106.0)  # another kind has its own pace
    assert rl.warn("a", "bad %d", 4, t=110.0)
    assert messages(caplog) == ["bad 1", "other", "bad 4 (2 more a since the last report)"]
    assert rl.counts == {"a": 4, "b": 1} and rl.suppressed == {"a": 2}


def test_time_going_backwards_logs_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=log.name)
    rl = RateLimitedLog(log, 10.0)
    assert rl.warn("a", "x", t=1000.0)
    assert rl.warn("a", "x", t=10.0)  # a replay restarting must not silence the kind for 990 s
    assert len(messages(caplog)) == 2


def test_injected_clock(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=log.name)
    now = [0.0]
    rl = RateLimitedLog(log, 60.0, clock=lambda: now[0])
    for i in range(100):
        now[0] = i * 1.0
        rl.warn("reconnect", "lost the broker")
    assert messages(caplog) == ["lost the broker", "lost the broker (59 more reconnect since the last report)"]
    assert rl.counts["reconnect"] == 100 and rl.suppressed["reconnect"] == 98


def test_without_time_the_pace_is_by_count_and_flush_reports_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=log.name)
    rl = RateLimitedLog(log)
    logged = [i for i in range(1, 1201) if rl.warn("line", "bad line %d", i)]
    assert logged == [1, 10, 100, 1000]
    rl.flush()
    assert messages(caplog)[-1] == "200 more line not reported individually"
    rl.flush()  # nothing held back any more
    assert len(messages(caplog)) == 5


def test_level_is_configurable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=log.name)
    RateLimitedLog(log, level=logging.INFO).warn("k", "note")
    assert [r.levelno for r in caplog.records if r.name == log.name] == [logging.INFO]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 1e6, allow_nan=False)), max_size=60))
def test_every_occurrence_is_either_logged_or_counted(calls: list[tuple[str, float]]) -> None:
    rl = RateLimitedLog(logging.getLogger("tests.ratelimit.quiet"), 5.0)
    logged: dict[str, int] = {}
    for kind, t in calls:
        if rl.warn(kind, "m", t=t):
            logged[kind] = logged.get(kind, 0) + 1
    for kind, n in rl.counts.items():
        assert logged.get(kind, 0) + rl.suppressed.get(kind, 0) == n
        assert logged.get(kind, 0) >= 1  # the first occurrence of a kind is always logged
