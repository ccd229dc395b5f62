-- Demo data for script/server: two users with known passwords, an API key and an entity each.
-- psql script: it prints the users and the keys (shown once, as the API returns them).
SET smarthub.bcrypt_cost = 10;
CREATE TEMP TABLE demo_users (username, email, password, first_name, last_name, roles) AS VALUES
    ('alice', 'alice@example.com', 'alice-password', 'Alice', 'Admin', ARRAY['admin']),
    ('bob', 'bob@example.com', 'bob-password', 'Bob', 'User', ARRAY['user']);
SELECT smarthub.create_user(email, username, password, first_name, last_name, roles)
  FROM demo_users ORDER BY username \g /dev/null
INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
SELECT 'project', u.id, e.name, e.data::jsonb
  FROM (VALUES ('alice', 'Apollo', '{"status": "active"}'),
               ('bob', 'Gemini', '{"status": "planned", "budget": 1200}')) e (username, name, data)
  JOIN smarthub.users u USING (username);
\pset footer off
\echo
\echo Demo users:
SELECT u.username, u.email, d.password,
       (SELECT pg_catalog.string_agg(r.name, ', ' ORDER BY r.name)
          FROM smarthub.user_roles ur JOIN smarthub.roles r ON r.id = ur.role_id
         WHERE ur.user_id = u.id) AS roles
  FROM demo_users d JOIN smarthub.users u USING (username) ORDER BY u.username;
\echo Demo API keys (shown once; only their hashes are stored):
SELECT u.username, k.key AS api_key
  FROM smarthub.users u, LATERAL smarthub.create_api_key(u.id, 'demo') k ORDER BY u.username;
