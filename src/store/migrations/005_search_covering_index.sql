-- Late materialisation (src/store/search-sql.ts, compileSearch): a search finds and orders its
-- page's ids before it reads any resource row whole, so what it reads per candidate must be in an
-- index: an index-only scan instead of a random read of a row of a kilobyte or more.

-- Each live resource's id with its two sort instants.
CREATE UNIQUE INDEX resources_live_ids ON resources (partition_id, resource_type, id) INCLUDE (last_updated, created_at) WHERE NOT deleted;

-- Reference filters and chains compare the target's type as well as its id.
DROP INDEX search_reference_lookup;
CREATE INDEX search_reference_lookup ON search_reference (partition_id, resource_type, param, target_id, target_type, resource_id);

-- A quantity filter is tested per candidate resource (a code's matches, say): the whole
-- comparison from the index.
DROP INDEX search_quantity_resource;
CREATE INDEX search_quantity_resource ON search_quantity (partition_id, resource_type, resource_id, param)
  INCLUDE (value, low, high, system, code, unit, canonical_code, canonical_value);
