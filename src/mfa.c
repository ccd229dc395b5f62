/*
 * mfa.c
 *		The second factor: TOTP authenticators (RFC 6238), recovery codes, and
 *		the assurance level of sessions (aal1 at login, aal2 once a second
 *		factor was shown).
 *
 * A TOTP secret is 20 random bytes (160 bits, the length RFC 4226 asks
 * for), stored only as an AES-256-GCM envelope under the keyring
 * (encryption.c), bound to its factor's id, and shown once, at enrolment, as
 * base32 and as an otpauth:// URI (the Key Uri Format that authenticator
 * apps read).  A code is the HOTP of the 30-second step (RFC 4226:
 * HMAC-SHA1, dynamic truncation, 6 digits); the current step and one either
 * side are accepted, each at most once.  The step a code was accepted for is
 * written with
 *
 *		UPDATE ... SET last_step = $step
 *		 WHERE id = $id AND (last_step IS NULL OR last_step < $step)
 *
 * and only the call whose UPDATE changed the row succeeds: of two calls
 * racing with one code, the row lock lets exactly one through, and the other
 * re-reads the row and finds the step used.  Wrong codes count, and
 * smarthub.totp_max_failures of them in a row lock the factor for
 * smarthub.totp_lockout.
 *
 * Recovery codes are 10 characters of Crockford's base32 (no i, l, o or u,
 * so nothing reads as something else), 50 bits from RAND_bytes, shown as
 * xxxxx-xxxxx and stored as the SHA-256 of their normalised form; each
 * works once, by the same single-row UPDATE.
 *
 * A top-level module: it uses identity.c (who may act for whom, and the
 * session behind the identity), token.c (sessions, SHA-256) and
 * encryption.c, and no module uses it.
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_totp_enroll);
PG_FUNCTION_INFO_V1(smarthub_totp_confirm);
PG_FUNCTION_INFO_V1(smarthub_totp_verify);
PG_FUNCTION_INFO_V1(smarthub_generate_recovery_codes);
PG_FUNCTION_INFO_V1(smarthub_use_recovery_code);
PG_FUNCTION_INFO_V1(smarthub_verify_session_mfa);
PG_FUNCTION_INFO_V1(smarthub_current_aal);

#define TOTP_SECRET_BYTES	20
#define TOTP_DIGITS			6
#define TOTP_MODULUS		1000000 /* 10^TOTP_DIGITS */
#define TOTP_PERIOD			30		/* seconds */
#define TOTP_WINDOW			1		/* steps accepted either side of the current one */
#define LABEL_MAX_CHARS		255		/* issuer, account label: a QR code must stay readable */
#define RECOVERY_CHARS		10
#define RECOVERY_MAX		100		/* codes per call */
#define RECOVERY_ARG_MAX	64		/* longer arguments cannot be a code: not read at all */
#define SECRET_CONTEXT		"smarthub.mfa_factors.secret:"

/* Crockford's base32, lowercase: 0-9 and the letters but i, l, o, u. */
static const char recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* GUCs */
static int	totp_max_failures = 5;
static int	totp_lockout = 300;		/* seconds */

/* Plans prepared once per backend, in the order of plan_specs. */
typedef enum MfaPlan
{
	PLAN_DROP_PENDING,
	PLAN_INSERT_FACTOR,
	PLAN_FACTOR_OF_USER,
	PLAN_FACTOR_BY_ID,
	PLAN_ACCEPT,
	PLAN_FAIL,
	PLAN_DROP_OTHERS,
	PLAN_DROP_CODES,
	PLAN_INSERT_CODES,
	PLAN_USE_CODE,
	PLAN_SESSION_AAL2,
	PLAN_CURRENT_AAL,
	NUM_PLANS
} MfaPlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			types[5];
} PlanSpec;

/*
 * Every name and operator qualified: these run as the extension owner.  The
 * times a lock is judged by come from C (the clock at the call, as the TOTP
 * step does); confirmed_at and used_at are the transaction's now(), as the
 * schema's defaults are.
 */
