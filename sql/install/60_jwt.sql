
-------------------------------------------------------------------------------------------------
-- Federated identity: JSON Web Tokens verified and issued in C (src/jwt.c; docs/jwt.md)
--
-- Which issuers are trusted, with which public keys, is the DBA's: smarthub.jwt_issuers and
-- smarthub.user_identities are granted to nobody. HMAC secrets and smarthub's own signing keys
-- are never in a table: they are lines of the keyring file (smarthub.keyring_file).
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.jwt_issuers (
    issuer           text        NOT NULL,
    audiences        text[],
    user_claim       text        NOT NULL DEFAULT 'sub',
    claim_is_user_id boolean     NOT NULL DEFAULT false,
    algorithms       text[]      NOT NULL DEFAULT ARRAY['RS256', 'ES256', 'EdDSA'],
    leeway           interval    NOT NULL DEFAULT '30 seconds',
    require_exp      boolean     NOT NULL DEFAULT true,
    require_sid      boolean     NOT NULL DEFAULT false,
    jwks             jsonb       NOT NULL DEFAULT '{"keys": []}',
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT jwt_issuers_pkey PRIMARY KEY (issuer),
    CONSTRAINT jwt_issuers_issuer CHECK (issuer OPERATOR(pg_catalog.<>) ''),
    CONSTRAINT jwt_issuers_algorithms CHECK (
        pg_catalog.cardinality(algorithms) OPERATOR(pg_catalog.>) 0
        AND algorithms OPERATOR(pg_catalog.<@) ARRAY['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512',
            'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA']),
    CONSTRAINT jwt_issuers_leeway CHECK (leeway OPERATOR(pg_catalog.>=) '0'::interval
        AND leeway OPERATOR(pg_catalog.<=) '1 hour'::interval),
    CONSTRAINT jwt_issuers_user_claim CHECK (user_claim OPERATOR(pg_catalog.<>) '')
);

