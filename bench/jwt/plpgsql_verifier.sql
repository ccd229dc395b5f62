-- The hand-written verifier smarthub.verify_jwt replaces, in the manner of pgjwt's verify(): HS256
-- over pgcrypto's hmac(), the secret, issuer and audience passed in. It checks what verify_jwt
-- checks for such a token: three parts, alg HS256, the signature (compared as base64url text, as
-- pgjwt does), then exp (required), nbf, iss and aud (a string or an array naming the audience),
-- with the same 30 seconds of leeway; it returns the claims, or NULL. Kept as fast as PL/pgSQL
-- allows: the base64url decoding is an SQL function the planner inlines, no table is read, and
-- there is no exception block, so a token that is not base64url or not JSON raises an error here
-- where verify_jwt returns NULL: the subtransaction such a block costs on every call is left out,
-- in the anchor's favour.
CREATE OR REPLACE FUNCTION public.bench_jwt_b64url_decode(s text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT decode(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4), 'base64')
$$;

CREATE OR REPLACE FUNCTION public.bench_jwt_verify_hs256(token text, secret bytea, issuer text,
                                                         audience text, leeway numeric DEFAULT 30)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    parts  text[] := string_to_array(token, '.');
    now_s  numeric := extract(epoch FROM now());
    header jsonb;
    claims jsonb;
BEGIN
    IF cardinality(parts) <> 3 THEN
        RETURN NULL;
    END IF;
    header := convert_from(public.bench_jwt_b64url_decode(parts[1]), 'UTF8')::jsonb;
    IF header->>'alg' IS DISTINCT FROM 'HS256' THEN
        RETURN NULL;
    END IF;
    IF translate(rtrim(encode(hmac(convert_to(parts[1] || '.' || parts[2], 'UTF8'), secret, 'sha256'), 'base64'), '='),
                 '+/', '-_') <> parts[3] THEN
        RETURN NULL;
    END IF;
    claims := convert_from(public.bench_jwt_b64url_decode(parts[2]), 'UTF8')::jsonb;
    IF jsonb_typeof(claims->'exp') IS DISTINCT FROM 'number' OR (claims->>'exp')::numeric + leeway <= now_s THEN
        RETURN NULL;
    END IF;
    IF claims ? 'nbf' AND (jsonb_typeof(claims->'nbf') <> 'number' OR (claims->>'nbf')::numeric - leeway > now_s) THEN
        RETURN NULL;
    END IF;
    IF claims->>'iss' IS DISTINCT FROM issuer THEN
        RETURN NULL;
    END IF;
    IF audience IS NOT NULL AND NOT coalesce(claims->'aud' = to_jsonb(audience)
                                             OR (jsonb_typeof(claims->'aud') = 'array' AND claims->'aud' ? audience), false) THEN
        RETURN NULL;
    END IF;
    RETURN claims;
END
$$;
