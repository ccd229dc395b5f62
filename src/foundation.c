/*
 * foundation.c
 *		What every other module builds on: the extension owner and the switch
 *		to it, the trust rule, kept SPI plans, and the errors that mean the
 *		same everywhere.
 *
 * The trust rule.  A call is judged by the role that made it: the current
 * user when smarthub's C function is entered.  smarthub's functions are
 * SECURITY INVOKER at the SQL level and switch to the extension owner in C
 * only around their own queries, so that role is never smarthub's owner and
 * never the session's outer user: code a role owns and PostgreSQL runs as
 * that role (its SECURITY DEFINER functions, its index expressions during
 * someone else's ANALYZE) is judged as that role.  On top of that, nothing
 * that mints a credential, sets an identity or changes a password works
 * while PostgreSQL runs code on another role's behalf (a security-restricted
 * operation: ANALYZE, VACUUM, CLUSTER, REINDEX, CREATE INDEX, REFRESH
 * MATERIALIZED VIEW; or a foreign key's action): 42501.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "smarthub.h"

/* The owner of schema smarthub, cached until pg_namespace changes. */
static Oid	extension_owner = InvalidOid;

static void
NamespaceCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	extension_owner = InvalidOid;
}

void
FoundationInit(void)
{
	CacheRegisterSyscacheCallback(NAMESPACEOID, NamespaceCallback, (Datum) 0);
}

/*
 * The extension owner: the owner of schema smarthub, which CREATE EXTENSION
 * makes the owner of every table and function in it.  InvalidOid when the
 * schema does not exist (the library loaded without the extension).
 */
static Oid
SmarthubExtensionOwner(void)
{
	Oid			nspoid;
	HeapTuple	tup;

	if (OidIsValid(extension_owner))
		return extension_owner;
	nspoid = get_namespace_oid(SMARTHUB_SCHEMA, true);
	if (!OidIsValid(nspoid))
		return InvalidOid;
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nspoid);	/* internal error */
	extension_owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return extension_owner;
}

/*
 * Run what follows as the extension owner, as PostgreSQL's RI triggers run
 * as a table's owner: smarthub's tables are the owner's alone, and their
 * row-level security (which itself asks has_role) must not apply to
 * smarthub's own queries.  Restore with SmarthubRestoreUser; an error
 * restores the caller's user through transaction abort.
 */
void
SmarthubBecomeOwner(SmarthubSavedUser *saved)
{
	Oid			owner = SmarthubExtensionOwner();

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"%s\" does not exist", SMARTHUB_SCHEMA),
				 errhint("Run CREATE EXTENSION smarthub.")));
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(owner, saved->sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
}

void
SmarthubRestoreUser(const SmarthubSavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

/* ---- the trust rule ---- */

/*
 * The role a call of fcinfo's function is judged by: the current user on
 * entry.  smarthub 1.0 declared the credential functions SECURITY DEFINER:
 * in a database not yet updated (ALTER EXTENSION smarthub UPDATE) the
 * current user is then the owner, and the call is judged as 1.0 judged it,
 * by the session's outer user.
 */
Oid
SmarthubCaller(FunctionCallInfo fcinfo)
{
	HeapTuple	tup;
	bool		definer = false;

	if (fcinfo->flinfo == NULL || !OidIsValid(fcinfo->flinfo->fn_oid))
		return GetUserId();
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (HeapTupleIsValid(tup))
	{
		definer = ((Form_pg_proc) GETSTRUCT(tup))->prosecdef;
		ReleaseSysCache(tup);
	}
	return definer ? GetOuterUserId() : GetUserId();
}

/*
 * Trusted roles may impersonate and act for anyone: superusers, members of
 * the extension owner, and roles with EXECUTE on smarthub.set_current_user
 * (which is what grant_access(..., trusted => true) grants).
 */
bool
SmarthubRoleIsTrusted(Oid roleid)
{
	Oid			owner;
	Oid			argtypes[1] = {UUIDOID};
	Oid			fn;

	if (superuser_arg(roleid))
		return true;
	owner = SmarthubExtensionOwner();
	if (OidIsValid(owner) && has_privs_of_role(roleid, owner))
		return true;
	fn = LookupFuncName(list_make2(makeString(SMARTHUB_SCHEMA),
								   makeString("set_current_user")),
						1, argtypes, true);
	return OidIsValid(fn) && pg_proc_aclcheck(fn, roleid, ACL_EXECUTE) == ACLCHECK_OK;
}

/* Whether PostgreSQL is running code as some role on another role's behalf. */
static bool
SmarthubOnSomeoneElsesBehalf(void)
{
	return InSecurityRestrictedOperation() || InNoForceRLSOperation();
}

/*
 * 42501 when what (a function name) is called while PostgreSQL runs code on
 * another role's behalf: that code belongs to a table's owner, and whatever
 * standing the session has (a trusted role, an admin identity) is not its.
 */
void
SmarthubRefuseOnSomeoneElsesBehalf(const char *what)
{
	if (!SmarthubOnSomeoneElsesBehalf())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s cannot be called while PostgreSQL runs code on another role's behalf", what),
			 errdetail("Index expressions, ANALYZE, VACUUM, CLUSTER, REINDEX, CREATE INDEX, REFRESH MATERIALIZED VIEW and foreign key actions run a table owner's code for whoever started them."),
			 errhint("Call it from the application's own statements."),
			 errhidestmt(true), errhidecontext(true)));
}