static const PlanSpec plan_specs[NUM_PLANS] = {
	/* one enrolment waits for confirmation at a time: a new one replaces it */
	[PLAN_DROP_PENDING] = {
		"DELETE FROM smarthub.mfa_factors"
		" WHERE user_id OPERATOR(pg_catalog.=) $1 AND confirmed_at IS NULL",
		1, {UUIDOID}
	},
	[PLAN_INSERT_FACTOR] = {
		"INSERT INTO smarthub.mfa_factors (id, user_id, kind, secret, issuer, account_label)"
		" VALUES ($1, $2, 'totp', $3, $4, $5)",
		5, {UUIDOID, UUIDOID, BYTEAOID, TEXTOID, TEXTOID}
	},
	/* the user's active factor: confirmed, of a live user (the newest, should there be two) */
	[PLAN_FACTOR_OF_USER] = {
		"SELECT f.id, f.user_id, f.secret, f.last_step, f.locked_until OPERATOR(pg_catalog.>) $2, true"
		"  FROM smarthub.mfa_factors f"
		"  JOIN smarthub.users u ON u.id OPERATOR(pg_catalog.=) f.user_id"
		" WHERE f.user_id OPERATOR(pg_catalog.=) $1 AND f.kind OPERATOR(pg_catalog.=) 'totp'"
		"   AND f.confirmed_at IS NOT NULL AND u.is_active AND u.deleted_at IS NULL"
		" ORDER BY f.confirmed_at DESC, f.id LIMIT 1",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	[PLAN_FACTOR_BY_ID] = {
		"SELECT f.id, f.user_id, f.secret, f.last_step, f.locked_until OPERATOR(pg_catalog.>) $2,"
		"       f.confirmed_at IS NOT NULL"
		"  FROM smarthub.mfa_factors f"
		"  JOIN smarthub.users u ON u.id OPERATOR(pg_catalog.=) f.user_id"
		" WHERE f.id OPERATOR(pg_catalog.=) $1 AND u.is_active AND u.deleted_at IS NULL",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	/*
	 * The replay guard: one row changed means this call, and no other, used
	 * the step.  $4: a confirmation (the factor must still be unconfirmed,
	 * and becomes confirmed); otherwise the factor must be confirmed.
	 */
	[PLAN_ACCEPT] = {
		"UPDATE smarthub.mfa_factors"
		"   SET last_step = $2, failures = 0,"
		"       confirmed_at = CASE WHEN $4 THEN pg_catalog.now() ELSE confirmed_at END"
		" WHERE id OPERATOR(pg_catalog.=) $1"
		"   AND (last_step IS NULL OR last_step OPERATOR(pg_catalog.<) $2)"
		"   AND (locked_until IS NULL OR locked_until OPERATOR(pg_catalog.<=) $3)"
		"   AND (confirmed_at IS NULL) OPERATOR(pg_catalog.=) $4",
		4, {UUIDOID, INT8OID, TIMESTAMPTZOID, BOOLOID}
	},
	/* a failure; the one that makes $2 in a row locks the factor until $4 and starts counting anew */
	[PLAN_FAIL] = {
		"UPDATE smarthub.mfa_factors"
		"   SET failures = CASE WHEN (failures OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.>=) $2"
		"                       THEN 0 ELSE failures OPERATOR(pg_catalog.+) 1 END,"
		"       locked_until = CASE WHEN (failures OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.>=) $2"
		"                           THEN $4 ELSE locked_until END"
		" WHERE id OPERATOR(pg_catalog.=) $1"
		"   AND (locked_until IS NULL OR locked_until OPERATOR(pg_catalog.<=) $3)",
		4, {UUIDOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	},
	/* a confirmed factor replaces the user's earlier ones */
	[PLAN_DROP_OTHERS] = {
		"DELETE FROM smarthub.mfa_factors"
		" WHERE user_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.<>) $2",
		2, {UUIDOID, UUIDOID}
	},
	[PLAN_DROP_CODES] = {
		"DELETE FROM smarthub.recovery_codes WHERE user_id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[PLAN_INSERT_CODES] = {
		"INSERT INTO smarthub.recovery_codes (user_id, code_hash)"
		" SELECT $1, h FROM pg_catalog.unnest($2) AS u(h)",
		2, {UUIDOID, TEXTARRAYOID}
	},
	/* single use: the same one-row guard as a TOTP step */
	[PLAN_USE_CODE] = {
		"UPDATE smarthub.recovery_codes r SET used_at = pg_catalog.now()"
		"  FROM smarthub.users u"
		" WHERE r.user_id OPERATOR(pg_catalog.=) $1 AND r.code_hash OPERATOR(pg_catalog.=) $2"
		"   AND r.used_at IS NULL"
		"   AND u.id OPERATOR(pg_catalog.=) r.user_id AND u.is_active AND u.deleted_at IS NULL",
		2, {UUIDOID, TEXTOID}
	},
	[PLAN_SESSION_AAL2] = {
		"UPDATE smarthub.sessions SET aal = 'aal2'"
		" WHERE id OPERATOR(pg_catalog.=) $1 AND expires_at OPERATOR(pg_catalog.>) pg_catalog.now()",
		1, {UUIDOID}
	},
	[PLAN_CURRENT_AAL] = {
		"SELECT aal FROM smarthub.sessions"
		" WHERE id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2"
		"   AND expires_at OPERATOR(pg_catalog.>) pg_catalog.now()",
		2, {UUIDOID, UUIDOID}
	},
};

static SPIPlanPtr plans[NUM_PLANS];

/* A TOTP factor as verification needs it; secret is its envelope, in the caller's memory. */
typedef struct Factor
{
	pg_uuid_t	id;
	pg_uuid_t	user_id;
	bytea	   *secret;
	bool		locked;
	bool		confirmed;
} Factor;

/*
 * Define the module's GUCs.  Both are PGC_SUSET: an application role that
 * could raise the failures allowed, or shorten the lockout, could guess
 * codes faster for every user it serves.
 */
void
MfaInit(void)
{
	DefineCustomIntVariable("smarthub.totp_max_failures",
							"Wrong TOTP codes in a row that lock a factor.",
							"The failure that reaches this count locks the factor for smarthub.totp_lockout.",
							&totp_max_failures,
							5, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.totp_lockout",
							"How long a TOTP factor stays locked after too many wrong codes.",
							"While it is locked every code is refused, a right one too.",
							&totp_lockout,
							300, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/* ---- SPI ---- */

/* Execute one of this file's kept plans, as the caller set things up (inside SPI). */
static void
Execute(MfaPlan which, Datum *values, const char *nulls, bool read_only, int expected)
{
	const PlanSpec *spec = &plan_specs[which];

	SmarthubExecute(SmarthubKeepPlan(&plans[which], spec->sql, spec->nargs, spec->types),
					values, nulls, read_only, expected);
}

/* Run one of this file's writes as the owner; returns SPI_processed. */
static int64
ExecuteAsOwner(MfaPlan which, Datum *values, int expected)
{
	SmarthubSavedUser saved;
	int64		n;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(which, values, NULL, false, expected);
	n = (int64) SPI_processed;
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return n;
}

/*
 * A write that decides a verification, as the owner: the rows it changed,
 * or -1 when, under REPEATABLE READ or SERIALIZABLE, another transaction
 * changed the row since this one's snapshot (40001).  That other
 * transaction used the step or the code, or counted a failure: the caller
 * answers false, as it would have had it waited for that change, instead of
 * failing a transaction that only asked for a check.  The write then runs
 * in a subtransaction so that the failure can be undone; other errors
 * propagate.
 */
static int64
DecidingWrite(MfaPlan which, Datum *values, int expected)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile int64 n = -1;

	if (!IsolationUsesXactSnapshot())
		return ExecuteAsOwner(which, values, expected);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		n = ExecuteAsOwner(which, values, expected);
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
		n = -1;
	}
	PG_END_TRY();
	return n;
}

/* ---- TOTP ---- */

/* floor(a / b) for b > 0, also for negative a. */
static int64
FloorDiv(int64 a, int64 b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The 30-second step (RFC 6238's T) of a time: Unix seconds / 30, rounded down. */
static int64
TotpStep(TimestampTz t)
{
	int64		unix_secs = FloorDiv(t, USECS_PER_SEC) +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	return FloorDiv(unix_secs, TOTP_PERIOD);
}

/*
 * HOTP (RFC 4226 section 5.3) of counter under key, as TOTP_DIGITS ASCII
 * digits into out: HMAC-SHA1 of the counter's 8 big-endian bytes, 31 bits
 * from the offset its last nibble names, mod 10^digits.
 */
static void
Hotp(const unsigned char *key, int keylen, int64 counter, char *out)
{
	unsigned char msg[8];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64		c = (uint64) counter;
	uint32		bin;
	int			off;

	for (int i = 7; i >= 0; i--)
	{
		msg[i] = (unsigned char) (c & 0xff);
		c >>= 8;
	}
	if (HMAC(EVP_sha1(), key, keylen, msg, sizeof(msg), md, &mdlen) == NULL || mdlen != 20)
		elog(ERROR, "HMAC-SHA1 failed");	/* internal error */
	off = md[19] & 0x0f;
	bin = ((uint32) (md[off] & 0x7f) << 24) | ((uint32) md[off + 1] << 16) |
		((uint32) md[off + 2] << 8) | (uint32) md[off + 3];
	bin %= TOTP_MODULUS;
	for (int i = TOTP_DIGITS - 1; i >= 0; i--)
	{
		out[i] = (char) ('0' + bin % 10);
		bin /= 10;
	}
	explicit_bzero(md, sizeof(md));
}

/*
 * A code argument's TOTP_DIGITS ASCII digits into code, or false for
 * anything else (NULL, another length, another character): no table is
 * read.  A long argument is refused by its length header alone.
 */
static bool
TotpCodeArg(FunctionCallInfo fcinfo, int argno, char *code)
{
	text	   *t;
	const char *p;

	if (PG_ARGISNULL(argno) ||
		toast_raw_datum_size(PG_GETARG_DATUM(argno)) != VARHDRSZ + TOTP_DIGITS)
		return false;
	t = PG_GETARG_TEXT_PP(argno);
	if (VARSIZE_ANY_EXHDR(t) != TOTP_DIGITS)
		return false;
	p = VARDATA_ANY(t);
	for (int i = 0; i < TOTP_DIGITS; i++)
	{
		if (p[i] < '0' || p[i] > '9')
			return false;
		code[i] = p[i];
	}
	return true;
}

/* "smarthub.mfa_factors.secret:<id>": what a factor's envelope is bound to. */
static char *
SecretContext(const pg_uuid_t *factor_id)
{
	return psprintf("%s%s", SECRET_CONTEXT,
					DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum((pg_uuid_t *) factor_id))));
}

/*
 * Load a TOTP factor, as the owner: the user's active one (by_id false:
 * key is the user) or the one with that id (key is the factor id).  false
 * when there is none, or its user is inactive or soft-deleted.  locked
 * says whether it is locked at now.
 */
static bool
LoadFactor(bool by_id, const pg_uuid_t *key, TimestampTz now, Factor *f)
{
	SmarthubSavedUser saved;
	Datum		values[2];
	bool		found;

	values[0] = UUIDPGetDatum((pg_uuid_t *) key);
	values[1] = TimestampTzGetDatum(now);
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(by_id ? PLAN_FACTOR_BY_ID : PLAN_FACTOR_OF_USER, values, NULL, false, SPI_OK_SELECT);
	found = SPI_processed == 1;
	if (found)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bytea	   *secret;
		Datum		locked;

		memcpy(f->id.data, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull))->data, UUID_LEN);
		memcpy(f->user_id.data, DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull))->data, UUID_LEN);
		/* the envelope must outlive SPI_finish */
		secret = DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull));
		f->secret = SPI_palloc(VARSIZE_ANY(secret));
		memcpy(f->secret, secret, VARSIZE_ANY(secret));
		locked = SPI_getbinval(tup, desc, 5, &isnull);
		f->locked = !isnull && DatumGetBool(locked);
		f->confirmed = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return found;
}

