-- Demo data for script/server: two users (passwords 'alice-password' / 'bob-password'), an API key
-- and an entity each. The keys are printed once, as the API returns them.
SET smarthub.bcrypt_cost = 10;
SELECT smarthub.create_user('alice@example.com', 'alice', 'alice-password', 'Alice', 'Admin', ARRAY['admin']) AS alice \gset
SELECT smarthub.create_user('bob@example.com', 'bob', 'bob-password', 'Bob', 'User') AS bob \gset
INSERT INTO smarthub.entities (entity_type, owner_id, name, data) VALUES
    ('project', :'alice', 'Apollo', '{"status": "active"}'),
    ('project', :'bob', 'Gemini', '{"status": "planned", "budget": 1200}');
\echo Demo API keys (shown once):
SELECT u.username, k.key FROM smarthub.users u, LATERAL smarthub.create_api_key(u.id, 'demo') k ORDER BY u.username;
