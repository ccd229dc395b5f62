/*
 * account.c
 *		create_user, set_password and login: the account functions, which
 *		combine the others (bcrypt from password.c, sessions from token.c,
 *		one-time tokens from onetime.c, audit rows from audit.c) and depend
 *		on all of them.
 *
 * Each takes a password, so each runs through SmarthubCallHidingStatement: no error
 * raised while it runs logs the statement that carries the password.
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_create_user);
PG_FUNCTION_INFO_V1(smarthub_set_password);
PG_FUNCTION_INFO_V1(smarthub_login);
PG_FUNCTION_INFO_V1(smarthub_unlock_login);

/* The account a login names (SMARTHUB_LOGIN_MATCH): id, hash, active, not deleted. */
#define LOGIN_USER_SQL \
	"SELECT id, password_hash::pg_catalog.text, is_active, deleted_at IS NULL FROM smarthub.users" \
	SMARTHUB_LOGIN_MATCH

static SPIPlanPtr unknown_role_plan = NULL;
static SPIPlanPtr insert_user_plan = NULL;
static SPIPlanPtr grant_roles_plan = NULL;
static SPIPlanPtr set_password_plan = NULL;
static SPIPlanPtr login_user_plan = NULL;
static SPIPlanPtr login_update_plan = NULL;
static SPIPlanPtr throttle_count_plan = NULL;
static SPIPlanPtr throttle_lock_plan = NULL;
static SPIPlanPtr throttle_reset_plan = NULL;
static SPIPlanPtr throttle_unlock_plan = NULL;

/* GUCs: login throttling (see CountAttempt) */
static int	login_max_failures = 10;
static int	login_failure_window = 900;	/* seconds */
static int	login_lockout = 60;		/* seconds: the first lockout; doubled up to 16 times that */

void
AccountInit(void)
{
	DefineCustomIntVariable("smarthub.login_max_failures",
							"Failed logins per account, or per client address, within smarthub.login_failure_window before it is locked.",
							"0 turns throttling off.",
							&login_max_failures,
							10, 0, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.login_failure_window",
							"The window in which failed logins are counted.",
							NULL,
							&login_failure_window,
							900, 1, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.login_lockout",
							"How long an account or address is first locked; each further lockout within a window doubles it, up to 16 times.",
							NULL,
							&login_lockout,
							60, 1, INT_MAX / 32,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

/*
 * Body of create_user(email text, username text, password text, first_name
 *			   text DEFAULT NULL, last_name text DEFAULT NULL, roles text[]
 *			   DEFAULT ARRAY['user']) RETURNS uuid
 *
 * Role names are checked before the (expensive) hash; NULL roles means none.
 * Clashes, bad emails and bad usernames come from the table's own
 * constraints (23505, 23514).
 */
static Datum
CreateUser(PG_FUNCTION_ARGS)
{
	static const Oid role_types[1] = {TEXTARRAYOID};
	static const Oid user_types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	static const Oid grant_types[2] = {UUIDOID, TEXTARRAYOID};
	text	   *password;
	text	   *hash;
	Datum		roles = (Datum) 0;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	pg_uuid_t  *id;
	bool		isnull;
	SmarthubSavedUser saved;

	SmarthubRequireArg(fcinfo, 0, "email");
	SmarthubRequireArg(fcinfo, 1, "username");
	SmarthubRequireArg(fcinfo, 2, "password");
	SmarthubCheckActingFor(fcinfo, "create_user", NULL);
	password = PG_GETARG_TEXT_PP(2);

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (!PG_ARGISNULL(5))
	{
		roles = PG_GETARG_DATUM(5);
		/* the first role name that does not exist, if any */
		SmarthubExecute(SmarthubKeepPlan(&unknown_role_plan,
										 "SELECT n FROM pg_catalog.unnest($1) AS u(n)"
										 " WHERE n IS NULL OR NOT EXISTS (SELECT FROM smarthub.roles r"
										 " WHERE r.name OPERATOR(pg_catalog.=) u.n) LIMIT 1",
										 1, role_types),
						&roles, NULL, true, SPI_OK_SELECT);
		if (SPI_processed > 0)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (name == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("role names must not be null")));
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("role \"%s\" does not exist", name),
					 errhint("The roles are listed in smarthub.roles.")));
		}
	}

	hash = SmarthubHashPassword(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password), -1);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PointerGetDatum(hash);
	values[3] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	values[4] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[3] = PG_ARGISNULL(3) ? 'n' : ' ';
	nulls[4] = PG_ARGISNULL(4) ? 'n' : ' ';
	SmarthubExecute(SmarthubKeepPlan(&insert_user_plan,
									 "INSERT INTO smarthub.users (email, username, password_hash, first_name, last_name)"
									 " VALUES ($1, $2, $3, $4, $5) RETURNING id",
									 5, user_types),
					values, nulls, false, SPI_OK_INSERT_RETURNING);
	/* the uuid must survive SPI_finish */
	id = SPI_palloc(sizeof(pg_uuid_t));
	memcpy(id->data,
		   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->data,
		   UUID_LEN);

	if (roles != (Datum) 0)
	{
		Datum		gvalues[2] = {UUIDPGetDatum(id), roles};

		SmarthubExecute(SmarthubKeepPlan(&grant_roles_plan,
										 "INSERT INTO smarthub.user_roles (user_id, role_id)"
										 " SELECT DISTINCT $1, r.id FROM smarthub.roles r"
										 " WHERE r.name OPERATOR(pg_catalog.=) ANY ($2)",
										 2, grant_types),
						gvalues, NULL, false, SPI_OK_INSERT);
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	PG_RETURN_UUID_P(id);
}

