/*
 * token.c
 *		API keys and session tokens: format, SHA-256, verification, sessions
 *		and login.
 *
 * A key is "shk_" (a session token "shs_") + 32 base62 characters from
 * RAND_bytes (190 bits) + 6 base62 characters of the CRC-32 of everything
 * before them.  The checksum lets verification reject typos, truncations and
 * random garbage without touching a table; only the lowercase hex SHA-256 of
 * the whole string is stored.
 *
 * Verification runs on every request, so its queries are prepared once per
 * backend (SPI_keepplan) and use the unique index on the hash.
 */
#include "postgres.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/pg_crc.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_create_api_key);
PG_FUNCTION_INFO_V1(smarthub_verify_key);
PG_FUNCTION_INFO_V1(smarthub_revoke_api_key);
PG_FUNCTION_INFO_V1(smarthub_create_session);
PG_FUNCTION_INFO_V1(smarthub_verify_session);
PG_FUNCTION_INFO_V1(smarthub_revoke_session);
PG_FUNCTION_INFO_V1(smarthub_revoke_user_sessions);
PG_FUNCTION_INFO_V1(smarthub_purge_expired_sessions);
PG_FUNCTION_INFO_V1(smarthub_login);

#define TOKEN_PREFIX_LEN	4
#define TOKEN_RANDOM_LEN	32
#define TOKEN_CHECK_LEN		6
#define TOKEN_LEN			(TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN + TOKEN_CHECK_LEN)
#define TOKEN_HASH_LEN		64	/* lowercase hex SHA-256 */
#define LOGIN_MAX_LEN		255 /* longest email; no longer login can match */

static const char base62[] =
"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* GUCs */
static int	key_touch_interval = 60;	/* seconds */
static int	session_ttl = 86400;	/* seconds */

/* Plans prepared once per backend, in the order of plan_sql. */
typedef enum TokenPlan
{
	PLAN_VERIFY_KEY,
	PLAN_TOUCH_KEY,
	PLAN_VERIFY_SESSION,
	PLAN_USER_LIVE,
	PLAN_INSERT_KEY,
	PLAN_KEY_OWNER,
	PLAN_REVOKE_KEY,
	PLAN_INSERT_SESSION,
	PLAN_FIND_SESSION,
	PLAN_DELETE_SESSION,
	PLAN_DELETE_USER_SESSIONS,
	PLAN_PURGE_SESSIONS,
	PLAN_LOGIN_USER,
	PLAN_LOGIN_UPDATE,
	PLAN_AUDIT_LOGIN,
	NUM_PLANS
} TokenPlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			types[7];
} PlanSpec;

/*
 * Every name qualified, operators too: these run inside SECURITY DEFINER
 * functions.  Times compare with now() (the transaction's start), as the
 * schema's defaults do.
 */
