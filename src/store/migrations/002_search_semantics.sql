-- Search semantics (issue 4): what the index rows need beyond version 1.

-- The string as written (clipped like `value`), for :exact, which is case and accent sensitive.
-- Matched after the normalised `value` (search_string_lookup), so it needs no index of its own.
-- NULL in rows written before the reindex job has run.
ALTER TABLE search_string ADD COLUMN raw text COLLATE "C";

-- An Identifier's type (one row per type coding), for :of-type. NULL for every other token.
ALTER TABLE search_token ADD COLUMN type_system text, ADD COLUMN type_code text;
