-- Durable bulk jobs (import, export, FHIR $export): docs/bulk.md.
--
-- A job's state and checkpoint live in its row; each step of work commits together with the
-- row update, so a job killed mid-way resumes exactly where its last step committed. The lease
-- (owner + expiry, renewed by every step) lets any node reclaim the job of a node that died.

CREATE TABLE bulk_jobs (
  partition_id      integer NOT NULL REFERENCES partitions (id),
  id                text NOT NULL,                         -- job_…
  kind              text NOT NULL CHECK (kind IN ('import', 'export', 'fhir-export')),
  status            text NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  request           jsonb NOT NULL,                        -- parameters only, never PHI
  checkpoint        jsonb,
  total_records     integer,
  processed_records integer NOT NULL DEFAULT 0,
  errors            jsonb NOT NULL DEFAULT '[]',           -- [{index, message}], the first 1,000
  error_count       integer NOT NULL DEFAULT 0,
  failure           text,                                  -- why a failed job failed (no PHI)
  lease_owner       text,
  lease_expires_at  timestamptz,
  attempts          integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL,
  started_at        timestamptz,
  finished_at       timestamptz,
  deadline_at       timestamptz NOT NULL,
  expires_at        timestamptz NOT NULL,                  -- output and input are deleted after this
  purged_at         timestamptz,                           -- when the retention sweep deleted them
  PRIMARY KEY (partition_id, id)
);
-- The runner's claim query: runnable jobs, oldest first.
CREATE INDEX bulk_jobs_runnable ON bulk_jobs (created_at) WHERE status IN ('pending', 'processing');
-- The hourly bulk quota counts a partition's recent jobs.
CREATE INDEX bulk_jobs_recent ON bulk_jobs (partition_id, created_at);
-- Signed download URLs name the job only; the signature then binds its partition.
CREATE INDEX bulk_jobs_by_id ON bulk_jobs (id);
-- The retention sweep.
CREATE INDEX bulk_jobs_expiring ON bulk_jobs (expires_at) WHERE purged_at IS NULL;

-- An import's payload, stored while the request streams in, so any node can run or resume it.
-- A NULL line is a record too long to keep (reported as that record's error).
CREATE TABLE bulk_job_input (
  partition_id integer NOT NULL,
  job_id       text NOT NULL,
  chunk        integer NOT NULL,
  first_index  integer NOT NULL,                           -- line index of lines[1]
  lines        text[] NOT NULL,
  PRIMARY KEY (partition_id, job_id, chunk)
);

-- Output files of a job, whatever the output store: name, type and size as of the last step.
CREATE TABLE bulk_job_files (
  partition_id  integer NOT NULL,
  job_id        text NOT NULL,
  name          text NOT NULL,
  resource_type text,
  records       integer NOT NULL,
  bytes         bigint NOT NULL,
  PRIMARY KEY (partition_id, job_id, name)
);

-- The database output store: each step appends one chunk, so any node can serve any download.
CREATE TABLE bulk_job_chunks (
  partition_id integer NOT NULL,
  job_id       text NOT NULL,
  name         text NOT NULL,
  seq          integer NOT NULL,
  data         text NOT NULL,                             -- NDJSON is text: no hex encoding either way
  PRIMARY KEY (partition_id, job_id, name, seq)
);
-- Stored as written: compressing megabytes of JSON on every step costs more than the disk it saves.
ALTER TABLE bulk_job_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