static const PlanSpec plan_specs[NUM_PLANS] = {
	[PLAN_VERIFY_KEY] = {
		"SELECT k.id, k.user_id, k.last_used_at"
		"  FROM smarthub.api_keys k"
		"  JOIN smarthub.users u ON u.id OPERATOR(pg_catalog.=) k.user_id"
		" WHERE k.key_hash OPERATOR(pg_catalog.=) $1 AND k.is_active"
		"   AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())"
		"   AND u.is_active AND u.deleted_at IS NULL",
		1, {TEXTOID}
	},
	/* SKIP LOCKED: under a burst on one key, one backend touches, the others go on */
	[PLAN_TOUCH_KEY] = {
		"UPDATE smarthub.api_keys SET last_used_at = pg_catalog.now()"
		" WHERE id OPERATOR(pg_catalog.=) (SELECT id FROM smarthub.api_keys"
		"   WHERE id OPERATOR(pg_catalog.=) $1"
		"     AND (last_used_at IS NULL OR last_used_at OPERATOR(pg_catalog.<) $2)"
		"   FOR UPDATE SKIP LOCKED)",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	[PLAN_VERIFY_SESSION] = {
		"SELECT s.user_id"
		"  FROM smarthub.sessions s"
		"  JOIN smarthub.users u ON u.id OPERATOR(pg_catalog.=) s.user_id"
		" WHERE s.token_hash OPERATOR(pg_catalog.=) $1"
		"   AND s.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
		"   AND u.is_active AND u.deleted_at IS NULL",
		1, {TEXTOID}
	},
	[PLAN_USER_LIVE] = {
		"SELECT FROM smarthub.users WHERE id OPERATOR(pg_catalog.=) $1"
		"   AND is_active AND deleted_at IS NULL",
		1, {UUIDOID}
	},
	[PLAN_INSERT_KEY] = {
		"INSERT INTO smarthub.api_keys (user_id, key_hash, name, expires_at, description)"
		" VALUES ($1, $2, $3, $4, $5) RETURNING id",
		5, {UUIDOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID}
	},
	[PLAN_KEY_OWNER] = {
		"SELECT user_id FROM smarthub.api_keys WHERE id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[PLAN_REVOKE_KEY] = {
		"UPDATE smarthub.api_keys SET is_active = false"
		" WHERE id OPERATOR(pg_catalog.=) $1 AND is_active",
		1, {UUIDOID}
	},
	[PLAN_INSERT_SESSION] = {
		"INSERT INTO smarthub.sessions (user_id, token_hash, ip_address, user_agent, expires_at)"
		" VALUES ($1, $2, $3, $4, pg_catalog.now() OPERATOR(pg_catalog.+) $5)",
		5, {UUIDOID, TEXTOID, INETOID, TEXTOID, INTERVALOID}
	},
	[PLAN_FIND_SESSION] = {
		"SELECT id, user_id, expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
		"  FROM smarthub.sessions WHERE token_hash OPERATOR(pg_catalog.=) $1",
		1, {TEXTOID}
	},
	[PLAN_DELETE_SESSION] = {
		"DELETE FROM smarthub.sessions WHERE id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[PLAN_DELETE_USER_SESSIONS] = {
		"WITH d AS (DELETE FROM smarthub.sessions WHERE user_id OPERATOR(pg_catalog.=) $1"
		"           RETURNING expires_at)"
		"SELECT pg_catalog.count(*) FILTER (WHERE expires_at OPERATOR(pg_catalog.>) pg_catalog.now())::int4"
		"  FROM d",
		1, {UUIDOID}
	},
	[PLAN_PURGE_SESSIONS] = {
		"DELETE FROM smarthub.sessions WHERE expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()",
		0, {InvalidOid}
	},
	/* the lower() unique indexes; an email match wins over a username match */
	[PLAN_LOGIN_USER] = {
		"SELECT id, password_hash::text, is_active, deleted_at IS NULL FROM smarthub.users"
		" WHERE pg_catalog.lower(email) OPERATOR(pg_catalog.=) pg_catalog.lower($1)"
		"    OR pg_catalog.lower(username) OPERATOR(pg_catalog.=) pg_catalog.lower($1)"
		" ORDER BY pg_catalog.lower(email) OPERATOR(pg_catalog.=) pg_catalog.lower($1) DESC"
		" LIMIT 1",
		1, {TEXTOID}
	},
	[PLAN_LOGIN_UPDATE] = {
		"UPDATE smarthub.users SET last_login_at = pg_catalog.now(),"
		"       password_hash = COALESCE($2, password_hash)"
		" WHERE id OPERATOR(pg_catalog.=) $1",
		2, {UUIDOID, TEXTOID}
	},
	[PLAN_AUDIT_LOGIN] = {
		"INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action, changes,"
		"                                 ip_address, user_agent)"
		" VALUES ($1, 'users', $2, $3,"
		"         CASE WHEN $3 OPERATOR(pg_catalog.=) 'LOGIN' THEN NULL"
		"              WHEN $5 IS NULL THEN pg_catalog.jsonb_build_object('login', pg_catalog.left($4, 255))"
		"              ELSE pg_catalog.jsonb_build_object('login', pg_catalog.left($4, 255), 'reason', $5) END,"
		"         $6, $7)",
		7, {UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, INETOID, TEXTOID}
	},
};

static SPIPlanPtr plans[NUM_PLANS];

static SPIPlanPtr GetPlan(TokenPlan which);
static void MakeToken(const char *prefix, char *out);
static uint32 TokenChecksum(const char *token);
static void EncodeChecksum(uint32 crc, char *out);
static bool TokenWellFormed(const char *token, size_t len, const char *prefix);
static void HashToken(const char *token, size_t len, char *hex);
static text *TokenArg(Datum d);
static void SpiConnect(void);
static bool UserIsLive(Datum user_id);
static text *CreateSession(Datum user_id, Datum ttl, Datum ip, bool ip_isnull,
						   Datum ua, bool ua_isnull);
static Datum SessionTtl(FunctionCallInfo fcinfo, int argno);
static char *UuidText(Datum id);

/*
 * Define the module's GUCs.
 *
 * key_touch_interval is PGC_SUSET: last_used_at is how a DBA finds stale or
 * leaked keys, and an application role must not be able to stop it from
 * moving.  session_ttl is PGC_USERSET: create_session takes a ttl from any
 * caller anyway, so a per-role default adds no power.
 */
void
TokenInit(void)
{
	DefineCustomIntVariable("smarthub.key_touch_interval",
							"Minimum time between two updates of an API key's last_used_at.",
							"verify_key writes last_used_at at most this often per key; 0 writes on every use.",
							&key_touch_interval,
							60, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.session_ttl",
							"Lifetime of a session when create_session or login is given no ttl.",
							NULL,
							&session_ttl,
							86400, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/* The kept plan for a query, prepared on first use; call after SPI_connect. */
static SPIPlanPtr
GetPlan(TokenPlan which)
{
	if (plans[which] == NULL)
	{
		const PlanSpec *spec = &plan_specs[which];
		SPIPlanPtr	plan = SPI_prepare(spec->sql, spec->nargs, (Oid *) spec->types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));	/* internal error */
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed"); /* internal error */
		plans[which] = plan;
	}
	return plans[which];
}

static void
SpiConnect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");	/* internal error */
}

/* Execute a kept plan, raising an internal error unless it returns expected. */
static void
Execute(TokenPlan which, Datum *values, const char *nulls, bool read_only, int expected)
{
	int			rc = SPI_execute_plan(GetPlan(which), values, nulls, read_only, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc)); /* internal error */
}

