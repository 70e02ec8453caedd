-- Widget placements, REST event handlers and REST card-event handlers (placement.bindEvent).
CREATE TABLE placements (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id         INTEGER NOT NULL,
    placement      TEXT NOT NULL,
    user_id        INTEGER NOT NULL DEFAULT 0,
    handler        TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    group_name     TEXT NOT NULL DEFAULT '',
    lang_all       JSON,
    options        JSON,
    overtime_count INTEGER NOT NULL DEFAULT 0,
    window_start   REAL,
    created_at     REAL NOT NULL
);
CREATE INDEX placements_app ON placements (app_id, placement);

CREATE TABLE event_handlers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id         INTEGER NOT NULL,
    event          TEXT NOT NULL,
    handler        TEXT NOT NULL,
    auth_type      INTEGER NOT NULL DEFAULT 0,
    event_type     TEXT NOT NULL DEFAULT 'online',
    auth_connector TEXT NOT NULL DEFAULT '',
    options        JSON,
    created_at     REAL NOT NULL
);
CREATE INDEX event_handlers_event ON event_handlers (event);

CREATE TABLE card_handlers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id     INTEGER,
    webhook_id INTEGER,
    user_id    INTEGER NOT NULL,       -- whose tokens go into the auth block (app bindings)
    event      TEXT NOT NULL,
    handler    TEXT NOT NULL,
    created_at REAL NOT NULL
);
