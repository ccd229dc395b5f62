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


/* Base64 digit values, for both alphabets; -1: not a digit. */
static const int8 b64_value[256] = {
	['A'] = 0, ['B'] = 1, ['C'] = 2, ['D'] = 3, ['E'] = 4, ['F'] = 5, ['G'] = 6, ['H'] = 7,
	['I'] = 8, ['J'] = 9, ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15,
	['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
	['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
	['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39,
	['o'] = 40, ['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
	['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
	['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61,
	['-'] = 62, ['_'] = 63, ['+'] = 64 + 62, ['/'] = 64 + 63,
};

/* The value of digit c (standard '+' and '/' only when !strict), or -1. */
static inline int
Base64Digit(unsigned char c, bool strict)
{
	int			v = b64_value[c];

	if (v >= 64)
		return strict ? -1 : v - 64;
	if (v == 0 && c != 'A')
		return -1;
	return v;
}

int
SmarthubBase64Decode(const char *in, int len, bool strict, unsigned char *out)
{
	uint32		acc = 0;
	int			bits = 0;
	int			n = 0;

	if (!strict)
		while (len > 0 && in[len - 1] == '=')
			len--;
	if (len % 4 == 1)
		return -1;
	for (int i = 0; i < len; i++)
	{
		int			v = Base64Digit((unsigned char) in[i], strict);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (unsigned char) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* the last digit's unused low bits must be zero: one encoding per value */
	if (strict && acc != 0)
		return -1;
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
