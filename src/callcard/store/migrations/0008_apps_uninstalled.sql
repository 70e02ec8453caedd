-- Uninstalled apps (control API DELETE /_callcard/apps/{id}). The row stays, so app ids stay unique;
-- the time of the uninstall marks it until an install finishes again. The tokens of an app marked so
-- are refused, whoever minted them (a portal page still open mints fresh ones).
ALTER TABLE apps ADD COLUMN uninstalled_at REAL;
