-- Minimal, real CRM: leads, contacts, companies with phone multi-fields, and call activities.
CREATE TABLE crm_entities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT NOT NULL,         -- LEAD, CONTACT, COMPANY
    entity_id   INTEGER NOT NULL,      -- per-type id, as the platform numbers them
    fields      JSON NOT NULL,
    assigned_by_id INTEGER NOT NULL DEFAULT 1,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    UNIQUE (entity_type, entity_id)
);

-- Multi-fields (the platform's FM): PHONE and EMAIL values, told apart by type_id.
CREATE TABLE crm_phones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT NOT NULL,
    entity_id   INTEGER NOT NULL,
    type_id     TEXT NOT NULL DEFAULT 'PHONE',
    value       TEXT NOT NULL,
    value_type  TEXT NOT NULL DEFAULT 'WORK',
    normalized  TEXT NOT NULL
);
CREATE INDEX crm_phones_normalized ON crm_phones (normalized);
CREATE INDEX crm_phones_entity ON crm_phones (entity_type, entity_id);

CREATE TABLE crm_activities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_type  TEXT NOT NULL,
    owner_id    INTEGER NOT NULL,
    call_id     TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    data        JSON,
    created_at  REAL NOT NULL
);
