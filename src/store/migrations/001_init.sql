-- ClinikAPI schema, version 1.
--
-- Global reference tables (small, replicated on Citus): organisations, partitions, api_keys, settings.
-- Tenant data tables: every primary key and every index leads with partition_id, so the tenant
-- tables can be distributed by partition_id without change.

CREATE TABLE organisations (
  id                    text PRIMARY KEY,            -- org_…
  name                  text NOT NULL,
  plan                  text NOT NULL CHECK (plan IN ('sandbox', 'starter', 'pro', 'team', 'enterprise')),
  parent_id             text REFERENCES organisations (id),
  -- When rate_limit_custom is true, rate_limit_per_minute overrides the plan (NULL = unlimited).
  rate_limit_custom     boolean NOT NULL DEFAULT false,
  rate_limit_per_minute integer CHECK (rate_limit_per_minute IS NULL OR rate_limit_per_minute > 0),
  created_at            timestamptz NOT NULL
);

-- One partition per (organisation, environment): the unit of tenant isolation.
CREATE TABLE partitions (
  id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organisation_id text NOT NULL REFERENCES organisations (id),
  environment     text NOT NULL CHECK (environment IN ('test', 'live')),
  UNIQUE (organisation_id, environment)
);

CREATE TABLE api_keys (
  id              text PRIMARY KEY,                  -- key_…
  organisation_id text NOT NULL REFERENCES organisations (id),
  partition_id    integer NOT NULL REFERENCES partitions (id),
  environment     text NOT NULL CHECK (environment IN ('test', 'live')),
  prefix          text NOT NULL,                     -- first characters, for display only
  key_hash        bytea NOT NULL UNIQUE,             -- SHA-256 of the whole key
  scope           text NOT NULL CHECK (scope IN ('*', 'read', 'write')),
  expires_at      timestamptz,
  revoked_at      timestamptz,
  created_at      timestamptz NOT NULL
);
CREATE INDEX api_keys_organisation ON api_keys (organisation_id);

CREATE TABLE settings (
  name  text PRIMARY KEY,
  value text NOT NULL
);

-- Current version of every resource. Deleted resources keep a tombstone row (deleted = true,
-- content NULL) so that FHIR reads can answer 410 and a PUT can re-create the id as a new version.
CREATE TABLE resources (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  created_at    timestamptz NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean NOT NULL DEFAULT false,
  index_version integer NOT NULL,
  -- Search parameters that produced at least one index row, for :missing.
  index_params  text[] NOT NULL DEFAULT '{}',
  content       text,
  PRIMARY KEY (partition_id, resource_type, id)
);
CREATE INDEX resources_by_created ON resources (partition_id, resource_type, created_at DESC, id DESC) WHERE NOT deleted;
CREATE INDEX resources_by_updated ON resources (partition_id, resource_type, last_updated, id) WHERE NOT deleted;

-- The last history sequence number handed out per partition. A tenant table (not a column of
-- partitions) so that it is distributed and co-located with the data it numbers. Its row lock is
-- taken last in each write, so sequence order is commit order within a partition.
CREATE TABLE history_counters (
  partition_id integer PRIMARY KEY,
  last_seq     bigint NOT NULL
);

-- The change feed: every write, deletes included, appends the full version here.
CREATE TABLE resource_history (
  partition_id  integer NOT NULL,
  seq           bigint NOT NULL,                     -- per-partition, in commit order
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  operation     text NOT NULL CHECK (operation IN ('create', 'update', 'delete')),
  key_id        text,
  request_id    text,
  recorded_at   timestamptz NOT NULL,
  content       text,                                -- NULL for a delete
  PRIMARY KEY (partition_id, seq)
);
CREATE UNIQUE INDEX resource_history_version ON resource_history (partition_id, resource_type, id, version_id);
CREATE INDEX resource_history_by_type ON resource_history (partition_id, resource_type, recorded_at);

-- Search index. One table per value kind; rows are written in the resource's transaction and
-- removed with it. `param` is the search parameter code. Composite parameters store each part
-- under `<code>#<part number>` and link the parts of one value with the same `grp` (0 = plain).
CREATE TABLE search_token (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,
  grp           smallint NOT NULL DEFAULT 0,
  system        text NOT NULL DEFAULT '',            -- '' when the value has no system
  code          text,                                -- NULL for text-only values
  display       text                                 -- normalised display/text, for :text
);
CREATE INDEX search_token_lookup ON search_token (partition_id, resource_type, param, code, system, resource_id);
CREATE INDEX search_token_resource ON search_token (partition_id, resource_type, resource_id);
CREATE STATISTICS search_token_stats (dependencies, mcv) ON partition_id, resource_type, param, code, system FROM search_token;

