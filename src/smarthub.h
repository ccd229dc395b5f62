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
#include "datatype/timestamp.h"
#include "executor/spi.h"
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
/* PostgreSQL 18 replaced the pg_attribute_noreturn() suffix by a pg_noreturn prefix. */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
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
extern void FoundationInit(void);
extern void IdentityInit(void);
extern void PasswordInit(void);
extern void TokenInit(void);
extern void AuditInit(void);
extern void AuditWriterInit(void);
extern void EncryptionInit(void);
extern void AuditChainInit(void);
extern void JwtInit(void);
extern void AccountInit(void);
extern void OnetimeInit(void);
extern void MfaInit(void);

/* ---- foundation.c: used by every module below; uses none of them ---- */

typedef struct SmarthubSavedUser
{
	Oid			userid;
	int			sec_context;
} SmarthubSavedUser;

/* Run what follows (smarthub's own queries) as the extension owner, until restored. */
extern void SmarthubBecomeOwner(SmarthubSavedUser *saved);
extern void SmarthubRestoreUser(const SmarthubSavedUser *saved);

/*
 * The trust rule (see foundation.c): a call is judged by the role that made
 * it, SmarthubCaller(fcinfo) on entry, before the function's own switch to
 * the owner.  A trusted role may act for anyone.
 */
extern Oid	SmarthubCaller(FunctionCallInfo fcinfo);
extern bool SmarthubRoleIsTrusted(Oid roleid);

/*
 * 42501 for what (a function name) while PostgreSQL runs code as one role on
 * another's behalf (a security-restricted operation, a foreign key action).
 */
extern void SmarthubRefuseOnSomeoneElsesBehalf(const char *what);

/* SPI: connect, a plan kept in *slot (prepared on first use), execute expecting rc. */
extern void SmarthubSpiConnect(void);
extern SPIPlanPtr SmarthubKeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types);
extern void SmarthubExecute(SPIPlanPtr plan, Datum *values, const char *nulls,
							bool read_only, int expected);

/* Call fn; no error it raises logs the statement or its context (they carry a secret). */
extern Datum SmarthubCallHidingStatement(PGFunction fn, FunctionCallInfo fcinfo);

/* 22004 "<name> must not be null" when argument argno is NULL. */
extern void SmarthubRequireArg(FunctionCallInfo fcinfo, int argno, const char *name);

/*
 * Decode base64 into out (room for len bytes): strict is JOSE's base64url
 * (RFC 7515: '-' and '_', no padding, no stray bits); otherwise either
 * alphabet, padding optional (keyring lines).  The decoded length, or -1.
 */
extern int	SmarthubBase64Decode(const char *in, int len, bool strict, unsigned char *out);

/* P0002 "user <id> does not exist or is not active". */
pg_noreturn extern void SmarthubUnknownUser(const pg_uuid_t *user_id);

/*
 * How a login names a user (login, request_password_reset, create_magic_link):
 * an email or a username, case-insensitively, through the lower() unique
 * indexes; an email match wins over a username match.  SMARTHUB_LOGIN_MATCH
 * follows "SELECT ... FROM smarthub.users", with the login as $1; a login
 * for which SmarthubLoginMayMatch is false names nobody (no account has a
 * login longer than an email may be) and is not looked up.
 */
#define SMARTHUB_LOGIN_MAX_LEN	255
#define SMARTHUB_LOGIN_MATCH \
	" WHERE pg_catalog.lower(email) OPERATOR(pg_catalog.=) pg_catalog.lower($1)" \
	"    OR pg_catalog.lower(username) OPERATOR(pg_catalog.=) pg_catalog.lower($1)" \
	" ORDER BY pg_catalog.lower(email) OPERATOR(pg_catalog.=) pg_catalog.lower($1) DESC" \
	" LIMIT 1"
extern bool SmarthubLoginMayMatch(text *login);

/* ---- identity.c ---- */

/* The application identity of this transaction; false when there is none. */
extern bool SmarthubGetIdentity(pg_uuid_t *user_id);

/* Set (user_id != NULL) or clear (NULL) the application identity. */
extern void SmarthubSetIdentity(const pg_uuid_t *user_id);

/*
 * The same, recording the session that authenticated it (authenticate_session,
 * and authenticate_jwt for smarthub's own tokens); SmarthubSetIdentity records
 * none.  SmarthubGetIdentitySession: false without an identity or without a
 * session behind it.
 */
extern void SmarthubSetSessionIdentity(const pg_uuid_t *user_id, const pg_uuid_t *session_id);
extern bool SmarthubGetIdentitySession(pg_uuid_t *user_id, pg_uuid_t *session_id);

