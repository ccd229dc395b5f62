/*
 * identity.c
 *		Application identity and request context (placeholder until the
 *		identity module lands: no identity is ever established).
 */
#include "postgres.h"

#include "smarthub.h"

void
IdentityInit(void)
{
}

bool
SmarthubGetIdentity(pg_uuid_t *user_id)
{
	return false;
}

void
SmarthubSetIdentity(const pg_uuid_t *user_id)
{
}

void
SmarthubGetRequestContext(Datum *ip, bool *ip_isnull, text **user_agent)
{
	*ip = (Datum) 0;
	*ip_isnull = true;
	*user_agent = NULL;
}

bool
SmarthubIdentityHasRole(const char *role_name)
{
	return false;
}

void
SmarthubCheckActingFor(const pg_uuid_t *target_user)
{
}
