/*
 * smarthub.c
 *		Module entry point: PG_MODULE_MAGIC and _PG_init.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "smarthub.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Each module defines its GUCs in its own Init; the prefix is then reserved
 * so that a typo such as "SET smarthub.bcrypt_cots" is an error, not a new
 * placeholder that silently does nothing.
 */
void
_PG_init(void)
{
	FoundationInit();
	IdentityInit();
	PasswordInit();
	TokenInit();
	AuditWriterInit();
	AuditInit();
	EncryptionInit();
	AuditChainInit();
	JwtInit();
	AccountInit();
	OnetimeInit();
	MfaInit();
	MarkGUCPrefixReserved("smarthub");
}