/*
 * Check code against factor f at the clock's current step, one step either
 * side, and record the outcome: a match for a step after the last one
 * accepted is accepted (and, confirming, confirms f and replaces the user's
 * other factors); anything else counts as a failure.  A locked factor
 * refuses every code and counts nothing.  The three candidate codes are all
 * computed and each compared in constant time.
 */
static bool
VerifyTotp(Factor *f, const char *code, bool confirming)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		step = TotpStep(now);
	int64		matched = -1;
	bytea	   *plain;
	int			keylen;
	bool		accepted = false;
	Datum		values[4];

	if (f->locked || f->confirmed == confirming)
		return false;
	plain = SmarthubDecryptBytes(f->secret, SecretContext(&f->id));
	keylen = VARSIZE_ANY_EXHDR(plain);
	if (keylen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the TOTP secret of factor %s is empty",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&f->id))))));
	for (int64 s = step - TOTP_WINDOW; s <= step + TOTP_WINDOW; s++)
	{
		char		expected[TOTP_DIGITS];

		if (s < 0)
			continue;
		Hotp((unsigned char *) VARDATA_ANY(plain), keylen, s, expected);
		if (CRYPTO_memcmp(expected, code, TOTP_DIGITS) == 0)
			matched = s;
		explicit_bzero(expected, sizeof(expected));
	}
	explicit_bzero(VARDATA_ANY(plain), keylen);
	pfree(plain);

	values[0] = UUIDPGetDatum(&f->id);
	if (matched >= 0)
	{
		int64		n;

		values[1] = Int64GetDatum(matched);
		values[2] = TimestampTzGetDatum(now);
		values[3] = BoolGetDatum(confirming);
		n = DecidingWrite(PLAN_ACCEPT, values, SPI_OK_UPDATE);
		if (n < 0)
			return false;
		accepted = n == 1;
	}
	if (!accepted)
	{
		/* a wrong code, or a right one for a step used already: a failure either way */
		values[1] = Int32GetDatum(totp_max_failures);
		values[2] = TimestampTzGetDatum(now);
		values[3] = TimestampTzGetDatum(now + (TimestampTz) totp_lockout * USECS_PER_SEC);
		(void) DecidingWrite(PLAN_FAIL, values, SPI_OK_UPDATE);
		return false;
	}
	if (confirming)
	{
		values[1] = UUIDPGetDatum(&f->id);
		values[0] = UUIDPGetDatum(&f->user_id);
		ExecuteAsOwner(PLAN_DROP_OTHERS, values, SPI_OK_DELETE);
	}
	return true;
}