/* ---- SPI ---- */

void
SmarthubSpiConnect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");	/* internal error */
}

/*
 * The plan kept in *slot, prepared on first use (inside an SPI connection)
 * and kept for the backend's life: every query smarthub runs more than once
 * goes through here.
 */
SPIPlanPtr
SmarthubKeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, (Oid *) types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));	/* internal error */
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed"); /* internal error */
		*slot = plan;
	}
	return *slot;
}

/* Execute a plan, raising an internal error unless it returns expected. */
void
SmarthubExecute(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, int expected)
{
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));	/* internal error */
}

/* ---- errors that mean the same everywhere ---- */

/*
 * Call fn, marking any error it raises (ours, a constraint violation from
 * an INSERT, a read-only transaction...) so that the server log shows
 * neither the statement nor the context: the statement carries a secret (a
 * password, a plaintext to encrypt), and the context lists bind parameters
 * when log_parameter_max_length_on_error, which any role may set, allows.  A check or NOT NULL
 * violation's detail ("Failing row contains ...") shows the row as its owner
 * sees it, password_hash included, so that detail is dropped.
 */
Datum
SmarthubCallHidingStatement(PGFunction fn, FunctionCallInfo fcinfo)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile Datum result = (Datum) 0;

	PG_TRY();
	{
		result = fn(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		edata->hide_ctx = true;
		if (edata->sqlerrcode == ERRCODE_CHECK_VIOLATION ||
			edata->sqlerrcode == ERRCODE_NOT_NULL_VIOLATION)
			edata->detail = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	return result;
}


/*
 * Base64 digit values: b64url_value has base64url's alphabet only (JOSE),
 * b64any_value both alphabets; 0xff: not a digit.  Filled on first use.
 */
static uint8 b64url_value[256];
static uint8 b64any_value[256];
static bool b64_tables_ready = false;

static void
Base64Tables(void)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64url_value, 0xff, sizeof(b64url_value));
	memset(b64any_value, 0xff, sizeof(b64any_value));
	for (int i = 0; i < 64; i++)
	{
		char		url = i == 62 ? '-' : i == 63 ? '_' : std[i];

		b64url_value[(unsigned char) url] = (uint8) i;
		b64any_value[(unsigned char) url] = (uint8) i;
		b64any_value[(unsigned char) std[i]] = (uint8) i;
	}
	b64_tables_ready = true;
}

int
SmarthubBase64Decode(const char *in, int len, bool strict, unsigned char *out)
{
	const uint8 *value;
	const unsigned char *p = (const unsigned char *) in;
	int			full;
	int			rest;
	int			n = 0;
	uint32		acc;

	if (!b64_tables_ready)
		Base64Tables();
	value = strict ? b64url_value : b64any_value;
	if (!strict)
		while (len > 0 && in[len - 1] == '=')
			len--;
	rest = len % 4;
	if (rest == 1)
		return -1;
	full = len - rest;
	for (int i = 0; i < full; i += 4)
	{
		uint8		a = value[p[i]],
					b = value[p[i + 1]],
					c = value[p[i + 2]],
					d = value[p[i + 3]];

		if ((a | b | c | d) & 0xc0)
			return -1;
		acc = (uint32) a << 18 | (uint32) b << 12 | (uint32) c << 6 | d;
		out[n++] = (unsigned char) (acc >> 16);
		out[n++] = (unsigned char) (acc >> 8);
		out[n++] = (unsigned char) acc;
	}
	if (rest > 0)
	{
		uint8		a = value[p[full]],
					b = value[p[full + 1]],
					c = rest == 3 ? value[p[full + 2]] : 0;

		if ((a | b | c) & 0xc0)
			return -1;
		acc = (uint32) a << 18 | (uint32) b << 12 | (uint32) c << 6;
		/* the last digit's unused low bits must be zero: one encoding per value */
		if (strict && (acc & (rest == 2 ? 0xffff : 0xff)) != 0)
			return -1;
		out[n++] = (unsigned char) (acc >> 16);
		if (rest == 3)
			out[n++] = (unsigned char) (acc >> 8);
	}
	return n;
}

/* 22004 when a required argument is NULL. */
void
SmarthubRequireArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhidestmt(true)));
}

static char *
SmarthubUuidText(const pg_uuid_t *id)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id)));
}

/* P0002: a user that does not exist, or is inactive or soft-deleted, to the application. */
void
SmarthubUnknownUser(const pg_uuid_t *user_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("user %s does not exist or is not active", SmarthubUuidText(user_id)),
			 errhidestmt(true)));
}

/*
 * Whether login can name a user at all: not NULL, and no longer than an
 * email may be (checked on the bytes first, so that a megabyte of text is
 * not counted character by character).
 */
bool
SmarthubLoginMayMatch(text *login)
{
	return login != NULL &&
		VARSIZE_ANY_EXHDR(login) <= SMARTHUB_LOGIN_MAX_LEN * MAX_MULTIBYTE_CHAR_LEN &&
		pg_mbstrlen_with_len(VARDATA_ANY(login), VARSIZE_ANY_EXHDR(login)) <= SMARTHUB_LOGIN_MAX_LEN;
}
