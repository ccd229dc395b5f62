-- The seed's typical queries of one request under RLS, after one of request_*_rls.sql (60_jwt.sh
-- appends this to each): they name the user with smarthub.current_user_id(), the policies on top.
\if :kind = 0 or :kind = 1
SELECT id, email, username, first_name, last_name, is_active, roles FROM smarthub.user_profiles WHERE id = smarthub.current_user_id();
\endif
\if :kind = 0 or :kind = 2
SELECT id, name, last_used_at, expires_at, created_at FROM smarthub.active_api_keys WHERE user_id = smarthub.current_user_id();
\endif
\if :kind = 0 or :kind = 3
SELECT id, ip_address, user_agent, expires_at, created_at FROM smarthub.active_sessions WHERE user_id = smarthub.current_user_id();
\endif
\if :kind = 0 or :kind = 4
SELECT id, action, changes, created_at FROM smarthub.audit_logs
 WHERE entity_type = :etype AND entity_id = :eid ORDER BY created_at DESC, id DESC LIMIT 50;
\endif
\if :kind = 0 or :kind = 5
SELECT id, name, data, updated_at FROM smarthub.entities
 WHERE owner_id = smarthub.current_user_id() AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20;
\endif
COMMIT;
