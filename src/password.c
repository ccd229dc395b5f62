/*
 * password.c
 *		Placeholder until the password module lands.
 */
#include "postgres.h"

#include "smarthub.h"

void
PasswordInit(void)
{
}
