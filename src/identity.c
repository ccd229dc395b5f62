/*
 * identity.c
 *		The application identity of a transaction, the request context read by
 *		the audit triggers, the role checks the RLS policies use, and the
 *		trigger that keeps privileged columns out of non-admin hands.
 *
 * The identity lives in backend memory, never in a GUC: SET, set_config and
 * RESET cannot touch it, so neither a session nor an SQL injection can
 * impersonate anyone.  It is established by a verified credential
 * (token.c's authenticate_key and authenticate_session, through
 * SmarthubSetIdentity) or by a trusted role (set_current_user), and it ends
 * with the transaction unless smarthub.identity_scope = session.
 *
 * Changes are transactional: each change made at subtransaction nesting
 * level L first saves the state it replaces (once per level), so rolling
 * back to a savepoint restores what was there before, and a top-level
 * ROLLBACK in session scope restores the identity the transaction began with.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "smarthub.h"

/* smarthub.identity_scope */
typedef enum IdentityScope
{
	IDENTITY_SCOPE_TRANSACTION,
	IDENTITY_SCOPE_SESSION
} IdentityScope;

static const struct config_enum_entry identity_scope_options[] = {
	{"transaction", IDENTITY_SCOPE_TRANSACTION, false},
	{"session", IDENTITY_SCOPE_SESSION, false},
	{NULL, 0, false}
};

static int	identity_scope = IDENTITY_SCOPE_TRANSACTION;

/* What a request has established: the identity and the request context. */
typedef struct IdentityState
{
	bool		has_user;
	pg_uuid_t	user;
	bool		has_session;	/* the identity came from this session */
	pg_uuid_t	session;
	bool		has_ip;
	inet		ip;				/* a whole inet value, 4-byte header */
	char	   *user_agent;		/* in IdentityContext, or NULL */
} IdentityState;

/* The state a change at nesting level 'level' replaced. */
typedef struct SavedState
{
	int			level;
	IdentityState state;
} SavedState;

static IdentityState current;
static List *saved_states = NIL;	/* innermost level first */
static MemoryContext IdentityContext = NULL;

/*
 * Roles of the identity, cached for the backend: across statements and
 * transactions, until the identity names another user or a change to
 * smarthub.user_roles or smarthub.roles is seen.  Those tables' trigger
 * (smarthub.roles_changed) queues a relcache invalidation of the table, which
 * PostgreSQL applies here at the next command of the changing transaction,
 * and in every other backend (a hot standby's too, from the commit record)
 * when it commits; so a policy evaluated for 100,000 rows, or the same user's
 * next request, costs no query, and a revoked role is gone for the next
 * statement.  (As for any cache fed by invalidations, a transaction starting
 * within the microseconds between a change's commit and the delivery of its
 * invalidation still sees the roles from just before it.)
 */
static bool roles_valid = false;
static uint64 roles_invalidations = 0;	/* counts invalidations seen */
static Oid	roles_relids[2];	/* smarthub.user_roles, smarthub.roles */
static pg_uuid_t roles_user;
static int	roles_count = 0;
static char **roles_names = NULL;
static MemoryContext RolesContext = NULL;

static SPIPlanPtr roles_plan = NULL;
static void RolesRelcacheCallback(Datum arg, Oid relid);
static SPIPlanPtr user_plan = NULL;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* ---- state bookkeeping ---- */

static void
StateFree(IdentityState *state)
{
	if (state->user_agent != NULL)
		pfree(state->user_agent);
	state->user_agent = NULL;
}

static void
StateCopy(IdentityState *dst, const IdentityState *src)
{
	*dst = *src;
	if (src->user_agent != NULL)
		dst->user_agent = MemoryContextStrdup(IdentityContext, src->user_agent);
}

static void
StateClear(IdentityState *state)
{
	StateFree(state);
	memset(state, 0, sizeof(*state));
}

static void
DropSavedStates(void)
{
	ListCell   *lc;

	foreach(lc, saved_states)
	{
		SavedState *s = (SavedState *) lfirst(lc);

		StateFree(&s->state);
		pfree(s);
	}
	list_free(saved_states);
	saved_states = NIL;
}

/*
 * Called before every change: the first change at a nesting level keeps a
 * copy of the state it replaces, for a rollback of that level.
 */
