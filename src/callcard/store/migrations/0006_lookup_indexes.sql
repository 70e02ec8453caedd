-- Indexes for the lookups the domain makes that 0001-0005 left to table scans. No table changes, and
-- none of them is written on the REST hot path (register / finish write calls and call_stats only).
CREATE INDEX sessions_user ON sessions (user_id, kind);                  -- user.current: IS_ONLINE, LAST_LOGIN
CREATE INDEX call_records_call ON call_records (call_id);                -- records of a finished call
CREATE INDEX call_records_upload ON call_records (upload_token);         -- the attachRecord uploadUrl
CREATE INDEX crm_activities_call ON crm_activities (call_id);            -- the activity of a call
CREATE INDEX crm_phones_type ON crm_phones (type_id);                    -- phone / e-mail searches
CREATE INDEX delivery_attempts_outbox ON delivery_attempts (outbox_id);  -- attempts of one delivery
CREATE INDEX card_handlers_event ON card_handlers (event);               -- placement.bindEvent routing
CREATE INDEX event_handlers_app ON event_handlers (app_id);              -- event.get / unbind per app
CREATE INDEX placements_placement ON placements (placement);             -- frames of one placement
