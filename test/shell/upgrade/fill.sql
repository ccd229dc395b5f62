-- Fills a database that has an older smarthub with a little of everything, through the public
-- API: users with roles, live and revoked keys, sessions, entities, audit rows of logins and of an
-- audited table, encrypted values. The plaintext secrets go to public.upgrade_secrets, so that
-- test/shell/080_upgrade.sh can check that they still work after the upgrade.
\set ON_ERROR_STOP 1
SET smarthub.bcrypt_cost = 4;
CREATE TABLE public.upgrade_secrets (what text PRIMARY KEY, value text, user_id uuid);
INSERT INTO public.upgrade_secrets (what, value, user_id) VALUES
    ('ann', 'ann-password', smarthub.create_user('ann@example.com', 'ann', 'ann-password', 'Ann', 'A', ARRAY['admin'])),
    ('bob', 'bob-password', smarthub.create_user('bob@example.com', 'bob', 'bob-password', 'Bob', NULL, ARRAY['user', 'viewer']));
INSERT INTO public.upgrade_secrets (what, value, user_id)
SELECT 'key', k.key, s.user_id FROM public.upgrade_secrets s, smarthub.create_api_key(s.user_id, 'ci') k WHERE s.what = 'ann';
SELECT smarthub.revoke_api_key(k.id) FROM public.upgrade_secrets s, smarthub.create_api_key(s.user_id, 'old') k
 WHERE s.what = 'ann' \g /dev/null
INSERT INTO public.upgrade_secrets (what, value, user_id)
SELECT 'session', smarthub.create_session(s.user_id, '1 day', '192.0.2.1', 'upgrade-test'), s.user_id
  FROM public.upgrade_secrets s WHERE s.what = 'bob';
SELECT smarthub.login('bob', 'bob-password') IS NOT NULL AS logged_in \g /dev/null
SELECT smarthub.login('bob', 'wrong password') IS NULL AS refused \g /dev/null
INSERT INTO smarthub.roles (name, description) VALUES ('auditor', 'Reads the audit log');
INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
SELECT 'project', s.user_id, 'Vostok', '{"status": "active", "tags": ["a", "b"]}' FROM public.upgrade_secrets s WHERE s.what = 'ann';
UPDATE smarthub.entities SET data = data || '{"budget": 10}' WHERE name = 'Vostok';
CREATE TABLE public.orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), item text, card text, note bytea);
SELECT smarthub.enable_audit('public.orders', '{card}', '{}', 'order') \g /dev/null
INSERT INTO public.orders (item, card, note) VALUES ('book', '4111', smarthub.encrypt('a sealed note', 'orders.note'));
UPDATE public.orders SET item = 'books';
INSERT INTO public.upgrade_secrets (what, value) VALUES ('plaintext', 'plain words');
INSERT INTO public.upgrade_secrets (what, value)
SELECT 'ciphertext', smarthub.encrypt_text(value, 'secrets') FROM public.upgrade_secrets WHERE what = 'plaintext';
