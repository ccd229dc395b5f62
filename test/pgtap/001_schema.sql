-- Schema shape: tables, columns, types, defaults, keys, indexes; and the behaviour the schema
-- itself enforces (constraints, cascades, system roles, updated_at).
BEGIN;
SELECT plan(194);

SELECT has_schema('smarthub');
SELECT tables_are('smarthub', ARRAY['users', 'roles', 'user_roles', 'api_keys', 'sessions', 'audit_logs', 'audit_logs_default', 'audit_blocks', 'entities', 'jwt_issuers', 'user_identities', 'login_throttle', 'one_time_tokens', 'mfa_factors', 'recovery_codes']);

-- users
SELECT columns_are('smarthub', 'users', ARRAY['id', 'email', 'username', 'password_hash', 'first_name', 'last_name',
    'avatar_url', 'is_active', 'email_verified', 'email_verified_at', 'last_login_at', 'created_at', 'updated_at', 'deleted_at']);
SELECT col_type_is('smarthub', 'users', 'id', 'uuid', 'col_type_is users.id uuid');
SELECT col_default_is('smarthub', 'users', 'id', 'gen_random_uuid()', 'col_default_is users.id gen_random_uuid()');
SELECT col_is_pk('smarthub', 'users', 'id', 'col_is_pk users.id');
SELECT col_type_is('smarthub', 'users', 'email', 'character varying(255)', 'col_type_is users.email character varying(255)');
SELECT col_not_null('smarthub', 'users', 'email', 'col_not_null users.email');
SELECT col_type_is('smarthub', 'users', 'username', 'character varying(100)', 'col_type_is users.username character varying(100)');
SELECT col_not_null('smarthub', 'users', 'username', 'col_not_null users.username');
SELECT col_type_is('smarthub', 'users', 'password_hash', 'character varying(255)', 'col_type_is users.password_hash character varying(255)');
SELECT col_not_null('smarthub', 'users', 'password_hash', 'col_not_null users.password_hash');
SELECT col_type_is('smarthub', 'users', 'first_name', 'character varying(100)', 'col_type_is users.first_name character varying(100)');
SELECT col_is_null('smarthub', 'users', 'first_name', 'col_is_null users.first_name');
SELECT col_type_is('smarthub', 'users', 'last_name', 'character varying(100)', 'col_type_is users.last_name character varying(100)');
SELECT col_type_is('smarthub', 'users', 'avatar_url', 'character varying(512)', 'col_type_is users.avatar_url character varying(512)');
SELECT col_type_is('smarthub', 'users', 'is_active', 'boolean', 'col_type_is users.is_active boolean');
SELECT col_not_null('smarthub', 'users', 'is_active', 'col_not_null users.is_active');
SELECT col_default_is('smarthub', 'users', 'is_active', 'true', 'col_default_is users.is_active true');
SELECT col_type_is('smarthub', 'users', 'email_verified', 'boolean', 'col_type_is users.email_verified boolean');
SELECT col_not_null('smarthub', 'users', 'email_verified', 'col_not_null users.email_verified');
SELECT col_default_is('smarthub', 'users', 'email_verified', 'false', 'col_default_is users.email_verified false');
SELECT col_type_is('smarthub', 'users', 'email_verified_at', 'timestamp with time zone', 'col_type_is users.email_verified_at timestamp with time zone');
SELECT col_type_is('smarthub', 'users', 'last_login_at', 'timestamp with time zone', 'col_type_is users.last_login_at timestamp with time zone');
SELECT col_type_is('smarthub', 'users', 'created_at', 'timestamp with time zone', 'col_type_is users.created_at timestamp with time zone');
SELECT col_not_null('smarthub', 'users', 'created_at', 'col_not_null users.created_at');
SELECT col_default_is('smarthub', 'users', 'created_at', 'now()', 'col_default_is users.created_at now()');
SELECT col_type_is('smarthub', 'users', 'updated_at', 'timestamp with time zone', 'col_type_is users.updated_at timestamp with time zone');
SELECT col_not_null('smarthub', 'users', 'updated_at', 'col_not_null users.updated_at');
SELECT col_default_is('smarthub', 'users', 'updated_at', 'now()', 'col_default_is users.updated_at now()');
SELECT col_type_is('smarthub', 'users', 'deleted_at', 'timestamp with time zone', 'col_type_is users.deleted_at timestamp with time zone');
SELECT col_is_null('smarthub', 'users', 'deleted_at', 'col_is_null users.deleted_at');
SELECT has_check('smarthub', 'users', 'users has a check constraint');
SELECT index_is_unique('smarthub', 'users', 'idx_users_email', 'index_is_unique users.idx_users_email');
SELECT index_is_unique('smarthub', 'users', 'idx_users_username', 'index_is_unique users.idx_users_username');
SELECT has_index('smarthub', 'users', 'idx_users_email', 'lower((email)::text)', 'has_index users.idx_users_email lower(email::text)');
SELECT has_index('smarthub', 'users', 'idx_users_username', 'lower((username)::text)', 'has_index users.idx_users_username lower(username::text)');
SELECT has_index('smarthub', 'users', 'idx_users_is_active', 'is_active', 'has_index users.idx_users_is_active is_active');
SELECT has_index('smarthub', 'users', 'idx_users_created_at', 'created_at', 'has_index users.idx_users_created_at created_at');