/*
 * Body of set_password(user_id uuid, password text) RETURNS void.
 *
 * Soft-deleted accounts count as unknown (P0002): to the application they
 * are gone.  The user's outstanding password reset and magic link tokens
 * stop working (onetime.c); sessions are kept.
 */
static Datum
SetPassword(PG_FUNCTION_ARGS)
{
	static const Oid types[2] = {UUIDOID, TEXTOID};
	pg_uuid_t  *user_id;
	text	   *password;
	Datum		values[2];
	uint64		updated;
	SmarthubSavedUser saved;

	SmarthubRequireArg(fcinfo, 0, "user_id");
	SmarthubRequireArg(fcinfo, 1, "password");
	user_id = PG_GETARG_UUID_P(0);
	password = PG_GETARG_TEXT_PP(1);
	SmarthubCheckActingFor(fcinfo, "set_password", user_id);

	values[0] = UUIDPGetDatum(user_id);
	values[1] = PointerGetDatum(SmarthubHashPassword(VARDATA_ANY(password),
													 VARSIZE_ANY_EXHDR(password), -1));
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	SmarthubExecute(SmarthubKeepPlan(&set_password_plan,
									 "UPDATE smarthub.users SET password_hash = $2"
									 " WHERE id OPERATOR(pg_catalog.=) $1 AND deleted_at IS NULL",
									 2, types),
					values, NULL, false, SPI_OK_UPDATE);
	updated = SPI_processed;
	if (updated > 0)
		SmarthubVoidPasswordTokens(values[0]);
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (updated == 0)
		SmarthubUnknownUser(user_id);
	PG_RETURN_VOID();
}

/*
 * Login throttling.  Every attempt is counted, for the account (its user id;
 * for a login no account has, the login itself, lowercased, so that unknown
 * and known logins are throttled alike) and for the client address given to
 * login (not the connection's: behind a pooler that is the pooler's).  The
 * count is taken after the password check, in one upsert whose row lock
 * orders concurrent attempts: an attempt is refused when its subject is
 * locked or when it is beyond the threshold, whatever its password, so 100
 * concurrent guesses get exactly login_max_failures verdicts.  The attempt
 * that crosses the threshold locks the subject for smarthub.login_lockout,
 * doubled for each lockout that follows one within a window (at most 16
 * times).  A successful login clears its account's count and takes itself
 * off its address's.
 */
typedef struct Attempt
{
	bool		refused;		/* locked, or beyond the threshold */
	bool		locks_now;		/* this attempt crossed the threshold */
} Attempt;