static void
SaveBeforeChange(void)
{
	int			level = GetCurrentTransactionNestLevel();
	SavedState *top = saved_states != NIL ? (SavedState *) linitial(saved_states) : NULL;
	MemoryContext old;

	if (top != NULL && top->level >= level)
		return;
	old = MemoryContextSwitchTo(IdentityContext);
	top = palloc(sizeof(SavedState));
	top->level = level;
	StateCopy(&top->state, &current);
	saved_states = lcons(top, saved_states);
	MemoryContextSwitchTo(old);
}

/* Restore the state saved by the change at 'level' or deeper, if any. */
static void
RestoreLevel(int level)
{
	while (saved_states != NIL)
	{
		SavedState *top = (SavedState *) linitial(saved_states);

		if (top->level < level)
			break;
		StateFree(&current);
		current = top->state;	/* takes over its user_agent */
		saved_states = list_delete_first(saved_states);
		pfree(top);
	}
}

static void
ClearAll(void)
{
	DropSavedStates();
	StateClear(&current);
}

static void
IdentityXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (identity_scope == IDENTITY_SCOPE_SESSION)
				DropSavedStates();
			else
				ClearAll();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (identity_scope == IDENTITY_SCOPE_SESSION)
			{
				RestoreLevel(1);
				DropSavedStates();
			}
			else
				ClearAll();
			break;
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is finished for this session */
			ClearAll();
			break;
		default:
			break;
	}
}

static void
IdentitySubXactCallback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	SavedState *top;

	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			RestoreLevel(level);
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			if (saved_states == NIL)
				break;
			top = (SavedState *) linitial(saved_states);
			if (top->level != level)
				break;
			/* the parent level keeps its own, older copy if it has one */
			if (list_length(saved_states) > 1 &&
				((SavedState *) lsecond(saved_states))->level >= level - 1)
			{
				StateFree(&top->state);
				saved_states = list_delete_first(saved_states);
				pfree(top);
			}
			else
				top->level = level - 1;
			break;
		default:
			break;
	}
}

/*
 * DISCARD ALL resets the session to a fresh connection's state, which is
 * what a pooler relies on between clients: the identity goes, whatever the
 * scope.  Cleared after the command succeeds (it refuses to run inside a
 * transaction block).
 */
static void
IdentityProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		discard_all = IsA(parsetree, DiscardStmt) &&
		((DiscardStmt *) parsetree)->target == DISCARD_ALL;

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
	if (discard_all)
		ClearAll();
}

void
IdentityInit(void)
{
	DefineCustomEnumVariable("smarthub.identity_scope",
							 "How long an established application identity lasts.",
							 "transaction (default): it ends at COMMIT or ROLLBACK, as a "
							 "transaction-mode pooler needs; session: it lasts until "
							 "cleared, replaced or DISCARD ALL.",
							 &identity_scope,
							 IDENTITY_SCOPE_TRANSACTION,
							 identity_scope_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	IdentityContext = AllocSetContextCreate(TopMemoryContext,
											"smarthub identity",
											ALLOCSET_SMALL_SIZES);
	RolesContext = AllocSetContextCreate(TopMemoryContext,
										 "smarthub identity roles",
										 ALLOCSET_SMALL_SIZES);
	CacheRegisterRelcacheCallback(RolesRelcacheCallback, (Datum) 0);
	RegisterXactCallback(IdentityXactCallback, NULL);
	RegisterSubXactCallback(IdentitySubXactCallback, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = IdentityProcessUtility;
}

/* ---- roles ---- */

/* A change to user_roles or roles was seen (or every cache was reset). */
static void
RolesRelcacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == roles_relids[0] || relid == roles_relids[1])
	{
		roles_valid = false;
		roles_invalidations++;
	}
}