-- roles
SELECT columns_are('smarthub', 'roles', ARRAY['id', 'name', 'description', 'is_system', 'created_at', 'updated_at']);
SELECT col_is_pk('smarthub', 'roles', 'id', 'col_is_pk roles.id');
SELECT col_type_is('smarthub', 'roles', 'name', 'character varying(100)', 'col_type_is roles.name character varying(100)');
SELECT col_not_null('smarthub', 'roles', 'name', 'col_not_null roles.name');
SELECT col_is_unique('smarthub', 'roles', 'name', 'col_is_unique roles.name');
SELECT has_index('smarthub', 'roles', 'idx_roles_name', 'name', 'has_index roles.idx_roles_name name');
SELECT col_type_is('smarthub', 'roles', 'description', 'text', 'col_type_is roles.description text');
SELECT col_not_null('smarthub', 'roles', 'is_system', 'col_not_null roles.is_system');
SELECT col_default_is('smarthub', 'roles', 'is_system', 'false', 'col_default_is roles.is_system false');
SELECT col_type_is('smarthub', 'roles', 'created_at', 'timestamp with time zone', 'col_type_is roles.created_at timestamp with time zone');
SELECT col_type_is('smarthub', 'roles', 'updated_at', 'timestamp with time zone', 'col_type_is roles.updated_at timestamp with time zone');
SELECT results_eq('SELECT name::text FROM smarthub.roles WHERE is_system ORDER BY name',
    ARRAY['admin', 'moderator', 'user', 'viewer'], 'the four system roles are seeded');
SELECT is((SELECT count(*)::int FROM smarthub.roles), 4, 'and nothing else');

-- user_roles
SELECT columns_are('smarthub', 'user_roles', ARRAY['id', 'user_id', 'role_id', 'assigned_at', 'assigned_by']);
SELECT col_is_pk('smarthub', 'user_roles', 'id', 'col_is_pk user_roles.id');
SELECT col_not_null('smarthub', 'user_roles', 'user_id', 'col_not_null user_roles.user_id');
SELECT col_not_null('smarthub', 'user_roles', 'role_id', 'col_not_null user_roles.role_id');
SELECT col_not_null('smarthub', 'user_roles', 'assigned_at', 'col_not_null user_roles.assigned_at');
SELECT col_default_is('smarthub', 'user_roles', 'assigned_at', 'now()', 'col_default_is user_roles.assigned_at now()');
SELECT fk_ok('smarthub', 'user_roles', 'user_id', 'smarthub', 'users', 'id', 'fk_ok user_roles.user_id smarthub');
SELECT fk_ok('smarthub', 'user_roles', 'role_id', 'smarthub', 'roles', 'id', 'fk_ok user_roles.role_id smarthub');
SELECT fk_ok('smarthub', 'user_roles', 'assigned_by', 'smarthub', 'users', 'id', 'fk_ok user_roles.assigned_by smarthub');
SELECT col_is_unique('smarthub', 'user_roles', ARRAY['user_id', 'role_id'], 'col_is_unique user_roles.ARRAY[''user_id'', ''role_id'']');
SELECT has_index('smarthub', 'user_roles', 'idx_user_roles_user_id', 'user_id', 'has_index user_roles.idx_user_roles_user_id user_id');
SELECT has_index('smarthub', 'user_roles', 'idx_user_roles_role_id', 'role_id', 'has_index user_roles.idx_user_roles_role_id role_id');

