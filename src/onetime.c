/*
 * onetime.c
 *		One-time tokens: email verification, password reset and magic links.
 *
 * A one-time token has smarthub's token format (token.c) with a prefix of
 * its own: "shv_" verifies an email address, "shr_" resets a password,
 * "shm_" logs in.  Only its SHA-256 is stored, in smarthub.one_time_tokens,
 * with its purpose, its user and its expiry (smarthub.email_verification_ttl,
 * smarthub.password_reset_ttl, smarthub.magic_link_ttl); the plaintext is
 * returned once.  A token of the wrong type, with a bad checksum or the
 * wrong length is refused before any table is read.
 *
 * Single use: a token is redeemed by deleting its row (DELETE ... RETURNING).
 * Of concurrent redeemers one deletes the row; the others wait for its lock
 * and, once that transaction commits, find no row (READ COMMITTED: NULL; at
 * REPEATABLE READ and SERIALIZABLE, 40001).  The row goes whenever a token
 * of it is presented, expired or not, so no spent hash stays behind.
 *
 * Invalidation: a password change (set_password, reset_password) deletes the
 * user's password reset and magic link tokens (SmarthubVoidPasswordTokens); an
 * email change deletes all the user's tokens (the trigger
 * void_one_time_tokens), since each was mailed to the old address, and a
 * verification token counts only while the address it was made for is still
 * the user's.
 *
 * request_password_reset and create_magic_link serve whoever types a login,
 * without an identity.  For a login that names nobody, or an inactive or
 * deleted account, they do the work they do for a real one: a token is made
 * and hashed, the user's expired tokens are looked up by the index on
 * user_id (for the all-zero uuid), and where a real request inserts, what
 * the insert looks up is probed: the unique index on token_hash and, as its
 * foreign key check does, the user.  The application learns which (a token
 * or NULL) and must answer the person the same either way.
 */
#include "postgres.h"

#include <string.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_create_email_verification);
PG_FUNCTION_INFO_V1(smarthub_verify_email);
PG_FUNCTION_INFO_V1(smarthub_request_password_reset);
PG_FUNCTION_INFO_V1(smarthub_reset_password);
PG_FUNCTION_INFO_V1(smarthub_create_magic_link);
PG_FUNCTION_INFO_V1(smarthub_login_with_magic_link);
PG_FUNCTION_INFO_V1(smarthub_void_one_time_tokens);

/* GUCs, in seconds */
static int	email_verification_ttl = 86400;
static int	password_reset_ttl = 3600;
static int	magic_link_ttl = 900;

/* The three kinds of token: the purpose column's value, the prefix, the lifetime. */
typedef enum OnetimeKind
{
	OT_EMAIL_VERIFICATION,
	OT_PASSWORD_RESET,
	OT_MAGIC_LINK
} OnetimeKind;

typedef struct KindSpec
{
	const char *purpose;
	const char *prefix;
	int		   *ttl;
} KindSpec;

static const KindSpec kinds[] = {
	[OT_EMAIL_VERIFICATION] = {"email_verification", "shv_", &email_verification_ttl},
	[OT_PASSWORD_RESET] = {"password_reset", "shr_", &password_reset_ttl},
	[OT_MAGIC_LINK] = {"magic_link", "shm_", &magic_link_ttl},
};

/* Plans prepared once per backend, in the order of plan_specs. */
typedef enum OnetimePlan
{
	PLAN_FIND_LOGIN,
	PLAN_LIVE_EMAIL,
	PLAN_PURGE_EXPIRED,
	PLAN_INSERT,
	PLAN_PROBE_HASH,
	PLAN_PROBE_USER,
	PLAN_REDEEM,
	PLAN_VERIFY_EMAIL,
	PLAN_SET_PASSWORD,
	PLAN_TOUCH_LOGIN,
	PLAN_VOID_PASSWORD_TOKENS,
	PLAN_VOID_ALL_TOKENS,
	NUM_PLANS
} OnetimePlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			types[5];
} PlanSpec;

