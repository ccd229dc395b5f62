
-------------------------------------------------------------------------------------------------
-- Second factor (src/mfa.c): TOTP authenticators (RFC 6238) and recovery codes. A TOTP secret is
-- stored only as an AES-256-GCM envelope of the keyring (its context names the factor), a
-- recovery code only as SHA-256; application roles read neither column. Sessions carry the
-- assurance level (sessions.aal) that verify_session_mfa raises and current_aal reads.
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.mfa_factors (
    id            uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    kind          text        NOT NULL DEFAULT 'totp',
    secret        bytea       NOT NULL,
    issuer        text,
    account_label text,
    confirmed_at  timestamptz,
    last_step     bigint,
    failures      integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT mfa_factors_pkey PRIMARY KEY (id),
    CONSTRAINT mfa_factors_kind CHECK (kind OPERATOR(pg_catalog.=) 'totp'),
    CONSTRAINT mfa_factors_failures CHECK (failures OPERATOR(pg_catalog.>=) 0)
);
CREATE INDEX idx_mfa_factors_user_id ON smarthub.mfa_factors (user_id);

CREATE TABLE smarthub.recovery_codes (
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    code_hash  varchar(64) NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT recovery_codes_pkey PRIMARY KEY (id),
    -- serves use_recovery_code's look-up and the foreign key (user_id first)
    CONSTRAINT recovery_codes_user_id_code_hash_key UNIQUE (user_id, code_hash),
    CONSTRAINT recovery_code_hash CHECK (code_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$')
);

SELECT pg_catalog.pg_extension_config_dump('smarthub.mfa_factors', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.recovery_codes', '');

-- Enrolment, confirmation and removal of a factor are audited (the secret redacted; last_step and
-- failures are bookkeeping, but a lock shows as a change of locked_until); so are the recovery
-- codes a user is given, used and replaced (the hash redacted).
SELECT smarthub.enable_audit('smarthub.mfa_factors', '{secret}', '{last_step,failures}');
SELECT smarthub.enable_audit('smarthub.recovery_codes', '{code_hash}');

-- Not SECURITY DEFINER, as the credential functions (see sql/install/20_credentials.sql): the C
-- code judges the caller, then runs its own, fully qualified queries as the extension owner.
CREATE FUNCTION smarthub.totp_enroll(user_id uuid, issuer text, account_label text)
    RETURNS TABLE(factor_id uuid, secret text, otpauth_uri text)
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_totp_enroll';

CREATE FUNCTION smarthub.totp_confirm(factor_id uuid, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_totp_confirm';

CREATE FUNCTION smarthub.totp_verify(user_id uuid, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_totp_verify';

CREATE FUNCTION smarthub.generate_recovery_codes(user_id uuid, n integer DEFAULT 10) RETURNS SETOF text
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 10
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_generate_recovery_codes';

CREATE FUNCTION smarthub.use_recovery_code(user_id uuid, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_use_recovery_code';

CREATE FUNCTION smarthub.verify_session_mfa(token text, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_verify_session_mfa';

-- Read by policies on every request, like current_user_id: no SET clause (its one query is fully
-- qualified), PARALLEL RESTRICTED (the identity lives in the leader's memory), STABLE.
CREATE FUNCTION smarthub.current_aal() RETURNS text
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_current_aal';

-- A user sees that its factors and recovery codes exist (never a secret or hash: those columns
-- are not granted); admins see everyone's. Written only by the functions above, as the owner.
ALTER TABLE smarthub.mfa_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.recovery_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY mfa_factors_select ON smarthub.mfa_factors FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY recovery_codes_select ON smarthub.recovery_codes FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

REVOKE ALL ON smarthub.mfa_factors, smarthub.recovery_codes FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.totp_enroll(uuid, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.totp_confirm(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.totp_verify(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.generate_recovery_codes(uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.use_recovery_code(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.verify_session_mfa(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.current_aal() FROM PUBLIC;

COMMENT ON TABLE smarthub.mfa_factors IS 'Second factors (TOTP authenticators) of users; the secret is encrypted under the keyring';
COMMENT ON COLUMN smarthub.mfa_factors.id IS 'Primary key (random uuid); the secret''s encryption context is ''smarthub.mfa_factors.secret:'' || id';
COMMENT ON COLUMN smarthub.mfa_factors.user_id IS 'The user whose factor it is (deleted with the user)';
COMMENT ON COLUMN smarthub.mfa_factors.kind IS 'totp (RFC 6238: HMAC-SHA1, 6 digits, 30 seconds)';
COMMENT ON COLUMN smarthub.mfa_factors.secret IS 'AES-256-GCM envelope of the 20-byte TOTP secret; never readable by application roles';
COMMENT ON COLUMN smarthub.mfa_factors.issuer IS 'Issuer shown by the authenticator app';
COMMENT ON COLUMN smarthub.mfa_factors.account_label IS 'Account name shown by the authenticator app';
COMMENT ON COLUMN smarthub.mfa_factors.confirmed_at IS 'When totp_confirm activated it; NULL while the enrolment waits for a first code';
COMMENT ON COLUMN smarthub.mfa_factors.last_step IS 'The last 30-second step a code was accepted for: it and every earlier step are refused';
COMMENT ON COLUMN smarthub.mfa_factors.failures IS 'Wrong codes in a row since the last accepted one or the last lock';
COMMENT ON COLUMN smarthub.mfa_factors.locked_until IS 'Every code is refused until then (set by smarthub.totp_max_failures wrong codes in a row)';
COMMENT ON COLUMN smarthub.mfa_factors.created_at IS 'Enrolment time';
COMMENT ON TABLE smarthub.recovery_codes IS 'Single-use recovery codes; only the SHA-256 of each is stored';
COMMENT ON COLUMN smarthub.recovery_codes.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.recovery_codes.user_id IS 'The user whose code it is (deleted with the user)';
COMMENT ON COLUMN smarthub.recovery_codes.code_hash IS 'Lowercase hex SHA-256 of the normalised code; never readable by application roles';
COMMENT ON COLUMN smarthub.recovery_codes.used_at IS 'When it was used; NULL while it still works';
COMMENT ON COLUMN smarthub.recovery_codes.created_at IS 'When it was generated';
COMMENT ON FUNCTION smarthub.totp_enroll(uuid, text, text) IS
    'A new TOTP factor for the user: its id, the secret (base32) and an otpauth:// URI, shown once; confirm it with totp_confirm';
COMMENT ON FUNCTION smarthub.totp_confirm(uuid, text) IS
    'Activates an enrolled TOTP factor with a code from the app; the factor replaces the user''s earlier ones';
COMMENT ON FUNCTION smarthub.totp_verify(uuid, text) IS
    'Whether a TOTP code is right for the user now (one step either side) and not used before; locks after smarthub.totp_max_failures failures';
COMMENT ON FUNCTION smarthub.generate_recovery_codes(uuid, integer) IS
    'n new single-use recovery codes (xxxxx-xxxxx) for the user, replacing the earlier ones; stored as SHA-256';
COMMENT ON FUNCTION smarthub.use_recovery_code(uuid, text) IS
    'Uses up one of the user''s recovery codes: true once per code';
COMMENT ON FUNCTION smarthub.verify_session_mfa(text, text) IS
    'Raises the session of the token to aal2 with a TOTP code or a recovery code of its user';
COMMENT ON FUNCTION smarthub.current_aal() IS
    'The assurance level (aal1, aal2) of the session that authenticated the identity; NULL without one';