/* Load the identity's role names into the cache (one query). */
static void
LoadRoles(void)
{
	static const Oid types[1] = {UUIDOID};
	SmarthubSavedUser saved;
	Datum		values[1];
	uint64		i;
	uint64		invalidations;
	Oid			schema;

	MemoryContextReset(RolesContext);
	roles_names = NULL;
	roles_count = 0;
	roles_valid = false;

	schema = get_namespace_oid(SMARTHUB_SCHEMA, false);
	roles_relids[0] = get_relname_relid("user_roles", schema);
	roles_relids[1] = get_relname_relid("roles", schema);
	invalidations = roles_invalidations;
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	values[0] = UUIDPGetDatum(&current.user);
	SmarthubExecute(SmarthubKeepPlan(&roles_plan,
									 "SELECT r.name::pg_catalog.text"
									 "  FROM smarthub.user_roles ur"
									 "  JOIN smarthub.roles r ON r.id OPERATOR(pg_catalog.=) ur.role_id"
									 " WHERE ur.user_id OPERATOR(pg_catalog.=) $1"
									 " ORDER BY r.name COLLATE pg_catalog.\"C\"", 1, types),
					values, NULL, true, SPI_OK_SELECT);
	roles_names = MemoryContextAlloc(RolesContext, sizeof(char *) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		roles_names[i] = MemoryContextStrdup(RolesContext, name);
	}
	roles_count = (int) SPI_processed;
	SPI_finish();
	SmarthubRestoreUser(&saved);

	roles_user = current.user;
	/* an invalidation that arrived while we read leaves the result for this call only */
	roles_valid = roles_invalidations == invalidations;
}

/* Make the role cache describe the current identity; false without one. */
static bool
EnsureRoles(void)
{
	if (!SmarthubGetIdentity(NULL))
		return false;
	if (!roles_valid || memcmp(&roles_user, &current.user, sizeof(pg_uuid_t)) != 0)
		LoadRoles();
	return true;
}

/*
 * AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE FOR EACH STATEMENT on
 * smarthub.user_roles and smarthub.roles: every backend's cached roles go
 * once the change commits (relcache invalidations are transactional).
 */
PG_FUNCTION_INFO_V1(smarthub_roles_changed);
Datum
smarthub_roles_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "smarthub.roles_changed() must be called as a trigger");
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}

/* ---- shared helpers (smarthub.h) ---- */

/*
 * The identity, as the current code may see it: inside a security-restricted
 * operation (a table owner's index expressions or materialized view query
 * run for whoever started ANALYZE, REINDEX, REFRESH...) there is none, so
 * that code can neither read as the session's user through RLS nor act as
 * it.
 */
bool
SmarthubGetIdentity(pg_uuid_t *user_id)
{
	if (!current.has_user || InSecurityRestrictedOperation())
		return false;
	if (user_id != NULL)
		*user_id = current.user;
	return true;
}

void
SmarthubSetIdentity(const pg_uuid_t *user_id)
{
	SmarthubSetSessionIdentity(user_id, NULL);
}

/*
 * The identity and the session that authenticated it (NULL: none, as for an
 * API key or set_current_user), saved and restored together.
 */
void
SmarthubSetSessionIdentity(const pg_uuid_t *user_id, const pg_uuid_t *session_id)
{
	SaveBeforeChange();
	if (user_id != NULL)
	{
		current.has_user = true;
		current.user = *user_id;
	}
	else
	{
		current.has_user = false;
		memset(&current.user, 0, sizeof(pg_uuid_t));
	}
	if (user_id != NULL && session_id != NULL)
	{
		current.has_session = true;
		current.session = *session_id;
	}
	else
	{
		current.has_session = false;
		memset(&current.session, 0, sizeof(pg_uuid_t));
	}
}

/* The session that authenticated the identity, as SmarthubGetIdentity sees it. */
bool
SmarthubGetIdentitySession(pg_uuid_t *user_id, pg_uuid_t *session_id)
{
	if (!SmarthubGetIdentity(user_id) || !current.has_session)
		return false;
	*session_id = current.session;
	return true;
}

void
SmarthubGetRequestContext(Datum *ip, bool *ip_isnull, text **user_agent)
{
	if (current.has_ip)
	{
		inet	   *copy = palloc(VARSIZE(&current.ip));

		memcpy(copy, &current.ip, VARSIZE(&current.ip));
		*ip = InetPGetDatum(copy);
		*ip_isnull = false;
	}
	else
	{
		/*
		 * The connection's address, looked up once per backend: it cannot
		 * change, and the audit trigger asks for it on every row.
		 */
		static bool client_addr_known = false;
		static Datum client_addr = (Datum) 0;
		static bool client_addr_null = true;

		if (!client_addr_known)
		{
			/* inet_client_addr() is NULL on a unix socket: call it by hand */
			LOCAL_FCINFO(fcinfo, 0);
			Datum		addr;

			InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
			addr = inet_client_addr(fcinfo);
			client_addr_null = fcinfo->isnull;
			if (!client_addr_null)
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

				client_addr = datumCopy(addr, false, -1);
				MemoryContextSwitchTo(oldcxt);
			}
			client_addr_known = true;
		}
		*ip = client_addr;
		*ip_isnull = client_addr_null;
	}
	*user_agent = current.user_agent != NULL ? cstring_to_text(current.user_agent) : NULL;
}

