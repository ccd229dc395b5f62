-- smarthub install script, assembled from sql/install/*.sql by the Makefile.
\echo Use "CREATE EXTENSION smarthub" to load this file. \quit

-- The schema belongs to the extension: DROP EXTENSION removes it, and a schema of this name that
-- already exists makes CREATE EXTENSION fail instead of installing into someone else's schema.
CREATE SCHEMA smarthub;
COMMENT ON SCHEMA smarthub IS 'smarthub: users, roles, API keys, sessions, entities and the audit log';

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
    CONSTRAINT email_format CHECK (email OPERATOR(pg_catalog.~) '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$')
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
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT token_length CHECK (token_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$')
);

CREATE TABLE smarthub.audit_logs (
    id          uuid         NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
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
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id)
);

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
-- One request's changes, and changes made by a database role outside the application.
CREATE INDEX idx_audit_logs_txid ON smarthub.audit_logs (txid);
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
SELECT pg_catalog.pg_extension_config_dump('smarthub.audit_logs', '');
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
           c.reltuples::bigint                                             AS rows_estimate,
           pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(c.oid)) AS total_size
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'smarthub'
       AND c.relkind OPERATOR(pg_catalog.=) 'r'
     ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, c.relname;

-------------------------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC until smarthub.grant_access() says otherwise.
-------------------------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA smarthub FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.set_updated_at() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.protect_system_roles() FROM PUBLIC;

-------------------------------------------------------------------------------------------------
-- Documentation (\d+ shows these)
-------------------------------------------------------------------------------------------------

COMMENT ON TABLE smarthub.users IS 'Application accounts; soft-deleted when deleted_at is set';
COMMENT ON COLUMN smarthub.users.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.users.email IS 'Login email, unique case-insensitively';
COMMENT ON COLUMN smarthub.users.username IS 'Login name, unique case-insensitively';
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

COMMENT ON TABLE smarthub.audit_logs IS 'Append-only audit trail of changes to audited tables';
COMMENT ON COLUMN smarthub.audit_logs.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.audit_logs.user_id IS 'Application user who acted; NULL when unknown or deleted';
COMMENT ON COLUMN smarthub.audit_logs.entity_type IS 'Kind of entity changed (by default the table name)';
COMMENT ON COLUMN smarthub.audit_logs.entity_id IS 'Id of the entity changed';
COMMENT ON COLUMN smarthub.audit_logs.action IS 'CREATE, UPDATE, DELETE, TRUNCATE, LOGIN, LOGIN_FAILED or PURGE';
COMMENT ON COLUMN smarthub.audit_logs.changes IS 'JSONB {"before": ..., "after": ...}; secrets redacted';
COMMENT ON COLUMN smarthub.audit_logs.ip_address IS 'Client address of the request';
COMMENT ON COLUMN smarthub.audit_logs.user_agent IS 'Client user agent of the request';
COMMENT ON COLUMN smarthub.audit_logs.created_at IS 'Time of the change (transaction start)';
COMMENT ON COLUMN smarthub.audit_logs.db_role IS 'Database session user that made the change';
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

-------------------------------------------------------------------------------------------------
-- Credentials: bcrypt passwords (src/password.c), API keys, sessions and login (src/token.c)
-------------------------------------------------------------------------------------------------

-- Password hashing. Not SECURITY DEFINER: they touch no table. COST tells the planner that a
-- bcrypt call is worth more than any index condition next to it (about 0.25 s at cost 12).
-- verify_password and password_needs_rehash read smarthub.bcrypt_max_cost / bcrypt_cost: STABLE.
CREATE FUNCTION smarthub.hash_password(password text, cost integer DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE COST 10000
    AS 'MODULE_PATHNAME', 'smarthub_hash_password';

CREATE FUNCTION smarthub.verify_password(password text, hash text) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE COST 10000
    AS 'MODULE_PATHNAME', 'smarthub_verify_password';

CREATE FUNCTION smarthub.password_needs_rehash(hash text, cost integer DEFAULT NULL) RETURNS boolean
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_password_needs_rehash';

-- Everything below reads or writes secrets: run as definer with SET search_path (the C code
-- qualifies every name anyway), callers checked in C through SmarthubCheckActingFor.
CREATE FUNCTION smarthub.set_password(user_id uuid, password text) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_set_password';

CREATE FUNCTION smarthub.create_user(email text, username text, password text,
                                     first_name text DEFAULT NULL, last_name text DEFAULT NULL,
                                     roles text[] DEFAULT ARRAY['user']) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_user';

CREATE FUNCTION smarthub.create_api_key(user_id uuid, name text DEFAULT NULL,
                                        expires_at timestamptz DEFAULT NULL,
                                        description text DEFAULT NULL)
    RETURNS TABLE(id uuid, key text)
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_api_key';

-- VOLATILE: it may write last_used_at. Not SECURITY DEFINER: the C look-up itself runs as the
-- extension owner, which spares every call the cost of a SET search_path clause (verification runs
-- on every request) while giving the same rights; its SQL is fully qualified.
CREATE FUNCTION smarthub.verify_key(key text) RETURNS uuid
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_verify_key';

CREATE FUNCTION smarthub.revoke_api_key(id uuid) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_revoke_api_key';

CREATE FUNCTION smarthub.create_session(user_id uuid, ttl interval DEFAULT NULL,
                                        ip_address inet DEFAULT NULL,
                                        user_agent text DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_session';

-- STABLE: reads only (sessions have no last_used_at). Not SECURITY DEFINER, as verify_key.
CREATE FUNCTION smarthub.verify_session(token text) RETURNS uuid
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_verify_session';

CREATE FUNCTION smarthub.revoke_session(token text) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_revoke_session';

CREATE FUNCTION smarthub.revoke_user_sessions(user_id uuid) RETURNS integer
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_revoke_user_sessions';

CREATE FUNCTION smarthub.purge_expired_sessions() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_purge_expired_sessions';

CREATE FUNCTION smarthub.login(login text, password text, ip_address inet DEFAULT NULL,
                               user_agent text DEFAULT NULL, ttl interval DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_login';

REVOKE EXECUTE ON FUNCTION smarthub.hash_password(text, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.verify_password(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.password_needs_rehash(text, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.set_password(uuid, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.create_user(text, text, text, text, text, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.create_api_key(uuid, text, timestamptz, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.verify_key(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.revoke_api_key(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.create_session(uuid, interval, inet, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.verify_session(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.revoke_session(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.revoke_user_sessions(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.purge_expired_sessions() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION smarthub.login(text, text, inet, text, interval) FROM PUBLIC;

COMMENT ON FUNCTION smarthub.hash_password(text, integer) IS
    'A $2b$ bcrypt hash at cost (NULL: smarthub.bcrypt_cost); 22023 for an empty or over-72-byte password or a bad cost';
COMMENT ON FUNCTION smarthub.verify_password(text, text) IS
    'Whether the password matches a $2a$/$2b$/$2y$ bcrypt hash (constant-time); 22023 for a malformed or too costly hash';
COMMENT ON FUNCTION smarthub.password_needs_rehash(text, integer) IS
    'True when the hash is not $2b$ at the given cost (NULL: smarthub.bcrypt_cost)';
COMMENT ON FUNCTION smarthub.set_password(uuid, text) IS
    'Stores a fresh bcrypt hash of the password for the user; P0002 for an unknown user';
COMMENT ON FUNCTION smarthub.create_user(text, text, text, text, text, text[]) IS
    'Creates an account with a hashed password and the named roles; returns its id';
COMMENT ON FUNCTION smarthub.create_api_key(uuid, text, timestamptz, text) IS
    'Creates an API key (shk_...) for the user; the key is returned once and stored only as SHA-256';
COMMENT ON FUNCTION smarthub.verify_key(text) IS
    'The owner of a live API key, or NULL; never raises; touches last_used_at at most once per smarthub.key_touch_interval';
COMMENT ON FUNCTION smarthub.revoke_api_key(uuid) IS
    'Deactivates an API key; true if it was active';
COMMENT ON FUNCTION smarthub.create_session(uuid, interval, inet, text) IS
    'Creates a session (shs_...) for an active user, valid for ttl (NULL: smarthub.session_ttl)';
COMMENT ON FUNCTION smarthub.verify_session(text) IS
    'The owner of a live session token, or NULL; never raises';
COMMENT ON FUNCTION smarthub.revoke_session(text) IS
    'Deletes the session of a token; true if it was live';
COMMENT ON FUNCTION smarthub.revoke_user_sessions(uuid) IS
    'Deletes all sessions of a user; returns how many were live';
COMMENT ON FUNCTION smarthub.purge_expired_sessions() IS
    'Deletes expired sessions; returns how many';
COMMENT ON FUNCTION smarthub.login(text, text, inet, text, interval) IS
    'Checks an email or username and password; a new session token, or NULL after the same bcrypt work on any failure; audited';

-------------------------------------------------------------------------------------------------
-- Identity and row-level security (src/identity.c)
-------------------------------------------------------------------------------------------------

-- The identity lives in backend memory, not in a GUC, and is not passed to parallel workers: the
-- functions that read it are PARALLEL RESTRICTED (the policies wrap them in initplans, which the
-- leader evaluates and hands to the workers).
CREATE FUNCTION smarthub.current_user_id() RETURNS uuid
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_current_user_id';

CREATE FUNCTION smarthub.authenticate_key(key text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_authenticate_key';

CREATE FUNCTION smarthub.authenticate_session(token text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_authenticate_session';

CREATE FUNCTION smarthub.set_current_user(user_id uuid) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_set_current_user';

CREATE FUNCTION smarthub.clear_current_user() RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_clear_current_user';

CREATE FUNCTION smarthub.has_role(role_name text) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_has_role';

CREATE FUNCTION smarthub.current_user_roles() RETURNS text[]
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_current_user_roles';

CREATE FUNCTION smarthub.set_request_context(ip_address inet, user_agent text) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_set_request_context';

CREATE FUNCTION smarthub.protect_columns() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_protect_columns';

-- grant_access / revoke_access run with the caller's rights (not as definer): only someone
-- who may grant on smarthub's objects (the DBA) can hand them out.
CREATE FUNCTION smarthub.grant_access(role regrole, trusted boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    fn pg_catalog.regprocedure;
BEGIN
    IF role IS NULL OR trusted IS NULL THEN
        RAISE EXCEPTION 'role and trusted must not be NULL' USING ERRCODE = '22004';
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA smarthub TO %s', role);

    -- Table privileges: what the policies can let through, never a hash column.
    EXECUTE pg_catalog.format('GRANT SELECT (id, email, username, first_name, last_name, avatar_url, is_active,'
        ' email_verified, email_verified_at, last_login_at, created_at, updated_at, deleted_at),'
        ' UPDATE (email, username, first_name, last_name, avatar_url, is_active, email_verified,'
        ' email_verified_at, deleted_at), INSERT, DELETE ON smarthub.users TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT (id, name, description), UPDATE (name, description), DELETE'
        ' ON smarthub.roles TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT (user_id, role_id, assigned_by),'
        ' UPDATE (user_id, role_id, assigned_by), DELETE ON smarthub.user_roles TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, name, description, last_used_at, expires_at, is_active,'
        ' created_at, updated_at), INSERT (id, user_id, key_hash, name, description, expires_at, is_active),'
        ' UPDATE (name, description, expires_at, is_active), DELETE ON smarthub.api_keys TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, ip_address, user_agent, expires_at, created_at),'
        ' INSERT (id, user_id, token_hash, ip_address, user_agent, expires_at),'
        ' UPDATE (ip_address, user_agent, expires_at), DELETE ON smarthub.sessions TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.audit_logs TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT (id, entity_type, owner_id, name, data, deleted_at),'
        ' UPDATE (entity_type, owner_id, name, data, deleted_at), DELETE ON smarthub.entities TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.user_profiles, smarthub.active_api_keys,'
        ' smarthub.active_sessions TO %s', role);

    -- Functions, by name: every overload of each name that exists (other modules add theirs).
    FOR fn IN
        SELECT p.oid::pg_catalog.regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'smarthub'::pg_catalog.regnamespace
           AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY[
               'current_user_id', 'authenticate_key', 'authenticate_session', 'clear_current_user',
               'has_role', 'current_user_roles', 'set_request_context', 'verify_key', 'verify_session',
               'create_api_key', 'revoke_api_key', 'create_session', 'revoke_session',
               'revoke_user_sessions', 'set_password', 'create_user', 'login', 'hash_password',
               'verify_password', 'password_needs_rehash', 'entity_history', 'encrypt', 'decrypt',
               'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id']::pg_catalog.name[])
         ORDER BY p.oid
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fn, role);
    END LOOP;

    -- trusted => false also takes impersonation back from a role that had it.
    EXECUTE pg_catalog.format('%s EXECUTE ON FUNCTION smarthub.set_current_user(uuid) %s %s',
        CASE WHEN trusted THEN 'GRANT' ELSE 'REVOKE' END,
        CASE WHEN trusted THEN 'TO' ELSE 'FROM' END, role);
END
$$;

CREATE FUNCTION smarthub.revoke_access(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- REVOKE on a table also revokes its column privileges.
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA smarthub FROM %s', role);
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA smarthub FROM %s', role);
    EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA smarthub FROM %s', role);
END
$$;

-------------------------------------------------------------------------------------------------
-- The seed's typical queries, as views that apply the caller's RLS (security_invoker)
-------------------------------------------------------------------------------------------------

CREATE VIEW smarthub.user_profiles WITH (security_invoker = true) AS
    SELECT u.id, u.email, u.username, u.first_name, u.last_name, u.avatar_url, u.is_active,
           u.email_verified, u.email_verified_at, u.last_login_at, u.created_at, u.updated_at,
           u.deleted_at,
           ARRAY(SELECT r.name::text
                   FROM smarthub.user_roles ur
                   JOIN smarthub.roles r ON r.id OPERATOR(pg_catalog.=) ur.role_id
                  WHERE ur.user_id OPERATOR(pg_catalog.=) u.id
                  ORDER BY r.name) AS roles
      FROM smarthub.users u;

CREATE VIEW smarthub.active_api_keys WITH (security_invoker = true) AS
    SELECT k.id, k.user_id, k.name, k.description, k.last_used_at, k.expires_at, k.created_at,
           k.updated_at
      FROM smarthub.api_keys k
     WHERE k.is_active
       AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())
     ORDER BY k.created_at DESC, k.id;

CREATE VIEW smarthub.active_sessions WITH (security_invoker = true) AS
    SELECT s.id, s.user_id, s.ip_address, s.user_agent, s.expires_at, s.created_at
      FROM smarthub.sessions s
     WHERE s.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()
     ORDER BY s.created_at DESC, s.id;

-------------------------------------------------------------------------------------------------
-- Triggers: what RLS cannot say (which columns a non-admin may change)
-------------------------------------------------------------------------------------------------

CREATE TRIGGER protect_columns BEFORE UPDATE ON smarthub.users
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_columns('is_active', 'email_verified', 'email_verified_at', 'deleted_at');
CREATE TRIGGER protect_columns BEFORE UPDATE ON smarthub.api_keys
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_columns('user_id', 'name', 'description', 'expires_at', 'is_active=false');
CREATE TRIGGER protect_columns BEFORE UPDATE ON smarthub.entities
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_columns('owner_id');

-------------------------------------------------------------------------------------------------
-- Row-level security. Every identity gets the "user" column of the matrix; roles add to it.
-- (SELECT ...) makes each check an initplan: evaluated once per statement, not once per row; the
-- role checks of a policy share one initplan, tested first, so that an identity that sees every
-- row pays one parameter test per row.
-- Not FORCEd: the table owner (the other modules' SECURITY DEFINER functions, the audit
-- trigger) is not subject to the policies.
-------------------------------------------------------------------------------------------------

ALTER TABLE smarthub.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.user_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.entities ENABLE ROW LEVEL SECURITY;

-- users: read/update own; viewer reads all; moderator reads and updates all; admin all.
CREATE POLICY users_select ON smarthub.users FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY users_update ON smarthub.users FOR UPDATE
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()))
    WITH CHECK ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY users_insert ON smarthub.users FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY users_delete ON smarthub.users FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- roles: everyone reads (even without identity); admin writes.
CREATE POLICY roles_select ON smarthub.roles FOR SELECT
    USING (true);
CREATE POLICY roles_insert ON smarthub.roles FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY roles_update ON smarthub.roles FOR UPDATE
    USING ((SELECT smarthub.has_role('admin')))
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY roles_delete ON smarthub.roles FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- user_roles: read own; viewer and moderator read all; only admin grants or takes roles.
CREATE POLICY user_roles_select ON smarthub.user_roles FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY user_roles_insert ON smarthub.user_roles FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY user_roles_update ON smarthub.user_roles FOR UPDATE
    USING ((SELECT smarthub.has_role('admin')))
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY user_roles_delete ON smarthub.user_roles FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- api_keys: read and revoke own (trigger protect_columns: a non-admin may only set is_active to
-- false); admin all.
CREATE POLICY api_keys_select ON smarthub.api_keys FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY api_keys_update ON smarthub.api_keys FOR UPDATE
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()))
    WITH CHECK ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY api_keys_insert ON smarthub.api_keys FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY api_keys_delete ON smarthub.api_keys FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- sessions: read and delete own; admin all.
CREATE POLICY sessions_select ON smarthub.sessions FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY sessions_delete ON smarthub.sessions FOR DELETE
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY sessions_insert ON smarthub.sessions FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY sessions_update ON smarthub.sessions FOR UPDATE
    USING ((SELECT smarthub.has_role('admin')))
    WITH CHECK ((SELECT smarthub.has_role('admin')));

-- audit_logs: read own rows; viewer, moderator and admin read all. No write policy at all: rows
-- are written by the audit trigger as the table owner.
CREATE POLICY audit_logs_select ON smarthub.audit_logs FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

-- entities: all on own rows, insert as owner; viewer reads all; moderator reads and updates all
-- (protect_columns: only an admin changes owner_id); admin all.
CREATE POLICY entities_select ON smarthub.entities FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY entities_insert ON smarthub.entities FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin'))
           OR owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY entities_update ON smarthub.entities FOR UPDATE
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()))
    WITH CHECK ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY entities_delete ON smarthub.entities FOR DELETE
    USING ((SELECT smarthub.has_role('admin'))
           OR owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

-------------------------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; smarthub.grant_access() hands out the rest.
-------------------------------------------------------------------------------------------------

REVOKE ALL ON FUNCTION smarthub.current_user_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.authenticate_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.authenticate_session(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.set_current_user(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.clear_current_user() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.has_role(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.current_user_roles() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.set_request_context(inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.protect_columns() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.grant_access(regrole, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.revoke_access(regrole) FROM PUBLIC;
REVOKE ALL ON smarthub.user_profiles, smarthub.active_api_keys, smarthub.active_sessions FROM PUBLIC;

-------------------------------------------------------------------------------------------------
-- Documentation
-------------------------------------------------------------------------------------------------

COMMENT ON FUNCTION smarthub.current_user_id() IS 'The application user acting in this transaction, or NULL; cannot be set through any GUC';
COMMENT ON FUNCTION smarthub.authenticate_key(text) IS 'Verifies an API key: sets and returns the identity, or clears it and returns NULL';
COMMENT ON FUNCTION smarthub.authenticate_session(text) IS 'Verifies a session token: sets and returns the identity, or clears it and returns NULL';
COMMENT ON FUNCTION smarthub.set_current_user(uuid) IS 'Impersonation for trusted roles: unknown user P0002, inactive or deleted user 42501';
COMMENT ON FUNCTION smarthub.clear_current_user() IS 'Clears the identity (and keeps the request context)';
COMMENT ON FUNCTION smarthub.has_role(text) IS 'Whether the identity holds the named role (false without identity); cached per statement';
COMMENT ON FUNCTION smarthub.current_user_roles() IS 'The identity''s role names, sorted; empty without identity';
COMMENT ON FUNCTION smarthub.set_request_context(inet, text) IS 'Client address and user agent for the audit rows of this transaction';
COMMENT ON FUNCTION smarthub.protect_columns() IS 'BEFORE UPDATE trigger: only an admin identity (or the table owner) may change the named columns (42501)';
COMMENT ON FUNCTION smarthub.grant_access(regrole, boolean) IS 'Gives an application role what it needs; trusted adds set_current_user';
COMMENT ON FUNCTION smarthub.revoke_access(regrole) IS 'Takes back everything on schema smarthub from a role';
COMMENT ON VIEW smarthub.user_profiles IS 'Users without password_hash, with their role names; the caller''s RLS applies';
COMMENT ON VIEW smarthub.active_api_keys IS 'The caller''s visible API keys that are active and unexpired, newest first, without key_hash';
COMMENT ON VIEW smarthub.active_sessions IS 'The caller''s visible unexpired sessions, newest first, without token_hash';

-------------------------------------------------------------------------------------------------
-- Audit trail (src/audit.c, src/jsonb_diff.c)
--
-- Each audited table carries two triggers, smarthub_audit (rows) and smarthub_audit_truncate,
-- whose arguments are its configuration: (entity_type, id_column, '{excluded}', '{ignored}').
-- Keeping it there rather than in a side table means it cannot disagree with what fires, pg_dump
-- writes it with the user's tables, and CREATE OR REPLACE TRIGGER invalidates the C cache.
-------------------------------------------------------------------------------------------------

CREATE FUNCTION smarthub.audit_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_trigger';

CREATE FUNCTION smarthub.audit_logs_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_logs_guard';

CREATE FUNCTION smarthub.audit_ddl() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_ddl';

CREATE FUNCTION smarthub.audit_trigger_arguments(tgargs bytea) RETURNS text[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_trigger_arguments';

-- Not STRICT: NULL arguments get a 22004 error instead of silently doing nothing.
CREATE FUNCTION smarthub.enable_audit(target regclass,
                                      excluded_columns text[] DEFAULT '{}',
                                      ignored_columns text[] DEFAULT '{updated_at}',
                                      entity_type text DEFAULT NULL,
                                      id_column name DEFAULT 'id') RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_enable_audit';

CREATE FUNCTION smarthub.disable_audit(target regclass) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_disable_audit';

CREATE FUNCTION smarthub.purge_audit_logs(older_than interval) RETURNS bigint
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_purge_audit_logs';

-- SECURITY INVOKER (the default, spelled out): the caller's row-level security applies.
CREATE FUNCTION smarthub.entity_history(entity_type text, entity_id uuid, max_rows integer DEFAULT 50)
    RETURNS SETOF smarthub.audit_logs
    LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
    AS $$
    SELECT a.*
      FROM smarthub.audit_logs a
     WHERE a.entity_type OPERATOR(pg_catalog.=) entity_history.entity_type
       AND a.entity_id OPERATOR(pg_catalog.=) entity_history.entity_id
     ORDER BY a.created_at DESC, a.txid DESC
     LIMIT entity_history.max_rows
$$;

CREATE VIEW smarthub.audited_tables AS
    SELECT t.tgrelid::pg_catalog.regclass                  AS table_name,
           a.args[1]                                       AS entity_type,
           a.args[2]::pg_catalog.name                      AS id_column,
           a.args[3]::pg_catalog.text[]                    AS excluded_columns,
           a.args[4]::pg_catalog.text[]                    AS ignored_columns,
           t.tgenabled OPERATOR(pg_catalog.<>) 'D'         AS enabled
      FROM pg_catalog.pg_trigger t
     CROSS JOIN LATERAL (SELECT smarthub.audit_trigger_arguments(t.tgargs) AS args) a
     WHERE t.tgname OPERATOR(pg_catalog.=) 'smarthub_audit'
       AND t.tgfoid OPERATOR(pg_catalog.=) 'smarthub.audit_trigger()'::pg_catalog.regprocedure
       AND t.tgnargs OPERATOR(pg_catalog.=) 4;

-- Append-only: ENABLE ALWAYS so that session_replication_role = replica does not skip the guard.
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON smarthub.audit_logs
    FOR EACH ROW EXECUTE FUNCTION smarthub.audit_logs_guard();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON smarthub.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_logs_guard();
ALTER TABLE smarthub.audit_logs ENABLE ALWAYS TRIGGER audit_logs_append_only;
ALTER TABLE smarthub.audit_logs ENABLE ALWAYS TRIGGER audit_logs_no_truncate;

-- Audited by default. Sessions are not (one login = one session row; enable_audit turns it on).
SELECT smarthub.enable_audit('smarthub.users', '{password_hash}', '{updated_at,last_login_at}');
SELECT smarthub.enable_audit('smarthub.roles');
SELECT smarthub.enable_audit('smarthub.user_roles');
SELECT smarthub.enable_audit('smarthub.api_keys', '{key_hash}', '{updated_at,last_used_at}');
SELECT smarthub.enable_audit('smarthub.entities');

-- Keeps audit configurations in step with ALTER TABLE ... RENAME COLUMN / DROP COLUMN.
CREATE EVENT TRIGGER smarthub_audit_ddl ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION smarthub.audit_ddl();

REVOKE ALL ON FUNCTION smarthub.audit_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_logs_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_ddl() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_trigger_arguments(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.enable_audit(regclass, text[], text[], text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.disable_audit(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.purge_audit_logs(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.entity_history(text, uuid, integer) FROM PUBLIC;
REVOKE ALL ON smarthub.audited_tables FROM PUBLIC;

COMMENT ON FUNCTION smarthub.audit_trigger() IS 'AFTER row and TRUNCATE trigger writing JSONB before/after diffs to smarthub.audit_logs; configured by smarthub.enable_audit()';
COMMENT ON FUNCTION smarthub.audit_logs_guard() IS 'Keeps smarthub.audit_logs append-only (42501), except for purge_audit_logs and the user_id foreign key''s SET NULL';
COMMENT ON FUNCTION smarthub.audit_ddl() IS 'Event trigger: follows RENAME COLUMN and DROP COLUMN in audit trigger configurations';
COMMENT ON FUNCTION smarthub.audit_trigger_arguments(bytea) IS 'Splits pg_trigger.tgargs into a text array (for smarthub.audited_tables)';
COMMENT ON FUNCTION smarthub.enable_audit(regclass, text[], text[], text, name) IS 'Creates or replaces the audit triggers of a table (42809 not a table, 42703 no such column, 42804 id not uuid)';
COMMENT ON FUNCTION smarthub.disable_audit(regclass) IS 'Drops the audit triggers of a table (42704 when it is not audited)';
COMMENT ON FUNCTION smarthub.purge_audit_logs(interval) IS 'Deletes audit rows older than the interval, records one PURGE row, returns the count';
COMMENT ON FUNCTION smarthub.entity_history(text, uuid, integer) IS 'Audit trail of one entity, newest first, under the caller''s row-level security';
COMMENT ON VIEW smarthub.audited_tables IS 'Audited tables and their configuration (from the smarthub_audit triggers)';
COMMENT ON COLUMN smarthub.audited_tables.table_name IS 'The audited table';
COMMENT ON COLUMN smarthub.audited_tables.entity_type IS 'entity_type of its audit rows';
COMMENT ON COLUMN smarthub.audited_tables.id_column IS 'uuid column recorded as entity_id';
COMMENT ON COLUMN smarthub.audited_tables.excluded_columns IS 'Columns whose values never appear ("[redacted]")';
COMMENT ON COLUMN smarthub.audited_tables.ignored_columns IS 'Columns left out of UPDATE diffs';
COMMENT ON COLUMN smarthub.audited_tables.enabled IS 'False when the smarthub_audit trigger is disabled';
COMMENT ON TRIGGER audit_logs_append_only ON smarthub.audit_logs IS 'Refuses UPDATE and DELETE on the audit log (42501)';
COMMENT ON TRIGGER audit_logs_no_truncate ON smarthub.audit_logs IS 'Refuses TRUNCATE on the audit log (42501)';
COMMENT ON EVENT TRIGGER smarthub_audit_ddl IS 'Keeps audit configurations in step with column renames and drops';

-------------------------------------------------------------------------------------------------
-- Encryption at rest (src/encryption.c): AES-256-GCM envelopes under keys from
-- smarthub.keyring_file. VOLATILE: every call draws a fresh nonce, and the keyring can change on
-- reload. Granted by grant_access, never to PUBLIC.
-------------------------------------------------------------------------------------------------

CREATE FUNCTION smarthub.encrypt(plaintext bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_encrypt';

CREATE FUNCTION smarthub.decrypt(ciphertext bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_decrypt';

CREATE FUNCTION smarthub.encrypt_text(plaintext text, context text DEFAULT '') RETURNS text
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_encrypt_text';

CREATE FUNCTION smarthub.decrypt_text(ciphertext text, context text DEFAULT '') RETURNS text
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_decrypt_text';

CREATE FUNCTION smarthub.reencrypt(ciphertext bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_reencrypt';

CREATE FUNCTION smarthub.key_id(ciphertext bytea) RETURNS integer
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_key_id';

REVOKE ALL ON FUNCTION smarthub.encrypt(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.decrypt(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.encrypt_text(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.decrypt_text(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.reencrypt(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.key_id(bytea) FROM PUBLIC;

COMMENT ON FUNCTION smarthub.encrypt(bytea, text) IS
    'AES-256-GCM under the keyring''s highest key id, context bound as associated data; returns a version 1 envelope (55000 without a usable keyring)';
COMMENT ON FUNCTION smarthub.decrypt(bytea, text) IS
    'Decrypts an envelope from encrypt() with the same context (22023 for a wrong context, altered or truncated value, unknown version or key; 55000 without a usable keyring)';
COMMENT ON FUNCTION smarthub.encrypt_text(text, text) IS
    'encrypt() for text: the envelope base64-encoded, for text and JSON columns';
COMMENT ON FUNCTION smarthub.decrypt_text(text, text) IS
    'decrypt() for text: takes the base64 envelope from encrypt_text() (22023 as decrypt, and for bad base64; 22021 if the plaintext is not text)';
COMMENT ON FUNCTION smarthub.reencrypt(bytea, text) IS
    'Decrypts with the envelope''s key and encrypts again with the current (highest) key, for key rotation';
COMMENT ON FUNCTION smarthub.key_id(bytea) IS
    'The key id an envelope was encrypted with, to find rows still under an old key (22023 for a malformed envelope; needs no keyring)';