-- api_keys
SELECT columns_are('smarthub', 'api_keys', ARRAY['id', 'user_id', 'key_hash', 'name', 'description', 'last_used_at',
    'expires_at', 'is_active', 'created_at', 'updated_at']);
SELECT col_is_pk('smarthub', 'api_keys', 'id', 'col_is_pk api_keys.id');
SELECT col_not_null('smarthub', 'api_keys', 'user_id', 'col_not_null api_keys.user_id');
SELECT fk_ok('smarthub', 'api_keys', 'user_id', 'smarthub', 'users', 'id', 'fk_ok api_keys.user_id smarthub');
SELECT col_type_is('smarthub', 'api_keys', 'key_hash', 'character varying(64)', 'col_type_is api_keys.key_hash character varying(64)');
SELECT col_not_null('smarthub', 'api_keys', 'key_hash', 'col_not_null api_keys.key_hash');
SELECT col_is_unique('smarthub', 'api_keys', 'key_hash', 'col_is_unique api_keys.key_hash');
SELECT col_is_null('smarthub', 'api_keys', 'expires_at', 'col_is_null api_keys.expires_at');
SELECT col_type_is('smarthub', 'api_keys', 'expires_at', 'timestamp with time zone', 'col_type_is api_keys.expires_at timestamp with time zone');
SELECT col_type_is('smarthub', 'api_keys', 'last_used_at', 'timestamp with time zone', 'col_type_is api_keys.last_used_at timestamp with time zone');
SELECT col_not_null('smarthub', 'api_keys', 'is_active', 'col_not_null api_keys.is_active');
SELECT col_default_is('smarthub', 'api_keys', 'is_active', 'true', 'col_default_is api_keys.is_active true');
SELECT has_index('smarthub', 'api_keys', 'idx_api_keys_user_id', 'user_id', 'has_index api_keys.idx_api_keys_user_id user_id');
SELECT has_index('smarthub', 'api_keys', 'idx_api_keys_expires_at', 'expires_at', 'has_index api_keys.idx_api_keys_expires_at expires_at');
SELECT has_index('smarthub', 'api_keys', 'idx_api_keys_active', 'user_id', 'has_index api_keys.idx_api_keys_active user_id');

-- sessions
SELECT columns_are('smarthub', 'sessions', ARRAY['id', 'user_id', 'token_hash', 'ip_address', 'user_agent', 'expires_at', 'created_at', 'aal']);
SELECT col_is_pk('smarthub', 'sessions', 'id', 'col_is_pk sessions.id');
SELECT fk_ok('smarthub', 'sessions', 'user_id', 'smarthub', 'users', 'id', 'fk_ok sessions.user_id smarthub');
SELECT col_type_is('smarthub', 'sessions', 'token_hash', 'character varying(64)', 'col_type_is sessions.token_hash character varying(64)');
SELECT col_is_unique('smarthub', 'sessions', 'token_hash', 'col_is_unique sessions.token_hash');
SELECT col_type_is('smarthub', 'sessions', 'ip_address', 'inet', 'col_type_is sessions.ip_address inet');
SELECT col_type_is('smarthub', 'sessions', 'expires_at', 'timestamp with time zone', 'col_type_is sessions.expires_at timestamp with time zone');
SELECT col_not_null('smarthub', 'sessions', 'expires_at', 'col_not_null sessions.expires_at');
SELECT has_index('smarthub', 'sessions', 'idx_sessions_user_id', 'user_id', 'has_index sessions.idx_sessions_user_id user_id');
SELECT has_index('smarthub', 'sessions', 'idx_sessions_expires_at', 'expires_at', 'has_index sessions.idx_sessions_expires_at expires_at');
SELECT col_type_is('smarthub', 'sessions', 'aal', 'text', 'col_type_is sessions.aal text');
SELECT col_not_null('smarthub', 'sessions', 'aal', 'col_not_null sessions.aal');
SELECT col_default_is('smarthub', 'sessions', 'aal', 'aal1', 'col_default_is sessions.aal aal1');