/* CRC-32 (the zlib/IEEE polynomial) of the prefix and random part. */
static uint32
TokenChecksum(const char *token)
{
	pg_crc32	crc;

	INIT_TRADITIONAL_CRC32(crc);
	COMP_TRADITIONAL_CRC32(crc, token, TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN);
	FIN_TRADITIONAL_CRC32(crc);
	return crc;
}

/* 6 base62 digits, most significant first (62^6 > 2^32). */
static void
EncodeChecksum(uint32 crc, char *out)
{
	int			i;

	for (i = TOKEN_CHECK_LEN - 1; i >= 0; i--)
	{
		out[i] = base62[crc % 62];
		crc /= 62;
	}
}

/*
 * Fill out (TOKEN_LEN + 1 bytes) with a new token.  Random bytes of 248 or
 * more are rejected so that every base62 character is equally likely.
 */
static void
MakeToken(const char *prefix, char *out)
{
	unsigned char buf[64];
	int			n = 0;

	memcpy(out, prefix, TOKEN_PREFIX_LEN);
	while (n < TOKEN_RANDOM_LEN)
	{
		int			i;

		if (RAND_bytes(buf, sizeof(buf)) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes")));
		for (i = 0; i < (int) sizeof(buf) && n < TOKEN_RANDOM_LEN; i++)
			if (buf[i] < 248)
				out[TOKEN_PREFIX_LEN + n++] = base62[buf[i] % 62];
	}
	explicit_bzero(buf, sizeof(buf));
	EncodeChecksum(TokenChecksum(out), out + TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN);
	out[TOKEN_LEN] = '\0';
}

/* Prefix, length, alphabet and checksum: everything but the database. */
static bool
TokenWellFormed(const char *token, size_t len, const char *prefix)
{
	char		check[TOKEN_CHECK_LEN];
	int			i;

	if (len != TOKEN_LEN || memcmp(token, prefix, TOKEN_PREFIX_LEN) != 0)
		return false;
	for (i = TOKEN_PREFIX_LEN; i < TOKEN_LEN; i++)
	{
		char		c = token[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	EncodeChecksum(TokenChecksum(token), check);
	return memcmp(check, token + TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN, TOKEN_CHECK_LEN) == 0;
}

/* Lowercase hex SHA-256 of the token into hex (TOKEN_HASH_LEN + 1 bytes). */
static void
HashToken(const char *token, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char digits[] = "0123456789abcdef";
	unsigned int i;

	if (EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		elog(ERROR, "SHA-256 failed");	/* internal error */
	for (i = 0; i < mdlen; i++)
	{
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[TOKEN_HASH_LEN] = '\0';
}

/*
 * A token argument, detoasted only when its length can be right: a megabyte
 * of text is rejected by its header alone.  NULL when it cannot be a token.
 */
static text *
TokenArg(Datum d)
{
	if (toast_raw_datum_size(d) != VARHDRSZ + TOKEN_LEN)
		return NULL;
	return DatumGetTextPP(d);
}

static char *
UuidText(Datum id)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, id));
}

/*
 * Write an API key's last_used_at.  Under REPEATABLE READ another backend's
 * committed touch of the same key makes the UPDATE fail with 40001; that
 * touch is all this one wanted, so the failure is swallowed in a
 * subtransaction rather than passed to a caller that only verified a key.
 * Other errors propagate.  (SERIALIZABLE transactions do not touch at all:
 * see the caller.)
 */
static void
TouchKey(Datum *touch)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	if (!IsolationUsesXactSnapshot())
	{
		Execute(PLAN_TOUCH_KEY, touch, NULL, false, SPI_OK_UPDATE);
		return;
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		Execute(PLAN_TOUCH_KEY, touch, NULL, false, SPI_OK_UPDATE);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * Verify an API key or session token (see smarthub.h).  Malformed input
 * returns before any table is touched.  A live API key's last_used_at is
 * written when older than smarthub.key_touch_interval, except where writing
 * is impossible (read-only transaction, hot standby) or could make the
 * caller's own transaction fail at commit (SERIALIZABLE, whose conflict
 * checks would count the write): verification itself works everywhere and
 * never raises.  The look-up runs as the extension owner (the hash
 * columns are the owner's alone), so verify_key and verify_session need not
 * be SECURITY DEFINER: every SQL text here is schema- and operator-qualified.
 */
bool
SmarthubVerifyToken(text *token, SmarthubTokenKind kind, pg_uuid_t *user_id)
{
	char		hex[TOKEN_HASH_LEN + 1];
	Datum		param;
	bool		found = false;
	bool		read_only;
	Oid			save_userid;
	int			save_sec;

	if (token == NULL)
		return false;
	if (VARATT_IS_EXTERNAL(token) || VARATT_IS_COMPRESSED(token))
	{
		/* a toasted argument: look at its length before detoasting it */
		if (toast_raw_datum_size(PointerGetDatum(token)) != VARHDRSZ + TOKEN_LEN)
			return false;
		token = pg_detoast_datum_packed(token);
	}
	if (!TokenWellFormed(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token),
						 kind == SMARTHUB_API_KEY ? "shk_" : "shs_"))
		return false;
	HashToken(VARDATA_ANY(token), TOKEN_LEN, hex);
	param = PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN));

	/*
	 * The lookup reads with the caller's snapshot when there is one: no new
	 * snapshot or command counter increment per verification.
	 */
	read_only = ActiveSnapshotSet();
	SmarthubBecomeOwner(&save_userid, &save_sec);
	SpiConnect();
	if (kind == SMARTHUB_API_KEY)
	{
		Execute(PLAN_VERIFY_KEY, &param, NULL, read_only, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			bool		never_used;
			Datum		key_id = SPI_getbinval(tup, desc, 1, &isnull);
			Datum		owner = SPI_getbinval(tup, desc, 2, &isnull);
			Datum		last = SPI_getbinval(tup, desc, 3, &never_used);
			TimestampTz cutoff = GetCurrentTransactionStartTimestamp() -
				(TimestampTz) key_touch_interval * USECS_PER_SEC;

			found = true;
			memcpy(user_id->data, DatumGetUUIDP(owner)->data, UUID_LEN);
			if ((never_used || key_touch_interval == 0 || DatumGetTimestampTz(last) < cutoff) &&
				!XactReadOnly && !RecoveryInProgress() && !IsolationIsSerializable())
			{
				Datum		touch[2];

				touch[0] = key_id;
				/* interval 0 writes on every use, whatever the last value */
				touch[1] = TimestampTzGetDatum(key_touch_interval == 0 ? DT_NOEND : cutoff);
				TouchKey(touch);
			}
		}
	}
	else
	{
		Execute(PLAN_VERIFY_SESSION, &param, NULL, read_only, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			found = true;
			memcpy(user_id->data, DatumGetUUIDP(owner)->data, UUID_LEN);
		}
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	return found;
}

/* Shared body of verify_key and verify_session. */
static Datum
VerifyWrapper(FunctionCallInfo fcinfo, SmarthubTokenKind kind)
{
	text	   *token = TokenArg(PG_GETARG_DATUM(0));
	pg_uuid_t  *user_id;

	if (token == NULL)
		PG_RETURN_NULL();
	user_id = palloc(sizeof(pg_uuid_t));
	if (!SmarthubVerifyToken(token, kind, user_id))
		PG_RETURN_NULL();
	PG_RETURN_UUID_P(user_id);
}

/* verify_key(key text) RETURNS uuid, STRICT */
Datum
smarthub_verify_key(PG_FUNCTION_ARGS)
{
	return VerifyWrapper(fcinfo, SMARTHUB_API_KEY);
}

/* verify_session(token text) RETURNS uuid, STRICT */
Datum
smarthub_verify_session(PG_FUNCTION_ARGS)
{
	return VerifyWrapper(fcinfo, SMARTHUB_SESSION);
}

/* Whether the user exists, is active and not soft-deleted; inside SPI. */
static bool
UserIsLive(Datum user_id)
{
	Execute(PLAN_USER_LIVE, &user_id, NULL, false, SPI_OK_SELECT);
	return SPI_processed == 1;
}

static void
UnknownUser(Datum user_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("user %s does not exist or is not active", UuidText(user_id))));
}

