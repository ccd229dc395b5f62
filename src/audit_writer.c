/*
 * audit_writer.c
 *		The one writer of audit rows: the audit trigger's rows are queued and
 *		written together when their statement ends; every other row (LOGIN,
 *		IMPERSONATE, PURGE, TRUNCATE) is written at once, after what is queued.
 *
 * Why queue: one INSERT per changed row costs a trip through SPI and the
 * executor per row; an INSERT ... SELECT FROM unnest() of up to
 * AUDIT_CHUNK_ROWS rows pays it once per chunk.
 *
 * When the statement ends: AFTER ROW triggers fire in AfterTriggerEndQuery,
 * which ExecutorFinish runs for every statement, so the ExecutorFinish hook
 * writes the queue after the statement's own triggers have fired; COPY
 * fires them itself, so the ProcessUtility hook writes after each utility
 * statement.  A trigger that fires below neither hook writes its row at
 * once; PRE_COMMIT and PRE_PREPARE write whatever is left, which should be
 * nothing.
 *
 * Exactly the surviving changes: a row is queued only when its change's
 * statement has completed, as an AFTER ROW trigger fires only then, and is
 * tagged with the subtransaction it was queued in.  An aborting
 * subtransaction drops its rows from the queue (the changes are undone with
 * it; rows already written are undone with it too).  The queue is written
 * only while the current subtransaction is the oldest it holds rows of: an
 * outer statement's rows written inside a subtransaction that later rolls
 * back would be undone while their changes survive.  Rows wait instead and
 * keep their place, so the log's order stays the order of the changes.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "smarthub.h"

/* Rows per INSERT; also how many a statement queues before writing some. */
#define AUDIT_CHUNK_ROWS 1000

/*
 * Consecutive queued rows that share everything but entity_id and changes:
 * one statement's rows, as a rule.  Lives in queue_cxt.
 */
typedef struct AuditRun
{
	struct AuditRun *next;
	SubTransactionId subxid;
	const char *entity_type;
	const char *action;
	bool		has_actor;
	pg_uuid_t	actor;
	Datum		ip;
	bool		ip_isnull;
	text	   *user_agent;
	Oid			db_role;
	int			nrows;
	int			maxrows;
	Datum	   *entity_ids;
	Datum	   *changes;		/* NULL datum: no changes (TRUNCATE) */
	bool	   *changes_null;
} AuditRun;

/* The queue of this transaction (its memory is a child of TopTransactionContext). */
static MemoryContext queue_cxt = NULL;
static AuditRun *queue_head = NULL;
static AuditRun *queue_tail = NULL;
static int	queue_rows = 0;

/* smarthub.audit_logs' OID, looked up once (0 = not yet), and whether it has actor_id. */
static Oid	audit_logs_relid = InvalidOid;
static bool audit_logs_has_actor;

/* One row, many rows; and the single-row insert for a database still at 1.0 (no actor_id). */
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr insert_many_plan = NULL;
static SPIPlanPtr insert_plan_1_0 = NULL;

static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * How many of our hooks are running below which triggers may fire: each
 * writes the queue when it returns.  Zero when a trigger fires anywhere
 * else (in the very statement that loaded this library, whose executor end
 * began before the hook existed, or in a logical replication worker):
 * then the row is written at once.
 */
static int	flush_points = 0;

Oid
SmarthubAuditLogsRelid(void)
{
	if (!OidIsValid(audit_logs_relid))
	{
		audit_logs_relid = get_relname_relid("audit_logs", get_namespace_oid(SMARTHUB_SCHEMA, false));
		if (!OidIsValid(audit_logs_relid))
			elog(ERROR, "relation smarthub.audit_logs does not exist");	/* internal error */
		audit_logs_has_actor = get_attnum(audit_logs_relid, "actor_id") > 0;
	}
	return audit_logs_relid;
}

static void
WriterRelcacheCallback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == audit_logs_relid)
		audit_logs_relid = InvalidOid;
}

