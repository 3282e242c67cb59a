"""The time-sanity filter in front of the trip-following core (issue 12 item 2)."""

from __future__ import annotations

from transit.timesanity import TimeSanity

DAY = 86_400.0


def _run(ts: list[float]) -> tuple[list[float], TimeSanity[int]]:
    f: TimeSanity[int] = TimeSanity()
    out = []
    for i, t in enumerate(ts):
        out += [x for x, _ in f.offer(t, i).items]
    out += [x for x, _ in f.flush().items]
    return out, f


def test_one_epoch_a_day_ahead_or_behind_is_quarantined() -> None:
    good = [1000.0 + i for i in range(20)]
    for bad in (1010.0 + DAY, 1010.0 - DAY, 1010.0 + 3600):
        ts = good[:10] + [bad] + good[10:]
        out, f = _run(ts)
        assert out == good and f.quarantined == 1 and f.steps == 0


def test_a_bad_first_epoch_is_quarantined_too() -> None:
    out, f = _run([5000.0 + DAY] + [5000.0 + i for i in range(10)])
    assert out == [5000.0 + i for i in range(10)] and f.quarantined == 1


def test_a_real_step_is_followed_within_seconds_and_nothing_is_lost() -> None:
    before = [1000.0 + i for i in range(10)]
    after = [1000.0 + 3600 + i for i in range(10)]  # a recording resumes an hour later
    out, f = _run(before + after)
    assert out == before + after and f.steps == 1 and f.quarantined == 0
    back = [1000.0 - DAY + 10 + i for i in range(10)]  # the receiver corrects a wrong date backwards
    ff: TimeSanity[int] = TimeSanity()
    got = [ff.offer(t, 0) for t in before + back]
    assert sum(r.stepped_back for r in got) == 1 and [x for r in got for x, _ in r.items] == before + back


def test_ten_hertz_needs_agreement_over_time_not_just_count() -> None:
    good = [1000.0 + i / 10 for i in range(50)]
    burst = [1000.0 + DAY + i / 10 for i in range(4)]  # 0.3 s of a wrong date: still a glitch
    out, f = _run(good[:20] + burst + good[20:])
    assert out == good and f.quarantined == 4


def test_held_epochs_are_bounded() -> None:
    f: TimeSanity[int] = TimeSanity(max_held=10)
    f.offer(0.0, 0)
    for i in range(100):  # every epoch a different wrong time: never agreeing, never confirmed
        f.offer(1e6 * (i + 1), i)
    assert f.held <= 10 and f.quarantined >= 90
