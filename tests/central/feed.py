"""A tiny hand-made GTFS feed and operator file for the golden month tests: Frederiksværkbanen with
920R and 920E (one strækning), a bus leaving Hundested (for the lost last connection), one day."""

from __future__ import annotations

from pathlib import Path

STOPS = [("HIL", "Hillerød St.", 55.9277, 12.3105, 1, ""), ("HIL8", "Hillerød St. spor 8", 55.9278, 12.3104, 0, "HIL"),
         ("FRV", "Frederiksværk St.", 55.9700, 12.0200, 0, ""), ("HUN", "Hundested St.", 55.9640, 11.8600, 0, ""),
         ("HUNB", "Hundested Busterminal", 55.9641, 11.8601, 0, "")]


def _t(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def write_feed(root: Path, *, day: str = "20261103", n_r: int = 0, n_e: int = 0, basic: bool = True,
               night: bool = False) -> Path:
    """``basic``: trips R1, E1 (Hillerød → Frederiksværk → Hundested) and R2 (back); plus ``n_r``/``n_e``
    extra trips Hillerød → Hundested of 920R/920E; bus B1 leaves Hundested at 22:10 (the day's last);
    ``night``: N1 of 920R at 00:40 from Hillerød, Frederiksværk 01:30, Hundested 02:10 (GTFS times)."""
    feed = root / "feed"
    feed.mkdir(parents=True, exist_ok=True)
    (feed / "agency.txt").write_text("agency_id,agency_name,agency_url,agency_timezone\n"
                                     "LT,Lokaltog,https://example.invalid,Europe/Copenhagen\n")
    (feed / "stops.txt").write_text("stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                                    + "".join(f"{a},{b},{c},{d},{e},{f}\n" for a, b, c, d, e, f in STOPS))
    (feed / "routes.txt").write_text("route_id,agency_id,route_short_name,route_long_name,route_type\n"
                                     "920R,LT,920R,Frederiksværkbanen,2\n920E,LT,920E,Frederiksværkbanen ekspres,2\n"
                                     "940B,LT,940B,Bus,3\n")
    (feed / "calendar_dates.txt").write_text(f"service_id,date,exception_type\nD1,{day},1\n")
    trips = ["route_id,service_id,trip_id,trip_headsign,direction_id"]
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]

    def trip(tid: str, route: str, stops: list[tuple[str, int]], d: int = 0) -> None:
        trips.append(f"{route},D1,{tid},{STOPS[[s[0] for s in STOPS].index(stops[-1][0])][1]},{d}")
        for k, (sid, t) in enumerate(stops, 1):
            times.append(f"{tid},{_t(t)},{_t(t)},{sid},{k}")

    if basic:
        trip("R1", "920R", [("HIL8", 6 * 3600), ("FRV", 6 * 3600 + 1800), ("HUN", 6 * 3600 + 2700)])
        trip("E1", "920E", [("HIL8", 7 * 3600), ("FRV", 7 * 3600 + 1500), ("HUN", 7 * 3600 + 2200)])
        trip("R2", "920R", [("HUN", 8 * 3600), ("FRV", 8 * 3600 + 900), ("HIL8", 8 * 3600 + 2700)], 1)
        trip("RL", "920R", [("HIL8", 21 * 3600), ("FRV", 21 * 3600 + 1800), ("HUN", 22 * 3600)])
    if night:
        trip("N1", "920R", [("HIL8", 2400), ("FRV", 5400), ("HUN", 7800)])
    for i in range(n_r):
        trip(f"XR{i}", "920R", [("HIL8", 9 * 3600 + 60 * i), ("HUN", 10 * 3600 + 60 * i)])
    for i in range(n_e):
        trip(f"XE{i}", "920E", [("HIL8", 9 * 3600 + 60 * i + 30), ("HUN", 10 * 3600 + 60 * i + 30)])
    trip("B1", "940B", [("HUN", 22 * 3600 + 600), ("FRV", 22 * 3600 + 2400)])
    (feed / "trips.txt").write_text("\n".join(trips) + "\n")
    (feed / "stop_times.txt").write_text("\n".join(times) + "\n")
    return feed


def write_operator(root: Path, feed: Path, *, unmeasured: str = "late", measure_on: str = "arrival") -> Path:
    p = root / "op.yaml"
    p.write_text(f"""operator: {{id: lokaltog, name: Lokaltog A/S, authority: Movia, timezone: Europe/Copenhagen}}
feed: {feed}
punctuality:
  policy: rail
  measure_on: {measure_on}
  late_threshold_s: 180
  target_pct: 93.0
  bonus_points: [[86.0, -2.3], [93.0, 0.0], [100.0, 2.3]]
  unmeasured: {{not_observed: {unmeasured}, missing: {unmeasured}, cancelled: {unmeasured}}}
registration_stations:
  "920R": [HIL, FRV, HUN]
  "920E": [HIL, FRV, HUN]
occupancy: {{rush_hours: [["07:00", "09:00"]], rush_limit_pct: 100, other_limit_pct: 90}}
vehicle_types:
  lint41: {{name: "Coradia Lint 41", seats: 116, folding_seats: 10, approved_capacity: 280, doors: 4}}
display: {{delay_threshold_s: 120}}
straekninger:
  frederiksvaerkbanen: {{name: "Frederiksværkbanen", lines: ["920R", "920E"]}}
""", encoding="utf-8")
    return p
