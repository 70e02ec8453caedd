-- Outbound HTTP deliveries (events, errorHandlerUrl notices) and every attempt made.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,     -- event name or 'errorHandlerUrl'
    app_id          INTEGER,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,     -- the form-encoded body, exactly as sent
    status          TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, failed
    policy          TEXT NOT NULL DEFAULT 'once',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id   INTEGER NOT NULL,
    at          REAL NOT NULL,
    status_code INTEGER,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms REAL NOT NULL
);

CREATE TABLE conformance (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id   INTEGER,
    kind     TEXT NOT NULL,
    severity TEXT NOT NULL,            -- error, warning
    message  TEXT NOT NULL,
    detail   JSON,
    count    INTEGER NOT NULL DEFAULT 1,  -- identical consecutive findings of one app are counted, not repeated
    first_at REAL,                        -- first occurrence (`at` is the latest)
    at       REAL NOT NULL
);
CREATE INDEX conformance_app ON conformance (app_id, id);