/*
 * create_api_key(user_id uuid, name text DEFAULT NULL, expires_at timestamptz
 *				  DEFAULT NULL, description text DEFAULT NULL)
 *				  RETURNS TABLE(id uuid, key text)
 *
 * One row; the plaintext key exists only in it.
 */
Datum
smarthub_create_api_key(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		TupleDesc	tupdesc;
		Datum		user_id;
		char		key[TOKEN_LEN + 1];
		char		hex[TOKEN_HASH_LEN + 1];
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
		Datum		result[2];
		bool		rnulls[2] = {false, false};
		bool		isnull;
		pg_uuid_t  *id;

		funcctx = SRF_FIRSTCALL_INIT();
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("user_id must not be null")));
		user_id = PG_GETARG_DATUM(0);
		SmarthubCheckActingFor(DatumGetUUIDP(user_id));
		if (!PG_ARGISNULL(2) &&
			PG_GETARG_TIMESTAMPTZ(2) <= GetCurrentTransactionStartTimestamp())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_at must be in the future"),
					 errhint("Pass NULL for a key that never expires.")));

		SpiConnect();
		if (!UserIsLive(user_id))
			UnknownUser(user_id);
		MakeToken("shk_", key);
		HashToken(key, TOKEN_LEN, hex);
		values[0] = user_id;
		values[1] = PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN));
		values[2] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
		values[3] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
		values[4] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
		nulls[2] = PG_ARGISNULL(1) ? 'n' : ' ';
		nulls[3] = PG_ARGISNULL(2) ? 'n' : ' ';
		nulls[4] = PG_ARGISNULL(3) ? 'n' : ' ';
		Execute(PLAN_INSERT_KEY, values, nulls, false, SPI_OK_INSERT_RETURNING);

		/* the row must outlive SPI_finish and this call */
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		id = palloc(sizeof(pg_uuid_t));
		memcpy(id->data,
			   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->data,
			   UUID_LEN);
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");	/* internal error */
		result[0] = UUIDPGetDatum(id);
		result[1] = PointerGetDatum(cstring_to_text_with_len(key, TOKEN_LEN));
		funcctx->user_fctx = heap_form_tuple(BlessTupleDesc(tupdesc), result, rnulls);
		MemoryContextSwitchTo(oldcxt);
		explicit_bzero(key, sizeof(key));
		SPI_finish();
	}

	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr == 0)
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum((HeapTuple) funcctx->user_fctx));
	SRF_RETURN_DONE(funcctx);
}

