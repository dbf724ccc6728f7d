-- Text sort values in sort order, like the date and number ones of migration 012, so that a sort on
-- a code, a name, a uri or a reference reads its page from the index when unfiltered and is walked
-- in order when filtered, instead of reading every match's sort row and sorting them all: at 1M,
-- `Observation?status=final&_sort=code` sorted a tenant's 117,000 Observations, about 2 s
-- (docs/search.md, "Text sorts: indexed too").
--
-- A btree entry holds at most 2,704 bytes. Strings were already cut to 500 code points and codes,
-- uris and reference targets kept only under 2,000 bytes, but a reference without a local target
-- (an absolute URL elsewhere) was not: sort keys are now cut to 500 code points (4 bytes at most
-- each), and the stored ones here the same way. left() counts code points, as the indexer does.
UPDATE search_sort SET asc_text = left(asc_text, 500), desc_text = left(desc_text, 500)
WHERE length(asc_text) > 500 OR length(desc_text) > 500;

CREATE INDEX search_sort_asc_text ON search_sort (partition_id, resource_type, param, asc_text, resource_id) WHERE asc_text IS NOT NULL;
CREATE INDEX search_sort_desc_text ON search_sort (partition_id, resource_type, param, desc_text, resource_id) WHERE desc_text IS NOT NULL;
