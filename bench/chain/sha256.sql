-- The floor: SHA-256 alone (pgcrypto's digest()) over each row's changes::text, the larger part of
-- what a row digest covers (in the bench's rows 294 of its 531 bytes, the rest mostly the user
-- agent), one digest per row, serial plan, no chain at all.
\timing off
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT count(*), sum(length(digest(changes::text, 'sha256'))) FROM smarthub.audit_logs;
