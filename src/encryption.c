/*
 * encryption.c
 *		Placeholder until the encryption module lands.
 */
#include "postgres.h"

#include "smarthub.h"

void
EncryptionInit(void)
{
}