/* ---- enrolment ---- */

/* RFC 4648 base32 (A-Z, 2-7), without padding. */
static char *
Base32Encode(const unsigned char *in, int len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char	   *out = palloc((len * 8 + 4) / 5 + 1);
	int			n = 0;
	uint32		acc = 0;
	int			bits = 0;

	for (int i = 0; i < len; i++)
	{
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5)
		{
			out[n++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[n++] = alphabet[(acc << (5 - bits)) & 31];
	out[n] = '\0';
	return out;
}

/* RFC 3986 percent-encoding: every byte but the unreserved characters as %XX. */
static void
AppendPercentEncoded(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[*p >> 4]);
			appendStringInfoChar(buf, hex[*p & 15]);
		}
	}
}

/*
 * An issuer or account label as text: at most LABEL_MAX_CHARS characters
 * (22001), not empty, without a colon (the URI's label is "issuer:account",
 * and apps split it at the first colon) or control characters (22023).
 */
static char *
LabelArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	text	   *t = PG_GETARG_TEXT_PP(argno);
	const char *p = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len > LABEL_MAX_CHARS * MAX_MULTIBYTE_CHAR_LEN ||
		pg_mbstrlen_with_len(p, len) > LABEL_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s must be at most %d characters", name, LABEL_MAX_CHARS),
				 errdetail("Authenticator apps show it, and a longer one makes the QR code hard to read.")));
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c == ':')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain a colon", name),
					 errdetail("The otpauth URI's label is \"issuer:account\", and authenticator apps split it at the first colon.")));
		if (c < 0x20 || c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain control characters", name)));
	}
	return text_to_cstring(t);
}

