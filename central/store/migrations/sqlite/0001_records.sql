-- Every record once by id, the raw payload as received; projections the month's reports read.
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    oper TEXT NOT NULL,
    veh TEXT NOT NULL,
    oday TEXT,
    trip_id TEXT,
    tst TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX records_oday_event ON records (oday, event);

CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    oday TEXT NOT NULL,
    oper TEXT NOT NULL,
    veh TEXT NOT NULL,
    route TEXT NOT NULL,
    trip_id TEXT NOT NULL,
    stop_id TEXT NOT NULL,
    station TEXT NOT NULL,
    station_name TEXT NOT NULL,
    status TEXT NOT NULL,
    measured TEXT NOT NULL,
    counted INTEGER NOT NULL,
    sched TEXT,
    actual TEXT,
    dl REAL,
    reason TEXT NOT NULL,
    tst TEXT NOT NULL
);
CREATE INDEX registrations_oday ON registrations (oday);

CREATE TABLE trip_runs (
    oday TEXT NOT NULL,
    trip_id TEXT NOT NULL,
    veh TEXT NOT NULL,
    route TEXT NOT NULL,
    observed INTEGER NOT NULL,
    PRIMARY KEY (oday, trip_id, veh)
) WITHOUT ROWID;

CREATE TABLE rejected (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL
);