-- mfa_factors
SELECT columns_are('smarthub', 'mfa_factors', ARRAY['id', 'user_id', 'kind', 'secret', 'issuer', 'account_label',
    'confirmed_at', 'last_step', 'failures', 'locked_until', 'created_at']);
SELECT col_is_pk('smarthub', 'mfa_factors', 'id', 'col_is_pk mfa_factors.id');
SELECT col_default_is('smarthub', 'mfa_factors', 'id', 'gen_random_uuid()', 'col_default_is mfa_factors.id gen_random_uuid()');
SELECT col_not_null('smarthub', 'mfa_factors', 'user_id', 'col_not_null mfa_factors.user_id');
SELECT fk_ok('smarthub', 'mfa_factors', 'user_id', 'smarthub', 'users', 'id', 'fk_ok mfa_factors.user_id smarthub');
SELECT col_default_is('smarthub', 'mfa_factors', 'kind', 'totp', 'col_default_is mfa_factors.kind totp');
SELECT col_type_is('smarthub', 'mfa_factors', 'secret', 'bytea', 'col_type_is mfa_factors.secret bytea');
SELECT col_not_null('smarthub', 'mfa_factors', 'secret', 'col_not_null mfa_factors.secret');
SELECT col_type_is('smarthub', 'mfa_factors', 'last_step', 'bigint', 'col_type_is mfa_factors.last_step bigint');
SELECT col_not_null('smarthub', 'mfa_factors', 'failures', 'col_not_null mfa_factors.failures');
SELECT col_default_is('smarthub', 'mfa_factors', 'failures', '0', 'col_default_is mfa_factors.failures 0');
SELECT col_type_is('smarthub', 'mfa_factors', 'locked_until', 'timestamp with time zone', 'col_type_is mfa_factors.locked_until timestamp with time zone');
SELECT has_index('smarthub', 'mfa_factors', 'idx_mfa_factors_user_id', 'user_id', 'has_index mfa_factors.idx_mfa_factors_user_id user_id');

-- recovery_codes
SELECT columns_are('smarthub', 'recovery_codes', ARRAY['id', 'user_id', 'code_hash', 'used_at', 'created_at']);
SELECT col_is_pk('smarthub', 'recovery_codes', 'id', 'col_is_pk recovery_codes.id');
SELECT fk_ok('smarthub', 'recovery_codes', 'user_id', 'smarthub', 'users', 'id', 'fk_ok recovery_codes.user_id smarthub');
SELECT col_type_is('smarthub', 'recovery_codes', 'code_hash', 'character varying(64)', 'col_type_is recovery_codes.code_hash character varying(64)');
SELECT col_not_null('smarthub', 'recovery_codes', 'code_hash', 'col_not_null recovery_codes.code_hash');
SELECT col_is_unique('smarthub', 'recovery_codes', ARRAY['user_id', 'code_hash'], 'col_is_unique recovery_codes (user_id, code_hash)');

-- audit_logs
SELECT columns_are('smarthub', 'audit_logs', ARRAY['id', 'user_id', 'entity_type', 'entity_id', 'action', 'changes',
    'ip_address', 'user_agent', 'created_at', 'db_role', 'txid', 'actor_id', 'origin']);
