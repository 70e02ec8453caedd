-- The local portal, its users, installed apps, credentials and sessions.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value JSON
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    active          INTEGER NOT NULL DEFAULT 1,
    is_admin        INTEGER NOT NULL DEFAULT 0,
    uf_phone_inner  TEXT,
    work_phone      TEXT NOT NULL DEFAULT '',
    personal_phone  TEXT NOT NULL DEFAULT '',
    personal_mobile TEXT NOT NULL DEFAULT '',
    work_position   TEXT NOT NULL DEFAULT '',
    departments     JSON,
    date_register   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX users_phone_inner ON users (uf_phone_inner);

CREATE TABLE apps (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    code              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    client_id         TEXT NOT NULL UNIQUE,
    client_secret     TEXT NOT NULL,
    application_token TEXT NOT NULL,
    scopes            JSON NOT NULL,
    status            TEXT NOT NULL DEFAULT 'L',
    installed         INTEGER NOT NULL DEFAULT 0,
    first_run         INTEGER NOT NULL DEFAULT 1,
    handler           TEXT NOT NULL DEFAULT '',
    app_options       JSON,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        REAL NOT NULL
);

CREATE TABLE user_options (
    app_id  INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    options JSON,
    PRIMARY KEY (app_id, user_id)
);

CREATE TABLE access_tokens (
    token      TEXT PRIMARY KEY,
    app_id     INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE refresh_tokens (
    token      TEXT PRIMARY KEY,
    app_id     INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    code       TEXT NOT NULL UNIQUE,
    scopes     JSON NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE sessions (
    token      TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL,          -- 'login' (one-time link) or 'session' (browser cookie)
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL
);
