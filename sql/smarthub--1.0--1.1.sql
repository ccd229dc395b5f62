-- smarthub upgrade from 1.0 to 1.1. Every change of 1.1 is made twice: here, for databases that
-- have 1.0, and in sql/install/, which builds the 1.1 install script. test/shell/080_upgrade.sh
-- proves the two agree.
\echo Use "ALTER EXTENSION smarthub UPDATE TO '1.1'" to load this file. \quit

-- Usernames: not empty, no blanks around them, no control characters (1.0 accepted '' and '  ',
-- and login('', password) then worked). Existing accounts that break the rule stop the upgrade
-- with a count and a hint, rather than being changed behind the DBA's back.
DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT pg_catalog.count(*) INTO bad FROM smarthub.users
     WHERE NOT username OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$';
    IF bad OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION '% smarthub user(s) have an empty username, blanks around it, or control characters in it', bad
            USING ERRCODE = '23514',
                  HINT = 'Find them with SELECT id, username FROM smarthub.users WHERE username !~ ''^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$''; rename them, then run ALTER EXTENSION smarthub UPDATE again.';
    END IF;
END
$$;
ALTER TABLE smarthub.users ADD CONSTRAINT username_format
    CHECK (username OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$');
COMMENT ON CONSTRAINT username_format ON smarthub.users IS
    'Not empty, no blanks at either end, no control characters';

-- The append-only guard lets a logical replication subscription apply the two changes a primary
-- makes to existing audit rows (1.0 refused them, which stopped the subscription for good the
-- first time a user was deleted). The change is in the C function; its comment says so.
COMMENT ON FUNCTION smarthub.audit_logs_guard() IS 'Keeps smarthub.audit_logs append-only (42501), except for purge_audit_logs and the user_id foreign key''s SET NULL, also when a logical replication subscription applies them';