/* revoke_api_key(id uuid) RETURNS boolean: true if it was active; STRICT */
Datum
smarthub_revoke_api_key(PG_FUNCTION_ARGS)
{
	Datum		key_id = PG_GETARG_DATUM(0);
	bool		revoked = false;

	SpiConnect();
	Execute(PLAN_KEY_OWNER, &key_id, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		pg_uuid_t	owner;

		memcpy(owner.data,
			   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->data,
			   UUID_LEN);
		SmarthubCheckActingFor(&owner);
		Execute(PLAN_REVOKE_KEY, &key_id, NULL, false, SPI_OK_UPDATE);
		revoked = SPI_processed == 1;
	}
	SPI_finish();
	PG_RETURN_BOOL(revoked);
}

/* The ttl argument, or smarthub.session_ttl; 22023 unless positive. */
static Datum
SessionTtl(FunctionCallInfo fcinfo, int argno)
{
	Interval   *ttl;

	if (PG_ARGISNULL(argno))
	{
		ttl = palloc0(sizeof(Interval));
		ttl->time = (TimeOffset) session_ttl * USECS_PER_SEC;
		return IntervalPGetDatum(ttl);
	}
	ttl = PG_GETARG_INTERVAL_P(argno);
	if (ttl->month < 0 || ttl->day < 0 || ttl->time < 0 ||
		(ttl->month == 0 && ttl->day == 0 && ttl->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("session ttl must be positive"),
				 errdetail("A session ttl may not have a negative part, and may not be zero."),
				 errhidestmt(true)));
	return IntervalPGetDatum(ttl);
}