SELECT col_not_null('smarthub', 'audit_logs', 'origin', 'col_not_null audit_logs.origin');
SELECT col_default_is('smarthub', 'audit_logs', 'origin', 'smarthub.audit_origin()', 'audit_logs.origin defaults to this cluster''s system identifier');
SELECT col_is_pk('smarthub', 'audit_logs', 'id', 'col_is_pk audit_logs.id');
SELECT fk_ok('smarthub', 'audit_logs', 'user_id', 'smarthub', 'users', 'id', 'fk_ok audit_logs.user_id smarthub');
SELECT col_is_null('smarthub', 'audit_logs', 'user_id', 'col_is_null audit_logs.user_id');
SELECT col_type_is('smarthub', 'audit_logs', 'entity_type', 'character varying(100)', 'col_type_is audit_logs.entity_type character varying(100)');
SELECT col_not_null('smarthub', 'audit_logs', 'entity_id', 'col_not_null audit_logs.entity_id');
SELECT col_type_is('smarthub', 'audit_logs', 'action', 'character varying(50)', 'col_type_is audit_logs.action character varying(50)');
SELECT col_type_is('smarthub', 'audit_logs', 'changes', 'jsonb', 'col_type_is audit_logs.changes jsonb');
SELECT col_type_is('smarthub', 'audit_logs', 'db_role', 'text', 'col_type_is audit_logs.db_role text');
SELECT col_not_null('smarthub', 'audit_logs', 'db_role', 'col_not_null audit_logs.db_role');
SELECT col_type_is('smarthub', 'audit_logs', 'txid', 'bigint', 'col_type_is audit_logs.txid bigint');
SELECT col_not_null('smarthub', 'audit_logs', 'txid', 'col_not_null audit_logs.txid');
SELECT has_index('smarthub', 'audit_logs', 'idx_audit_logs_user_id', 'user_id', 'has_index audit_logs.idx_audit_logs_user_id user_id');
SELECT has_index('smarthub', 'audit_logs', 'idx_audit_logs_entity', ARRAY['entity_type', 'entity_id'], 'has_index audit_logs.idx_audit_logs_entity ARRAY[''entity_type'', ''entity_id'']');
SELECT has_index('smarthub', 'audit_logs', 'idx_audit_logs_created_at', 'created_at', 'has_index audit_logs.idx_audit_logs_created_at created_at');
SELECT has_index('smarthub', 'audit_logs', 'idx_audit_logs_txid', 'txid', 'has_index audit_logs.idx_audit_logs_txid txid');

-- entities
SELECT columns_are('smarthub', 'entities', ARRAY['id', 'entity_type', 'owner_id', 'name', 'data', 'created_at', 'updated_at', 'deleted_at']);
SELECT col_is_pk('smarthub', 'entities', 'id', 'col_is_pk entities.id');
SELECT fk_ok('smarthub', 'entities', 'owner_id', 'smarthub', 'users', 'id', 'fk_ok entities.owner_id smarthub');
SELECT col_type_is('smarthub', 'entities', 'data', 'jsonb', 'col_type_is entities.data jsonb');
SELECT col_not_null('smarthub', 'entities', 'data', 'col_not_null entities.data');
SELECT col_default_is('smarthub', 'entities', 'data', '{}', 'col_default_is entities.data {}');
SELECT has_index('smarthub', 'entities', 'idx_entities_entity_type', 'entity_type', 'has_index entities.idx_entities_entity_type entity_type');
SELECT has_index('smarthub', 'entities', 'idx_entities_owner_id', 'owner_id', 'has_index entities.idx_entities_owner_id owner_id');
SELECT has_index('smarthub', 'entities', 'idx_entities_data', 'data', 'has_index entities.idx_entities_data data');
SELECT is((SELECT amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'smarthub.idx_entities_data'::regclass), 'gin', 'entities.data is GIN-indexed');

