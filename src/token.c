/*
 * token.c
 *		API keys and session tokens: format, SHA-256, verification, creation
 *		and revocation.
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
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
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

#define TOKEN_PREFIX_LEN	4
#define TOKEN_RANDOM_LEN	32
#define TOKEN_CHECK_LEN		6
#define TOKEN_LEN			(TOKEN_PREFIX_LEN + TOKEN_RANDOM_LEN + TOKEN_CHECK_LEN)
#define TOKEN_HASH_LEN		64	/* lowercase hex SHA-256 */

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
	PLAN_PURGE_THROTTLE,
	NUM_PLANS
} TokenPlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			types[7];
} PlanSpec;

/*
 * Every name qualified, operators too: these run as the extension owner.  Times compare with now() (the transaction's start), as the
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
		"SELECT s.user_id, s.id, s.expires_at"
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
		" VALUES ($1, $2, $3, $4, pg_catalog.now() OPERATOR(pg_catalog.+) $5) RETURNING id",
		5, {UUIDOID, TEXTOID, INETOID, TEXTOID, INTERVALOID}
	},
	[PLAN_FIND_SESSION] = {
		"SELECT user_id, id, expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
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
	/* login throttling's rows whose window and lock are over (1.1 on) */
	[PLAN_PURGE_THROTTLE] = {
		"DELETE FROM smarthub.login_throttle"
		" WHERE window_start OPERATOR(pg_catalog.<=) (pg_catalog.now() OPERATOR(pg_catalog.-)"
		"       pg_catalog.current_setting('smarthub.login_failure_window')::pg_catalog.interval)"
		"   AND (locked_until IS NULL OR locked_until OPERATOR(pg_catalog.<=) pg_catalog.now())",
		0, {InvalidOid}
	},
};

static SPIPlanPtr plans[NUM_PLANS];

static uint32 TokenChecksum(const char *token);
static void EncodeChecksum(uint32 crc, char *out);
static text *TokenArg(Datum d);

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

/* Execute one of this file's kept plans, raising an internal error unless it returns expected. */
static void
Execute(TokenPlan which, Datum *values, const char *nulls, bool read_only, int expected)
{
	const PlanSpec *spec = &plan_specs[which];

	SmarthubExecute(SmarthubKeepPlan(&plans[which], spec->sql, spec->nargs, spec->types),
					values, nulls, read_only, expected);
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
void
SmarthubMakeToken(const char *prefix, char *out)
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
bool
SmarthubTokenWellFormed(const char *token, size_t len, const char *prefix)
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
void
SmarthubHashToken(const char *token, size_t len, char *hex)
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
static bool
VerifyToken(text *token, SmarthubTokenKind kind, pg_uuid_t *user_id,
			pg_uuid_t *session_id, TimestampTz *expires_at)
{
	char		hex[TOKEN_HASH_LEN + 1];
	Datum		param;
	bool		found = false;
	bool		read_only;
	SmarthubSavedUser saved;

	if (token == NULL)
		return false;
	if (VARATT_IS_EXTERNAL(token) || VARATT_IS_COMPRESSED(token))
	{
		/* a toasted argument: look at its length before detoasting it */
		if (toast_raw_datum_size(PointerGetDatum(token)) != VARHDRSZ + TOKEN_LEN)
			return false;
		token = pg_detoast_datum_packed(token);
	}
	if (!SmarthubTokenWellFormed(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token),
						 kind == SMARTHUB_API_KEY ? "shk_" : "shs_"))
		return false;
	SmarthubHashToken(VARDATA_ANY(token), TOKEN_LEN, hex);
	param = PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN));

	/*
	 * The lookup reads with the caller's snapshot when there is one: no new
	 * snapshot or command counter increment per verification.
	 */
	read_only = ActiveSnapshotSet();
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
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
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			Datum		owner = SPI_getbinval(tup, desc, 1, &isnull);

			found = true;
			memcpy(user_id->data, DatumGetUUIDP(owner)->data, UUID_LEN);
			if (session_id != NULL)
				memcpy(session_id->data, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull))->data, UUID_LEN);
			if (expires_at != NULL)
				*expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		}
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return found;
}

bool
SmarthubVerifyToken(text *token, SmarthubTokenKind kind, pg_uuid_t *user_id)
{
	return VerifyToken(token, kind, user_id, NULL, NULL);
}