/*
 * Insert a session for a live user (the caller checked) and return its
 * token; inside SPI, the result in the caller's context.
 */
static text *
CreateSession(Datum user_id, Datum ttl, Datum ip, bool ip_isnull, Datum ua, bool ua_isnull)
{
	char		token[TOKEN_LEN + 1];
	char		hex[TOKEN_HASH_LEN + 1];
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	text	   *result;

	MakeToken("shs_", token);
	HashToken(token, TOKEN_LEN, hex);
	values[0] = user_id;
	values[1] = PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN));
	values[2] = ip;
	values[3] = ua;
	values[4] = ttl;
	nulls[2] = ip_isnull ? 'n' : ' ';
	nulls[3] = ua_isnull ? 'n' : ' ';
	Execute(PLAN_INSERT_SESSION, values, nulls, false, SPI_OK_INSERT);
	result = SPI_palloc(VARHDRSZ + TOKEN_LEN);
	SET_VARSIZE(result, VARHDRSZ + TOKEN_LEN);
	memcpy(VARDATA(result), token, TOKEN_LEN);
	explicit_bzero(token, sizeof(token));
	return result;
}

/*
 * create_session(user_id uuid, ttl interval DEFAULT NULL, ip_address inet
 *				  DEFAULT NULL, user_agent text DEFAULT NULL) RETURNS text
 */
