/*
 * smarthub.h
 *		Internal interfaces shared by the smarthub modules.
 *
 * Each module (one concern per .c file) exposes an Init function called
 * from _PG_init, plus the few helpers other modules need.  Version
 * differences across PostgreSQL 13..17 are handled here, in one place.
 */
#ifndef SMARTHUB_H
#define SMARTHUB_H

#include "fmgr.h"
#include "utils/uuid.h"

#define SMARTHUB_SCHEMA "smarthub"

/* ---- version shims ---- */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* ---- module initialisation (each defines its own GUCs) ---- */
extern void IdentityInit(void);
extern void PasswordInit(void);
extern void TokenInit(void);
extern void AuditInit(void);
extern void EncryptionInit(void);

/* ---- identity.c ---- */

/* The application identity of this transaction; false when there is none. */
extern bool SmarthubGetIdentity(pg_uuid_t *user_id);

/* Set (user_id != NULL) or clear (NULL) the application identity. */
extern void SmarthubSetIdentity(const pg_uuid_t *user_id);

/*
 * Request context for audit rows: *ip_isnull is set when neither
 * set_request_context nor the client address supplies one; *user_agent is
 * NULL when unknown.
 */
extern void SmarthubGetRequestContext(Datum *ip, bool *ip_isnull, text **user_agent);

/* Whether the current identity holds the named role (false without identity). */
extern bool SmarthubIdentityHasRole(const char *role_name);

/*
 * Raise 42501 unless the calling role (GetOuterUserId(), i.e. outside any
 * SECURITY DEFINER function) may act on behalf of target_user: the DBA and
 * trusted roles may act for anyone; an untrusted application role only for
 * its own identity, or for anyone when that identity holds 'admin'.
 * target_user == NULL asks for an action on nobody's behalf in particular
 * (create_user): allowed to the DBA, trusted roles and admin identities only.
 */
extern void SmarthubCheckActingFor(const pg_uuid_t *target_user);

/* ---- password.c ---- */

/* The current smarthub.bcrypt_cost. */
extern int	SmarthubBcryptCost(void);

/* The current smarthub.bcrypt_max_cost. */
extern int	SmarthubBcryptMaxCost(void);

/* A fresh $2b$ hash at cost (-1: smarthub.bcrypt_cost); raises 22023. */
extern text *SmarthubHashPassword(const char *password, size_t len, int cost);

/*
 * Check a password against a stored hash without raising, always spending
 * one bcrypt computation (against a dummy hash at the current cost when hash
 * is NULL, malformed or over smarthub.bcrypt_max_cost).
 */
extern bool SmarthubPasswordCheck(const char *password, size_t len,
								  const char *hash, size_t hashlen);

/* Whether a well-formed hash is not $2b$ at cost (-1: the setting). */
extern bool SmarthubPasswordNeedsRehash(const char *hash, size_t len, int cost);

/* Call fn; any error it raises is logged without the statement (it holds a password). */
extern Datum SmarthubCallHidingStatement(PGFunction fn, FunctionCallInfo fcinfo);

/* ---- token.c ---- */
typedef enum SmarthubTokenKind
{
	SMARTHUB_API_KEY,
	SMARTHUB_SESSION
} SmarthubTokenKind;

/*
 * Verify an API key or session token.  Never raises for bad input: returns
 * false for anything that is not a live credential of an active user.
 */
extern bool SmarthubVerifyToken(text *token, SmarthubTokenKind kind, pg_uuid_t *user_id);

#endif							/* SMARTHUB_H */