/* Every name qualified, operators too: these run as the extension owner. */
static const PlanSpec plan_specs[NUM_PLANS] = {
	[PLAN_FIND_LOGIN] = {
		"SELECT id, is_active AND deleted_at IS NULL FROM smarthub.users" SMARTHUB_LOGIN_MATCH,
		1, {TEXTOID}
	},
	[PLAN_LIVE_EMAIL] = {
		"SELECT email::pg_catalog.text FROM smarthub.users WHERE id OPERATOR(pg_catalog.=) $1"
		"   AND is_active AND deleted_at IS NULL",
		1, {UUIDOID}
	},
	[PLAN_PURGE_EXPIRED] = {
		"DELETE FROM smarthub.one_time_tokens WHERE user_id OPERATOR(pg_catalog.=) $1"
		"   AND expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()",
		1, {UUIDOID}
	},
	[PLAN_INSERT] = {
		"INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, email, expires_at)"
		" VALUES ($1, $2, $3, $4, pg_catalog.now() OPERATOR(pg_catalog.+) $5)",
		5, {UUIDOID, TEXTOID, TEXTOID, TEXTOID, INTERVALOID}
	},
	/* what PLAN_INSERT's unique index and foreign key look up, for a request that names nobody */
	[PLAN_PROBE_HASH] = {
		"SELECT FROM smarthub.one_time_tokens WHERE token_hash OPERATOR(pg_catalog.=) $1",
		1, {TEXTOID}
	},
	[PLAN_PROBE_USER] = {
		"SELECT FROM ONLY smarthub.users x WHERE id OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x",
		1, {UUIDOID}
	},
	/* the row goes whatever it holds; its user only when it was live */
	[PLAN_REDEEM] = {
		"WITH t AS (DELETE FROM smarthub.one_time_tokens"
		"            WHERE token_hash OPERATOR(pg_catalog.=) $1 AND purpose OPERATOR(pg_catalog.=) $2"
		"           RETURNING user_id, email, expires_at)"
		"SELECT t.user_id FROM t JOIN smarthub.users u ON u.id OPERATOR(pg_catalog.=) t.user_id"
		" WHERE t.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()"
		"   AND u.is_active AND u.deleted_at IS NULL"
		"   AND (t.email IS NULL OR t.email OPERATOR(pg_catalog.=) u.email::pg_catalog.text)",
		2, {TEXTOID, TEXTOID}
	},
	[PLAN_VERIFY_EMAIL] = {
		"UPDATE smarthub.users SET email_verified = true, email_verified_at = pg_catalog.now()"
		" WHERE id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[PLAN_SET_PASSWORD] = {
		"UPDATE smarthub.users SET password_hash = $2 WHERE id OPERATOR(pg_catalog.=) $1",
		2, {UUIDOID, TEXTOID}
	},
	[PLAN_TOUCH_LOGIN] = {
		"UPDATE smarthub.users SET last_login_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[PLAN_VOID_PASSWORD_TOKENS] = {
		"DELETE FROM smarthub.one_time_tokens WHERE user_id OPERATOR(pg_catalog.=) $1"
		"   AND purpose OPERATOR(pg_catalog.=) ANY ('{password_reset,magic_link}'::pg_catalog.text[])",
		1, {UUIDOID}
	},
	[PLAN_VOID_ALL_TOKENS] = {
		"DELETE FROM smarthub.one_time_tokens WHERE user_id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
};

static SPIPlanPtr plans[NUM_PLANS];

/*
 * Define the module's GUCs.  PGC_SUSET: how long a link that stands in for
 * the password stays good is the DBA's policy, and request_password_reset
 * and create_magic_link serve anonymous requests, so an application role
 * must not be able to lengthen it.
 */
void
OnetimeInit(void)
{
	DefineCustomIntVariable("smarthub.email_verification_ttl",
							"Lifetime of the tokens create_email_verification makes.",
							NULL,
							&email_verification_ttl,
							86400, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.password_reset_ttl",
							"Lifetime of the tokens request_password_reset makes.",
							NULL,
							&password_reset_ttl,
							3600, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.magic_link_ttl",
							"Lifetime of the tokens create_magic_link makes.",
							NULL,
							&magic_link_ttl,
							900, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/* Execute one of this file's kept plans, raising an internal error unless it returns expected. */
static void
Execute(OnetimePlan which, Datum *values, const char *nulls, int expected)
{
	const PlanSpec *spec = &plan_specs[which];

	SmarthubExecute(SmarthubKeepPlan(&plans[which], spec->sql, spec->nargs, spec->types),
					values, nulls, false, expected);
}

static Datum
HashDatum(const char *hex)
{
	return PointerGetDatum(cstring_to_text_with_len(hex, SMARTHUB_TOKEN_HASH_LEN));
}

/*
 * The SHA-256 (into hex) of argument argno when it is a token with that
 * prefix and a matching checksum; false, with no table read, when it cannot
 * be one.  A toasted argument is judged by its length before it is
 * detoasted: a megabyte of text costs nothing.
 */
static bool
TokenArgHash(FunctionCallInfo fcinfo, int argno, const char *prefix, char *hex)
{
	Datum		d;
	text	   *token;

	if (PG_ARGISNULL(argno))
		return false;
	d = PG_GETARG_DATUM(argno);
	if (toast_raw_datum_size(d) != VARHDRSZ + SMARTHUB_TOKEN_LEN)
		return false;
	token = DatumGetTextPP(d);
	if (!SmarthubTokenWellFormed(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), prefix))
		return false;
	SmarthubHashToken(VARDATA_ANY(token), SMARTHUB_TOKEN_LEN, hex);
	return true;
}

/* The token as text, allocated in the upper executor context (inside SPI). */
static text *
TokenText(const char *token)
{
	text	   *result = SPI_palloc(VARHDRSZ + SMARTHUB_TOKEN_LEN);

	SET_VARSIZE(result, VARHDRSZ + SMARTHUB_TOKEN_LEN);
	memcpy(VARDATA(result), token, SMARTHUB_TOKEN_LEN);
	return result;
}

/*
 * Store a new token of that kind for user_id (live: the caller checked)
 * under hex, its hash: first the user's expired tokens go, which keeps the
 * table to the tokens that can still be used.  Inside SPI, as the owner.
 */
static void
StoreToken(OnetimeKind kind, Datum user_id, const char *hex, Datum email, bool email_isnull)
{
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	Interval   *ttl = palloc0(sizeof(Interval));

	Execute(PLAN_PURGE_EXPIRED, &user_id, NULL, SPI_OK_DELETE);
	ttl->time = (TimeOffset) *kinds[kind].ttl * USECS_PER_SEC;
	values[0] = user_id;
	values[1] = CStringGetTextDatum(kinds[kind].purpose);
	values[2] = HashDatum(hex);
	values[3] = email;
	values[4] = IntervalPGetDatum(ttl);
	nulls[3] = email_isnull ? 'n' : ' ';
	Execute(PLAN_INSERT, values, nulls, SPI_OK_INSERT);
}

/*
 * Delete the row of the token hashed as hex, if it is of that kind, and say
 * whether it was live: unexpired, its user active and not soft-deleted, and
 * (email verification) the user's email still the one it was made for.
 * Inside SPI, as the owner.
 */
static bool
Redeem(OnetimeKind kind, const char *hex, pg_uuid_t *user_id)
{
	Datum		values[2];
	bool		isnull;

	values[0] = HashDatum(hex);
	values[1] = CStringGetTextDatum(kinds[kind].purpose);
	Execute(PLAN_REDEEM, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return false;
	memcpy(user_id->data,
		   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->data,
		   UUID_LEN);
	return true;
}

/* Whether this database has smarthub.one_time_tokens (a 1.0 database on this library has not). */
static bool
OnetimeInstalled(void)
{
	Oid			nsp = get_namespace_oid(SMARTHUB_SCHEMA, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("one_time_tokens", nsp));
}

void
SmarthubVoidPasswordTokens(Datum user_id)
{
	if (OnetimeInstalled())
		Execute(PLAN_VOID_PASSWORD_TOKENS, &user_id, NULL, SPI_OK_DELETE);
}

/*
 * create_email_verification(user_id uuid) RETURNS text
 *
 * A token that verifies the user's current email address.  The caller must
 * be allowed to act for the user (its own identity, an admin identity, a
 * trusted role); P0002 for an unknown, inactive or soft-deleted user.
 */
Datum
smarthub_create_email_verification(PG_FUNCTION_ARGS)
{
	Datum		user_id;
	Datum		email;
	bool		isnull;
	char		token[SMARTHUB_TOKEN_LEN + 1];
	char		hex[SMARTHUB_TOKEN_HASH_LEN + 1];
	text	   *result;
	SmarthubSavedUser saved;

	SmarthubRequireArg(fcinfo, 0, "user_id");
	user_id = PG_GETARG_DATUM(0);
	SmarthubCheckActingFor(fcinfo, "create_email_verification", DatumGetUUIDP(user_id));

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(PLAN_LIVE_EMAIL, &user_id, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		SmarthubUnknownUser(DatumGetUUIDP(user_id));
	/* a copy: the next statement's result replaces this one */
	email = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	SmarthubMakeToken(kinds[OT_EMAIL_VERIFICATION].prefix, token);
	SmarthubHashToken(token, SMARTHUB_TOKEN_LEN, hex);
	StoreToken(OT_EMAIL_VERIFICATION, user_id, hex, email, false);
	result = TokenText(token);
	explicit_bzero(token, sizeof(token));
	SPI_finish();
	SmarthubRestoreUser(&saved);
	PG_RETURN_TEXT_P(result);
}

/*
 * Body of verify_email(token text) RETURNS uuid, STRICT.
 *
 * Redeems a verification token: sets the user's email_verified and
 * email_verified_at (an UPDATE the users audit trigger records) and returns
 * the user; NULL for any token that is not live.
 */
static Datum
VerifyEmail(PG_FUNCTION_ARGS)
{
	char		hex[SMARTHUB_TOKEN_HASH_LEN + 1];
	pg_uuid_t  *user_id;
	bool		found;
	SmarthubSavedUser saved;

	SmarthubRefuseOnSomeoneElsesBehalf("verify_email");
	if (!TokenArgHash(fcinfo, 0, kinds[OT_EMAIL_VERIFICATION].prefix, hex))
		PG_RETURN_NULL();
	user_id = palloc(sizeof(pg_uuid_t));

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	found = Redeem(OT_EMAIL_VERIFICATION, hex, user_id);
	if (found)
	{
		Datum		param = UUIDPGetDatum(user_id);

		Execute(PLAN_VERIFY_EMAIL, &param, NULL, SPI_OK_UPDATE);
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_UUID_P(user_id);
}

/*
 * Shared body of request_password_reset and create_magic_link: a token of
 * that kind for the active user login names, or NULL, after the same work
 * (see the file's comment).  Refused in a read-only transaction and on a
 * standby whoever the login names, so that not even an error tells.
 */
static Datum
Request(FunctionCallInfo fcinfo, OnetimeKind kind, const char *what)
{
	static const pg_uuid_t nobody = {{0}};
	text	   *login = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	char		token[SMARTHUB_TOKEN_LEN + 1];
	char		hex[SMARTHUB_TOKEN_HASH_LEN + 1];
	pg_uuid_t	user_id = nobody;
	bool		live = false;
	text	   *result = NULL;
	SmarthubSavedUser saved;

	SmarthubRefuseOnSomeoneElsesBehalf(what);
	PreventCommandIfReadOnly(what);
	PreventCommandDuringRecovery(what);

	/* made and hashed whoever the login names */
	SmarthubMakeToken(kinds[kind].prefix, token);
	SmarthubHashToken(token, SMARTHUB_TOKEN_LEN, hex);

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (SmarthubLoginMayMatch(login))
	{
		Datum		param = PointerGetDatum(login);

		Execute(PLAN_FIND_LOGIN, &param, NULL, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			live = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
			if (live)
				memcpy(user_id.data, DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull))->data, UUID_LEN);
		}
	}
	if (live)
	{
		StoreToken(kind, UUIDPGetDatum(&user_id), hex, (Datum) 0, true);
		result = TokenText(token);
	}
	else
	{
		Datum		param = UUIDPGetDatum(&user_id);

		/* StoreToken's look-ups, for nobody: the user's tokens, the new hash, the user */
		Execute(PLAN_PURGE_EXPIRED, &param, NULL, SPI_OK_DELETE);
		Execute(PLAN_PROBE_USER, &param, NULL, SPI_OK_SELECT);
		param = HashDatum(hex);
		Execute(PLAN_PROBE_HASH, &param, NULL, SPI_OK_SELECT);
	}
	explicit_bzero(token, sizeof(token));
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/* request_password_reset(login text) RETURNS text */
Datum
smarthub_request_password_reset(PG_FUNCTION_ARGS)
{
	return Request(fcinfo, OT_PASSWORD_RESET, "request_password_reset");
}

/* create_magic_link(login text) RETURNS text */
Datum
smarthub_create_magic_link(PG_FUNCTION_ARGS)
{
	return Request(fcinfo, OT_MAGIC_LINK, "create_magic_link");
}

/*
 * Body of reset_password(token text, new_password text) RETURNS uuid.
 *
 * The password is checked first (22023 for one set_password would refuse,
 * whatever the token), so that a typo does not spend the token.  A live reset
 * token then sets the new password's bcrypt hash, deletes the user's
 * sessions and outstanding reset and magic link tokens, writes a
 * PASSWORD_RESET audit row attributed to the user, and returns the user;
 * NULL for any other token.
 */
static Datum
ResetPassword(PG_FUNCTION_ARGS)
{
	text	   *password;
	char		hex[SMARTHUB_TOKEN_HASH_LEN + 1];
	pg_uuid_t  *user_id;
	bool		found;
	int32		revoked = 0;
	SmarthubSavedUser saved;

	SmarthubRequireArg(fcinfo, 1, "new_password");
	SmarthubRefuseOnSomeoneElsesBehalf("reset_password");
	password = PG_GETARG_TEXT_PP(1);
	SmarthubCheckPassword(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password));
	if (!TokenArgHash(fcinfo, 0, kinds[OT_PASSWORD_RESET].prefix, hex))
		PG_RETURN_NULL();
	user_id = palloc(sizeof(pg_uuid_t));

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	found = Redeem(OT_PASSWORD_RESET, hex, user_id);
	if (found)
	{
		Datum		values[2];

		values[0] = UUIDPGetDatum(user_id);
		values[1] = PointerGetDatum(SmarthubHashPassword(VARDATA_ANY(password),
														 VARSIZE_ANY_EXHDR(password), -1));
		Execute(PLAN_SET_PASSWORD, values, NULL, SPI_OK_UPDATE);
		SmarthubVoidPasswordTokens(values[0]);
		revoked = SmarthubDeleteUserSessions(values[0]);
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (!found)
		PG_RETURN_NULL();

	{
		const char *keys[1] = {"sessions_revoked"};
		Datum		values[1] = {Int32GetDatum(revoked)};
		bool		nulls[1] = {false};
		Oid			types[1] = {INT4OID};
		Datum		ip;
		bool		ip_isnull;
		text	   *user_agent;

		SmarthubGetRequestContext(&ip, &ip_isnull, &user_agent);
		SmarthubAuditWrite("users", user_id, "PASSWORD_RESET",
						   SmarthubJsonbObject(1, keys, values, nulls, types),
						   user_id, ip, ip_isnull, user_agent);
	}
	PG_RETURN_UUID_P(user_id);
}

/*
 * Body of login_with_magic_link(token text, ip_address inet DEFAULT NULL,
 *								 user_agent text DEFAULT NULL) RETURNS text.
 *
 * A live magic link token logs its user in as login does: last_login_at, a
 * new session of smarthub.session_ttl (with the address and agent given), a
 * LOGIN audit row with changes {"method": "magic_link"}.  NULL for any
 * other token, with nothing written.
 */
static Datum
LoginWithMagicLink(PG_FUNCTION_ARGS)
{
	char		hex[SMARTHUB_TOKEN_HASH_LEN + 1];
	pg_uuid_t	user_id;
	Datum		ttl;
	text	   *session = NULL;
	SmarthubSavedUser saved;

	SmarthubRefuseOnSomeoneElsesBehalf("login_with_magic_link");
	if (!TokenArgHash(fcinfo, 0, kinds[OT_MAGIC_LINK].prefix, hex))
		PG_RETURN_NULL();
	ttl = SmarthubDefaultSessionTtl();

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (Redeem(OT_MAGIC_LINK, hex, &user_id))
	{
		Datum		param = UUIDPGetDatum(&user_id);

		Execute(PLAN_TOUCH_LOGIN, &param, NULL, SPI_OK_UPDATE);
		session = SmarthubCreateSession(&user_id, ttl,
										PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1),
										PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
										NULL);
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (session == NULL)
		PG_RETURN_NULL();

	/* the audit row: the request context when the caller gave no address or agent */
	{
		const char *keys[1] = {"method"};
		Datum		values[1] = {CStringGetTextDatum("magic_link")};
		bool		nulls[1] = {false};
		Oid			types[1] = {TEXTOID};
		Datum		ip;
		bool		ip_isnull;
		text	   *user_agent;

		SmarthubGetRequestContext(&ip, &ip_isnull, &user_agent);
		if (!PG_ARGISNULL(1))
		{
			ip = PG_GETARG_DATUM(1);
			ip_isnull = false;
		}
		if (!PG_ARGISNULL(2))
			user_agent = PG_GETARG_TEXT_PP(2);
		SmarthubAuditWrite("users", &user_id, "LOGIN",
						   SmarthubJsonbObject(1, keys, values, nulls, types),
						   &user_id, ip, ip_isnull, user_agent);
	}
	PG_RETURN_TEXT_P(session);
}

/* verify_email(token text) RETURNS uuid */
Datum
smarthub_verify_email(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(VerifyEmail, fcinfo);
}

/* reset_password(token text, new_password text) RETURNS uuid */
Datum
smarthub_reset_password(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(ResetPassword, fcinfo);
}

/* login_with_magic_link(token text, ip_address inet, user_agent text) RETURNS text */
Datum
smarthub_login_with_magic_link(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(LoginWithMagicLink, fcinfo);
}

/*
 * void_one_time_tokens() RETURNS trigger: AFTER UPDATE OF email ON
 * smarthub.users FOR EACH ROW.  A changed email deletes every one-time
 * token of the user, each of which was mailed to the old address.  As the
 * owner: whoever may change the address may void what was sent to it.
 */
Datum
smarthub_void_one_time_tokens(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	Form_pg_attribute email_attr;
	int			email_att;
	int			id_att;
	Datum		old_email;
	Datum		new_email;
	bool		old_null;
	bool		new_null;
	Datum		user_id;
	bool		isnull;
	SmarthubSavedUser saved;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.void_one_time_tokens() must be called as a trigger")));
	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.void_one_time_tokens() must be fired AFTER UPDATE FOR EACH ROW")));
	rel = trigdata->tg_relation;
	if (RelationGetNamespace(rel) != get_namespace_oid(SMARTHUB_SCHEMA, false) ||
		strcmp(RelationGetRelationName(rel), "users") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.void_one_time_tokens() is a trigger of smarthub.users only")));

	desc = RelationGetDescr(rel);
	email_att = SPI_fnumber(desc, "email");
	id_att = SPI_fnumber(desc, "id");
	if (email_att <= 0 || id_att <= 0)
		elog(ERROR, "smarthub.users has no email or id column");	/* internal error */
	email_attr = TupleDescAttr(desc, email_att - 1);
	old_email = heap_getattr(trigdata->tg_trigtuple, email_att, desc, &old_null);
	new_email = heap_getattr(trigdata->tg_newtuple, email_att, desc, &new_null);
	if (old_null == new_null &&
		(old_null || datum_image_eq(old_email, new_email, email_attr->attbyval, email_attr->attlen)))
		return PointerGetDatum(NULL);

	user_id = heap_getattr(trigdata->tg_newtuple, id_att, desc, &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	Execute(PLAN_VOID_ALL_TOKENS, &user_id, NULL, SPI_OK_DELETE);
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return PointerGetDatum(NULL);
}