Datum
smarthub_create_session(PG_FUNCTION_ARGS)
{
	Datum		user_id;
	Datum		ttl;
	text	   *token;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be null")));
	user_id = PG_GETARG_DATUM(0);
	SmarthubCheckActingFor(DatumGetUUIDP(user_id));
	ttl = SessionTtl(fcinfo, 1);

	SpiConnect();
	if (!UserIsLive(user_id))
		UnknownUser(user_id);
	token = CreateSession(user_id, ttl,
						  PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
						  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3));
	SPI_finish();
	PG_RETURN_TEXT_P(token);
}

/*
 * revoke_session(token text) RETURNS boolean, STRICT
 *
 * Deletes the session (expired or not, so that no hash of it remains) and
 * says whether it was live.  Malformed tokens return false untouched.
 */
Datum
smarthub_revoke_session(PG_FUNCTION_ARGS)
{
	text	   *token = TokenArg(PG_GETARG_DATUM(0));
	char		hex[TOKEN_HASH_LEN + 1];
	Datum		param;
	bool		live = false;

	if (token == NULL || !TokenWellFormed(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), "shs_"))
		PG_RETURN_BOOL(false);
	HashToken(VARDATA_ANY(token), TOKEN_LEN, hex);
	param = PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN));

	SpiConnect();
	Execute(PLAN_FIND_SESSION, &param, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		pg_uuid_t	session_id;
		pg_uuid_t	owner;

		memcpy(session_id.data, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull))->data, UUID_LEN);
		memcpy(owner.data, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull))->data, UUID_LEN);
		live = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		SmarthubCheckActingFor(&owner);
		param = UUIDPGetDatum(&session_id);
		Execute(PLAN_DELETE_SESSION, &param, NULL, false, SPI_OK_DELETE);
	}
	SPI_finish();
	PG_RETURN_BOOL(live);
}

/*
 * revoke_user_sessions(user_id uuid) RETURNS integer, STRICT
 *
 * Deletes all the user's sessions; returns how many were live.
 */
Datum
smarthub_revoke_user_sessions(PG_FUNCTION_ARGS)
{
	Datum		user_id = PG_GETARG_DATUM(0);
	bool		isnull;
	int32		n;

	SmarthubCheckActingFor(DatumGetUUIDP(user_id));
	SpiConnect();
	Execute(PLAN_DELETE_USER_SESSIONS, &user_id, NULL, false, SPI_OK_SELECT);
	n = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT32(n);
}

/* purge_expired_sessions() RETURNS bigint: expired rows deleted */
Datum
smarthub_purge_expired_sessions(PG_FUNCTION_ARGS)
{
	int64		n;

	SpiConnect();
	Execute(PLAN_PURGE_SESSIONS, NULL, NULL, false, SPI_OK_DELETE);
	n = (int64) SPI_processed;
	SPI_finish();
	PG_RETURN_INT64(n);
}

/*
 * Body of login(login text, password text, ip_address inet DEFAULT NULL,
 *				 user_agent text DEFAULT NULL, ttl interval DEFAULT NULL)
 *				 RETURNS text.
 *
 * A new session token, or NULL on any failure.  Every path spends one
 * bcrypt computation at (at least) the current cost, so the time taken does
 * not tell which logins exist; every attempt leaves an audit row (LOGIN or
 * LOGIN_FAILED), which holds the login text (cut to 255 characters) but
 * never the password or a hash.
 */