/*
 * Request context for audit rows: *ip_isnull is set when neither
 * set_request_context nor the client address supplies one; *user_agent is
 * NULL when unknown.  Read-only: *ip may point at memory kept for the
 * backend's life.
 */
extern void SmarthubGetRequestContext(Datum *ip, bool *ip_isnull, text **user_agent);

/* Whether the current identity holds the named role (false without identity). */
extern bool SmarthubIdentityHasRole(const char *role_name);

/*
 * Raise 42501 unless the calling role (SmarthubCaller) may act on behalf of
 * target_user: trusted roles may act for
 * anyone; an untrusted role only for its own identity, or for anyone when
 * that identity holds 'admin'.  target_user == NULL asks for an action on
 * nobody's behalf in particular (create_user): trusted roles and admin
 * identities only.  what names the function; inside an operation run on
 * someone else's behalf it is refused whoever the target (see foundation.c).
 */
extern void SmarthubCheckActingFor(FunctionCallInfo fcinfo, const char *what,
								   const pg_uuid_t *target_user);

/* ---- password.c: bcrypt only ---- */

/* The current smarthub.bcrypt_max_cost. */
extern int	SmarthubBcryptMaxCost(void);

/* A fresh $2b$ hash at cost (-1: smarthub.bcrypt_cost); raises 22023. */
extern text *SmarthubHashPassword(const char *password, size_t len, int cost);

/*
 * Check a password against a stored hash without raising, always doing the
 * work of one bcrypt computation at smarthub.bcrypt_cost (a dummy hash
 * stands in for a NULL, malformed or over-ceiling one).
 */
extern bool SmarthubPasswordCheck(const char *password, size_t len,
								  const char *hash, size_t hashlen);

/* The cost to re-hash a verified password at, or 0 to keep its hash. */
extern int	SmarthubPasswordRehashCost(const char *hash, size_t len);

/* 22023 for a password SmarthubHashPassword would refuse (empty, over 72 bytes); no bcrypt. */
extern void SmarthubCheckPassword(const char *password, size_t len);

/* ---- token.c: keys and sessions (uses identity.c) ---- */

/*
 * smarthub's token format: a 4-character prefix ("shk_" API key, "shs_"
 * session, ...) + 32 base62 characters from RAND_bytes + 6 of the CRC-32 of
 * what precedes them; only the lowercase hex SHA-256 of the whole is stored.
 */
#define SMARTHUB_TOKEN_LEN		42
#define SMARTHUB_TOKEN_HASH_LEN	64

/* A fresh token with that prefix into out (SMARTHUB_TOKEN_LEN + 1 bytes). */
extern void SmarthubMakeToken(const char *prefix, char *out);

/* Whether token has the format, that prefix and a matching checksum (no table read). */
extern bool SmarthubTokenWellFormed(const char *token, size_t len, const char *prefix);

/* The lowercase hex SHA-256 of token into hex (SMARTHUB_TOKEN_HASH_LEN + 1 bytes). */
extern void SmarthubHashToken(const char *token, size_t len, char *hex);
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

/*
 * Whether the user (a uuid Datum) exists, is active and not soft-deleted;
 * inside SPI, as the owner (read_only: with the caller's snapshot).
 */
extern bool SmarthubUserIsLive(Datum user_id, bool read_only);

/* The same for a session token, with the session's id and expiry. */
extern bool SmarthubVerifySession(text *token, pg_uuid_t *user_id, pg_uuid_t *session_id,
								  TimestampTz *expires_at);

/* Argument argno as a session ttl, or smarthub.session_ttl when NULL; 22023 unless positive. */
extern Datum SmarthubSessionTtl(FunctionCallInfo fcinfo, int argno);

/* smarthub.session_ttl as an interval. */
extern Datum SmarthubDefaultSessionTtl(void);

/* Delete all of user_id's sessions; how many were live.  Inside SPI, as the owner. */
extern int32 SmarthubDeleteUserSessions(Datum user_id);

/*
 * Insert a session for user_id (live: the caller checked) and return its
 * token, allocated in the upper executor context; inside SPI, as the owner.
 * *session_id, when not NULL, receives the new row's id.
 */
extern text *SmarthubCreateSession(const pg_uuid_t *user_id, Datum ttl,
								   Datum ip, bool ip_isnull, Datum ua, bool ua_isnull,
								   pg_uuid_t *session_id);

/* ---- onetime.c: email verification, password reset, magic links (uses token.c) ---- */

/*
 * A password changed (set_password, reset_password): delete the user's
 * outstanding password_reset and magic_link tokens.  Inside SPI, as the owner.
 */
extern void SmarthubVoidPasswordTokens(Datum user_id);

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

/* ---- audit_writer.c: the one writer of audit rows ---- */

