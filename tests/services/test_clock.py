"""Clock discipline: no record gets a 1970 time; held inputs get UTC from their monotonic offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transit.clock import ClockDiscipline, system_anchor, system_clock_synchronised

T0 = datetime(2026, 11, 23, 6, 13, tzinfo=UTC).timestamp()


def test_inputs_are_held_until_the_first_fix_then_get_utc_from_monotonic_offsets() -> None:
    c: ClockDiscipline[str] = ClockDiscipline()
    assert c.stamp_or_hold(100.0, "can@100") == []
    assert c.stamp_or_hold(101.5, "edge@101.5") == []
    assert c.pending == 2 and not c.synced and c.to_utc(100.0) is None
    c.on_gnss(T0, 103.0)  # the fix of T0 arrived at monotonic 103.0
    released = c.release()
    assert released == [(T0 - 3.0, "can@100"), (T0 - 1.5, "edge@101.5")]
    assert c.pending == 0 and c.state().source == "gnss"
    assert c.stamp_or_hold(104.25, "can@104.25") == [(T0 + 1.25, "can@104.25")]


def test_stamp_after_sync_returns_held_items_first() -> None:
    c: ClockDiscipline[str] = ClockDiscipline()
    c.stamp_or_hold(10.0, "a")
    # synced by a fix, but the caller did not release: the next stamp hands everything over in order
    c.on_gnss(T0, 12.0)
    assert [x for _, x in c.stamp_or_hold(12.5, "b")] == ["a", "b"]


def test_minimum_latency_filter_keeps_the_fastest_fix() -> None:
    c: ClockDiscipline[str] = ClockDiscipline()
    c.on_gnss(T0, 50.30)        # 300 ms latency
    c.on_gnss(T0 + 1, 51.08)    # 80 ms latency: the best estimate
    c.on_gnss(T0 + 2, 52.25)    # 250 ms
    assert c.to_utc(52.08) == pytest.approx(T0 + 2.0)


def test_a_time_step_re_anchors() -> None:
    c: ClockDiscipline[str] = ClockDiscipline()
    c.on_gnss(T0, 10.0)
    c.on_gnss(T0 - 3600, 11.0)  # receiver corrected its time by an hour
    assert c.state().steps == 1
    assert c.to_utc(11.0) == pytest.approx(T0 - 3600)


def test_time_warp_rate() -> None:
    c: ClockDiscipline[str] = ClockDiscipline(rate=20.0)
    c.stamp_or_hold(1.0, "x")
    c.on_gnss(T0, 2.0)
    assert c.release() == [(pytest.approx(T0 - 20.0), "x")]


def test_holding_is_bounded_and_counted() -> None:
    c: ClockDiscipline[int] = ClockDiscipline(max_pending=3)
    for i in range(5):
        c.stamp_or_hold(float(i), i)
    assert c.pending == 3 and c.state().dropped_pending == 2
    c.on_gnss(T0, 10.0)
    assert [x for _, x in c.release()] == [2, 3, 4]


def test_system_clock_only_when_synchronised_and_gnss_wins() -> None:
    c: ClockDiscipline[str] = ClockDiscipline()
    assert not system_anchor(c, wall=lambda: T0, mono=lambda: 5.0, synchronised=lambda: False)
    assert not c.synced
    assert system_anchor(c, wall=lambda: T0, mono=lambda: 5.0, synchronised=lambda: True)
    assert c.state().source == "system" and c.to_utc(6.0) == pytest.approx(T0 + 1)
    c.on_gnss(T0 + 10, 16.0)
    c.on_system(T0 + 99, 17.0)  # ignored: GNSS is recent
    assert c.state().source == "gnss" and c.to_utc(17.0) == pytest.approx(T0 + 11)


def test_system_clock_synchronised_reads_the_timesync_flag(tmp_path) -> None:  # type: ignore[no-untyped-def]
    flag = tmp_path / "synchronized"
    flag.touch()
    assert system_clock_synchronised(str(flag)) is True
    # without the flag the kernel decides; either answer is a bool, never an exception
    assert isinstance(system_clock_synchronised(str(tmp_path / "missing")), bool)


def test_no_adjtimex_under_a_seccomp_filter(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ctypes

    import transit.clock as clock

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("adjtimex must not be called under a system-call filter (SIGSYS)")

    monkeypatch.setattr(clock, "_seccomp_filtered", lambda: True)
    monkeypatch.setattr(ctypes, "CDLL", boom)
    assert clock.system_clock_synchronised(str(tmp_path / "missing"), chronyc="no-chronyc-here") is False
    (tmp_path / "flag").touch()
    assert clock.system_clock_synchronised(str(tmp_path / "flag")) is True


@pytest.mark.parametrize(("leap", "rc", "expected"), [("Normal", 0, True), ("Insert second", 0, True),
                                                      ("Not synchronised", 0, False), ("Normal", 1, False)])
def test_chrony_is_asked_when_the_kernel_cannot_be(tmp_path, monkeypatch, leap: str, rc: int,  # type: ignore[no-untyped-def]
                                                   expected: bool) -> None:
    """Issue 12 item 3: a display under chrony was never seen as synchronised (no timesyncd flag, and
    adjtimex is forbidden in the sandbox). ``chronyc -c -n tracking`` answers without privileges."""
    import transit.clock as clock

    fake = tmp_path / "chronyc"
    fake.write_text("#!/bin/sh\n[ \"$*\" = \"-c -n tracking\" ] || exit 9\n"
                    f"echo 'A29FC87B,162.159.200.123,3,1765000000.1,-0.000012,0.000003,0.000010,-1.234,0.001,"
                    f"0.020,0.010,0.001,64.2,{leap}'\nexit {rc}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(clock, "_seccomp_filtered", lambda: True)
    assert clock.system_clock_synchronised(str(tmp_path / "missing"), chronyc=str(fake)) is expected
    # without a seccomp filter the kernel is asked first; with adjtimex off, chrony answers
    monkeypatch.setattr(clock, "_seccomp_filtered", lambda: False)
    assert clock.system_clock_synchronised(str(tmp_path / "missing"), adjtimex=False,
                                           chronyc=str(fake)) is expected
