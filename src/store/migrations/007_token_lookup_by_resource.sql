-- search_token_lookup keyed (…, param, code, resource_id), with the system carried along.
--
-- The index serves two uses: a code's candidates (a range on code), and the probe "does resource
-- R have code C?", which a walk, a _has or a planned nested loop asks once per row. With the
-- system between code and resource_id (migration 001), a probe that does not name the system
-- (`code=X`, the common form) could not descend to R: it read every entry of the code, tens of
-- microseconds at a hundred thousand resources. Now it is one descent. Searches naming the system
-- test it from the index, without reading the row.
DROP INDEX search_token_lookup;
CREATE INDEX search_token_lookup ON search_token (partition_id, resource_type, param, code, resource_id) INCLUDE (system);
