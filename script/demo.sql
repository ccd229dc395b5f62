-- Demo data for script/server: a few users, an entity each, on a fresh smarthub database.
INSERT INTO smarthub.users (email, username, password_hash, first_name, last_name)
VALUES ('alice@example.com', 'alice', 'not-a-real-hash', 'Alice', 'Admin'),
       ('bob@example.com', 'bob', 'not-a-real-hash', 'Bob', 'User');
INSERT INTO smarthub.user_roles (user_id, role_id)
SELECT u.id, r.id FROM smarthub.users u JOIN smarthub.roles r
    ON (u.username, r.name) IN (('alice', 'admin'), ('bob', 'user'));
INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
SELECT 'project', id, username || '''s project', '{"status": "active"}' FROM smarthub.users;
