
-------------------------------------------------------------------------------------------------
-- Credentials: bcrypt passwords (src/password.c), API keys and sessions (src/token.c), accounts
-- and login (src/account.c)
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

-- Everything below reads or writes secrets. SECURITY INVOKER on purpose: a call is judged by the
-- role that made it, which a definer switch would hide (see "Security model" in README); the C
-- code switches to the extension owner only around its own, fully qualified queries. SET
-- search_path still pins what those queries and the triggers they fire resolve.
CREATE FUNCTION smarthub.set_password(user_id uuid, password text) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_set_password';

CREATE FUNCTION smarthub.create_user(email text, username text, password text,
                                     first_name text DEFAULT NULL, last_name text DEFAULT NULL,
                                     roles text[] DEFAULT ARRAY['user']) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_user';

CREATE FUNCTION smarthub.create_api_key(user_id uuid, name text DEFAULT NULL,
                                        expires_at timestamptz DEFAULT NULL,
                                        description text DEFAULT NULL)
    RETURNS TABLE(id uuid, key text)
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_api_key';

-- VOLATILE: it may write last_used_at. Not SECURITY DEFINER: the C look-up itself runs as the
-- extension owner, which spares every call the cost of a SET search_path clause (verification runs
-- on every request) while giving the same rights; its SQL is fully qualified.
CREATE FUNCTION smarthub.verify_key(key text) RETURNS uuid
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_verify_key';

CREATE FUNCTION smarthub.revoke_api_key(id uuid) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_revoke_api_key';

CREATE FUNCTION smarthub.create_session(user_id uuid, ttl interval DEFAULT NULL,
                                        ip_address inet DEFAULT NULL,
                                        user_agent text DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_session';

-- STABLE: reads only (sessions have no last_used_at). Not SECURITY DEFINER, as verify_key.
CREATE FUNCTION smarthub.verify_session(token text) RETURNS uuid
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_verify_session';

CREATE FUNCTION smarthub.revoke_session(token text) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_revoke_session';

CREATE FUNCTION smarthub.revoke_user_sessions(user_id uuid) RETURNS integer
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_revoke_user_sessions';

CREATE FUNCTION smarthub.purge_expired_sessions() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_purge_expired_sessions';

CREATE FUNCTION smarthub.login(login text, password text, ip_address inet DEFAULT NULL,
                               user_agent text DEFAULT NULL, ttl interval DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SET search_path = pg_catalog, pg_temp
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
