
-------------------------------------------------------------------------------------------------
-- Login throttling (src/account.c): every login attempt is counted per account and per client
-- address (login's ip_address argument); past smarthub.login_max_failures within
-- smarthub.login_failure_window the account or address is refused for a backoff period. The
-- table is written only by login, unlock_login and purge_expired_sessions, as the owner.
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.login_throttle (
    scope        text        NOT NULL,
    subject      text        NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL DEFAULT pg_catalog.now(),
    locked_until timestamptz,
    lockouts     integer     NOT NULL DEFAULT 0,
    CONSTRAINT login_throttle_pkey PRIMARY KEY (scope, subject),
    CONSTRAINT login_throttle_scope CHECK (scope OPERATOR(pg_catalog.=) ANY (ARRAY['account', 'address']))
);

-- Admin identities (and the DBA) see who is locked; nobody else sees anything.
ALTER TABLE smarthub.login_throttle ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_throttle_select ON smarthub.login_throttle FOR SELECT
    USING ((SELECT smarthub.has_role('admin')));

SELECT pg_catalog.pg_extension_config_dump('smarthub.login_throttle', '');

CREATE FUNCTION smarthub.unlock_login(login text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_unlock_login';

REVOKE ALL ON smarthub.login_throttle FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.unlock_login(text) FROM PUBLIC;

COMMENT ON TABLE smarthub.login_throttle IS 'Login attempts counted per account and per client address, and their lockouts (README: Login throttling)';
COMMENT ON COLUMN smarthub.login_throttle.scope IS 'account (subject: the user id, or login: and the login lowercased when no account has it) or address (subject: the ip_address given to login)';
COMMENT ON COLUMN smarthub.login_throttle.subject IS 'What is counted: a user id, a login no account has, or an address';
COMMENT ON COLUMN smarthub.login_throttle.attempts IS 'Attempts since window_start (a successful login clears its account''s)';
COMMENT ON COLUMN smarthub.login_throttle.window_start IS 'Start of the window the attempts are counted in';
COMMENT ON COLUMN smarthub.login_throttle.locked_until IS 'Attempts are refused until then';
COMMENT ON COLUMN smarthub.login_throttle.lockouts IS 'Lockouts in a row, each within a window of the last: each doubles the next (up to 16 times smarthub.login_lockout)';
COMMENT ON POLICY login_throttle_select ON smarthub.login_throttle IS 'Admin identities read every row';
COMMENT ON FUNCTION smarthub.unlock_login(text) IS 'Clears an account''s failed attempts and lock; true if it was locked (admin identities and trusted roles only, 42501 otherwise; audited)';