CREATE TABLE search_string (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,
  grp           smallint NOT NULL DEFAULT 0,
  value         text COLLATE "C" NOT NULL            -- lower case, accents stripped
);
CREATE INDEX search_string_lookup ON search_string (partition_id, resource_type, param, value, resource_id);
CREATE INDEX search_string_resource ON search_string (partition_id, resource_type, resource_id);

CREATE TABLE search_reference (
  partition_id      integer NOT NULL,
  resource_type     text NOT NULL,
  resource_id       text NOT NULL,
  param             text NOT NULL,
  grp               smallint NOT NULL DEFAULT 0,
  target_type       text,                            -- for relative references Type/id
  target_id         text,
  reference         text,                            -- the literal reference, for absolute and canonical ones
  identifier_system text,                            -- Reference.identifier, for :identifier
  identifier_value  text
);
CREATE INDEX search_reference_lookup ON search_reference (partition_id, resource_type, param, target_id, resource_id);
CREATE INDEX search_reference_target ON search_reference (partition_id, target_type, target_id);
CREATE INDEX search_reference_resource ON search_reference (partition_id, resource_type, resource_id);

CREATE TABLE search_uri (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,
  grp           smallint NOT NULL DEFAULT 0,
  value         text COLLATE "C" NOT NULL
);
CREATE INDEX search_uri_lookup ON search_uri (partition_id, resource_type, param, value, resource_id);
CREATE INDEX search_uri_resource ON search_uri (partition_id, resource_type, resource_id);

-- Dates are stored as the UTC range they cover: 2024-03 is [2024-03-01T00:00, 2024-03-31T23:59:59.999].
CREATE TABLE search_date (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,
  grp           smallint NOT NULL DEFAULT 0,
  low           timestamptz NOT NULL,
  high          timestamptz NOT NULL
);
CREATE INDEX search_date_lookup ON search_date (partition_id, resource_type, param, low, high);
CREATE INDEX search_date_resource ON search_date (partition_id, resource_type, resource_id);

-- Numbers keep the range implied by their precision: 100 is [99.5, 100.5).
CREATE TABLE search_number (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,
  grp           smallint NOT NULL DEFAULT 0,
  value         numeric NOT NULL,
  low           numeric NOT NULL,
  high          numeric NOT NULL
);
CREATE INDEX search_number_lookup ON search_number (partition_id, resource_type, param, value);
CREATE INDEX search_number_resource ON search_number (partition_id, resource_type, resource_id);

-- Quantities keep the value as written and, where the unit is known, a canonical value and unit.
CREATE TABLE search_quantity (
  partition_id    integer NOT NULL,
  resource_type   text NOT NULL,
  resource_id     text NOT NULL,
  param           text NOT NULL,
  grp             smallint NOT NULL DEFAULT 0,
  value           numeric NOT NULL,
  low             numeric NOT NULL,
  high            numeric NOT NULL,
  system          text NOT NULL DEFAULT '',
  code            text NOT NULL DEFAULT '',
  unit            text NOT NULL DEFAULT '',
  canonical_value numeric,
  canonical_code  text
);
CREATE INDEX search_quantity_lookup ON search_quantity (partition_id, resource_type, param, code, value);
CREATE INDEX search_quantity_canonical ON search_quantity (partition_id, resource_type, param, canonical_code, canonical_value);
CREATE INDEX search_quantity_resource ON search_quantity (partition_id, resource_type, resource_id);

-- One sort value per (resource, parameter): the lowest value for ascending, the highest for
-- descending, so that multi-valued parameters sort each resource exactly once.
CREATE TABLE search_sort (
  partition_id  integer NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  param         text NOT NULL,
  asc_text      text COLLATE "C",
  desc_text     text COLLATE "C",
  asc_number    numeric,
  desc_number   numeric,
  asc_date      timestamptz,
  desc_date     timestamptz,
  PRIMARY KEY (partition_id, resource_type, resource_id, param)
);