/*
 * totp_enroll(user_id uuid, issuer text, account_label text)
 *		RETURNS TABLE(factor_id uuid, secret text, otpauth_uri text)
 *
 * A new, unconfirmed TOTP factor with a fresh 160-bit secret (it replaces an
 * enrolment still waiting for totp_confirm); the secret exists in plaintext
 * only in the row returned.  55000 without a usable keyring, before anything
 * is written.
 */
Datum
smarthub_totp_enroll(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		TupleDesc	tupdesc;
		pg_uuid_t  *user_id;
		pg_uuid_t  *factor_id;
		char	   *issuer;
		char	   *label;
		unsigned char secret[TOTP_SECRET_BYTES];
		bytea	   *envelope;
		char	   *b32;
		StringInfoData uri;
		Datum		values[5];
		Datum		result[3];
		bool		rnulls[3] = {false, false, false};
		SmarthubSavedUser saved;

		funcctx = SRF_FIRSTCALL_INIT();
		SmarthubRequireArg(fcinfo, 0, "user_id");
		SmarthubRequireArg(fcinfo, 1, "issuer");
		SmarthubRequireArg(fcinfo, 2, "account_label");
		user_id = PG_GETARG_UUID_P(0);
		SmarthubCheckActingFor(fcinfo, "totp_enroll", user_id);
		issuer = LabelArg(fcinfo, 1, "issuer");
		label = LabelArg(fcinfo, 2, "account_label");

		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		factor_id = palloc(sizeof(pg_uuid_t));
		if (RAND_bytes(factor_id->data, UUID_LEN) != 1 || RAND_bytes(secret, sizeof(secret)) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes")));
		/* a version 4 uuid, as the table's default would be */
		factor_id->data[6] = (factor_id->data[6] & 0x0f) | 0x40;
		factor_id->data[8] = (factor_id->data[8] & 0x3f) | 0x80;
		envelope = SmarthubEncryptBytes(secret, sizeof(secret), SecretContext(factor_id));
		b32 = Base32Encode(secret, sizeof(secret));
		explicit_bzero(secret, sizeof(secret));
		initStringInfo(&uri);
		appendStringInfoString(&uri, "otpauth://totp/");
		AppendPercentEncoded(&uri, issuer);
		appendStringInfoChar(&uri, ':');
		AppendPercentEncoded(&uri, label);
		appendStringInfo(&uri, "?secret=%s&issuer=", b32);
		AppendPercentEncoded(&uri, issuer);
		appendStringInfo(&uri, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_PERIOD);
		MemoryContextSwitchTo(oldcxt);

		SmarthubBecomeOwner(&saved);
		SmarthubSpiConnect();
		values[0] = UUIDPGetDatum(factor_id);
		values[1] = UUIDPGetDatum(user_id);
		values[2] = PointerGetDatum(envelope);
		values[3] = CStringGetTextDatum(issuer);
		values[4] = CStringGetTextDatum(label);
		if (!SmarthubUserIsLive(values[1], false))
			SmarthubUnknownUser(user_id);
		Execute(PLAN_DROP_PENDING, &values[1], NULL, false, SPI_OK_DELETE);
		Execute(PLAN_INSERT_FACTOR, values, NULL, false, SPI_OK_INSERT);
		SPI_finish();
		SmarthubRestoreUser(&saved);

		/* the row must outlive this call */
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");	/* internal error */
		result[0] = UUIDPGetDatum(factor_id);
		result[1] = CStringGetTextDatum(b32);
		result[2] = CStringGetTextDatum(uri.data);
		funcctx->user_fctx = heap_form_tuple(BlessTupleDesc(tupdesc), result, rnulls);
		explicit_bzero(b32, strlen(b32));
		explicit_bzero(uri.data, uri.len);
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr == 0)
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum((HeapTuple) funcctx->user_fctx));
	SRF_RETURN_DONE(funcctx);
}

