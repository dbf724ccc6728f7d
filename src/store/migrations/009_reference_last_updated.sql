-- Reference rows carry their resource's last_updated, so that the references to one target are
-- kept in the FHIR API's default order (_lastUpdated, then id) by search_reference_lookup.
--
-- `Observation?subject:Patient.name=x` used to find its page among every reference to the named
-- patients: at a million resources a common name has 40 patients and 12,000 Observations, and
-- the page cost either a walk over the type until those patients' rows turned up or a read of all
-- 12,000 to sort them (8–9 ms). With the order in the index, each target's first page-size
-- references are read in order and merged (src/store/search-sql.ts, mergedPage): at most a page
-- per target, whatever the target's number of references. `Observation?patient=X` and the
-- compartment search `Patient/X/Observation` are merged the same way.
--
-- Every write path replaces a resource's index rows in the statement that writes its new version
-- (src/store/resources.ts), so the column always equals the resource's own last_updated. The
-- backfill below runs in this migration's transaction: no search sees a half-filled column.
ALTER TABLE search_reference ADD COLUMN last_updated timestamptz;

UPDATE search_reference x SET last_updated = r.last_updated
  FROM resources r
  WHERE r.partition_id = x.partition_id AND r.resource_type = x.resource_type AND r.id = x.resource_id;

ALTER TABLE search_reference ALTER COLUMN last_updated SET NOT NULL;

-- The target's type is compared from the index as an included column: a reference names one
-- type, so it never narrows the range of one target id.
DROP INDEX search_reference_lookup;
CREATE INDEX search_reference_lookup ON search_reference (partition_id, resource_type, param, target_id, last_updated, resource_id) INCLUDE (target_type);
