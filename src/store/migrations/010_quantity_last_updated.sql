-- Quantity rows carry their resource's last_updated, so that a composite's quantities under one
-- code are also kept in the FHIR API's default order (_lastUpdated, then id).
--
-- `Observation?code=C&value-quantity=gtV` (searched as the composite code-value-quantity, migration
-- 008) listed, counted and hashed every match before walking the Observations: at a million
-- resources a common code with a low threshold has 7,000 matches, about 3 ms of a 4 ms search,
-- while the page was among the first few hundred Observations. With the order in the index, when
-- the pair matches many, the page is read in order from the code's quantities, the value compared
-- in the index entry (src/store/search-sql.ts, quantityPage).
--
-- As for search_reference (migration 009), every write path writes the column with the version
-- (src/store/resources.ts, indexInserts), and the backfill runs in this migration's transaction.
ALTER TABLE search_quantity ADD COLUMN last_updated timestamptz;

UPDATE search_quantity q SET last_updated = r.last_updated
  FROM resources r
  WHERE r.partition_id = q.partition_id AND r.resource_type = q.resource_type AND r.id = q.resource_id;

ALTER TABLE search_quantity ALTER COLUMN last_updated SET NOT NULL;

-- The compared columns are included, as in search_quantity_by_lead, so a page never reads the table.
CREATE INDEX search_quantity_by_lead_updated ON search_quantity (partition_id, resource_type, param, lead_code, last_updated, resource_id)
  INCLUDE (lead_system, value, low, high, system, code, unit, canonical_code, canonical_value)
  WHERE lead_code IS NOT NULL;