static Attempt
CountAttempt(const char *scope, Datum subject)
{
	static const Oid types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		values[3];
	Attempt		a = {false, false};
	bool		isnull;
	bool		locked;
	int32		attempts;

	values[0] = CStringGetTextDatum(scope);
	values[1] = subject;
	values[2] = Int32GetDatum(login_failure_window);
	SmarthubExecute(SmarthubKeepPlan(&throttle_count_plan,
									 "INSERT INTO smarthub.login_throttle AS t (scope, subject, attempts, window_start)"
									 " VALUES ($1, $2, 1, pg_catalog.now())"
									 " ON CONFLICT (scope, subject) DO UPDATE SET"
									 "  attempts = CASE WHEN t.locked_until OPERATOR(pg_catalog.>) pg_catalog.now() THEN t.attempts"
									 "                  WHEN t.window_start OPERATOR(pg_catalog.<=) (pg_catalog.now()"
									 "                       OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3)) THEN 1"
									 "                  ELSE t.attempts OPERATOR(pg_catalog.+) 1 END,"
									 "  window_start = CASE WHEN t.locked_until OPERATOR(pg_catalog.>) pg_catalog.now() THEN t.window_start"
									 "                  WHEN t.window_start OPERATOR(pg_catalog.<=) (pg_catalog.now()"
									 "                       OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3)) THEN pg_catalog.now()"
									 "                  ELSE t.window_start END"
									 " RETURNING COALESCE(t.locked_until OPERATOR(pg_catalog.>) pg_catalog.now(), false), t.attempts",
									 3, types),
					values, NULL, false, SPI_OK_INSERT_RETURNING);
	locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	a.refused = locked || attempts > login_max_failures;
	a.locks_now = !locked && attempts == login_max_failures + 1;
	return a;
}

/* Lock a subject that just crossed the threshold (its row is locked by CountAttempt). */
static void
LockSubject(const char *scope, Datum subject)
{
	static const Oid types[4] = {TEXTOID, TEXTOID, INT4OID, INT4OID};
	Datum		values[4];

	values[0] = CStringGetTextDatum(scope);
	values[1] = subject;
	values[2] = Int32GetDatum(login_failure_window);
	values[3] = Int32GetDatum(login_lockout);
	/* a lockout soon after the last one is twice as long, up to 16 times the first */
	SmarthubExecute(SmarthubKeepPlan(&throttle_lock_plan,
									 "UPDATE smarthub.login_throttle SET"
									 "  lockouts = CASE WHEN locked_until OPERATOR(pg_catalog.>) (pg_catalog.now()"
									 "                       OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3))"
									 "                  THEN lockouts OPERATOR(pg_catalog.+) 1 ELSE 1 END,"
									 "  locked_until = pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs =>"
									 "      $4::pg_catalog.float8 OPERATOR(pg_catalog.*) pg_catalog.power(2::pg_catalog.float8, LEAST("
									 "          CASE WHEN locked_until OPERATOR(pg_catalog.>) (pg_catalog.now()"
									 "                    OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $3))"
									 "               THEN lockouts ELSE 0 END, 4)::pg_catalog.float8)),"
									 "  attempts = 0, window_start = pg_catalog.now()"
									 " WHERE scope OPERATOR(pg_catalog.=) $1 AND subject OPERATOR(pg_catalog.=) $2",
									 4, types),
					values, NULL, false, SPI_OK_UPDATE);
}

/* After a successful login: the account starts afresh, and the address forgets this attempt. */
static void
ResetAttempts(Datum account, Datum address, bool has_address)
{
	static const Oid types[3] = {TEXTOID, TEXTOID, BOOLOID};
	Datum		values[3];

	values[0] = account;
	values[1] = has_address ? address : CStringGetTextDatum("");
	values[2] = BoolGetDatum(has_address);
	SmarthubExecute(SmarthubKeepPlan(&throttle_reset_plan,
									 "WITH gone AS (DELETE FROM smarthub.login_throttle"
									 "   WHERE scope OPERATOR(pg_catalog.=) 'account' AND subject OPERATOR(pg_catalog.=) $1)"
									 " UPDATE smarthub.login_throttle SET attempts = GREATEST(attempts OPERATOR(pg_catalog.-) 1, 0)"
									 "  WHERE $3 AND scope OPERATOR(pg_catalog.=) 'address' AND subject OPERATOR(pg_catalog.=) $2",
									 3, types),
					values, NULL, false, SPI_OK_UPDATE);
}

