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

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_create_user);
PG_FUNCTION_INFO_V1(smarthub_set_password);
PG_FUNCTION_INFO_V1(smarthub_login);

static SPIPlanPtr unknown_role_plan = NULL;
static SPIPlanPtr insert_user_plan = NULL;
static SPIPlanPtr grant_roles_plan = NULL;
static SPIPlanPtr set_password_plan = NULL;
static SPIPlanPtr login_user_plan = NULL;
static SPIPlanPtr login_update_plan = NULL;

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

		SmarthubExecute(SmarthubKeepPlan(&login_user_plan,
										 "SELECT id, password_hash::pg_catalog.text, is_active, deleted_at IS NULL FROM smarthub.users"
										 SMARTHUB_LOGIN_MATCH, 1, user_types),
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
		SmarthubAuditWrite("users", known ? &user_id : &nobody, ok ? "LOGIN" : "LOGIN_FAILED",
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