bool
SmarthubVerifySession(text *token, pg_uuid_t *user_id, pg_uuid_t *session_id,
					  TimestampTz *expires_at)
{
	return VerifyToken(token, SMARTHUB_SESSION, user_id, session_id, expires_at);
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

/*
 * Shared by authenticate_key and authenticate_session: a verified credential
 * sets the identity (identity.c), anything else (NULL included) clears it.
 * A session is recorded with the identity (current_aal reads its assurance
 * level); an API key stands for no session.  Never raises for bad input, so
 * a probe learns nothing beyond NULL.
 */
static Datum
Authenticate(FunctionCallInfo fcinfo, SmarthubTokenKind kind)
{
	pg_uuid_t	user;
	pg_uuid_t	session;
	bool		verified = false;

	SmarthubRefuseOnSomeoneElsesBehalf(kind == SMARTHUB_API_KEY ? "authenticate_key" : "authenticate_session");
	if (!PG_ARGISNULL(0))
	{
		if (kind == SMARTHUB_SESSION)
			verified = SmarthubVerifySession(PG_GETARG_TEXT_PP(0), &user, &session, NULL);
		else
			verified = SmarthubVerifyToken(PG_GETARG_TEXT_PP(0), kind, &user);
	}
	if (verified)
	{
		pg_uuid_t  *result = palloc(sizeof(pg_uuid_t));

		SmarthubSetSessionIdentity(&user, kind == SMARTHUB_SESSION ? &session : NULL);
		*result = user;
		PG_RETURN_UUID_P(result);
	}
	SmarthubSetIdentity(NULL);
	PG_RETURN_NULL();
}

/* smarthub.authenticate_key(key text) RETURNS uuid */
PG_FUNCTION_INFO_V1(smarthub_authenticate_key);
Datum
smarthub_authenticate_key(PG_FUNCTION_ARGS)
{
	return Authenticate(fcinfo, SMARTHUB_API_KEY);
}

/* smarthub.authenticate_session(token text) RETURNS uuid */
PG_FUNCTION_INFO_V1(smarthub_authenticate_session);
Datum
smarthub_authenticate_session(PG_FUNCTION_ARGS)
{
	return Authenticate(fcinfo, SMARTHUB_SESSION);
}

bool
SmarthubUserIsLive(Datum user_id, bool read_only)
{
	Execute(PLAN_USER_LIVE, &user_id, NULL, read_only, SPI_OK_SELECT);
	return SPI_processed == 1;
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
		SmarthubSavedUser saved;

		funcctx = SRF_FIRSTCALL_INIT();
		SmarthubRequireArg(fcinfo, 0, "user_id");
		user_id = PG_GETARG_DATUM(0);
		SmarthubCheckActingFor(fcinfo, "create_api_key", DatumGetUUIDP(user_id));
		if (!PG_ARGISNULL(2) &&
			PG_GETARG_TIMESTAMPTZ(2) <= GetCurrentTransactionStartTimestamp())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_at must be in the future"),
					 errhint("Pass NULL for a key that never expires.")));

		SmarthubBecomeOwner(&saved);
		SmarthubSpiConnect();
		if (!SmarthubUserIsLive(user_id, false))
			SmarthubUnknownUser(DatumGetUUIDP(user_id));
		SmarthubMakeToken("shk_", key);
		SmarthubHashToken(key, TOKEN_LEN, hex);
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
		SmarthubRestoreUser(&saved);
	}

	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr == 0)
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum((HeapTuple) funcctx->user_fctx));
	SRF_RETURN_DONE(funcctx);
}

/*
 * The user owning a key (or a session), looked up as the owner; false when
 * there is no such key.  The caller is judged after the look-up, as itself.
 */
static bool
CredentialOwner(TokenPlan which, Datum key, pg_uuid_t *owner, pg_uuid_t *row_id, bool *live)
{
	SmarthubSavedUser saved;
	bool		found;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(which, &key, NULL, true, SPI_OK_SELECT);
	found = SPI_processed == 1;
	if (found)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		memcpy(owner->data, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull))->data, UUID_LEN);
		if (row_id != NULL)
			memcpy(row_id->data, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull))->data, UUID_LEN);
		if (live != NULL)
			*live = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return found;
}

/* Run one of this file's writes as the owner; returns SPI_processed. */
static uint64
ExecuteAsOwner(TokenPlan which, Datum *values, int expected)
{
	SmarthubSavedUser saved;
	uint64		n;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(which, values, NULL, false, expected);
	n = SPI_processed;
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return n;
}

/* revoke_api_key(id uuid) RETURNS boolean: true if it was active; STRICT */
Datum
smarthub_revoke_api_key(PG_FUNCTION_ARGS)
{
	Datum		key_id = PG_GETARG_DATUM(0);
	pg_uuid_t	owner;

	if (!CredentialOwner(PLAN_KEY_OWNER, key_id, &owner, NULL, NULL))
		PG_RETURN_BOOL(false);
	SmarthubCheckActingFor(fcinfo, "revoke_api_key", &owner);
	PG_RETURN_BOOL(ExecuteAsOwner(PLAN_REVOKE_KEY, &key_id, SPI_OK_UPDATE) == 1);
}

Datum
SmarthubDefaultSessionTtl(void)
{
	Interval   *ttl = palloc0(sizeof(Interval));

	ttl->time = (TimeOffset) session_ttl * USECS_PER_SEC;
	return IntervalPGetDatum(ttl);
}

