-- Planner statistics for the search index tables.
--
-- partition_id, resource_type and param are strongly correlated with each other and with the
-- value columns (a LOINC code occurs only under Observation.code, a patient id only under
-- subject/patient). Without extended statistics the planner multiplies their selectivities as if
-- independent, estimates a handful of rows where there are hundreds, and can drive a multi-filter
-- search from the wrong filter (docs/search.md, "What the plans showed"). search_token has had
-- these since version 1; the other lookup tables get them here. A larger sample for the value
-- columns keeps the most-common-value lists useful at millions of rows.
CREATE STATISTICS search_reference_stats (dependencies, mcv) ON partition_id, resource_type, param, target_type FROM search_reference;
CREATE STATISTICS search_string_stats (dependencies, mcv) ON partition_id, resource_type, param FROM search_string;
CREATE STATISTICS search_date_stats (dependencies, mcv) ON partition_id, resource_type, param FROM search_date;
CREATE STATISTICS search_quantity_stats (dependencies, mcv) ON partition_id, resource_type, param, code FROM search_quantity;
CREATE STATISTICS search_sort_stats (dependencies, mcv) ON partition_id, resource_type, param FROM search_sort;

ALTER TABLE search_reference ALTER COLUMN target_id SET STATISTICS 1000;
ALTER TABLE search_token ALTER COLUMN code SET STATISTICS 1000;
ALTER TABLE search_string ALTER COLUMN value SET STATISTICS 1000;