-- one_time_tokens
SELECT columns_are('smarthub', 'one_time_tokens', ARRAY['id', 'user_id', 'purpose', 'token_hash', 'email', 'expires_at', 'created_at']);
SELECT col_is_pk('smarthub', 'one_time_tokens', 'id', 'col_is_pk one_time_tokens.id');
SELECT col_not_null('smarthub', 'one_time_tokens', 'user_id', 'col_not_null one_time_tokens.user_id');
SELECT fk_ok('smarthub', 'one_time_tokens', 'user_id', 'smarthub', 'users', 'id', 'fk_ok one_time_tokens.user_id smarthub');
SELECT col_type_is('smarthub', 'one_time_tokens', 'purpose', 'text', 'col_type_is one_time_tokens.purpose text');
SELECT col_not_null('smarthub', 'one_time_tokens', 'purpose', 'col_not_null one_time_tokens.purpose');
SELECT col_type_is('smarthub', 'one_time_tokens', 'token_hash', 'character varying(64)', 'col_type_is one_time_tokens.token_hash character varying(64)');
SELECT col_not_null('smarthub', 'one_time_tokens', 'token_hash', 'col_not_null one_time_tokens.token_hash');
SELECT col_is_unique('smarthub', 'one_time_tokens', 'token_hash', 'col_is_unique one_time_tokens.token_hash');
SELECT col_type_is('smarthub', 'one_time_tokens', 'email', 'text', 'col_type_is one_time_tokens.email text');
SELECT col_is_null('smarthub', 'one_time_tokens', 'email', 'col_is_null one_time_tokens.email');
SELECT col_type_is('smarthub', 'one_time_tokens', 'expires_at', 'timestamp with time zone', 'col_type_is one_time_tokens.expires_at timestamp with time zone');
SELECT col_not_null('smarthub', 'one_time_tokens', 'expires_at', 'col_not_null one_time_tokens.expires_at');
SELECT col_not_null('smarthub', 'one_time_tokens', 'created_at', 'col_not_null one_time_tokens.created_at');
SELECT col_default_is('smarthub', 'one_time_tokens', 'created_at', 'now()', 'col_default_is one_time_tokens.created_at now()');
SELECT has_index('smarthub', 'one_time_tokens', 'idx_one_time_tokens_user_id', 'user_id', 'has_index one_time_tokens.idx_one_time_tokens_user_id user_id');

-- ON DELETE actions of every foreign key
SELECT results_eq($$
    SELECT format('%s.%s %s', conrelid::regclass, a.attname, confdeltype) COLLATE "default"
      FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE contype = 'f' AND connamespace = 'smarthub'::regnamespace AND conparentid = 0 ORDER BY 1$$,
    $$VALUES ('smarthub.api_keys.user_id c'), ('smarthub.audit_logs.user_id n'), ('smarthub.entities.owner_id n'),
             ('smarthub.mfa_factors.user_id c'), ('smarthub.one_time_tokens.user_id c'), ('smarthub.recovery_codes.user_id c'),
             ('smarthub.sessions.user_id c'), ('smarthub.user_identities.issuer c'),
             ('smarthub.user_identities.user_id c'), ('smarthub.user_roles.assigned_by n'),
             ('smarthub.user_roles.role_id c'), ('smarthub.user_roles.user_id c')$$,
    'foreign keys cascade or set null as designed');

-- every timestamp column carries a time zone
SELECT is((SELECT count(*)::int FROM information_schema.columns WHERE table_schema = 'smarthub'
            AND data_type = 'timestamp without time zone'), 0, 'no timestamp without time zone');
-- every table and column is documented
SELECT is((SELECT count(*)::int FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'smarthub'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL), 0,
          'every column has a comment (a partition''s are its table''s)');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'smarthub'::regnamespace AND c.relkind = 'r'
            AND obj_description(c.oid, 'pg_class') IS NULL), 0, 'every table has a comment');
-- every table is dumped
SELECT is((SELECT cardinality(extconfig) FROM pg_extension WHERE extname = 'smarthub'), 14, 'all fourteen tables registered for pg_dump');

