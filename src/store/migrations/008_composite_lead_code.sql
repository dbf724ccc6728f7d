-- A composite parameter's quantity part indexed by the code of its token part.
--
-- `Observation?code=C&value-quantity=gtV` (and `code-value-quantity=C$gtV`) used to list every
-- Observation with code C and probe each one's value: 4,000 probes for a common code at a million
-- resources, where a few dozen match. A composite's parts share a group (`grp`); a quantity part
-- row now carries the system and code of its group's first part when that part is a token (one
-- row per coded token of the group), so the pair is one range of search_quantity_by_lead: code,
-- then value. Rows of groups without a coded token keep NULL and are not in the index.
--
-- The backfill below writes exactly the rows the indexer now writes (src/fhir/indexing/index.ts),
-- inside this migration's transaction, so no search ever sees a half-indexed store.
ALTER TABLE search_quantity ADD COLUMN lead_system text, ADD COLUMN lead_code text;

CREATE TEMPORARY TABLE led_quantity ON COMMIT DROP AS
  SELECT q.partition_id, q.resource_type, q.resource_id, q.param, q.grp, q.value, q.low, q.high, q.system, q.code, q.unit,
         q.canonical_value, q.canonical_code, t.system AS lead_system, t.code AS lead_code
  FROM search_quantity q
  JOIN search_token t ON t.partition_id = q.partition_id AND t.resource_type = q.resource_type AND t.resource_id = q.resource_id
   AND t.grp = q.grp AND t.param = split_part(q.param, '#', 1) || '#0' AND t.code IS NOT NULL
  WHERE q.grp > 0 AND q.param NOT LIKE '%#0';

DELETE FROM search_quantity q
  USING (SELECT DISTINCT partition_id, resource_type, resource_id, grp FROM led_quantity) AS l
  WHERE q.partition_id = l.partition_id AND q.resource_type = l.resource_type AND q.resource_id = l.resource_id AND q.grp = l.grp;

INSERT INTO search_quantity (partition_id, resource_type, resource_id, param, grp, value, low, high, system, code, unit,
                             canonical_value, canonical_code, lead_system, lead_code)
  SELECT DISTINCT * FROM led_quantity;

-- Everything a search reads from a match (its id and the compared columns) is in the index, so
-- listing or counting a code's values never reads the table.
CREATE INDEX search_quantity_by_lead ON search_quantity (partition_id, resource_type, param, lead_code, value)
  INCLUDE (resource_id, lead_system, low, high, system, code, unit, canonical_code, canonical_value)
  WHERE lead_code IS NOT NULL;