/*
 * Body of totp_confirm(factor_id uuid, code text) RETURNS boolean.
 *
 * Activates an enrolled factor with a code from the app (the step counts as
 * used, and the factor replaces the user's earlier ones).  false for an
 * unknown factor, one confirmed already, a locked one, and any code that is
 * not right; 42501 when the caller may not act for the factor's user.
 */
static Datum
TotpConfirm(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *factor_id;
	char		code[TOTP_DIGITS];
	Factor		f;

	SmarthubRequireArg(fcinfo, 0, "factor_id");
	factor_id = PG_GETARG_UUID_P(0);
	if (!LoadFactor(true, factor_id, GetCurrentTimestamp(), &f))
	{
		SmarthubRefuseOnSomeoneElsesBehalf("totp_confirm");
		PG_RETURN_BOOL(false);
	}
	SmarthubCheckActingFor(fcinfo, "totp_confirm", &f.user_id);
	if (!TotpCodeArg(fcinfo, 1, code))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(VerifyTotp(&f, code, true));
}

/*
 * Body of totp_verify(user_id uuid, code text) RETURNS boolean.
 *
 * Whether code is right for the user's confirmed factor now (and was not
 * used before); never raises for the code.  22004 for a NULL user; 42501
 * when the caller may not act for the user.
 */
static Datum
TotpVerify(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	char		code[TOTP_DIGITS];
	Factor		f;

	SmarthubRequireArg(fcinfo, 0, "user_id");
	user_id = PG_GETARG_UUID_P(0);
	SmarthubCheckActingFor(fcinfo, "totp_verify", user_id);
	if (!TotpCodeArg(fcinfo, 1, code) || !LoadFactor(false, user_id, GetCurrentTimestamp(), &f))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(VerifyTotp(&f, code, false));
}

/* ---- recovery codes ---- */

/*
 * A recovery code as typed, normalised into out (RECOVERY_CHARS + 1): case
 * folded, '-' and spaces dropped, and o, i, l read as 0, 1, 1 (Crockford);
 * false for anything that then is not RECOVERY_CHARS characters of the
 * alphabet.  No table is read.
 */