-- behaviour: constraints
SELECT lives_ok($$INSERT INTO smarthub.users (id, email, username, password_hash)
    VALUES ('00000000-0000-0000-0000-0000000000a1', 'Alice@X.io', 'Alice', 'h')$$, 'a valid user inserts');
SELECT throws_ok($$INSERT INTO smarthub.users (email, username, password_hash) VALUES ('alice@x.io', 'other', 'h')$$,
    '23505', NULL, 'duplicate email in another case');
SELECT throws_ok($$INSERT INTO smarthub.users (email, username, password_hash) VALUES ('other@x.io', 'ALICE', 'h')$$,
    '23505', NULL, 'duplicate username in another case');
SELECT throws_ok($$INSERT INTO smarthub.users (email, username, password_hash) VALUES ('a|b@x.io', 'pipe', 'h')$$,
    '23514', NULL, 'a | in the email is refused');
SELECT throws_ok($$INSERT INTO smarthub.users (email, username, password_hash) VALUES ('no-at-sign', 'noat', 'h')$$,
    '23514', NULL, 'an email without @ is refused');
SELECT throws_ok($$INSERT INTO smarthub.users (email, username, password_hash) VALUES ('a@b.c', 'tld', 'h')$$,
    '23514', NULL, 'a one-letter top-level domain is refused');
SELECT throws_ok($$INSERT INTO smarthub.api_keys (user_id, key_hash) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('A', 64))$$,
    '23514', NULL, 'uppercase key_hash is refused');
SELECT throws_ok($$INSERT INTO smarthub.api_keys (user_id, key_hash) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('a', 63))$$,
    '23514', NULL, 'short key_hash is refused');
SELECT throws_ok($$INSERT INTO smarthub.sessions (user_id, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', 'xyz', now())$$,
    '23514', NULL, 'bad token_hash is refused');
SELECT throws_ok($$INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', 'magic_link', repeat('A', 64), now())$$,
    '23514', NULL, 'a one-time token_hash in uppercase is refused');
SELECT throws_ok($$INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', 'login', repeat('a', 64), now())$$,
    '23514', NULL, 'an unknown purpose is refused');
SELECT throws_ok($$INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', 'email_verification', repeat('a', 64), now())$$,
    '23514', NULL, 'a verification token without its email is refused');
SELECT throws_ok($$INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, email, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', 'password_reset', repeat('a', 64), 'a@x.io', now())$$,
    '23514', NULL, 'a reset token with an email is refused');
SELECT throws_ok($$INSERT INTO smarthub.sessions (user_id, token_hash, expires_at, aal) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('e', 64), now(), 'aal3')$$,
    '23514', NULL, 'an unknown assurance level is refused');
SELECT throws_ok($$INSERT INTO smarthub.mfa_factors (user_id, kind, secret) VALUES ('00000000-0000-0000-0000-0000000000a1', 'sms', '\x00')$$,
    '23514', NULL, 'a factor kind other than totp is refused');
SELECT throws_ok($$INSERT INTO smarthub.recovery_codes (user_id, code_hash) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('A', 64))$$,
    '23514', NULL, 'uppercase code_hash is refused');

-- behaviour: deleting a user
INSERT INTO smarthub.user_roles (user_id, role_id) SELECT '00000000-0000-0000-0000-0000000000a1', id FROM smarthub.roles WHERE name = 'user';
INSERT INTO smarthub.api_keys (user_id, key_hash) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('a', 64));
INSERT INTO smarthub.sessions (user_id, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('b', 64), now() + interval '1 hour');
INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-0000000000a1', 'magic_link', repeat('c', 64), now() + interval '1 hour');
INSERT INTO smarthub.mfa_factors (user_id, secret) VALUES ('00000000-0000-0000-0000-0000000000a1', '\x00');
INSERT INTO smarthub.recovery_codes (user_id, code_hash) VALUES ('00000000-0000-0000-0000-0000000000a1', repeat('c', 64));
INSERT INTO smarthub.entities (id, entity_type, owner_id) VALUES ('00000000-0000-0000-0000-0000000000e1', 'doc', '00000000-0000-0000-0000-0000000000a1');
INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action)
    VALUES ('00000000-0000-0000-0000-0000000000a1', 'doc', '00000000-0000-0000-0000-0000000000e1', 'TEST');
