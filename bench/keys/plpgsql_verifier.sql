-- The hand-written verifier smarthub replaces: SHA-256 in SQL, the same checks as verify_key, and an
-- UPDATE of last_used_at on every call.
CREATE OR REPLACE FUNCTION public.bench_plpgsql_verify_key(p_key text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_id   uuid;
    v_user uuid;
BEGIN
    SELECT k.id, k.user_id INTO v_id, v_user
      FROM smarthub.api_keys k
      JOIN smarthub.users u ON u.id = k.user_id
     WHERE k.key_hash = encode(sha256(convert_to(p_key, 'UTF8')), 'hex')
       AND k.is_active AND (k.expires_at IS NULL OR k.expires_at > now())
       AND u.is_active AND u.deleted_at IS NULL;
    IF v_id IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE smarthub.api_keys SET last_used_at = now() WHERE id = v_id;
    RETURN v_user;
END
$$;
