-- Password login is on by default from this migration on. Applications created before it had it
-- off by default, so those that never chose keep it off: the setting is written out for them.
UPDATE "Application"
SET "settings" = json_set("settings", '$.passwordLogin', json('false'))
WHERE json_valid("settings") AND json_type("settings") = 'object' AND json_type("settings", '$.passwordLogin') IS NULL;