/* Whether two varlena values (or NULLs) are the same bytes. */
static bool
SameVarlena(Datum a, bool anull, Datum b, bool bnull)
{
	if (anull || bnull)
		return anull == bnull;
	return datum_image_eq(a, b, false, -1);
}

/*
 * Queue one audit row: the run at the tail takes it when everything but
 * entity_id and changes is the same, else a new run does.  Copies what it
 * keeps into the queue's memory.
 */
static void
Enqueue(const char *entity_type, const pg_uuid_t *entity_id, const char *action,
		Jsonb *changes, const pg_uuid_t *actor, Datum ip, bool ip_isnull, text *user_agent)
{
	SubTransactionId subxid = GetCurrentSubTransactionId();
	Oid			role = InSecurityRestrictedOperation() ? GetUserId() : GetSessionUserId();
	AuditRun   *run = queue_tail;
	MemoryContext oldcxt;
	pg_uuid_t  *id;

	if (queue_cxt == NULL)
		queue_cxt = AllocSetContextCreate(TopTransactionContext, "smarthub audit queue",
										  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(queue_cxt);
	if (run == NULL || run->subxid != subxid || run->db_role != role ||
		strcmp(run->entity_type, entity_type) != 0 || strcmp(run->action, action) != 0 ||
		run->has_actor != (actor != NULL) ||
		(actor != NULL && memcmp(&run->actor, actor, sizeof(pg_uuid_t)) != 0) ||
		!SameVarlena(run->ip, run->ip_isnull, ip, ip_isnull) ||
		!SameVarlena(PointerGetDatum(run->user_agent), run->user_agent == NULL,
					 PointerGetDatum(user_agent), user_agent == NULL))
	{
		run = palloc0(sizeof(AuditRun));
		run->subxid = subxid;
		run->entity_type = pstrdup(entity_type);
		run->action = pstrdup(action);
		run->has_actor = actor != NULL;
		if (actor != NULL)
			run->actor = *actor;
		run->ip_isnull = ip_isnull;
		run->ip = ip_isnull ? (Datum) 0 : datumCopy(ip, false, -1);
		run->user_agent = user_agent ? (text *) datumCopy(PointerGetDatum(user_agent), false, -1) : NULL;
		run->db_role = role;
		run->maxrows = 8;
		run->entity_ids = palloc(run->maxrows * sizeof(Datum));
		run->changes = palloc(run->maxrows * sizeof(Datum));
		run->changes_null = palloc(run->maxrows * sizeof(bool));
		if (queue_tail)
			queue_tail->next = run;
		else
			queue_head = run;
		queue_tail = run;
	}
	else if (run->nrows == run->maxrows)
	{
		run->maxrows *= 2;
		run->entity_ids = repalloc(run->entity_ids, run->maxrows * sizeof(Datum));
		run->changes = repalloc(run->changes, run->maxrows * sizeof(Datum));
		run->changes_null = repalloc(run->changes_null, run->maxrows * sizeof(bool));
	}
	id = palloc(sizeof(pg_uuid_t));
	*id = *entity_id;
	run->entity_ids[run->nrows] = UUIDPGetDatum(id);
	run->changes_null[run->nrows] = changes == NULL;
	run->changes[run->nrows] = changes ? datumCopy(JsonbPGetDatum(changes), false, -1) : (Datum) 0;
	run->nrows++;
	queue_rows++;
	MemoryContextSwitchTo(oldcxt);
}

/* The run's scalar parameters, as both inserts number them ($1, $3, $5..$8). */
static void
RunParams(const AuditRun *run, Datum *values, char *nulls)
{
	values[0] = CStringGetTextDatum(run->entity_type);
	values[2] = CStringGetTextDatum(run->action);
	values[4] = run->ip;
	nulls[4] = run->ip_isnull ? 'n' : ' ';
	values[5] = PointerGetDatum(run->user_agent);
	nulls[5] = run->user_agent ? ' ' : 'n';
	values[6] = UUIDPGetDatum(&run->actor);
	nulls[6] = run->has_actor ? ' ' : 'n';
	values[7] = CStringGetTextDatum(GetUserNameFromId(run->db_role, false));
}

/*
 * user_id goes through a FOR KEY SHARE sub-select: NULL when that user no
 * longer exists (a user deleting their own account, whose row our own
 * statement just removed), and locked against concurrent deletion until the
 * foreign key check.  actor_id keeps the id whatever becomes of the user.
 */
#define USER_ID_OF_ACTOR \
	"(SELECT u.id FROM smarthub.users u WHERE u.id OPERATOR(pg_catalog.=) $7 FOR KEY SHARE)"

static void
WriteOne(const AuditRun *run, int i)
{
	static const Oid types[8] = {TEXTOID, UUIDOID, TEXTOID, JSONBOID, INETOID, TEXTOID,
	UUIDOID, TEXTOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	RunParams(run, values, nulls);
	values[1] = run->entity_ids[i];
	values[3] = run->changes[i];
	nulls[3] = run->changes_null[i] ? 'n' : ' ';
	if (audit_logs_has_actor)
		SmarthubExecute(SmarthubKeepPlan(&insert_plan,
										 "INSERT INTO smarthub.audit_logs"
										 " (user_id, entity_type, entity_id, action, changes, ip_address,"
										 "  user_agent, actor_id, db_role)"
										 " VALUES (" USER_ID_OF_ACTOR ", $1, $2, $3, $4, $5, $6, $7, $8)",
										 8, types),
						values, nulls, false, SPI_OK_INSERT);
	else
		SmarthubExecute(SmarthubKeepPlan(&insert_plan_1_0,
										 "INSERT INTO smarthub.audit_logs"
										 " (user_id, entity_type, entity_id, action, changes, ip_address,"
										 "  user_agent, db_role)"
										 " VALUES (" USER_ID_OF_ACTOR ", $1, $2, $3, $4, $5, $6, $8)",
										 8, types),
						values, nulls, false, SPI_OK_INSERT);
}

/* Rows [from, from + n) of a run, in their order (unnest keeps it; so do the v7 ids). */
static void
WriteMany(const AuditRun *run, int from, int n)
{
	static const Oid types[8] = {TEXTOID, UUIDARRAYOID, TEXTOID, JSONBARRAYOID, INETOID, TEXTOID,
	UUIDOID, TEXTOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			dims[1] = {n};
	int			lbs[1] = {1};

	RunParams(run, values, nulls);
	values[1] = PointerGetDatum(construct_array(run->entity_ids + from, n, UUIDOID,
												UUID_LEN, false, TYPALIGN_CHAR));
	values[3] = PointerGetDatum(construct_md_array(run->changes + from, run->changes_null + from,
												   1, dims, lbs, JSONBOID, -1, false, TYPALIGN_INT));
	SmarthubExecute(SmarthubKeepPlan(&insert_many_plan,
									 "INSERT INTO smarthub.audit_logs"
									 " (user_id, entity_type, entity_id, action, changes, ip_address,"
									 "  user_agent, actor_id, db_role)"
									 " SELECT " USER_ID_OF_ACTOR ", $1, r.entity_id, $3, r.changes,"
									 "        $5, $6, $7, $8"
									 "   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($4)) AS r(entity_id, changes)",
									 8, types),
					values, nulls, false, SPI_OK_INSERT);
	pfree(DatumGetPointer(values[1]));
	pfree(DatumGetPointer(values[3]));
}

/*
 * Write the queue, when the current subtransaction may: every queued row
 * must belong to it or to a subtransaction of it that committed (their ids
 * are larger).  Parallel mode forbids writes; the rows wait for the leader
 * to leave it.
 */
static void
FlushQueue(void)
{
	AuditRun   *run;
	AuditRun   *head = queue_head;
	MemoryContext cxt = queue_cxt;
	SubTransactionId current = GetCurrentSubTransactionId();
	SmarthubSavedUser saved;
	bool		snapshot_pushed = false;

	if (head == NULL || IsInParallelMode())
		return;
	for (run = head; run; run = run->next)
		if (run->subxid < current)
			return;
	/* detach first: the inserts' own triggers may queue rows of their own */
	queue_head = queue_tail = NULL;
	queue_rows = 0;
	queue_cxt = NULL;

	(void) SmarthubAuditLogsRelid();
	/* at PRE_COMMIT, as AfterTriggerFireDeferred does */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_pushed = true;
	}
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	for (run = head; run; run = run->next)
	{
		int			i;

		if (run->nrows == 1 || !audit_logs_has_actor)
			for (i = 0; i < run->nrows; i++)
				WriteOne(run, i);
		else
			for (i = 0; i < run->nrows; i += AUDIT_CHUNK_ROWS)
			{
				CHECK_FOR_INTERRUPTS();
				WriteMany(run, i, Min(AUDIT_CHUNK_ROWS, run->nrows - i));
			}
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (snapshot_pushed)
		PopActiveSnapshot();
	MemoryContextDelete(cxt);
}

void
SmarthubAuditQueue(const char *entity_type, const pg_uuid_t *entity_id,
				   const char *action, Jsonb *changes)
{
	pg_uuid_t	user_id;
	bool		has_user = SmarthubGetIdentity(&user_id);
	Datum		ip;
	bool		ip_isnull;
	text	   *user_agent;

	SmarthubGetRequestContext(&ip, &ip_isnull, &user_agent);
	Enqueue(entity_type, entity_id, action, changes, has_user ? &user_id : NULL,
			ip, ip_isnull, user_agent);
	if (flush_points == 0 || queue_rows >= AUDIT_CHUNK_ROWS)
		FlushQueue();
}

void
SmarthubAuditWrite(const char *entity_type, const pg_uuid_t *entity_id, const char *action,
				   Jsonb *changes, const pg_uuid_t *actor, Datum ip, bool ip_isnull,
				   text *user_agent)
{
	Enqueue(entity_type, entity_id, action, changes, actor, ip, ip_isnull, user_agent);
	FlushQueue();
}

void
SmarthubAuditWriteForIdentity(const char *entity_type, const pg_uuid_t *entity_id,
							  const char *action, Jsonb *changes)
{
	SmarthubAuditQueue(entity_type, entity_id, action, changes);
	FlushQueue();
}

/* ---- when statements, subtransactions and transactions end ---- */

static void
WriterExecutorFinish(QueryDesc *queryDesc)
{
	flush_points++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		flush_points--;
	}
	PG_END_TRY();
	if (queue_head != NULL)
		FlushQueue();
}

static void
WriterProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	flush_points++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		flush_points--;
	}
	PG_END_TRY();
	if (queue_head != NULL && IsTransactionState())
		FlushQueue();
}

static void
WriterXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			FlushQueue();
			if (queue_head != NULL)
				elog(ERROR, "audit rows left unwritten at commit");	/* internal error */
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			queue_cxt = NULL;
			queue_head = queue_tail = NULL;
			queue_rows = 0;
			break;
		default:
			break;
	}
}

/*
 * Rows queued in the aborting subtransaction or its children form the tail
 * of the queue (their ids are the largest): drop them.  Their memory stays
 * until the transaction ends.
 */
static void
WriterSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	AuditRun   *run;
	AuditRun   *last = NULL;

	if (event != SUBXACT_EVENT_ABORT_SUB || queue_head == NULL)
		return;
	queue_rows = 0;
	for (run = queue_head; run && run->subxid < mySubid; run = run->next)
	{
		last = run;
		queue_rows += run->nrows;
	}
	if (last)
		last->next = NULL;
	else
		queue_head = NULL;
	queue_tail = last;
}

void
AuditWriterInit(void)
{
	CacheRegisterRelcacheCallback(WriterRelcacheCallback, (Datum) 0);
	RegisterXactCallback(WriterXactCallback, NULL);
	RegisterSubXactCallback(WriterSubXactCallback, NULL);
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = WriterExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = WriterProcessUtility;
}