/* The account subject: the user id, or for a login no account has, "login:" and the login lowercased. */
static Datum
AccountSubject(bool known, const pg_uuid_t *user_id, text *login)
{
	char	   *s;

	if (known)
		return CStringGetTextDatum(DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(user_id))));
	s = text_to_cstring(login);
	/* cut as the audit row cuts it: no account has a longer login */
	s[pg_mbcharcliplen(s, strlen(s), SMARTHUB_LOGIN_MAX_LEN)] = '\0';
	return CStringGetTextDatum(psprintf("login:%s",
										TextDatumGetCString(DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID,
																					CStringGetTextDatum(s)))));
}

/*
 * Body of login(login text, password text, ip_address inet DEFAULT NULL,
 *				 user_agent text DEFAULT NULL, ttl interval DEFAULT NULL)
 *				 RETURNS text.
 *
 * A new session token, or NULL on any failure.  Every failure costs the
 * same bcrypt work (SmarthubPasswordCheck), so the time taken does not tell
 * which logins exist; every attempt leaves an audit row (LOGIN or
 * LOGIN_FAILED), which holds the login text (cut to 255 characters) but
 * never the password or a hash.
 */
static Datum
Login(PG_FUNCTION_ARGS)
{
	static const Oid user_types[1] = {TEXTOID};
	static const Oid update_types[2] = {UUIDOID, TEXTOID};
	static const pg_uuid_t nobody = {{0}};
	text	   *login = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	text	   *password = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	Datum		ttl;
	pg_uuid_t	user_id;
	bool		known = false;
	bool		locked = false;
	const char *reason = NULL;
	char	   *hash = NULL;
	size_t		hashlen = 0;
	bool		ok;
	text	   *token = NULL;
	SmarthubSavedUser saved;

	SmarthubRefuseOnSomeoneElsesBehalf("login");
	ttl = SmarthubSessionTtl(fcinfo, 4);

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();

	if (SmarthubLoginMayMatch(login))
	{
		Datum		param = PointerGetDatum(login);

		SmarthubExecute(SmarthubKeepPlan(&login_user_plan, LOGIN_USER_SQL, 1, user_types),
						&param, NULL, false, SPI_OK_SELECT);
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

	/*
	 * Counted after the (equal) work of the check, whatever its outcome; not
	 * in a database still at 1.0, which has no smarthub.login_throttle.
	 */
	if (login_max_failures > 0 &&
		OidIsValid(get_relname_relid("login_throttle", get_namespace_oid(SMARTHUB_SCHEMA, false))))
	{
		Datum		account = (Datum) 0;
		Datum		address = (Datum) 0;
		bool		has_address = !PG_ARGISNULL(2);
		Attempt		by_account = {false, false};
		Attempt		by_address = {false, false};

		if (login != NULL)
		{
			account = AccountSubject(known, &user_id, login);
			by_account = CountAttempt("account", account);
		}
		if (has_address)
		{
			address = DirectFunctionCall1(network_host, PG_GETARG_DATUM(2));
			by_address = CountAttempt("address", address);
		}
		if (by_account.locks_now)
			LockSubject("account", account);
		if (by_address.locks_now)
			LockSubject("address", address);
		if (by_account.refused || by_address.refused)
		{
			ok = false;
			locked = true;
			reason = by_account.refused ? "account_locked" : "address_locked";
		}
		else if (ok && login != NULL)
			ResetAttempts(account, address, has_address);
	}

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
		SmarthubExecute(SmarthubKeepPlan(&login_update_plan,
										 "UPDATE smarthub.users SET last_login_at = pg_catalog.now(),"
										 "       password_hash = COALESCE($2, password_hash)"
										 " WHERE id OPERATOR(pg_catalog.=) $1",
										 2, update_types),
						upd, unulls, false, SPI_OK_UPDATE);
		token = SmarthubCreateSession(&user_id, ttl,
									  PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
									  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3),
									  NULL);
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);

	/* the audit row: the request context when the caller gave no address or agent */
	{
		const char *keys[2] = {"login", "reason"};
		Datum		values[2];
		bool		nulls[2] = {false, false};
		Oid			types[2] = {TEXTOID, TEXTOID};
		Jsonb	   *changes = NULL;
		Datum		ip;
		bool		ip_isnull;
		text	   *user_agent;

		SmarthubGetRequestContext(&ip, &ip_isnull, &user_agent);
		if (!PG_ARGISNULL(2))
		{
			ip = PG_GETARG_DATUM(2);
			ip_isnull = false;
		}
		if (!PG_ARGISNULL(3))
			user_agent = PG_GETARG_TEXT_PP(3);
		if (!ok)
		{
			nulls[0] = login == NULL;
			if (login != NULL)
			{
				/* cut to 255 characters, never inside one */
				char	   *s = text_to_cstring(login);

				values[0] = PointerGetDatum(cstring_to_text_with_len(s, pg_mbcharcliplen(s, strlen(s), SMARTHUB_LOGIN_MAX_LEN)));
			}
			values[1] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
			changes = SmarthubJsonbObject(reason ? 2 : 1, keys, values, nulls, types);
		}
		SmarthubAuditWrite("users", known ? &user_id : &nobody,
						   ok ? "LOGIN" : locked ? "LOGIN_LOCKED" : "LOGIN_FAILED",
						   changes, ok ? &user_id : NULL, ip, ip_isnull, user_agent);
	}

	if (token == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(token);
}