CREATE TABLE smarthub.user_identities (
    issuer     text        NOT NULL REFERENCES smarthub.jwt_issuers (issuer) ON UPDATE CASCADE ON DELETE CASCADE,
    subject    text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_identities_pkey PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_id_idx ON smarthub.user_identities (user_id);

-- Row-level security like every table of the schema: no policy, so a role granted anything on them
-- by mistake still reads nothing (smarthub reads them as their owner).
ALTER TABLE smarthub.jwt_issuers ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.user_identities ENABLE ROW LEVEL SECURITY;

-- Validates each row's keys (22023) and tells every backend to re-read the issuers at commit.
CREATE FUNCTION smarthub.jwt_issuers_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_jwt_issuers_changed';

CREATE TRIGGER jwt_issuers_changed BEFORE INSERT OR UPDATE OR DELETE ON smarthub.jwt_issuers
    FOR EACH ROW EXECUTE FUNCTION smarthub.jwt_issuers_changed();
CREATE TRIGGER jwt_issuers_truncated BEFORE TRUNCATE ON smarthub.jwt_issuers
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.jwt_issuers_changed();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON smarthub.jwt_issuers
    FOR EACH ROW EXECUTE FUNCTION smarthub.set_updated_at();
ALTER TABLE smarthub.jwt_issuers ENABLE ALWAYS TRIGGER jwt_issuers_changed;
ALTER TABLE smarthub.jwt_issuers ENABLE ALWAYS TRIGGER jwt_issuers_truncated;

SELECT pg_catalog.pg_extension_config_dump('smarthub.jwt_issuers', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.user_identities', '');

-- VOLATILE: the keys can change on reload and on any commit to jwt_issuers; the time moves.
CREATE FUNCTION smarthub.verify_jwt(token text, audience text DEFAULT NULL) RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_verify_jwt';

CREATE FUNCTION smarthub.authenticate_jwt(token text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_authenticate_jwt';

CREATE FUNCTION smarthub.issue_jwt(session_token text, ttl interval DEFAULT '15 minutes',
                                   audience text DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_issue_jwt';

CREATE FUNCTION smarthub.jwks() RETURNS jsonb
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_jwks';

REVOKE ALL ON smarthub.jwt_issuers, smarthub.user_identities FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.jwt_issuers_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.verify_jwt(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.authenticate_jwt(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.issue_jwt(text, interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.jwks() FROM PUBLIC;

COMMENT ON TABLE smarthub.jwt_issuers IS 'Identity providers whose JWTs smarthub accepts, with their public keys (the DBA''s; docs/jwt.md)';
COMMENT ON COLUMN smarthub.jwt_issuers.issuer IS 'The iss claim, exactly';
COMMENT ON COLUMN smarthub.jwt_issuers.audiences IS 'A token''s aud must name one of these; NULL: aud is not checked';
COMMENT ON COLUMN smarthub.jwt_issuers.user_claim IS 'The claim naming the user (a string)';
COMMENT ON COLUMN smarthub.jwt_issuers.claim_is_user_id IS 'true: the user claim is a smarthub user id; false: it is a subject mapped by user_identities';
COMMENT ON COLUMN smarthub.jwt_issuers.algorithms IS 'The alg values accepted; any other (none included) fails';
COMMENT ON COLUMN smarthub.jwt_issuers.leeway IS 'Clock skew allowed on exp and nbf (0 to 1 hour)';
COMMENT ON COLUMN smarthub.jwt_issuers.require_exp IS 'Whether a token without exp fails';
COMMENT ON COLUMN smarthub.jwt_issuers.require_sid IS 'Whether authenticate_jwt needs a sid claim naming a live smarthub session of the user';
COMMENT ON COLUMN smarthub.jwt_issuers.jwks IS 'The issuer''s public keys, a JWK Set ({"keys": [...]}: RSA, EC P-256/P-384, OKP Ed25519); replace it whole to rotate';
COMMENT ON COLUMN smarthub.jwt_issuers.created_at IS 'When the issuer was added';
COMMENT ON COLUMN smarthub.jwt_issuers.updated_at IS 'When the row last changed (set_updated_at)';
COMMENT ON COLUMN smarthub.user_identities.issuer IS 'The issuer (jwt_issuers.issuer) that vouches for the subject';
COMMENT ON COLUMN smarthub.user_identities.subject IS 'The issuer''s user claim (sub unless the issuer says otherwise), exactly';
COMMENT ON COLUMN smarthub.user_identities.user_id IS 'The smarthub user that subject is';
COMMENT ON COLUMN smarthub.user_identities.created_at IS 'When the mapping was added';
COMMENT ON TABLE smarthub.user_identities IS 'External subjects (issuer, sub) mapped to smarthub users';
COMMENT ON TRIGGER jwt_issuers_changed ON smarthub.jwt_issuers IS 'Refuses unusable keys (22023); every backend re-reads the issuers after the change commits';
COMMENT ON TRIGGER jwt_issuers_truncated ON smarthub.jwt_issuers IS 'Every backend forgets the issuers after a TRUNCATE commits';
COMMENT ON FUNCTION smarthub.jwt_issuers_changed() IS 'Trigger of smarthub.jwt_issuers: validates jwks (22023) and invalidates the cached keys';
COMMENT ON FUNCTION smarthub.verify_jwt(text, text) IS 'The claims of a valid JWT from a trusted issuer (or smarthub itself), else NULL; never raises';
COMMENT ON FUNCTION smarthub.authenticate_jwt(text) IS 'Verifies a JWT and maps its subject: sets and returns the identity, or clears it and returns NULL';
COMMENT ON FUNCTION smarthub.issue_jwt(text, interval, text) IS 'A JWT for a live session, signed with smarthub''s current key (NULL for a dead session; 55000 without a signing key; 22023 for a bad ttl)';
COMMENT ON FUNCTION smarthub.jwks() IS 'smarthub''s public signing keys as a JWK Set, for other services';