DELETE FROM smarthub.users WHERE id = '00000000-0000-0000-0000-0000000000a1';
SELECT is((SELECT count(*)::int FROM smarthub.user_roles WHERE user_id = '00000000-0000-0000-0000-0000000000a1'), 0, 'user_roles cascade');
SELECT is((SELECT count(*)::int FROM smarthub.api_keys WHERE user_id = '00000000-0000-0000-0000-0000000000a1'), 0, 'api_keys cascade');
SELECT is((SELECT count(*)::int FROM smarthub.sessions WHERE user_id = '00000000-0000-0000-0000-0000000000a1'), 0, 'sessions cascade');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE user_id = '00000000-0000-0000-0000-0000000000a1'), 0, 'one_time_tokens cascade');
SELECT is((SELECT count(*)::int FROM smarthub.mfa_factors WHERE user_id = '00000000-0000-0000-0000-0000000000a1'), 0, 'mfa_factors cascade');
SELECT is((SELECT count(*)::int FROM smarthub.recovery_codes WHERE user_id = '00000000-0000-0000-0000-0000000000a1'), 0, 'recovery_codes cascade');
SELECT results_eq($$SELECT user_id, action::text FROM smarthub.audit_logs WHERE action = 'TEST'$$,
    $$VALUES (NULL::uuid, 'TEST')$$, 'audit row kept with user_id NULL');
SELECT is((SELECT owner_id FROM smarthub.entities WHERE id = '00000000-0000-0000-0000-0000000000e1'), NULL, 'entity kept, owner_id NULL');

-- behaviour: system roles
SELECT throws_ok($$DELETE FROM smarthub.roles WHERE name = 'admin'$$, '42501', 'system role "admin" cannot be deleted', 'system role delete');
SELECT throws_ok($$UPDATE smarthub.roles SET name = 'root' WHERE name = 'user'$$, '42501', 'system role "user" cannot be changed', 'system role rename');
SELECT throws_ok($$UPDATE smarthub.roles SET is_system = false WHERE name = 'viewer'$$, '42501', NULL, 'system role demotion');
SELECT throws_ok($$UPDATE smarthub.roles SET description = 'Everything' WHERE name = 'admin'$$, '42501', NULL, 'system roles are immutable');
SELECT lives_ok($$INSERT INTO smarthub.roles (name) VALUES ('editor'); UPDATE smarthub.roles SET name = 'editor2' WHERE name = 'editor';
                  DELETE FROM smarthub.roles WHERE name = 'editor2'$$, 'custom roles may be renamed and deleted');
SELECT throws_ok($$INSERT INTO smarthub.roles (name) VALUES ('admin')$$, '23505', NULL, 'role names are unique');

-- behaviour: updated_at moves on UPDATE (statement time, so it moves within one transaction too)
INSERT INTO smarthub.entities (id, entity_type, updated_at) VALUES ('00000000-0000-0000-0000-0000000000e2', 'doc', '2000-01-01');
UPDATE smarthub.entities SET name = 'renamed', updated_at = '1999-01-01' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT ok((SELECT updated_at >= now() AND updated_at < statement_timestamp() FROM smarthub.entities
            WHERE id = '00000000-0000-0000-0000-0000000000e2'),
    'updated_at is set to the UPDATE statement''s time, whatever the UPDATE says');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgname = 'set_updated_at' AND NOT tgisinternal), 5,
    'set_updated_at on users, roles, api_keys, entities, jwt_issuers');

-- table_sizes view
SELECT is((SELECT count(*)::int FROM smarthub.table_sizes), 14, 'table_sizes lists the fourteen tables');
SELECT has_column('smarthub', 'table_sizes', 'total_size', 'table_sizes has total_size');

SELECT * FROM finish();
ROLLBACK;