/* create_user(email, username, password, first_name, last_name, roles) RETURNS uuid */
Datum
smarthub_create_user(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(CreateUser, fcinfo);
}

/* set_password(user_id uuid, password text) RETURNS void */
Datum
smarthub_set_password(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(SetPassword, fcinfo);
}

/* login(login, password, ip_address, user_agent, ttl) RETURNS text */
Datum
smarthub_login(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(Login, fcinfo);
}

/*
 * unlock_login(login text) RETURNS boolean: clears the account's failed
 * attempts and lock (for a login no account has: that login's); true if it
 * was locked.  Admin identities and trusted roles only; audited.
 */
static Datum
UnlockLogin(PG_FUNCTION_ARGS)
{
	static const Oid user_types[1] = {TEXTOID};
	static const Oid unlock_types[2] = {TEXTOID, TEXTOID};
	static const pg_uuid_t nobody = {{0}};
	text	   *login;
	pg_uuid_t	user_id;
	bool		known = false;
	bool		was_locked = false;
	Datum		values[2];
	Datum		param;
	SmarthubSavedUser saved;

	SmarthubRequireArg(fcinfo, 0, "login");
	SmarthubCheckActingFor(fcinfo, "unlock_login", NULL);
	login = PG_GETARG_TEXT_PP(0);

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	param = PointerGetDatum(login);
	if (SmarthubLoginMayMatch(login))
	{
		SmarthubExecute(SmarthubKeepPlan(&login_user_plan, LOGIN_USER_SQL, 1, user_types),
						&param, NULL, false, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			bool		isnull;

			known = true;
			memcpy(user_id.data, DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->data, UUID_LEN);
		}
	}
	values[0] = AccountSubject(known, &user_id, login);
	values[1] = AccountSubject(false, NULL, login);
	SmarthubExecute(SmarthubKeepPlan(&throttle_unlock_plan,
									 "DELETE FROM smarthub.login_throttle"
									 " WHERE scope OPERATOR(pg_catalog.=) 'account' AND subject OPERATOR(pg_catalog.=) ANY (ARRAY[$1, $2])"
									 " RETURNING COALESCE(locked_until OPERATOR(pg_catalog.>) pg_catalog.now(), false)",
									 2, unlock_types),
					values, NULL, false, SPI_OK_DELETE_RETURNING);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		was_locked |= DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);

	if (was_locked)
	{
		const char *keys[1] = {"login"};
		Datum		v[1];
		bool		nulls[1] = {false};
		Oid			types[1] = {TEXTOID};
		char	   *s = text_to_cstring(login);

		v[0] = PointerGetDatum(cstring_to_text_with_len(s, pg_mbcharcliplen(s, strlen(s), SMARTHUB_LOGIN_MAX_LEN)));
		SmarthubAuditWriteForIdentity("users", known ? &user_id : &nobody, "LOGIN_UNLOCKED",
									  SmarthubJsonbObject(1, keys, v, nulls, types));
	}
	PG_RETURN_BOOL(was_locked);
}

Datum
smarthub_unlock_login(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(UnlockLogin, fcinfo);
}