bool
SmarthubIdentityHasRole(const char *role_name)
{
	int			i;

	if (!EnsureRoles())
		return false;
	for (i = 0; i < roles_count; i++)
		if (strcmp(roles_names[i], role_name) == 0)
			return true;
	return false;
}

void
SmarthubCheckActingFor(FunctionCallInfo fcinfo, const char *what, const pg_uuid_t *target_user)
{
	Oid			caller = SmarthubCaller(fcinfo);
	pg_uuid_t	me;

	SmarthubRefuseOnSomeoneElsesBehalf(what);
	if (SmarthubRoleIsTrusted(caller))
		return;
	if (SmarthubGetIdentity(&me))
	{
		if (target_user != NULL && memcmp(&me, target_user, sizeof(pg_uuid_t)) == 0)
			return;
		if (SmarthubIdentityHasRole("admin"))
			return;
	}
	if (target_user == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: only an admin identity or a trusted role may do this"),
				 errdetail("Role \"%s\" is not trusted and the current identity does not hold the admin role.",
						   GetUserNameFromId(caller, false)),
				 errhint("Authenticate as an admin, or use a role granted with smarthub.grant_access(role, trusted => true)."),
				 errhidestmt(true), errhidecontext(true)));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to act for another user"),
			 errdetail("Role \"%s\" is not trusted, and the current identity is neither that user nor an admin.",
					   GetUserNameFromId(caller, false)),
			 errhint("Authenticate as that user first."),
			 errhidestmt(true), errhidecontext(true)));
}

/* ---- SQL-callable functions ---- */

/* smarthub.current_user_id() RETURNS uuid */
PG_FUNCTION_INFO_V1(smarthub_current_user_id);
Datum
smarthub_current_user_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *result = palloc(sizeof(pg_uuid_t));

	if (!SmarthubGetIdentity(result))
		PG_RETURN_NULL();
	PG_RETURN_UUID_P(result);
}

/*
 * smarthub.set_current_user(user_id uuid) RETURNS void
 *
 * Impersonation for trusted service code: EXECUTE on this function is what
 * makes a role trusted.  The user must exist (P0002) and be active and not
 * soft-deleted (42501).
 */
PG_FUNCTION_INFO_V1(smarthub_set_current_user);
Datum
smarthub_set_current_user(PG_FUNCTION_ARGS)
{
	static const Oid types[1] = {UUIDOID};
	pg_uuid_t	user;
	SmarthubSavedUser saved;
	Datum		values[1];
	bool		found,
				active = false,
				isnull;

	SmarthubRefuseOnSomeoneElsesBehalf("set_current_user");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL"),
				 errhint("Use smarthub.clear_current_user() to clear the identity.")));
	user = *PG_GETARG_UUID_P(0);

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	values[0] = UUIDPGetDatum(&user);
	SmarthubExecute(SmarthubKeepPlan(&user_plan,
									 "SELECT is_active AND deleted_at IS NULL FROM smarthub.users"
									 " WHERE id OPERATOR(pg_catalog.=) $1", 1, types),
					values, NULL, true, SPI_OK_SELECT);
	found = SPI_processed == 1;
	if (found)
		active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	SmarthubRestoreUser(&saved);

	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&user))))));
	if (!active)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("user %s is inactive or deleted",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&user)))),
				 errdetail("Only an active user that is not soft-deleted can be acted for.")));
	SmarthubSetIdentity(&user);
	PG_RETURN_VOID();
}

/* smarthub.clear_current_user() RETURNS void */
PG_FUNCTION_INFO_V1(smarthub_clear_current_user);
Datum
smarthub_clear_current_user(PG_FUNCTION_ARGS)
{
	SmarthubRefuseOnSomeoneElsesBehalf("clear_current_user");
	SmarthubSetIdentity(NULL);
	PG_RETURN_VOID();
}

/* smarthub.has_role(role_name text) RETURNS boolean */
PG_FUNCTION_INFO_V1(smarthub_has_role);
Datum
smarthub_has_role(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(SmarthubIdentityHasRole(name));
}

