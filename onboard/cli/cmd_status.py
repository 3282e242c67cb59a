"""``python -m onboard status [--config CFG | --state-dir DIR] [--json]``: the unit's latest health.

Reads ``health.json``, which the running service rewrites every few seconds (atomic rename). Exit
status 0 when the file is fresh and the unit reports no problem, 1 when it reports problems or the
file is stale (service stopped or hung), 2 when there is no health file at all.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

STALE_AFTER_S = 30.0


EXAMPLES = """\
rettid-onboard status                      # /etc/rettid/onboard.yaml's state dir
rettid-onboard status --state-dir /var/lib/rettid --json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=Path("/etc/rettid/onboard.yaml"),
                   help="onboard.yaml (for unit.state_dir; default /etc/rettid/onboard.yaml)")
    p.add_argument("--state-dir", type=Path, help="read health.json from here instead")
    p.add_argument("--json", action="store_true", help="print the health document as JSON")


def _state_dir(args: argparse.Namespace) -> Path:
    if args.state_dir is not None:
        return Path(args.state_dir)
    from onboard.service.config import OnboardConfig

    return OnboardConfig.load(args.config).unit.state_dir


def _fmt(v: Any) -> str:
    return "-" if v is None else str(v)


def render(h: dict[str, Any], age_s: float) -> str:
    """Human-readable summary of a health document."""
    g, c, o, clk = h.get("gnss", {}), h.get("can", {}), h.get("outbox", {}), h.get("clock", {})
    trip = h.get("current_trip") or {}
    loops = ", ".join(f"{k} {'ok' if v else 'STALLED'}" for k, v in (h.get("loops") or {}).items())
    lines = [
        f"unit {h.get('unit')} (vehicle {h.get('veh')}, {h.get('oper')}), rettid {h.get('version')}, "
        f"up {float(h.get('uptime_s') or 0):.0f} s, report {age_s:.0f} s old",
        f"  status : {'OK' if h.get('ok') else 'PROBLEMS: ' + '; '.join(h.get('problems') or [])}",
        f"  clock  : {clk.get('source')} (synced {clk.get('synced')}, {clk.get('held_inputs', 0)} input(s) "
        f"held), data time {_fmt(h.get('data_time'))}",
        f"  gnss   : {g.get('state')}, fix age {_fmt(g.get('fix_age_s'))} s, mode {_fmt(g.get('mode'))}, "
        f"sats {_fmt(g.get('sats_used'))}, hdop {_fmt(g.get('hdop'))}",
        f"  can    : {c.get('state')}, last frame {_fmt(c.get('last_frame_age_s'))} s ago, "
        f"counters {json.dumps(c.get('counters') or {})}",
        f"  doors  : {json.dumps(h.get('doors') or {}, ensure_ascii=False)[:200]}",
        f"  outbox : {o.get('depth')} waiting, oldest {_fmt(o.get('oldest_age_s'))} s, connected "
        f"{_fmt(o.get('connected'))}, acked {_fmt(o.get('acked'))}, dead {_fmt(o.get('dead'))}",
        f"  trip   : {trip.get('route', '-')} {trip.get('trip_id', 'none')} {trip.get('oday', '')}",
        f"  loops  : {loops}",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from transit.health import HEALTH_FILE, read_health

    state_dir = _state_dir(args)
    path = state_dir / HEALTH_FILE
    try:
        h = read_health(state_dir)
        age = max(0.0, time.time() - path.stat().st_mtime)  # file age only: both sides use this host's clock
    except FileNotFoundError:
        print(f"no health report at {path}: is the onboard service running?")
        return 2
    except (OSError, ValueError) as exc:
        print(f"unreadable health report {path}: {exc}")
        return 2
    if args.json:
        print(json.dumps(h, ensure_ascii=False, indent=1))
    else:
        print(render(h, age))
    if age > STALE_AFTER_S:
        print(f"health report is {age:.0f} s old: the service is stopped or stalled")
        return 1
    return 0 if h.get("ok") else 1
