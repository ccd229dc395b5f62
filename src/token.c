/*
 * token.c
 *		Placeholder until the token module lands.
 */
#include "postgres.h"

#include "smarthub.h"

void
TokenInit(void)
{
}

bool
SmarthubVerifyToken(text *token, SmarthubTokenKind kind, pg_uuid_t *user_id)
{
	return false;
}