/* smarthub.current_user_roles() RETURNS text[] (sorted; empty without identity) */
PG_FUNCTION_INFO_V1(smarthub_current_user_roles);
Datum
smarthub_current_user_roles(PG_FUNCTION_ARGS)
{
	Datum	   *elems;
	int			i;

	if (!EnsureRoles())
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	elems = palloc(sizeof(Datum) * (roles_count + 1));
	for (i = 0; i < roles_count; i++)
		elems[i] = PointerGetDatum(cstring_to_text(roles_names[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, roles_count, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * smarthub.set_request_context(ip_address inet, user_agent text) RETURNS void
 *
 * Both may be NULL: a NULL address falls back to inet_client_addr().  Scoped
 * like the identity.
 */
PG_FUNCTION_INFO_V1(smarthub_set_request_context);
Datum
smarthub_set_request_context(PG_FUNCTION_ARGS)
{
	SmarthubRefuseOnSomeoneElsesBehalf("set_request_context");
	SaveBeforeChange();
	StateFree(&current);
	current.has_ip = !PG_ARGISNULL(0);
	if (current.has_ip)
	{
		inet	   *ip = PG_GETARG_INET_P(0);

		memcpy(&current.ip, ip, Min(VARSIZE(ip), sizeof(inet)));
	}
	if (!PG_ARGISNULL(1))
		current.user_agent = MemoryContextStrdup(IdentityContext,
												 text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

/* ---- the trigger guarding privileged columns ---- */

/*
 * smarthub.protect_columns() RETURNS trigger
 *
 * BEFORE UPDATE FOR EACH ROW; its arguments name the columns only an admin
 * identity may change ("col=false": a boolean a non-admin may only set to
 * false, e.g. revoking an API key).  RLS decides which rows may be updated,
 * not which columns; column privileges are per database role, not per
 * application identity: this trigger fills the gap.  The table owner and
 * superusers pass, so the SECURITY DEFINER functions of the other modules
 * (set_password, login, revoke_api_key) are not affected.
 */
PG_FUNCTION_INFO_V1(smarthub_protect_columns);
Datum
smarthub_protect_columns(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	oldtup,
				newtup;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "protect_columns: not called by trigger manager");	/* internal error */
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		elog(ERROR, "protect_columns: must be fired BEFORE UPDATE FOR EACH ROW");	/* internal error */

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	oldtup = trigdata->tg_trigtuple;
	newtup = trigdata->tg_newtuple;

	if (superuser() || has_privs_of_role(GetUserId(), rel->rd_rel->relowner))
		return PointerGetDatum(newtup);
	if (SmarthubIdentityHasRole("admin"))
		return PointerGetDatum(newtup);

	for (i = 0; i < trigdata->tg_trigger->tgnargs; i++)
	{
		char	   *arg = pstrdup(trigdata->tg_trigger->tgargs[i]);
		char	   *eq = strchr(arg, '=');
		bool		only_false = false;
		int			attnum;
		Form_pg_attribute att;
		Datum		oldval,
					newval;
		bool		oldnull,
					newnull;

		if (eq != NULL)
		{
			if (strcmp(eq + 1, "false") != 0)
				elog(ERROR, "protect_columns: bad argument \"%s\"", arg);	/* internal error */
			*eq = '\0';
			only_false = true;
		}
		attnum = SPI_fnumber(tupdesc, arg);
		if (attnum <= 0)
			elog(ERROR, "protect_columns: no column \"%s\"", arg);	/* internal error */
		att = TupleDescAttr(tupdesc, attnum - 1);
		oldval = heap_getattr(oldtup, attnum, tupdesc, &oldnull);
		newval = heap_getattr(newtup, attnum, tupdesc, &newnull);
		if (oldnull == newnull &&
			(oldnull || datum_image_eq(oldval, newval, att->attbyval, att->attlen)))
			continue;
		if (only_false && att->atttypid == BOOLOID && !newnull && !DatumGetBool(newval))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to change column \"%s\" of table \"%s\"",
						arg, RelationGetRelationName(rel)),
				 only_false ?
				 errdetail("Without the admin role it can only be set to false.") :
				 errdetail("Only an identity holding the admin role may change it."),
				 errhint("Ask an administrator.")));
	}
	return PointerGetDatum(newtup);
}