static bool
RecoveryCodeArg(FunctionCallInfo fcinfo, int argno, char *out)
{
	text	   *t;
	const char *p;
	int			len;
	int			n = 0;

	if (PG_ARGISNULL(argno) ||
		toast_raw_datum_size(PG_GETARG_DATUM(argno)) > VARHDRSZ + RECOVERY_ARG_MAX)
		return false;
	t = PG_GETARG_TEXT_PP(argno);
	p = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	for (int i = 0; i < len; i++)
	{
		char		c = p[i];

		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		if (c == 'o')
			c = '0';
		else if (c == 'i' || c == 'l')
			c = '1';
		if (c == '\0' || strchr(recovery_alphabet, c) == NULL || n == RECOVERY_CHARS)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == RECOVERY_CHARS;
}

/*
 * generate_recovery_codes(user_id uuid, n integer DEFAULT 10) RETURNS SETOF text
 *
 * n new codes, xxxxx-xxxxx, replacing the user's earlier ones, used or not;
 * only their SHA-256 is stored.  22023 unless n is between 1 and
 * RECOVERY_MAX; P0002 for an unknown, inactive or deleted user.
 */
Datum
smarthub_generate_recovery_codes(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	char	  **codes;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		pg_uuid_t  *user_id;
		int32		n;
		Datum	   *hashes;
		char	  (*hexes)[SMARTHUB_TOKEN_HASH_LEN + 1];
		Datum		values[2];
		SmarthubSavedUser saved;

		funcctx = SRF_FIRSTCALL_INIT();
		SmarthubRequireArg(fcinfo, 0, "user_id");
		SmarthubRequireArg(fcinfo, 1, "n");
		user_id = PG_GETARG_UUID_P(0);
		n = PG_GETARG_INT32(1);
		SmarthubCheckActingFor(fcinfo, "generate_recovery_codes", user_id);
		if (n < 1 || n > RECOVERY_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n must be between 1 and %d", RECOVERY_MAX)));

		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		codes = palloc(sizeof(char *) * n);
		hashes = palloc(sizeof(Datum) * n);
		hexes = palloc(sizeof(*hexes) * n);
		for (int i = 0; i < n; i++)
		{
			unsigned char r[RECOVERY_CHARS];
			char		plain[RECOVERY_CHARS + 1];
			bool		again = false;

			if (RAND_bytes(r, sizeof(r)) != 1)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("could not generate random bytes")));
			/* 256 is a multiple of 32: every character equally likely */
			for (int j = 0; j < RECOVERY_CHARS; j++)
				plain[j] = recovery_alphabet[r[j] & 31];
			plain[RECOVERY_CHARS] = '\0';
			explicit_bzero(r, sizeof(r));
			SmarthubHashToken(plain, RECOVERY_CHARS, hexes[i]);
			/* two equal codes in one batch (p < 10^-11): draw again */
			for (int j = 0; j < i && !again; j++)
				again = strcmp(hexes[j], hexes[i]) == 0;
			if (again)
			{
				explicit_bzero(plain, sizeof(plain));
				i--;
				continue;
			}
			hashes[i] = CStringGetTextDatum(hexes[i]);
			codes[i] = psprintf("%.5s-%.5s", plain, plain + 5);
			explicit_bzero(plain, sizeof(plain));
		}
		funcctx->user_fctx = codes;
		funcctx->max_calls = n;
		values[0] = UUIDPGetDatum(user_id);
		values[1] = PointerGetDatum(construct_array(hashes, n, TEXTOID, -1, false, TYPALIGN_INT));
		MemoryContextSwitchTo(oldcxt);

		SmarthubBecomeOwner(&saved);
		SmarthubSpiConnect();
		if (!SmarthubUserIsLive(values[0], false))
			SmarthubUnknownUser(user_id);
		Execute(PLAN_DROP_CODES, values, NULL, false, SPI_OK_DELETE);
		Execute(PLAN_INSERT_CODES, values, NULL, false, SPI_OK_INSERT);
		SPI_finish();
		SmarthubRestoreUser(&saved);
	}

	funcctx = SRF_PERCALL_SETUP();
	codes = (char **) funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		char	   *code = codes[funcctx->call_cntr];
		Datum		d = CStringGetTextDatum(code);

		explicit_bzero(code, strlen(code));
		SRF_RETURN_NEXT(funcctx, d);
	}
	SRF_RETURN_DONE(funcctx);
}

/* Use up one of the user's recovery codes (normalised); whether it was there, unused. */
static bool
UseRecoveryCode(const pg_uuid_t *user_id, const char *normalised)
{
	char		hex[SMARTHUB_TOKEN_HASH_LEN + 1];
	Datum		values[2];

	SmarthubHashToken(normalised, RECOVERY_CHARS, hex);
	values[0] = UUIDPGetDatum((pg_uuid_t *) user_id);
	values[1] = CStringGetTextDatum(hex);
	return DecidingWrite(PLAN_USE_CODE, values, SPI_OK_UPDATE) == 1;
}