/* smarthub.audit_logs' OID, cached. */
extern Oid	SmarthubAuditLogsRelid(void);

/*
 * Write one audit row, as the extension owner, after the rows queued before
 * it.  actor: the identity the row is attributed to (NULL: none); ip and
 * user_agent as given (NULL user_agent: none).  SmarthubAuditWriteForIdentity
 * takes the actor and the request context from the current identity.
 */
extern void SmarthubAuditWrite(const char *entity_type, const pg_uuid_t *entity_id,
							   const char *action, Jsonb *changes, const pg_uuid_t *actor,
							   Datum ip, bool ip_isnull, text *user_agent);
extern void SmarthubAuditWriteForIdentity(const char *entity_type, const pg_uuid_t *entity_id,
										  const char *action, Jsonb *changes);

/*
 * The same for the row change of an AFTER ROW trigger, whose statement has
 * completed: queued, and written when the statement ends, with the rest of
 * its rows.
 */
extern void SmarthubAuditQueue(const char *entity_type, const pg_uuid_t *entity_id,
							   const char *action, Jsonb *changes);

/* ---- encryption.c: the keyring's signing key (for audit checkpoints) ---- */

/* Whether the keyring holds an ed25519 signing key (raises 55000 when it was refused). */
extern bool SmarthubSigningKeyConfigured(void);

/*
 * Sign message with the keyring's ed25519 key: *signature and *public_key
 * become base64 text (palloc'd), or stay NULL when no key is configured.
 */
extern void SmarthubSign(const char *message, size_t len, char **signature, char **public_key);

/* Whether a base64 signature of message verifies with the keyring's key. */
extern bool SmarthubVerifySignature(const char *message, size_t len, const char *signature);

/* ---- encryption.c: the keyring's JWT lines (for jwt.c) ---- */

typedef enum SmarthubJwtKeyKind
{
	SMARTHUB_JWT_HMAC,			/* jwt-hmac <issuer> <kid> <secret> */
	SMARTHUB_JWT_SIGN			/* jwt-sign <kid> <PKCS#8 DER private key> */
} SmarthubJwtKeyKind;

typedef struct SmarthubJwtKeyLine
{
	SmarthubJwtKeyKind kind;
	char	   *issuer;			/* jwt-hmac only */
	char	   *kid;			/* NULL for "-" */
	unsigned char *secret;		/* the HMAC secret or the DER key */
	int			secret_len;
	int			secret_alloc;	/* bytes wiped when the keyring goes */
} SmarthubJwtKeyLine;

/*
 * The keyring's JWT lines, in file order (loading the keyring if needed);
 * none when it is not configured or was refused.  *generation changes each
 * time the keyring is read again, and the lines with it.  Never raises for a
 * problem with the file.
 */
extern int	SmarthubKeyringJwt(const SmarthubJwtKeyLine **lines, uint64 *generation);

/* 55000 with the reason when the keyring file was refused; nothing otherwise. */
extern void SmarthubKeyringRaiseIfRefused(void);

/* ---- encryption.c: envelopes for other modules (mfa.c) ---- */

/* encrypt() / decrypt() of bytes with a C-string context; the plaintext is palloc'd. */
extern bytea *SmarthubEncryptBytes(const unsigned char *plain, int len, const char *context);
extern bytea *SmarthubDecryptBytes(bytea *envelope, const char *context);

/* ---- audit_chain.c: sealed blocks of audit rows ---- */

/* Whether this database has smarthub.audit_blocks (1.1 on; a 1.0 database has not). */
extern bool SmarthubAuditChainInstalled(void);

/* What purge_audit_logs removes: the rows of blocks 1 .. through. */
typedef struct SmarthubPrune
{
	int64		through;		/* the last pruned block */
	Datum		origins;		/* int8[]: per origin, its rows with txid below ... */
	Datum		below;			/* int8[]: ... this are the pruned blocks' rows */
	Datum		kept_from;		/* uuid: the least row id of the blocks kept */
	bool		kept_from_null; /* no block is kept */
	int64		self;			/* this cluster's origin, and the txid below which */
	int64		self_sealed_below;	/* its rows are sealed (above: not yet) */
} SmarthubPrune;

/*
 * Seal (splitting at cutoff) and plan the pruning of every block whose rows
 * are all older than cutoff; false when no block is newly prunable.  Then,
 * once the rows are deleted, SmarthubAuditPruneRecord appends the purge
 * block.  Both inside an SPI connection, as the owner.
 */
extern bool SmarthubAuditPrunePlan(TimestampTz cutoff, SmarthubPrune *prune);
extern void SmarthubAuditPruneRecord(const SmarthubPrune *prune, int64 rows);

#endif							/* SMARTHUB_H */
