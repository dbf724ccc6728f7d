-- Coded references: each reference of a resource (relative, Type/id) paired with each code of its
-- `code` search parameter, the one R4 gives most clinical record types for what the record is
-- about (an Observation's test, a Condition's diagnosis, a MedicationRequest's medication).
--
-- `Patient?_has:Observation:patient:code=X` asks which patients a code's Observations reference.
-- Without this table the answer joins two index tables on the Observation's id: either a probe of
-- search_reference per Observation of the code (its targets, about 6 µs each at a million
-- resources), or, walking the patients, a read of each patient's every Observation reference
-- (hundreds, about 20 µs a patient). A code that a minority of patients have paid for both: at
-- a million resources 979 Observations, 219 patients walked, 4–6 ms. Here the code's references
-- are one index range, kept by target: its patients are listed from it, and a patient is tested
-- by one probe (src/store/search-sql.ts, codedReferenceCondition).
--
-- The rows are a pure function of the resource's reference rows and its `code` token rows (the
-- cross product of the ungrouped ones, relative references with a code only), so every write path
-- writes them with the others (src/store/resources.ts, indexInserts) and this backfill derives
-- them from the rows already stored, in this migration's transaction.
CREATE TABLE search_coded_reference (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,                       -- the reference parameter
  target_type   text NOT NULL,
  target_id     text NOT NULL,
  system        text NOT NULL,                       -- the code's, '' when it has none
  code          text NOT NULL
);

INSERT INTO search_coded_reference (partition_id, resource_type, resource_id, param, target_type, target_id, system, code)
  SELECT x.partition_id, x.resource_type, x.resource_id, x.param, x.target_type, x.target_id, t.system, t.code
  FROM search_reference x
  JOIN search_token t ON t.partition_id = x.partition_id AND t.resource_type = x.resource_type AND t.resource_id = x.resource_id
    AND t.param = 'code' AND t.grp = 0 AND t.code IS NOT NULL
  WHERE x.grp = 0 AND x.target_type IS NOT NULL AND x.target_id IS NOT NULL;

-- The system and the target's type are compared from the index: neither narrows a code's range.
CREATE INDEX search_coded_reference_lookup ON search_coded_reference (partition_id, resource_type, param, code, target_id) INCLUDE (system, target_type);
CREATE INDEX search_coded_reference_resource ON search_coded_reference (partition_id, resource_type, resource_id);
CREATE STATISTICS search_coded_reference_stats (dependencies, mcv) ON partition_id, resource_type, param, code FROM search_coded_reference;
ALTER TABLE search_coded_reference ALTER COLUMN code SET STATISTICS 1000;
