/*
 * audit.c
 *		Placeholder until the audit module lands.
 */
#include "postgres.h"

#include "smarthub.h"

void
AuditInit(void)
{
}
