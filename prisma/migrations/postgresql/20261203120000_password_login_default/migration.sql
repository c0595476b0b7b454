-- Password login is on by default from this migration on. Applications created before it had it
-- off by default, so those that never chose keep it off: the setting is written out for them.
UPDATE "Application"
SET "settings" = ("settings"::jsonb || '{"passwordLogin": false}'::jsonb)::text
WHERE jsonb_typeof("settings"::jsonb) = 'object' AND NOT ("settings"::jsonb ? 'passwordLogin');