static Datum
Login(PG_FUNCTION_ARGS)
{
	text	   *login = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	text	   *password = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	Datum		ttl = SessionTtl(fcinfo, 4);
	pg_uuid_t	user_id;
	bool		known = false;
	const char *reason = NULL;
	char	   *hash = NULL;
	size_t		hashlen = 0;
	bool		ok;
	text	   *token = NULL;
	Datum		audit[7];
	char		anulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	SpiConnect();

	/* no account has a login longer than an email may be */
	if (login != NULL &&
		VARSIZE_ANY_EXHDR(login) <= LOGIN_MAX_LEN * MAX_MULTIBYTE_CHAR_LEN &&
		pg_mbstrlen_with_len(VARDATA_ANY(login), VARSIZE_ANY_EXHDR(login)) <= LOGIN_MAX_LEN)
	{
		Datum		param = PointerGetDatum(login);

		Execute(PLAN_LOGIN_USER, &param, NULL, false, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			known = true;
			memcpy(user_id.data, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull))->data, UUID_LEN);
			if (!DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
				reason = "deleted";
			else if (!DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull)))
				reason = "inactive";
			else
			{
				hash = SPI_getvalue(tup, desc, 2);
				hashlen = strlen(hash);
			}
		}
	}

	ok = SmarthubPasswordCheck(password ? VARDATA_ANY(password) : "",
							   password ? VARSIZE_ANY_EXHDR(password) : 0,
							   hash, hashlen);
	if (!ok && known && reason == NULL)
		reason = "wrong_password";

	if (ok)
	{
		Datum		upd[2];
		char		unulls[2] = {' ', 'n'};
		size_t		plen = VARSIZE_ANY_EXHDR(password);
		int			cost = SmarthubPasswordRehashCost(hash, hashlen);

		upd[0] = UUIDPGetDatum(&user_id);
		upd[1] = (Datum) 0;
		/* a rehash is refused above the ceiling: keep the old hash then */
		if (plen > 0 && cost > 0 && cost <= SmarthubBcryptMaxCost())
		{
			upd[1] = PointerGetDatum(SmarthubHashPassword(VARDATA_ANY(password), plen, cost));
			unulls[1] = ' ';
		}
		Execute(PLAN_LOGIN_UPDATE, upd, unulls, false, SPI_OK_UPDATE);
		token = CreateSession(UUIDPGetDatum(&user_id), ttl,
							  PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
							  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3));
	}

	/* the audit row: request context when the caller gave no address or agent */
	{
		Datum		ctx_ip;
		bool		ctx_ip_isnull;
		text	   *ctx_ua;
		static const pg_uuid_t nobody = {{0}};

		SmarthubGetRequestContext(&ctx_ip, &ctx_ip_isnull, &ctx_ua);
		audit[0] = UUIDPGetDatum(&user_id);
		anulls[0] = ok ? ' ' : 'n';
		audit[1] = known ? UUIDPGetDatum(&user_id) : UUIDPGetDatum(&nobody);
		audit[2] = CStringGetTextDatum(ok ? "LOGIN" : "LOGIN_FAILED");
		audit[3] = login ? PointerGetDatum(login) : (Datum) 0;
		anulls[3] = login ? ' ' : 'n';
		audit[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
		anulls[4] = reason ? ' ' : 'n';
		if (!PG_ARGISNULL(2))
			audit[5] = PG_GETARG_DATUM(2);
		else
		{
			audit[5] = ctx_ip;
			anulls[5] = ctx_ip_isnull ? 'n' : ' ';
		}
		if (!PG_ARGISNULL(3))
			audit[6] = PG_GETARG_DATUM(3);
		else
		{
			audit[6] = PointerGetDatum(ctx_ua);
			anulls[6] = ctx_ua ? ' ' : 'n';
		}
		Execute(PLAN_AUDIT_LOGIN, audit, anulls, false, SPI_OK_INSERT);
	}

	SPI_finish();
	if (token == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(token);
}

/* login(login, password, ip_address, user_agent, ttl) RETURNS text; errors hide the statement */
Datum
smarthub_login(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(Login, fcinfo);
}
