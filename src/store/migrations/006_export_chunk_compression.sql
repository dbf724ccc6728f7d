-- Export chunks (bulk_job_chunks.data) compressed with LZ4 where the server has it.
--
-- Migration 004 stored them uncompressed, because pglz, the only method every build has, costs
-- more CPU than the disk it saves. LZ4 compresses NDJSON several times over at a fraction of that
-- cost, so an export writes (and its download reads) a fraction of the bytes, WAL included.
-- Servers built without LZ4 (the embedded binaries are) keep migration 004's storage.
DO $$
BEGIN
  ALTER TABLE bulk_job_chunks ALTER COLUMN data SET COMPRESSION lz4;
  ALTER TABLE bulk_job_chunks ALTER COLUMN data SET STORAGE EXTENDED;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'LZ4 is not available: export chunks stay uncompressed';
END
$$;
