-- External lines, live external calls, finished-call statistics, call records, open call cards.
-- Lines belong to an app (the platform keys them by NUMBER + REST_APP_ID).
CREATE TABLE external_lines (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    number          TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    crm_auto_create TEXT NOT NULL DEFAULT 'Y',
    app_id          INTEGER,
    UNIQUE (app_id, number)
);

CREATE TABLE calls (
    call_id          TEXT PRIMARY KEY,
    app_id           INTEGER,
    user_id          INTEGER NOT NULL,
    phone_number     TEXT NOT NULL,
    type             INTEGER NOT NULL,
    line_number      TEXT NOT NULL DEFAULT '',
    external_call_id TEXT NOT NULL DEFAULT '',
    call_start_date  TEXT NOT NULL,
    crm_entity_type  TEXT NOT NULL DEFAULT '',
    crm_entity_id    INTEGER NOT NULL DEFAULT 0,
    crm_activity_id  INTEGER NOT NULL DEFAULT 0,
    crm_bindings     JSON,
    crm_created_lead INTEGER,
    crm_created_entities JSON,
    crm_enabled      INTEGER NOT NULL DEFAULT 1,   -- 0 for a portal (inner-extension) call
    portal_user_id   INTEGER,
    call_start_ts    REAL NOT NULL DEFAULT 0,      -- CALL_START_DATE as unix time; the dedup window reads it
    dedup_key        TEXT NOT NULL,
    created_at       REAL NOT NULL
);
CREATE INDEX calls_dedup ON calls (dedup_key, created_at);

CREATE TABLE call_stats (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id    TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL,
    app_id     INTEGER,
    record     JSON NOT NULL,
    finished_at REAL NOT NULL
);

CREATE TABLE call_records (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id    TEXT NOT NULL,
    filename   TEXT NOT NULL DEFAULT '',
    url        TEXT NOT NULL DEFAULT '',
    content    BLOB,
    upload_token TEXT,
    created_at REAL NOT NULL
);

CREATE TABLE cards (
    user_id    INTEGER PRIMARY KEY,
    state      JSON NOT NULL,
    updated_at REAL NOT NULL
);
