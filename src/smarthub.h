/*
 * smarthub.h
 *		Internal interfaces shared by the smarthub modules.
 *
 * Each module (one concern per .c file) exposes an Init function called
 * from _PG_init, plus the few helpers other modules need.  Version
 * differences across the supported PostgreSQL 15, 17 and 18 are handled
 * here, in one place (script/matrix tests each of them).
 */
#ifndef SMARTHUB_H
#define SMARTHUB_H

#include "fmgr.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#define SMARTHUB_SCHEMA "smarthub"

/* ---- version shims ---- */
#if PG_VERSION_NUM < 150000
#error "smarthub requires PostgreSQL 15 or later"
#endif
#if PG_VERSION_NUM >= 160000
/* PostgreSQL 16 folded the per-catalog ownership and ACL checks into object_*. */
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "utils/acl.h"
#define pg_class_ownercheck(relid, roleid) object_ownercheck(RelationRelationId, (relid), (roleid))
#define pg_proc_aclcheck(proc, roleid, mode) object_aclcheck(ProcedureRelationId, (proc), (roleid), (mode))
#endif
/* The binary side of pg_b64_encode/pg_b64_decode (uint8 * since PostgreSQL 18). */
#if PG_VERSION_NUM >= 180000
typedef uint8 SmarthubB64Byte;
#else
typedef char SmarthubB64Byte;
#endif
/* This backend's local transaction id (PostgreSQL 17 moved it into PGPROC.vxid). */
#if PG_VERSION_NUM >= 170000
#define SmarthubLocalXid() (MyProc->vxid.lxid)
#else
#define SmarthubLocalXid() (MyProc->lxid)
#endif

/*
 * IsLogicalWorker(): whether this process is a logical replication worker
 * (apply, table synchronisation, and from 16 on parallel apply).  The same
 * header declares it with the same meaning on 15, 17 and 18: no shim.
 */
#include "replication/logicalworker.h"

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

/*
 * Run what follows (SPI look-ups of secret columns) as the extension owner,
 * whose rights SECURITY DEFINER would give, without the per-call cost of a
 * SET clause; restore with SetUserIdAndSecContext(*save_userid, *save_sec).
 * An error restores the caller's user id through transaction abort.
 */
extern void SmarthubBecomeOwner(Oid *save_userid, int *save_sec);

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
extern int	SmarthubPasswordRehashCost(const char *hash, size_t len);

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

/* ---- jsonb_diff.c ---- */

/* How a value is rendered in JSONB, following to_jsonb's categories. */
typedef enum SmarthubJsonKind
{
	SH_JSON_BOOL,				/* true / false */
	SH_JSON_INT,				/* int2, int4, int8: numbers */
	SH_JSON_NUMERIC,			/* numeric: a number, NaN/Infinity as strings */
	SH_JSON_FLOAT,				/* float4, float8: likewise, via their output */
	SH_JSON_DATETIME,			/* date, timestamp, timestamptz: ISO 8601 strings */
	SH_JSON_TEXT,				/* text, varchar, bpchar: the string itself */
	SH_JSON_JSONB,				/* nested as is */
	SH_JSON_JSON,				/* parsed, then nested */
	SH_JSON_ARRAY,				/* JSON arrays of the element's rendering */
	SH_JSON_COMPOSITE,			/* objects (through row_to_json) */
	SH_JSON_CAST,				/* non-built-in type with a cast to json */
	SH_JSON_OTHER				/* everything else: its output function's string */
} SmarthubJsonKind;

typedef struct SmarthubJsonType
{
	Oid			typid;			/* after looking through domains */
	SmarthubJsonKind kind;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	FmgrInfo	func;			/* output function, or cast function to json */
	struct SmarthubJsonType *elem;	/* SH_JSON_ARRAY: the element type */
} SmarthubJsonType;

/* One column of an audited table, as the audit trigger caches it. */
typedef struct SmarthubAuditColumn
{
	AttrNumber	attnum;
	char	   *name;			/* the JSON key */
	bool		redact;			/* excluded: its value never appears */
	bool		ignore;			/* ignored: left out of UPDATE diffs */
	int16		attlen;
	bool		attbyval;
	SmarthubJsonType type;
} SmarthubAuditColumn;

/* Fill *type for typid; sub-allocations (array elements) go to cxt. */
extern void SmarthubJsonTypeInit(SmarthubJsonType *type, Oid typid, MemoryContext cxt);

/*
 * {"before": ..., "after": ...} for one row change.  oldtup NULL: CREATE;
 * newtup NULL: DELETE; both: UPDATE, where only changed, non-ignored
 * columns appear and NULL is returned when there is no such column.
 */
extern Jsonb *SmarthubJsonbRowChange(const SmarthubAuditColumn *cols, int ncols,
											TupleDesc desc, HeapTupleData *oldtup,
											HeapTupleData *newtup);

/* A flat JSONB object of n keys and typed values (for PURGE, LOGIN_FAILED). */
extern Jsonb *SmarthubJsonbObject(int n, const char *const *keys, const Datum *values,
										 const bool *nulls, const Oid *types);

#endif							/* SMARTHUB_H */
