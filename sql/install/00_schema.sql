-- smarthub install script, assembled from sql/install/*.sql by the Makefile.
\echo Use "CREATE EXTENSION smarthub" to load this file. \quit

-- The schema belongs to the extension: DROP EXTENSION removes it, and a schema of this name that
-- already exists makes CREATE EXTENSION fail instead of installing into someone else's schema.
CREATE SCHEMA smarthub;
COMMENT ON SCHEMA smarthub IS 'smarthub: users, roles, API keys, sessions, entities and the audit log';

-------------------------------------------------------------------------------------------------
-- Time-ordered uuids (src/uuid_v7.c), before the tables whose defaults use them
-------------------------------------------------------------------------------------------------

-- RFC 9562 version 7: millisecond time first, so an index on them is appended to. VOLATILE: each
-- call is a new id; increasing within a backend.
CREATE FUNCTION smarthub.uuid_v7() RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_uuid_v7';
CREATE FUNCTION smarthub.uuid_v7_time(id uuid) RETURNS timestamptz
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_uuid_v7_time';
-- The smallest version-7-ordered uuid of a millisecond: partition bounds.
CREATE FUNCTION smarthub.uuid_v7_bound(at timestamptz) RETURNS uuid
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_uuid_v7_bound';
COMMENT ON FUNCTION smarthub.uuid_v7_bound(timestamptz) IS 'The smallest uuid of the millisecond at: every version-7 uuid made then or later sorts at or above it';
COMMENT ON FUNCTION smarthub.uuid_v7() IS 'A new version-7 (time-ordered) uuid, increasing within a backend';
COMMENT ON FUNCTION smarthub.uuid_v7_time(uuid) IS 'The time (to the millisecond) of a version-7 uuid; NULL for other versions';

-------------------------------------------------------------------------------------------------
-- Tables
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.users (
    id                uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    email             varchar(255) NOT NULL,
    username          varchar(100) NOT NULL,
    password_hash     varchar(255) NOT NULL,
    first_name        varchar(100),
    last_name         varchar(100),
    avatar_url        varchar(512),
    is_active         boolean      NOT NULL DEFAULT true,
    email_verified    boolean      NOT NULL DEFAULT false,
    email_verified_at timestamptz,
    last_login_at     timestamptz,
    created_at        timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at        timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    deleted_at        timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT email_format CHECK (email OPERATOR(pg_catalog.~) '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'),
    -- not empty, no blanks around it, no control characters: a username is typed to log in
    CONSTRAINT username_format CHECK (username OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$')
);

CREATE TABLE smarthub.roles (
    id          uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name        varchar(100) NOT NULL,
    description text,
    is_system   boolean      NOT NULL DEFAULT false,
    created_at  timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT roles_pkey PRIMARY KEY (id),
    -- The unique constraint's index is the seed's idx_roles_name: one index, not two.
    CONSTRAINT idx_roles_name UNIQUE (name)
);

CREATE TABLE smarthub.user_roles (
    id          uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    role_id     uuid        NOT NULL REFERENCES smarthub.roles (id) ON DELETE CASCADE,
    assigned_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    assigned_by uuid        REFERENCES smarthub.users (id) ON DELETE SET NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (id),
    CONSTRAINT user_roles_user_id_role_id_key UNIQUE (user_id, role_id)
);

CREATE TABLE smarthub.api_keys (
    id           uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id      uuid         NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    key_hash     varchar(64)  NOT NULL,
    name         varchar(255),
    description  text,
    last_used_at timestamptz,
    expires_at   timestamptz,
    is_active    boolean      NOT NULL DEFAULT true,
    created_at   timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at   timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT key_length CHECK (key_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$')
);

CREATE TABLE smarthub.sessions (
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    token_hash varchar(64) NOT NULL,
    ip_address inet,
    user_agent text,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the assurance level: aal1 at login, aal2 once verify_session_mfa saw a second factor
    aal        text        NOT NULL DEFAULT 'aal1',
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT token_length CHECK (token_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
    CONSTRAINT sessions_aal CHECK (aal OPERATOR(pg_catalog.=) ANY (ARRAY['aal1', 'aal2']))
);

CREATE TABLE smarthub.audit_logs (
    id          uuid         NOT NULL DEFAULT smarthub.uuid_v7(),
    user_id     uuid         REFERENCES smarthub.users (id) ON DELETE SET NULL,
    entity_type varchar(100) NOT NULL,
    entity_id   uuid         NOT NULL,
    action      varchar(50)  NOT NULL,
    changes     jsonb,
    ip_address  inet,
    user_agent  text,
    created_at  timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    db_role     text         NOT NULL DEFAULT SESSION_USER,
    txid        bigint       NOT NULL DEFAULT pg_catalog.txid_current(),
    -- who acted, kept when that user is deleted (user_id is then set NULL); NULL before 1.1
    actor_id    uuid,
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id)
) PARTITION BY RANGE (id);
-- Partitioned by id, whose version-7 prefix is the time: one partition per month, made ahead by
-- smarthub.create_audit_partitions() (and by purge_audit_logs), so that retention drops whole
-- months. The default partition takes every row no month partition holds: rows written before
-- their month's partition exists, far outside the prepared range, and 1.0's random version-4 ids.
CREATE TABLE smarthub.audit_logs_default PARTITION OF smarthub.audit_logs DEFAULT;

CREATE TABLE smarthub.entities (
    id          uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    entity_type varchar(100) NOT NULL,
    owner_id    uuid         REFERENCES smarthub.users (id) ON DELETE SET NULL,
    name        varchar(255),
    data        jsonb        NOT NULL DEFAULT '{}',
    created_at  timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    deleted_at  timestamptz,
    CONSTRAINT entities_pkey PRIMARY KEY (id)
);

-------------------------------------------------------------------------------------------------
-- Indexes (the seed's names; its in-table INDEX clauses are MySQL syntax)
-------------------------------------------------------------------------------------------------

-- Case-insensitive uniqueness, and the indexes that lookups by lower(email) / lower(username) use.
CREATE UNIQUE INDEX idx_users_email ON smarthub.users (pg_catalog.lower(email));
CREATE UNIQUE INDEX idx_users_username ON smarthub.users (pg_catalog.lower(username));
CREATE INDEX idx_users_is_active ON smarthub.users (is_active);
CREATE INDEX idx_users_created_at ON smarthub.users (created_at DESC);

CREATE INDEX idx_user_roles_user_id ON smarthub.user_roles (user_id);
CREATE INDEX idx_user_roles_role_id ON smarthub.user_roles (role_id);

CREATE INDEX idx_api_keys_user_id ON smarthub.api_keys (user_id);
CREATE INDEX idx_api_keys_expires_at ON smarthub.api_keys (expires_at);
-- A user's live keys: the question the application asks; inactive keys are history.
CREATE INDEX idx_api_keys_active ON smarthub.api_keys (user_id) WHERE is_active;

CREATE INDEX idx_sessions_user_id ON smarthub.sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON smarthub.sessions (expires_at);

CREATE INDEX idx_audit_logs_user_id ON smarthub.audit_logs (user_id);
CREATE INDEX idx_audit_logs_entity ON smarthub.audit_logs (entity_type, entity_id);
CREATE INDEX idx_audit_logs_created_at ON smarthub.audit_logs (created_at DESC);
-- One request's changes (WHERE txid = ...): txid rises with time, as rows are appended, so a BRIN
-- index of a few pages serves it where a B-tree would take a page per ~400 rows. Changes made by
-- a database role outside the application, newest first: a B-tree (db_role is not in write order).
CREATE INDEX idx_audit_logs_txid ON smarthub.audit_logs USING brin (txid);
CREATE INDEX idx_audit_logs_db_role ON smarthub.audit_logs (db_role, created_at DESC);

CREATE INDEX idx_entities_entity_type ON smarthub.entities (entity_type);
CREATE INDEX idx_entities_owner_id ON smarthub.entities (owner_id);
CREATE INDEX idx_entities_data ON smarthub.entities USING gin (data jsonb_path_ops);

-------------------------------------------------------------------------------------------------
-- Seed data and pg_dump registration
-------------------------------------------------------------------------------------------------

-- Fixed ids: the dump leaves system roles to this script, so user_roles rows restored from a dump
-- must find the same ids here.
INSERT INTO smarthub.roles (id, name, description, is_system) VALUES
    ('00000000-0000-4000-8000-000000000001', 'admin',     'Full system access',      true),
    ('00000000-0000-4000-8000-000000000002', 'user',      'Standard access',         true),
    ('00000000-0000-4000-8000-000000000003', 'viewer',    'Read-only access',        true),
    ('00000000-0000-4000-8000-000000000004', 'moderator', 'Moderation capabilities', true);

-- pg_dump keeps the rows of every table; system roles come from this script, not from the dump.
SELECT pg_catalog.pg_extension_config_dump('smarthub.users', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.roles', 'WHERE NOT is_system');
SELECT pg_catalog.pg_extension_config_dump('smarthub.user_roles', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.audit_logs_default', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.entities', '');

-------------------------------------------------------------------------------------------------
-- Bookkeeping triggers
-------------------------------------------------------------------------------------------------

CREATE FUNCTION smarthub.set_updated_at() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_set_updated_at';

CREATE TRIGGER set_updated_at BEFORE UPDATE ON smarthub.users
    FOR EACH ROW EXECUTE FUNCTION smarthub.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON smarthub.roles
    FOR EACH ROW EXECUTE FUNCTION smarthub.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON smarthub.api_keys
    FOR EACH ROW EXECUTE FUNCTION smarthub.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON smarthub.entities
    FOR EACH ROW EXECUTE FUNCTION smarthub.set_updated_at();

-- System roles are referenced by name in the policies: renaming, deleting or demoting one would
-- silently change who may do what. They are immutable, which also keeps a dump faithful: their
-- rows come from this script, not from the dump.
CREATE FUNCTION smarthub.protect_system_roles() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF OLD.is_system THEN
        RAISE EXCEPTION 'system role "%" cannot be %', OLD.name,
              CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'changed' END
              USING ERRCODE = '42501',
                    HINT = 'Create a new role instead.';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER protect_system_roles BEFORE UPDATE OR DELETE ON smarthub.roles
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_system_roles();

-------------------------------------------------------------------------------------------------
-- Monitoring
-------------------------------------------------------------------------------------------------

CREATE VIEW smarthub.table_sizes AS
    SELECT c.relname::text                                                 AS table_name,
           t.rows::bigint                                                  AS rows_estimate,
           pg_catalog.pg_size_pretty(t.bytes)                              AS total_size
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     -- a partitioned table (the audit log) counts its partitions
     CROSS JOIN LATERAL (SELECT pg_catalog.sum(GREATEST(p.reltuples, 0)) AS rows,
                                pg_catalog.sum(pg_catalog.pg_total_relation_size(p.oid)) AS bytes
                           FROM pg_catalog.pg_partition_tree(c.oid) pt
                           JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) pt.relid) t
     WHERE n.nspname OPERATOR(pg_catalog.=) 'smarthub'
       AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}') AND NOT c.relispartition
     ORDER BY t.bytes DESC, c.relname;

-------------------------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC until smarthub.grant_access() says otherwise.
-------------------------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA smarthub FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.set_updated_at() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.uuid_v7() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.uuid_v7_time(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.uuid_v7_bound(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.protect_system_roles() FROM PUBLIC;

-------------------------------------------------------------------------------------------------
-- Documentation (\d+ shows these)
-------------------------------------------------------------------------------------------------

COMMENT ON TABLE smarthub.users IS 'Application accounts; soft-deleted when deleted_at is set';
COMMENT ON COLUMN smarthub.users.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.users.email IS 'Login email, unique case-insensitively';
COMMENT ON COLUMN smarthub.users.username IS 'Login name, unique case-insensitively';
COMMENT ON CONSTRAINT username_format ON smarthub.users IS
    'Not empty, no blanks at either end, no control characters';
COMMENT ON COLUMN smarthub.users.password_hash IS 'bcrypt hash ($2b$); never readable by application roles';
COMMENT ON COLUMN smarthub.users.first_name IS 'Given name';
COMMENT ON COLUMN smarthub.users.last_name IS 'Family name';
COMMENT ON COLUMN smarthub.users.avatar_url IS 'URL of the profile picture';
COMMENT ON COLUMN smarthub.users.is_active IS 'False disables login and every credential of the account';
COMMENT ON COLUMN smarthub.users.email_verified IS 'True once the email address was confirmed';
COMMENT ON COLUMN smarthub.users.email_verified_at IS 'When the email address was confirmed';
COMMENT ON COLUMN smarthub.users.last_login_at IS 'Time of the last successful login';
COMMENT ON COLUMN smarthub.users.created_at IS 'Creation time';
COMMENT ON COLUMN smarthub.users.updated_at IS 'Last update time, kept by trigger set_updated_at';
COMMENT ON COLUMN smarthub.users.deleted_at IS 'Soft-delete time; NULL while the account exists';

COMMENT ON TABLE smarthub.roles IS 'Named roles; system roles (admin, user, viewer, moderator) cannot be deleted or changed';
COMMENT ON COLUMN smarthub.roles.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.roles.name IS 'Unique role name, used by smarthub.has_role()';
COMMENT ON COLUMN smarthub.roles.description IS 'What the role may do';
COMMENT ON COLUMN smarthub.roles.is_system IS 'True for the roles the extension installs';
COMMENT ON COLUMN smarthub.roles.created_at IS 'Creation time';
COMMENT ON COLUMN smarthub.roles.updated_at IS 'Last update time, kept by trigger set_updated_at';

COMMENT ON TABLE smarthub.user_roles IS 'Which user holds which role';
COMMENT ON COLUMN smarthub.user_roles.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.user_roles.user_id IS 'The user holding the role (deleted with the user)';
COMMENT ON COLUMN smarthub.user_roles.role_id IS 'The role held (deleted with the role)';
COMMENT ON COLUMN smarthub.user_roles.assigned_at IS 'When the role was assigned';
COMMENT ON COLUMN smarthub.user_roles.assigned_by IS 'The user who assigned it; NULL once that user is deleted';

COMMENT ON TABLE smarthub.api_keys IS 'API keys; only the SHA-256 of each key is stored';
COMMENT ON COLUMN smarthub.api_keys.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.api_keys.user_id IS 'Owner of the key (deleted with the user)';
COMMENT ON COLUMN smarthub.api_keys.key_hash IS 'Lowercase hex SHA-256 of the whole key; never readable by application roles';
COMMENT ON COLUMN smarthub.api_keys.name IS 'Label chosen by the owner';
COMMENT ON COLUMN smarthub.api_keys.description IS 'Free-text description';
COMMENT ON COLUMN smarthub.api_keys.last_used_at IS 'Last successful verification (updated at most once per smarthub.key_touch_interval)';
COMMENT ON COLUMN smarthub.api_keys.expires_at IS 'Expiry time; NULL means never';
COMMENT ON COLUMN smarthub.api_keys.is_active IS 'False once revoked';
COMMENT ON COLUMN smarthub.api_keys.created_at IS 'Creation time';
COMMENT ON COLUMN smarthub.api_keys.updated_at IS 'Last update time, kept by trigger set_updated_at';

COMMENT ON TABLE smarthub.sessions IS 'Login sessions; only the SHA-256 of each token is stored';
COMMENT ON COLUMN smarthub.sessions.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.sessions.user_id IS 'The logged-in user (deleted with the user)';
COMMENT ON COLUMN smarthub.sessions.token_hash IS 'Lowercase hex SHA-256 of the whole token; never readable by application roles';
COMMENT ON COLUMN smarthub.sessions.ip_address IS 'Client address at login';
COMMENT ON COLUMN smarthub.sessions.user_agent IS 'Client user agent at login';
COMMENT ON COLUMN smarthub.sessions.expires_at IS 'Expiry time';
COMMENT ON COLUMN smarthub.sessions.created_at IS 'Creation time';
COMMENT ON COLUMN smarthub.sessions.aal IS 'Authenticator assurance level: aal1 at login, aal2 after verify_session_mfa';

COMMENT ON TABLE smarthub.audit_logs IS 'Append-only audit trail of changes to audited tables';
COMMENT ON TABLE smarthub.audit_logs_default IS 'Audit rows outside every month partition (and those written before 1.1)';
COMMENT ON COLUMN smarthub.audit_logs.id IS 'Primary key: a version-7 uuid, in write order within a backend (random version-4 uuids before 1.1)';
COMMENT ON COLUMN smarthub.audit_logs.user_id IS 'Application user who acted; NULL when unknown or deleted';
COMMENT ON COLUMN smarthub.audit_logs.entity_type IS 'Kind of entity changed (by default the table name)';
COMMENT ON COLUMN smarthub.audit_logs.entity_id IS 'Id of the entity changed';
COMMENT ON COLUMN smarthub.audit_logs.action IS 'CREATE, UPDATE, DELETE, TRUNCATE, LOGIN, LOGIN_FAILED, LOGIN_LOCKED, LOGIN_UNLOCKED, IMPERSONATE, PASSWORD_RESET or PURGE';
COMMENT ON COLUMN smarthub.audit_logs.changes IS 'JSONB {"before": ..., "after": ...}; secrets redacted';
COMMENT ON COLUMN smarthub.audit_logs.ip_address IS 'Client address of the request';
COMMENT ON COLUMN smarthub.audit_logs.user_agent IS 'Client user agent of the request';
COMMENT ON COLUMN smarthub.audit_logs.created_at IS 'Time of the change (transaction start)';
COMMENT ON COLUMN smarthub.audit_logs.db_role IS 'Database session user that made the change (the code''s role inside ANALYZE, REINDEX and other operations run on another role''s behalf)';
COMMENT ON COLUMN smarthub.audit_logs.actor_id IS 'Application user who acted, kept when that user is deleted; NULL when unknown, and in rows written before 1.1';
COMMENT ON COLUMN smarthub.audit_logs.txid IS 'Transaction id: groups the changes of one request';

COMMENT ON TABLE smarthub.entities IS 'Generic business entities owned by users';
COMMENT ON COLUMN smarthub.entities.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.entities.entity_type IS 'Application-defined kind of entity';
COMMENT ON COLUMN smarthub.entities.owner_id IS 'Owning user; NULL once that user is deleted';
COMMENT ON COLUMN smarthub.entities.name IS 'Display name';
COMMENT ON COLUMN smarthub.entities.data IS 'Application data (JSONB, GIN-indexed with jsonb_path_ops)';
COMMENT ON COLUMN smarthub.entities.created_at IS 'Creation time';
COMMENT ON COLUMN smarthub.entities.updated_at IS 'Last update time, kept by trigger set_updated_at';
COMMENT ON COLUMN smarthub.entities.deleted_at IS 'Soft-delete time; NULL while the entity exists';

COMMENT ON FUNCTION smarthub.set_updated_at() IS 'BEFORE UPDATE trigger: sets updated_at to the statement start time';
COMMENT ON FUNCTION smarthub.protect_system_roles() IS 'Refuses to delete or change a system role (42501)';
COMMENT ON VIEW smarthub.table_sizes IS 'Size of each smarthub table, largest first';