Datum
SmarthubSessionTtl(FunctionCallInfo fcinfo, int argno)
{
	Interval   *ttl;

	if (PG_ARGISNULL(argno))
		return SmarthubDefaultSessionTtl();
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

text *
SmarthubCreateSession(const pg_uuid_t *user_id, Datum ttl, Datum ip, bool ip_isnull,
					  Datum ua, bool ua_isnull, pg_uuid_t *session_id)
{
	char		token[TOKEN_LEN + 1];
	char		hex[TOKEN_HASH_LEN + 1];
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	text	   *result;
	bool		isnull;

	SmarthubMakeToken("shs_", token);
	SmarthubHashToken(token, TOKEN_LEN, hex);
	values[0] = UUIDPGetDatum(user_id);
	values[1] = PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN));
	values[2] = ip;
	values[3] = ua;
	values[4] = ttl;
	nulls[2] = ip_isnull ? 'n' : ' ';
	nulls[3] = ua_isnull ? 'n' : ' ';
	Execute(PLAN_INSERT_SESSION, values, nulls, false, SPI_OK_INSERT_RETURNING);
	if (session_id != NULL)
		memcpy(session_id->data,
			   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->data,
			   UUID_LEN);
	result = SPI_palloc(VARHDRSZ + TOKEN_LEN);
	SET_VARSIZE(result, VARHDRSZ + TOKEN_LEN);
	memcpy(VARDATA(result), token, TOKEN_LEN);
	explicit_bzero(token, sizeof(token));
	return result;
}

/*
 * create_session(user_id uuid, ttl interval DEFAULT NULL, ip_address inet
 *				  DEFAULT NULL, user_agent text DEFAULT NULL) RETURNS text
 *
 * A session for anyone but the current identity is an impersonation: it
 * writes an IMPERSONATE audit row naming both, the impersonator as the
 * row's user (or, for a trusted role without identity, its db_role) and the
 * impersonated user as its entity.
 */
Datum
smarthub_create_session(PG_FUNCTION_ARGS)
{
	Datum		user_id;
	Datum		ttl;
	text	   *token;
	pg_uuid_t	me;
	pg_uuid_t	session_id;
	bool		impersonation;
	SmarthubSavedUser saved;

	SmarthubRequireArg(fcinfo, 0, "user_id");
	user_id = PG_GETARG_DATUM(0);
	SmarthubCheckActingFor(fcinfo, "create_session", DatumGetUUIDP(user_id));
	ttl = SmarthubSessionTtl(fcinfo, 1);
	impersonation = !SmarthubGetIdentity(&me) ||
		memcmp(me.data, DatumGetUUIDP(user_id)->data, UUID_LEN) != 0;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (!SmarthubUserIsLive(user_id, false))
		SmarthubUnknownUser(DatumGetUUIDP(user_id));
	token = SmarthubCreateSession(DatumGetUUIDP(user_id), ttl,
								  PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
								  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3),
								  &session_id);
	SPI_finish();
	SmarthubRestoreUser(&saved);

	if (impersonation)
	{
		const char *keys[1] = {"session_id"};
		Datum		values[1] = {UUIDPGetDatum(&session_id)};
		bool		nulls[1] = {false};
		Oid			types[1] = {UUIDOID};

		SmarthubAuditWriteForIdentity("users", DatumGetUUIDP(user_id), "IMPERSONATE",
									  SmarthubJsonbObject(1, keys, values, nulls, types));
	}
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
	pg_uuid_t	owner;
	pg_uuid_t	session_id;
	bool		live;
	Datum		param;

	if (token == NULL || !SmarthubTokenWellFormed(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), "shs_"))
		PG_RETURN_BOOL(false);
	SmarthubHashToken(VARDATA_ANY(token), TOKEN_LEN, hex);
	if (!CredentialOwner(PLAN_FIND_SESSION, PointerGetDatum(cstring_to_text_with_len(hex, TOKEN_HASH_LEN)),
						 &owner, &session_id, &live))
		PG_RETURN_BOOL(false);
	SmarthubCheckActingFor(fcinfo, "revoke_session", &owner);
	param = UUIDPGetDatum(&session_id);
	ExecuteAsOwner(PLAN_DELETE_SESSION, &param, SPI_OK_DELETE);
	PG_RETURN_BOOL(live);
}

int32
SmarthubDeleteUserSessions(Datum user_id)
{
	bool		isnull;

	Execute(PLAN_DELETE_USER_SESSIONS, &user_id, NULL, false, SPI_OK_SELECT);
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
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
	int32		n;
	SmarthubSavedUser saved;

	SmarthubCheckActingFor(fcinfo, "revoke_user_sessions", DatumGetUUIDP(user_id));
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	n = SmarthubDeleteUserSessions(user_id);
	SPI_finish();
	SmarthubRestoreUser(&saved);
	PG_RETURN_INT32(n);
}

/* purge_expired_sessions() RETURNS bigint: expired rows deleted */
Datum
smarthub_purge_expired_sessions(PG_FUNCTION_ARGS)
{
	int64		n = (int64) ExecuteAsOwner(PLAN_PURGE_SESSIONS, NULL, SPI_OK_DELETE);

	/* and login throttling's finished rows, where there are any (1.1 on) */
	if (OidIsValid(get_relname_relid("login_throttle", get_namespace_oid(SMARTHUB_SCHEMA, false))))
		ExecuteAsOwner(PLAN_PURGE_THROTTLE, NULL, SPI_OK_DELETE);
	return Int64GetDatum(n);
}