/*
 * Body of use_recovery_code(user_id uuid, code text) RETURNS boolean.
 *
 * true once per code: it is then used up.  Never raises for the code; 22004
 * for a NULL user; 42501 when the caller may not act for the user.
 */
static Datum
UseRecoveryCodeFn(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user_id;
	char		normalised[RECOVERY_CHARS + 1];
	bool		ok;

	SmarthubRequireArg(fcinfo, 0, "user_id");
	user_id = PG_GETARG_UUID_P(0);
	SmarthubCheckActingFor(fcinfo, "use_recovery_code", user_id);
	if (!RecoveryCodeArg(fcinfo, 1, normalised))
		PG_RETURN_BOOL(false);
	ok = UseRecoveryCode(user_id, normalised);
	explicit_bzero(normalised, sizeof(normalised));
	PG_RETURN_BOOL(ok);
}

/* ---- assurance levels ---- */

/*
 * Body of verify_session_mfa(token text, code text) RETURNS boolean.
 *
 * The session token is the credential, as for issue_jwt: whoever holds it
 * may raise its session to aal2 with the second factor of its user, a TOTP
 * code (checked as totp_verify checks it) or a recovery code (used up).
 * false for a dead or malformed token and any code that does not verify;
 * never raises for either.
 */
static Datum
VerifySessionMfa(PG_FUNCTION_ARGS)
{
	char		code[TOTP_DIGITS];
	char		normalised[RECOVERY_CHARS + 1];
	bool		is_totp;
	pg_uuid_t	user_id;
	pg_uuid_t	session_id;
	bool		ok;
	Factor		f;
	Datum		value;

	SmarthubRefuseOnSomeoneElsesBehalf("verify_session_mfa");
	is_totp = TotpCodeArg(fcinfo, 1, code);
	if (PG_ARGISNULL(0) || (!is_totp && !RecoveryCodeArg(fcinfo, 1, normalised)) ||
		!SmarthubVerifySession((text *) DatumGetPointer(PG_GETARG_DATUM(0)), &user_id, &session_id, NULL))
		PG_RETURN_BOOL(false);
	if (is_totp)
		ok = LoadFactor(false, &user_id, GetCurrentTimestamp(), &f) && VerifyTotp(&f, code, false);
	else
	{
		ok = UseRecoveryCode(&user_id, normalised);
		explicit_bzero(normalised, sizeof(normalised));
	}
	if (!ok)
		PG_RETURN_BOOL(false);
	value = UUIDPGetDatum(&session_id);
	PG_RETURN_BOOL(DecidingWrite(PLAN_SESSION_AAL2, &value, SPI_OK_UPDATE) == 1);
}

/*
 * smarthub.current_aal() RETURNS text
 *
 * The assurance level of the live session that authenticated the identity:
 * aal1 or aal2.  NULL without an identity, and for an identity no session
 * stands for (an API key, set_current_user, another issuer's JWT), or whose
 * session is gone.  One look-up by primary key, as the owner, with the
 * statement's snapshot.
 */
Datum
smarthub_current_aal(PG_FUNCTION_ARGS)
{
	pg_uuid_t	user_id;
	pg_uuid_t	session_id;
	Datum		values[2];
	text	   *result = NULL;
	SmarthubSavedUser saved;

	if (!SmarthubGetIdentitySession(&user_id, &session_id))
		PG_RETURN_NULL();
	values[0] = UUIDPGetDatum(&session_id);
	values[1] = UUIDPGetDatum(&user_id);
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(PLAN_CURRENT_AAL, values, NULL, ActiveSnapshotSet(), SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		text	   *aal = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		result = SPI_palloc(VARSIZE_ANY(aal));
		memcpy(result, aal, VARSIZE_ANY(aal));
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/* ---- the functions whose arguments carry a secret ---- */

/* totp_confirm(factor_id uuid, code text) RETURNS boolean */
Datum
smarthub_totp_confirm(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(TotpConfirm, fcinfo);
}

/* totp_verify(user_id uuid, code text) RETURNS boolean */
Datum
smarthub_totp_verify(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(TotpVerify, fcinfo);
}

/* use_recovery_code(user_id uuid, code text) RETURNS boolean */
Datum
smarthub_use_recovery_code(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(UseRecoveryCodeFn, fcinfo);
}

/* verify_session_mfa(token text, code text) RETURNS boolean */
Datum
smarthub_verify_session_mfa(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(VerifySessionMfa, fcinfo);
}
