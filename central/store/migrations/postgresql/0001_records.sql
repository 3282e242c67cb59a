-- Every record once by id, the raw payload as received; projections the month's reports read.
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    oper TEXT NOT NULL,
    veh TEXT NOT NULL,
    oday DATE,
    trip_id TEXT,
    tst TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BYTEA NOT NULL
);
CREATE INDEX records_oday_event ON records (oday, event);

CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    oday DATE NOT NULL,
    oper TEXT NOT NULL,
    veh TEXT NOT NULL,
    route TEXT NOT NULL,
    trip_id TEXT NOT NULL,
    stop_id TEXT NOT NULL,
    station TEXT NOT NULL,
    station_name TEXT NOT NULL,
    status TEXT NOT NULL,
    measured TEXT NOT NULL,
    counted BOOLEAN NOT NULL,
    sched TEXT,
    actual TEXT,
    dl DOUBLE PRECISION,
    reason TEXT NOT NULL,
    tst TEXT NOT NULL
);
CREATE INDEX registrations_oday ON registrations (oday);

CREATE TABLE trip_runs (
    oday DATE NOT NULL,
    trip_id TEXT NOT NULL,
    veh TEXT NOT NULL,
    route TEXT NOT NULL,
    observed BOOLEAN NOT NULL,
    PRIMARY KEY (oday, trip_id, veh)
);

CREATE TABLE rejected (
    n BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BYTEA NOT NULL,
    reason TEXT NOT NULL
);
