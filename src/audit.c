/*
 * audit.c
 *		The audit trail: smarthub.audit_trigger() and its per-table cache,
 *		enable_audit / disable_audit, the append-only guard on audit_logs,
 *		purge_audit_logs, and the DDL event trigger that keeps the audit
 *		configuration in step with column renames and drops.
 *
 * Configuration lives in the triggers' own arguments:
 *
 *		smarthub.audit_trigger(entity_type, id_column, '{excluded}', '{ignored}')
 *
 * so it travels with the trigger: pg_dump writes it with CREATE TRIGGER for
 * the user's tables, the relcache hands it to every call at no cost, and
 * CREATE OR REPLACE TRIGGER invalidates the table's relcache entry, which
 * is what invalidates our cache.  No separate table can disagree with the
 * triggers that actually fire.
 *
 * Audit rows are written by audit_writer.c, through SPI as the extension
 * owner (SmarthubBecomeOwner, as PostgreSQL's own RI triggers do):
 * application roles have no INSERT privilege on the log and its row-level
 * security must not hide the log from itself, yet the insert keeps
 * everything the executor does for us: column defaults (id, db_role, txid,
 * created_at), partition routing, every index, the foreign key to users and
 * WAL.  The trigger queues its rows, written together when the statement
 * ends (see audit_writer.c).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "catalog/pg_class.h"
#include "catalog/index.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "smarthub.h"

#define AUDIT_TRIGGER "smarthub_audit"
#define AUDIT_TRUNCATE_TRIGGER "smarthub_audit_truncate"
#define AUDIT_NARGS 4
#define AUDIT_LOGS_TRUNCATE_GUARD "audit_logs_no_truncate"
#define ENTITY_TYPE_MAX 100		/* audit_logs.entity_type is varchar(100) */

/* One audit trigger's resolved configuration, keyed by the trigger's OID. */
typedef struct AuditTable
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	bool		valid;
	MemoryContext cxt;			/* everything below lives here */
	char	   *entity_type;
	AttrNumber	id_attnum;
	int			ncols;
	SmarthubAuditColumn *cols;
} AuditTable;

static HTAB *audit_tables = NULL;

/* True only while purge_audit_logs runs its DELETE (the guard lets it through). */
static bool purge_active = false;

static const pg_uuid_t zero_uuid = {{0}};

/*
 * Relcache invalidation: the table changed (columns, triggers, owner), so
 * its entries must be rebuilt before the next use.  Only marks: an entry
 * may be in use further up the stack.
 */
static void
AuditRelcacheCallback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AuditTable *entry;

	if (audit_tables == NULL)
		return;
	hash_seq_init(&status, audit_tables);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || entry->relid == relid)
			entry->valid = false;
}

/* Type changes (ALTER TYPE, ALTER DOMAIN) may change how values render: rebuild all. */
static void
AuditTypeCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	AuditRelcacheCallback(arg, InvalidOid);
}

/* Replaced cache entries' memory, freed when the transaction that replaced them ends. */
static MemoryContext retired_cxt = NULL;

static MemoryContext
RetiredContext(void)
{
	if (retired_cxt == NULL)
		retired_cxt = AllocSetContextCreate(CacheMemoryContext, "smarthub retired audit tables",
											ALLOCSET_SMALL_SIZES);
	return retired_cxt;
}

static void
AuditXactCallback(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		 event == XACT_EVENT_PREPARE) && retired_cxt != NULL)
	{
		MemoryContextDelete(retired_cxt);
		retired_cxt = NULL;
	}
}

/*
 * Restoring a dump.  The month partitions are ordinary tables (pg_dump
 * dumps them with their rows), but their parent comes from CREATE
 * EXTENSION with its indexes: the dump's ATTACH PARTITION already builds
 * the partition's primary key and indexes, under the very names the dump
 * then creates them by, and the DDL event trigger has given it the TRUNCATE
 * guard the dump creates too.  Those statements, and only for a partition of
 * smarthub.audit_logs that already has that index or trigger, are skipped;
 * everything else runs as written.
 */
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static bool
IsAuditPartition(Oid relid)
{
	Oid			nsp = get_namespace_oid(SMARTHUB_SCHEMA, true);
	Oid			parent;

	if (!OidIsValid(relid) || !OidIsValid(nsp) || !get_rel_relispartition(relid))
		return false;
	parent = get_partition_parent(relid, true);
	return OidIsValid(parent) && parent == get_relname_relid("audit_logs", nsp);
}

/* Whether relid (a partition of the log) has an index named name attached to its parent's. */
static bool
HasAttachedIndex(Oid relid, const char *name)
{
	Oid			idx;

	if (!IsAuditPartition(relid) || name == NULL)
		return false;
	idx = get_relname_relid(name, get_rel_namespace(relid));
	return OidIsValid(idx) && IndexGetRelation(idx, true) == relid && get_rel_relispartition(idx);
}

static bool
MadeByAttach(Node *parsetree)
{
	if (IsA(parsetree, CreateTrigStmt))
	{
		CreateTrigStmt *stmt = (CreateTrigStmt *) parsetree;
		Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

		/* the TRUNCATE guard, which the event trigger gave the partition at ATTACH */
		return !stmt->replace && strcmp(stmt->trigname, AUDIT_LOGS_TRUNCATE_GUARD) == 0 &&
			IsAuditPartition(relid) && OidIsValid(get_trigger_oid(relid, stmt->trigname, true));
	}
	if (IsA(parsetree, IndexStmt))
	{
		IndexStmt  *stmt = (IndexStmt *) parsetree;

		return HasAttachedIndex(RangeVarGetRelid(stmt->relation, NoLock, true), stmt->idxname);
	}
	if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		AlterTableCmd *cmd;
		Constraint *con;

		if (stmt->objtype != OBJECT_TABLE || list_length(stmt->cmds) != 1)
			return false;
		cmd = linitial_node(AlterTableCmd, stmt->cmds);
		if (cmd->subtype != AT_AddConstraint || !IsA(cmd->def, Constraint))
			return false;
		con = (Constraint *) cmd->def;
		return con->contype == CONSTR_PRIMARY &&
			HasAttachedIndex(RangeVarGetRelid(stmt->relation, NoLock, true), con->conname);
	}
	return false;
}

static void
AuditProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (MadeByAttach(pstmt->utilityStmt))
	{
		ereport(DEBUG1,
				(errmsg_internal("smarthub: skipping a partition index that ATTACH PARTITION made already")));
		return;
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

void
AuditInit(void)
{
	CacheRegisterRelcacheCallback(AuditRelcacheCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, AuditTypeCallback, (Datum) 0);
	RegisterXactCallback(AuditXactCallback, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = AuditProcessUtility;
}

/* The names in a text[]; a NULL element is 22004, naming what the list is. */
static char **
ArrayNames(ArrayType *arr, const char *what, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **names;
	int			i;

	if (ARR_ELEMTYPE(arr) != TEXTOID)
		elog(ERROR, "expected a text array");	/* internal error */
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	names = palloc(Max(*n, 1) * sizeof(char *));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		names[i] = TextDatumGetCString(elems[i]);
	}
	return names;
}

/* Split a text[] literal (a trigger argument) into C strings. */
static char **
ParseNameArray(const char *literal, int *n)
{
	return ArrayNames(DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, (char *) literal,
															  TEXTOID, -1)),
					  "column lists", n);
}

/* The inverse: a text[] literal of n names. */
static char *
NameArrayLiteral(char **names, int n)
{
	Datum	   *elems = palloc(Max(n, 1) * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(names[i]);
	return OidOutputFunctionCall(F_ARRAY_OUT,
								 PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
																 TYPALIGN_INT)));
}

static bool
NameInList(const char *name, char **list, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* Raise 42703 for a configured column the table lacks. */
static void
CheckColumnsExist(Relation rel, char **names, int n, const char *what)
{
	int			i;

	for (i = 0; i < n; i++)
		if (SPI_fnumber(RelationGetDescr(rel), names[i]) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("%s column \"%s\" of audited table \"%s\" does not exist",
							what, names[i], RelationGetRelationName(rel)),
					 strcmp(what, "excluded") == 0 ?
					 errdetail("It may have been renamed unseen: writes are refused rather than risk showing it under another name.") : 0,
					 errhint("Run smarthub.enable_audit() again with the table's current columns.")));
}

/*
 * (Re)build an entry from the trigger's arguments and the relation's
 * current descriptor.  Errors leave the entry invalid, so they repeat.
 */
static void
BuildAuditTable(AuditTable *entry, Trigger *trigger, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;
	char	  **excluded;
	char	  **ignored;
	int			nexcluded;
	int			nignored;
	AttrNumber	idnum;
	int			i;

	if (trigger->tgnargs != AUDIT_NARGS)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.audit_trigger() needs %d arguments, trigger \"%s\" has %d",
						AUDIT_NARGS, trigger->tgname, trigger->tgnargs),
				 errhint("Create audit triggers with smarthub.enable_audit().")));

	idnum = SPI_fnumber(desc, trigger->tgargs[1]);
	if (idnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("id column \"%s\" of audited table \"%s\" does not exist",
						trigger->tgargs[1], RelationGetRelationName(rel)),
				 errhint("Run smarthub.enable_audit() again with the table's current columns.")));
	if (getBaseType(TupleDescAttr(desc, idnum - 1)->atttypid) != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("id column \"%s\" of audited table \"%s\" must be of type uuid",
						trigger->tgargs[1], RelationGetRelationName(rel))));
	excluded = ParseNameArray(trigger->tgargs[2], &nexcluded);
	ignored = ParseNameArray(trigger->tgargs[3], &nignored);
	/* fail closed: an excluded column we cannot find might be a renamed secret */
	CheckColumnsExist(rel, excluded, nexcluded, "excluded");
	CheckColumnsExist(rel, ignored, nignored, "ignored");

	/*
	 * The old columns may still be in use by an outer call of the trigger on
	 * this table (a cast to json run while rendering a row can write to the
	 * table again after an invalidation): retire them until the transaction
	 * ends rather than free them under that caller.
	 */
	if (entry->cxt != NULL)
		MemoryContextSetParent(entry->cxt, RetiredContext());
	entry->cxt = AllocSetContextCreate(CacheMemoryContext, "smarthub audit table",
									   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(entry->cxt);
	entry->relid = RelationGetRelid(rel);
	entry->entity_type = pstrdup(trigger->tgargs[0]);
	entry->id_attnum = idnum;
	entry->cols = palloc0(Max(desc->natts, 1) * sizeof(SmarthubAuditColumn));
	entry->ncols = 0;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		SmarthubAuditColumn *col;

		if (att->attisdropped)
			continue;
		col = &entry->cols[entry->ncols++];
		col->attnum = att->attnum;
		col->name = pstrdup(NameStr(att->attname));
		col->redact = NameInList(col->name, excluded, nexcluded);
		col->ignore = !col->redact && NameInList(col->name, ignored, nignored);
		col->attlen = att->attlen;
		col->attbyval = att->attbyval;
		if (!col->redact)
			SmarthubJsonTypeInit(&col->type, att->atttypid, entry->cxt);
	}
	MemoryContextSwitchTo(old);
	entry->valid = true;
}

static AuditTable *
GetAuditTable(Trigger *trigger, Relation rel)
{
	AuditTable *entry;
	bool		found;

	if (audit_tables == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AuditTable);
		ctl.hcxt = CacheMemoryContext;
		audit_tables = hash_create("smarthub audit tables", 32, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(audit_tables, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		entry->cxt = NULL;
		entry->valid = false;
		entry->relid = RelationGetRelid(rel);
	}
	if (!entry->valid)
		BuildAuditTable(entry, trigger, rel);
	return entry;
}

/*
 * smarthub.audit_trigger() RETURNS trigger
 *
 * AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW, and AFTER TRUNCATE FOR
 * EACH STATEMENT; arguments as written by enable_audit (see file header).
 */
PG_FUNCTION_INFO_V1(smarthub_audit_trigger);
Datum
smarthub_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	AuditTable *entry;
	HeapTuple	oldtup = NULL;
	HeapTuple	newtup = NULL;
	HeapTuple	idtup;
	const char *action;
	Jsonb	   *changes;
	Datum		id;
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.audit_trigger() must be called as a trigger")));
	/* rows for INSERT, UPDATE and DELETE; the statement for TRUNCATE */
	if (!TRIGGER_FIRED_AFTER(td->tg_event) ||
		(TRIGGER_FIRED_FOR_ROW(td->tg_event) != 0) == TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.audit_trigger() must be fired AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW or AFTER TRUNCATE FOR EACH STATEMENT")));

	entry = GetAuditTable(td->tg_trigger, td->tg_relation);

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		SmarthubAuditWriteForIdentity(entry->entity_type, &zero_uuid, "TRUNCATE", NULL);
		return PointerGetDatum(NULL);
	}
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		action = "CREATE";
		newtup = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		action = "UPDATE";
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}
	else
	{
		action = "DELETE";
		oldtup = td->tg_trigtuple;
	}

	changes = SmarthubJsonbRowChange(entry->cols, entry->ncols, RelationGetDescr(td->tg_relation),
									 oldtup, newtup);
	if (changes == NULL)
		return PointerGetDatum(NULL);	/* nothing audited changed */

	idtup = newtup ? newtup : oldtup;
	id = heap_getattr(idtup, entry->id_attnum, RelationGetDescr(td->tg_relation), &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("audited row of table \"%s\" has a NULL id",
						RelationGetRelationName(td->tg_relation)),
				 errdetail("The audit log needs the id column \"%s\" to identify the row.",
						   NameStr(TupleDescAttr(RelationGetDescr(td->tg_relation),
												 entry->id_attnum - 1)->attname))));
	SmarthubAuditQueue(entry->entity_type, DatumGetUUIDP(id), action, changes);
	return PointerGetDatum(NULL);
}

/* ---- management ---- */

/* The OID of one of relid's triggers named name, or InvalidOid. */
static Oid
FindTrigger(Oid relid, const char *name)
{
	return get_trigger_oid(relid, name, true);
}

/*
 * Inheritance: rows written to a child table fire the child's triggers, not
 * the parent's, yet a query of the parent shows them.  Rather than audit a
 * tree whose children silently escape, an audited table may have no
 * children: enable_audit refuses a parent, and the DDL event trigger
 * refuses a child for an audited table (0A000).  A child itself may be
 * audited.
 */
static void
RefuseInheritance(Oid parent, const char *child)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 child ? errmsg("audited table \"%s\" cannot have inheritance children", get_rel_name(parent)) :
			 errmsg("table \"%s\" has inheritance children, so it cannot be audited", get_rel_name(parent)),
			 child ? errdetail("Table \"%s\" would inherit from it, and rows written to it would not be audited.", child) :
			 errdetail("Rows written to a child table fire the child's triggers, not the parent's."),
			 errhint("Audit each child table with smarthub.enable_audit() instead; a child can be audited, a parent cannot.")));
}

/* The relation kinds enable_audit accepts, and why the others are refused. */
static void
CheckAuditable(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	const char *name = get_rel_name(relid);
	const char *hint = NULL;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (relid == SmarthubAuditLogsRelid() || IsAuditPartition(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("smarthub.audit_logs cannot be audited"),
				 errdetail("Its rows would audit themselves without end.")));
	switch (relkind)
	{
		case RELKIND_RELATION:
			return;
		case RELKIND_PARTITIONED_TABLE:
			hint = "Enable auditing on each partition.";
			break;
		case RELKIND_VIEW:
		case RELKIND_MATVIEW:
			hint = "Audit the tables the view reads from.";
			break;
		case RELKIND_FOREIGN_TABLE:
			hint = "Audit the table on the remote server.";
			break;
		default:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("\"%s\" is not a table", name),
			 errdetail("smarthub audits ordinary tables only (not views, materialized views, sequences, partitioned tables or foreign tables)."),
			 hint ? errhint("%s", hint) : 0));
}

static void
CheckOwner(Oid relid)
{
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
}

/* Run one utility statement through SPI (inside an open SPI connection). */
static void
ExecDDL(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));	/* internal error */
}

/*
 * Create or replace both audit triggers of relid.  Run as the owner of
 * audit_logs (the extension's superuser owner): EXECUTE on the trigger
 * function is not granted to PUBLIC, so a table owner could not name it.
 */
static void
InstallTriggers(Oid relid, const char *entity_type, const char *id_column,
				char **excluded, int nexcluded, char **ignored, int nignored)
{
	char	   *table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												   get_rel_name(relid));
	char	   *args = psprintf("%s, %s, %s, %s",
								quote_literal_cstr(entity_type),
								quote_literal_cstr(id_column),
								quote_literal_cstr(NameArrayLiteral(excluded, nexcluded)),
								quote_literal_cstr(NameArrayLiteral(ignored, nignored)));
	SmarthubSavedUser saved;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	ExecDDL(psprintf("CREATE OR REPLACE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s"
					 " FOR EACH ROW EXECUTE FUNCTION smarthub.audit_trigger(%s)",
					 AUDIT_TRIGGER, table, args));
	ExecDDL(psprintf("CREATE OR REPLACE TRIGGER %s AFTER TRUNCATE ON %s"
					 " FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_trigger(%s)",
					 AUDIT_TRUNCATE_TRIGGER, table, args));
	SPI_finish();
	SmarthubRestoreUser(&saved);
}

/*
 * One entity type belongs to one table, so entity_history(type, id) shows
 * that table's rows and no forgery of another's: the names of smarthub's
 * own relations are reserved for them (42939), and a type another audited
 * table has is refused (42710).  A transaction-level advisory lock on the
 * type keeps two concurrent enable_audit calls from both taking it.
 */
static void
CheckEntityTypeFree(Oid relid, const char *entity_type)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {OIDOID, TEXTOID};
	Oid			schema = get_namespace_oid(SMARTHUB_SCHEMA, false);
	Oid			own = get_relname_relid(entity_type, schema);
	Datum		args[2];
	SmarthubSavedUser saved;
	char	   *other = NULL;

	if (OidIsValid(own) && own != relid)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("entity type \"%s\" is reserved for smarthub.%s", entity_type, entity_type),
				 errhint("Pass another entity_type to enable_audit.")));

	DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum((int32) schema),
						Int32GetDatum((int32) hash_bytes((const unsigned char *) entity_type,
														 strlen(entity_type))));
	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(entity_type);
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	SmarthubExecute(SmarthubKeepPlan(&plan,
									 "SELECT t.tgrelid::pg_catalog.regclass::pg_catalog.text"
									 "  FROM pg_catalog.pg_trigger t"
									 " WHERE t.tgname OPERATOR(pg_catalog.=) '" AUDIT_TRIGGER "'"
									 "   AND t.tgfoid OPERATOR(pg_catalog.=) 'smarthub.audit_trigger()'::pg_catalog.regprocedure"
									 "   AND t.tgrelid OPERATOR(pg_catalog.<>) $1"
									 "   AND (smarthub.audit_trigger_arguments(t.tgargs))[1] OPERATOR(pg_catalog.=) $2"
									 " LIMIT 1", 2, types),
					args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
		other = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_finish();
	SmarthubRestoreUser(&saved);
	if (other != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("entity type \"%s\" is already audited on another table", entity_type),
				 errdetail("Table %s records its audit rows under that entity type.", other),
				 errhint("Pass another entity_type to enable_audit.")));
}

/* Names from a text[] argument; NULL array or element → 22004. */
static char **
ArgNames(FunctionCallInfo fcinfo, int argno, const char *argname, int *n)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname),
				 errhint("Pass '{}' for no columns.")));
	return ArrayNames(PG_GETARG_ARRAYTYPE_P(argno), argname, n);
}

/* A user column of relid (not dropped, not a system column), or 42703. */
static AttrNumber
UserColumn(Oid relid, const char *name, const char *what)
{
	AttrNumber	attnum = get_attnum(relid, name);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" of table \"%s\" does not exist",
						what, name, get_rel_name(relid))));
	return attnum;
}

/*
 * smarthub.enable_audit(target regclass, excluded_columns text[] DEFAULT '{}',
 *     ignored_columns text[] DEFAULT '{updated_at}', entity_type text DEFAULT NULL,
 *     id_column name DEFAULT 'id') RETURNS void
 */
PG_FUNCTION_INFO_V1(smarthub_enable_audit);
Datum
smarthub_enable_audit(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	  **excluded;
	char	  **ignored;
	char	  **kept;
	int			nexcluded;
	int			nignored;
	int			nkept = 0;
	bool		default_ignored;
	char	   *entity_type;
	char	   *id_column;
	AttrNumber	idnum;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL")));
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("id_column must not be NULL")));
	relid = PG_GETARG_OID(0);
	CheckAuditable(relid);
	CheckOwner(relid);
	if (find_inheritance_children(relid, NoLock) != NIL)
		RefuseInheritance(relid, NULL);

	id_column = NameStr(*PG_GETARG_NAME(4));
	idnum = UserColumn(relid, id_column, "id");
	if (getBaseType(get_atttype(relid, idnum)) != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("id column \"%s\" of table \"%s\" is of type %s, not uuid",
						id_column, get_rel_name(relid), format_type_be(get_atttype(relid, idnum))),
				 errhint("Pass the name of the table's uuid key as id_column.")));

	excluded = ArgNames(fcinfo, 1, "excluded_columns", &nexcluded);
	for (i = 0; i < nexcluded; i++)
		UserColumn(relid, excluded[i], "excluded");

	/*
	 * The default {updated_at} is skipped on a table without that column; a
	 * list the caller writes must name existing columns.  A column both
	 * excluded and ignored is excluded (its value never shows).
	 */
	ignored = ArgNames(fcinfo, 2, "ignored_columns", &nignored);
	default_ignored = nignored == 1 && strcmp(ignored[0], "updated_at") == 0;
	kept = palloc(Max(nignored, 1) * sizeof(char *));
	for (i = 0; i < nignored; i++)
	{
		if (default_ignored && get_attnum(relid, ignored[i]) <= 0)
			continue;
		UserColumn(relid, ignored[i], "ignored");
		if (!NameInList(ignored[i], excluded, nexcluded))
			kept[nkept++] = ignored[i];
	}

	entity_type = PG_ARGISNULL(3) ? get_rel_name(relid) : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (entity_type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entity_type must not be empty")));
	if (pg_mbstrlen(entity_type) > ENTITY_TYPE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("entity_type must be at most %d characters", ENTITY_TYPE_MAX)));
	CheckEntityTypeFree(relid, entity_type);

	InstallTriggers(relid, entity_type, id_column, excluded, nexcluded, kept, nkept);
	PG_RETURN_VOID();
}

/* smarthub.disable_audit(target regclass) RETURNS void */
PG_FUNCTION_INFO_V1(smarthub_disable_audit);
Datum
smarthub_disable_audit(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *table;
	SmarthubSavedUser saved;

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	CheckOwner(relid);
	if (!OidIsValid(FindTrigger(relid, AUDIT_TRIGGER)) &&
		!OidIsValid(FindTrigger(relid, AUDIT_TRUNCATE_TRIGGER)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table \"%s\" is not audited", get_rel_name(relid))));

	table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									   get_rel_name(relid));
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (OidIsValid(FindTrigger(relid, AUDIT_TRIGGER)))
		ExecDDL(psprintf("DROP TRIGGER %s ON %s", AUDIT_TRIGGER, table));
	if (OidIsValid(FindTrigger(relid, AUDIT_TRUNCATE_TRIGGER)))
		ExecDDL(psprintf("DROP TRIGGER %s ON %s", AUDIT_TRUNCATE_TRIGGER, table));
	SPI_finish();
	SmarthubRestoreUser(&saved);
	PG_RETURN_VOID();
}

/*
 * smarthub.audit_trigger_arguments(tgargs bytea) RETURNS text[]
 *
 * pg_trigger.tgargs split at its NUL separators, for the audited_tables
 * view (SQL cannot split a bytea holding NULs without mangling UTF-8).
 */
PG_FUNCTION_INFO_V1(smarthub_audit_trigger_arguments);
Datum
smarthub_audit_trigger_arguments(PG_FUNCTION_ARGS)
{
	bytea	   *args = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(args);
	const char *end = p + VARSIZE_ANY_EXHDR(args);
	Datum	   *elems = palloc(Max(end - p, 1) * sizeof(Datum));
	int			n = 0;

	while (p < end)
	{
		const char *nul = memchr(p, '\0', end - p);
		int			len = nul ? nul - p : end - p;

		elems[n++] = PointerGetDatum(cstring_to_text_with_len(p, len));
		p += len + 1;
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* ---- keeping the configuration in step with ALTER TABLE and ALTER TYPE ---- */

/*
 * After a command that changed columns of relid: an audit trigger whose
 * configuration names a column the table no longer has follows a rename
 * (old → new).  An excluded column is never forgotten here, whatever
 * happened to it: a name we cannot find may be a secret renamed while event
 * triggers did not fire, and BuildAuditTable then refuses every write
 * (42703) until enable_audit is run again.  Only an ignored column that is
 * gone is forgotten: ignoring decides what UPDATE diffs leave out, not what
 * they hide.
 */
static void
ResyncTrigger(Oid relid, char **args, const char *oldname, const char *newname)
{
	char	  **lists[2];
	int			n[2];
	int			k;
	int			i;
	bool		changed = false;
	const char *id_column = args[1];
	bool		renamed = oldname != NULL && get_attnum(relid, oldname) <= 0 &&
		get_attnum(relid, newname) > 0;

	lists[0] = ParseNameArray(args[2], &n[0]);
	lists[1] = ParseNameArray(args[3], &n[1]);
	for (k = 0; k < 2; k++)
	{
		int			kept = 0;

		for (i = 0; i < n[k]; i++)
		{
			char	   *name = lists[k][i];

			if (get_attnum(relid, name) <= 0)
			{
				if (renamed && strcmp(name, oldname) == 0)
				{
					name = pstrdup(newname);
					changed = true;
				}
				else if (k == 1)
				{
					changed = true;
					continue;	/* an ignored column that is gone */
				}
			}
			lists[k][kept++] = name;
		}
		n[k] = kept;
	}
	if (renamed && strcmp(id_column, oldname) == 0)
	{
		id_column = newname;
		changed = true;
	}
	if (changed)
		InstallTriggers(relid, args[0], id_column, lists[0], n[0], lists[1], n[1]);
}

/*
 * A new partition of audit_logs, however it was made (create_audit_partitions,
 * CREATE TABLE ... PARTITION OF, ATTACH PARTITION), gets the TRUNCATE guard:
 * statement triggers are not cloned to partitions, and TRUNCATE of a
 * partition fires only its own.
 */
static void
GuardPartition(RangeVar *partition)
{
	Oid			relid = RangeVarGetRelid(partition, NoLock, false);
	char	   *table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												   get_rel_name(relid));
	SmarthubSavedUser saved;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	ExecDDL(psprintf("CREATE OR REPLACE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON %s"
					 " FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_logs_guard()", table));
	ExecDDL(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_logs_no_truncate", table));
	SPI_finish();
	SmarthubRestoreUser(&saved);
}

/* After CREATE TABLE ... INHERITS or ALTER TABLE ... INHERIT: parent must not be audited. */
static void
RefuseAuditedParent(RangeVar *parent, const char *child)
{
	Oid			relid = RangeVarGetRelid(parent, NoLock, true);

	if (OidIsValid(relid) && OidIsValid(FindTrigger(relid, AUDIT_TRIGGER)))
		RefuseInheritance(relid, child);
}

/* relid and every table that inherits from it. */
static List *
WithInheritors(Oid relid)
{
	return OidIsValid(relid) ? find_all_inheritors(relid, NoLock, NULL) : NIL;
}

/* The typed tables of the composite type whose relation is typrelid, with their inheritors. */
static List *
TypedTables(Oid typrelid)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {OIDOID};
	Oid			typid = OidIsValid(typrelid) ? get_rel_type_id(typrelid) : InvalidOid;
	Datum		arg = ObjectIdGetDatum(typid);
	MemoryContext caller = CurrentMemoryContext;
	List	   *tables = NIL;
	List	   *result = NIL;
	ListCell   *lc;
	uint64		i;

	if (!OidIsValid(typid))
		return NIL;
	SmarthubSpiConnect();
	SmarthubExecute(SmarthubKeepPlan(&plan,
									 "SELECT c.oid FROM pg_catalog.pg_class c"
									 " WHERE c.reloftype OPERATOR(pg_catalog.=) $1",
									 1, types),
					&arg, NULL, true, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			table = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(caller);

		tables = lappend_oid(tables, table);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	foreach(lc, tables)
		result = list_concat(result, WithInheritors(lfirst_oid(lc)));
	return result;
}

/*
 * smarthub.audit_ddl() RETURNS event_trigger
 *
 * ddl_command_end for CREATE TABLE (only to refuse a child for an audited
 * table, see RefuseInheritance), ALTER TABLE and ALTER TYPE: re-synchronises the audit
 * triggers of the tables the command changed, and of no other: the table
 * named (with the tables inheriting from it, which a column rename or drop
 * recurses to), or the typed tables of the type named (ALTER TYPE ...
 * RENAME ATTRIBUTE / DROP ATTRIBUTE ... CASCADE).
 */
PG_FUNCTION_INFO_V1(smarthub_audit_ddl);
Datum
smarthub_audit_ddl(PG_FUNCTION_ARGS)
{
	EventTriggerData *ev;
	const char *oldname = NULL;
	const char *newname = NULL;
	List	   *changed;
	Datum	   *elems;
	ListCell   *lc;
	int			nchanged = 0;
	Datum		arg;
	uint64		i;
	uint64		ntriggers;
	Oid		   *relids;
	char	 ***args;
	SmarthubSavedUser saved;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.audit_ddl() must be called as an event trigger")));
	ev = (EventTriggerData *) fcinfo->context;
	if (IsA(ev->parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) ev->parsetree;
		Oid			relid;

		if (stmt->renameType != OBJECT_COLUMN && stmt->renameType != OBJECT_ATTRIBUTE)
			PG_RETURN_VOID();
		oldname = stmt->subname;
		newname = stmt->newname;
		relid = RangeVarGetRelid(stmt->relation, NoLock, true);
		changed = stmt->renameType == OBJECT_ATTRIBUTE ? TypedTables(relid) : WithInheritors(relid);
	}
	else if (IsA(ev->parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) ev->parsetree;
		Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_AddInherit)
				RefuseAuditedParent((RangeVar *) cmd->def, stmt->relation->relname);
			if (cmd->subtype == AT_AttachPartition && relid == SmarthubAuditLogsRelid())
				GuardPartition(((PartitionCmd *) cmd->def)->name);
		}
		changed = stmt->objtype == OBJECT_TYPE ? TypedTables(relid) : WithInheritors(relid);
	}
	else if (IsA(ev->parsetree, CreateStmt))
	{
		CreateStmt *stmt = (CreateStmt *) ev->parsetree;

		if (stmt->partbound == NULL)
			foreach(lc, stmt->inhRelations)
				RefuseAuditedParent(lfirst_node(RangeVar, lc), stmt->relation->relname);
		else if (list_length(stmt->inhRelations) == 1 &&
				 RangeVarGetRelid(linitial_node(RangeVar, stmt->inhRelations), NoLock, true) == SmarthubAuditLogsRelid())
			GuardPartition(stmt->relation);
		PG_RETURN_VOID();
	}
	else
		PG_RETURN_VOID();
	if (changed == NIL)
		PG_RETURN_VOID();

	/*
	 * Collect first (InstallTriggers opens its own SPI connection), as the
	 * extension owner: whoever runs ALTER TABLE fires this, and
	 * audit_trigger_arguments is not executable by PUBLIC.
	 */
	elems = palloc(list_length(changed) * sizeof(Datum));
	foreach(lc, changed)
		elems[nchanged++] = ObjectIdGetDatum(lfirst_oid(lc));
	arg = PointerGetDatum(construct_array(elems, nchanged, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	{
		static SPIPlanPtr plan = NULL;
		static const Oid types[1] = {OIDARRAYOID};

		SmarthubExecute(SmarthubKeepPlan(&plan,
										 "SELECT t.tgrelid, smarthub.audit_trigger_arguments(t.tgargs)"
										 "  FROM pg_catalog.pg_trigger t"
										 " WHERE t.tgname OPERATOR(pg_catalog.=) '" AUDIT_TRIGGER "'"
										 "   AND t.tgfoid OPERATOR(pg_catalog.=) 'smarthub.audit_trigger()'::pg_catalog.regprocedure"
										 "   AND t.tgnargs OPERATOR(pg_catalog.=) 4"
										 "   AND t.tgrelid OPERATOR(pg_catalog.=) ANY ($1)",
										 1, types),
						&arg, NULL, true, SPI_OK_SELECT);
	}
	ntriggers = SPI_processed;
	relids = SPI_palloc(Max(ntriggers, 1) * sizeof(Oid));
	args = SPI_palloc(Max(ntriggers, 1) * sizeof(char **));
	for (i = 0; i < ntriggers; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		ArrayType  *arr;
		Datum	   *targs;
		int			n;
		int			j;

		relids[i] = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		arr = DatumGetArrayTypeP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &targs, NULL, &n);
		args[i] = SPI_palloc(AUDIT_NARGS * sizeof(char *));
		for (j = 0; j < AUDIT_NARGS; j++)
		{
			char	   *s = TextDatumGetCString(targs[j]);

			args[i][j] = SPI_palloc(strlen(s) + 1);
			strcpy(args[i][j], s);
		}
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);

	for (i = 0; i < ntriggers; i++)
	{
		CHECK_FOR_INTERRUPTS();
		ResyncTrigger(relids[i], args[i], oldname, newname);
	}
	PG_RETURN_VOID();
}

/* ---- append-only ---- */

/*
 * Whether an UPDATE of audit_logs sets user_id to NULL and changes nothing
 * else: the shape of the foreign key's ON DELETE SET NULL.  Who may make
 * such an UPDATE is the caller's question.
 */
static bool
IsUserIdSetNull(TriggerData *td)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			user_attnum = SPI_fnumber(desc, "user_id");
	int			i;

	if (user_attnum <= 0)
		return false;
	for (i = 1; i <= desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i - 1);
		bool		oldnull;
		bool		newnull;
		Datum		oldv = heap_getattr(td->tg_trigtuple, i, desc, &oldnull);
		Datum		newv = heap_getattr(td->tg_newtuple, i, desc, &newnull);

		if (att->attisdropped)
			continue;
		if (i == user_attnum)
		{
			if (!newnull)
				return false;
			continue;
		}
		if (oldnull != newnull ||
			(!oldnull && !datum_image_eq(oldv, newv, att->attbyval, att->attlen)))
			return false;
	}
	return true;
}

/*
 * Whether the row change being guarded is one that a logical replication
 * subscription applies from its publisher: this process is a logical
 * replication worker (apply, table synchronisation or parallel apply), and
 * the guard fires for the replicated change itself (trigger depth 1), not
 * for a statement that a trigger on another replicated table runs in the
 * worker.
 */
static bool
IsReplicatedChange(void)
{
	return IsLogicalWorker() &&
		DatumGetInt32(OidFunctionCall0(F_PG_TRIGGER_DEPTH)) == 1;
}

/*
 * smarthub.audit_logs_guard() RETURNS trigger
 *
 * BEFORE UPDATE OR DELETE FOR EACH ROW and BEFORE TRUNCATE on audit_logs,
 * ENABLE ALWAYS (so session_replication_role = replica does not skip it):
 * 42501 for every role, superusers included, except purge_audit_logs'
 * DELETE and the foreign key's ON DELETE SET NULL of user_id, recognised by
 * the no-force-RLS security context that only PostgreSQL's RI code (and
 * this file's inserts) sets.
 *
 * On a logical replication subscriber the primary's changes are applied by
 * a worker running with session_replication_role = replica, so the guard
 * fires there while RI triggers do not (an audit row whose user has no
 * users row on the subscriber is fine).  The worker must apply exactly what
 * the primary's guard let through: the SET NULL arrives as a plain UPDATE,
 * accepted when it has that shape, and purge's DELETE as a plain DELETE,
 * which cannot be told from another but needs no telling, because the
 * primary refuses every other DELETE.  Any other UPDATE, and TRUNCATE, can
 * only come from a publisher that is not a guarded smarthub primary: they
 * are refused, and the subscription stops at that change rather than make
 * the copy differ from the log; so is what a trigger of another replicated
 * table runs in the worker.  A local session on the subscriber is refused
 * as on the primary.
 */
PG_FUNCTION_INFO_V1(smarthub_audit_logs_guard);
Datum
smarthub_audit_logs_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *op;
	bool		replicated;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.audit_logs_guard() must be fired BEFORE UPDATE, DELETE or TRUNCATE")));

	replicated = TRIGGER_FIRED_FOR_ROW(td->tg_event) && IsReplicatedChange();
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		if (purge_active || replicated)
			return PointerGetDatum(td->tg_trigtuple);
		op = "DELETE";
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		if (TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
			(InNoForceRLSOperation() || replicated) && IsUserIdSetNull(td))
			return PointerGetDatum(td->tg_newtuple);
		op = "UPDATE";
	}
	else if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		op = "TRUNCATE";
	else
		op = "INSERT";
	if (IsLogicalWorker())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("smarthub.audit_logs is append-only"),
				 errdetail("Logical replication applies only the audit log changes that smarthub allows on a primary, and this %s is not one of them.", op),
				 errhint("Find what sent or ran it, then skip the transaction with ALTER SUBSCRIPTION ... SKIP.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("smarthub.audit_logs is append-only"),
			 errdetail("%s on the audit log is refused for every role, superusers included.", op),
			 errhint("Old rows are removed with smarthub.purge_audit_logs().")));
	PG_RETURN_NULL();			/* keep the compiler quiet */
}

/*
 * Retention by the month: drop every month partition of audit_logs whose
 * upper bound lies at or before the cutoff (a version-7 id is made at or
 * after its row's created_at, so all its rows are older) and return how many
 * rows they held.  With the audit chain (prune not NULL), a partition goes
 * only when no block that stays has a row in it (every id of those blocks is
 * at or above kept_from) and no row in it waits to be sealed.  Inside the
 * caller's SPI connection, as the owner.  A 1.0 database on this library has
 * no partitions: nothing to drop.
 */
static pg_noinline uint64
DropOldPartitions(Interval *older_than, const SmarthubPrune *prune)
{
	Oid			types[2] = {INTERVALOID, UUIDOID};
	Datum		args[2] = {IntervalPGetDatum(older_than), (Datum) 0};
	char		nulls[2] = {' ', 'n'};
	char	  **names;
	uint64		n;
	uint64		i;
	uint64		rows = 0;

	if (get_rel_relkind(SmarthubAuditLogsRelid()) != RELKIND_PARTITIONED_TABLE)
		return 0;
	if (prune != NULL && !prune->kept_from_null)
	{
		args[1] = prune->kept_from;
		nulls[1] = ' ';
	}
	if (SPI_execute_with_args("SELECT p.part FROM ("
							  "SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS part,"
							  "       pg_catalog.substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid),"
							  "                            'TO \\(''([0-9a-f-]+)''\\)')::pg_catalog.uuid AS upper"
							  "  FROM pg_catalog.pg_inherits i"
							  "  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid"
							  " WHERE i.inhparent OPERATOR(pg_catalog.=) 'smarthub.audit_logs'::pg_catalog.regclass) p"
							  " WHERE p.upper OPERATOR(pg_catalog.<=) smarthub.uuid_v7_bound(GREATEST("
							  "           pg_catalog.now() OPERATOR(pg_catalog.-) $1, 'epoch'::pg_catalog.timestamptz))"
							  "   AND ($2 IS NULL OR p.upper OPERATOR(pg_catalog.<=) $2)"
							  " ORDER BY 1",
							  2, types, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list audit partitions");	/* internal error */
	n = SPI_processed;
	names = palloc(Max(n, 1) * sizeof(char *));
	for (i = 0; i < n; i++)
		names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (prune != NULL)
		{
			Oid			utypes[2] = {INT8OID, INT8OID};
			Datum		uargs[2] = {Int64GetDatum(prune->self), Int64GetDatum(prune->self_sealed_below)};

			if (SPI_execute_with_args(psprintf("SELECT 1 FROM %s WHERE origin OPERATOR(pg_catalog.=) $1"
											   " AND txid OPERATOR(pg_catalog.>=) $2 LIMIT 1", names[i]),
									  2, utypes, uargs, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not check %s", names[i]);	/* internal error */
			if (SPI_processed > 0)
				continue;		/* a transaction still running wrote there */
		}
		if (SPI_execute(psprintf("SELECT pg_catalog.count(*) FROM %s", names[i]), true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not count %s", names[i]);	/* internal error */
		rows += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		ExecDDL(psprintf("DROP TABLE %s", names[i]));
	}
	return rows;
}

/* DELETE rows of audit_logs as purge_audit_logs: the guard lets this one through. */
static uint64
PurgeDelete(const char *sql, int nargs, Oid *types, Datum *values)
{
	volatile int rc = 0;

	purge_active = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		purge_active = false;
	}
	PG_END_TRY();
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "audit purge failed: %s", SPI_result_code_string(rc));	/* internal error */
	return SPI_processed;
}

/*
 * Retention with the audit chain: whole sealed blocks, those whose rows are
 * all older than the cutoff, and a purge block that records it, so that
 * verification reports pruning rather than missing rows.
 */
static uint64
PurgeBlocks(Interval *older_than)
{
	TimestampTz cutoff;
	SmarthubPrune prune;
	uint64		dropped;
	uint64		deleted;
	Oid			types[3] = {TIMESTAMPTZOID, INT8ARRAYOID, INT8ARRAYOID};
	Datum		values[3];

	cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													 IntervalPGetDatum(older_than)));
	if (!SmarthubAuditPrunePlan(cutoff, &prune))
		return 0;
	dropped = DropOldPartitions(older_than, &prune);
	values[0] = TimestampTzGetDatum(cutoff);
	values[1] = prune.origins;
	values[2] = prune.below;
	/* every row of a pruned block is older than the cutoff: created_at narrows the scan */
	deleted = PurgeDelete("DELETE FROM smarthub.audit_logs a"
						  " WHERE a.created_at OPERATOR(pg_catalog.<) $1"
						  "   AND EXISTS (SELECT FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3))"
						  "                         AS p(origin, below)"
						  "                WHERE p.origin OPERATOR(pg_catalog.=) a.origin"
						  "                  AND a.txid OPERATOR(pg_catalog.<) p.below)",
						  3, types, values);
	SmarthubAuditPruneRecord(&prune, (int64) (dropped + deleted));
	return dropped + deleted;
}

/* smarthub.purge_audit_logs(older_than interval) RETURNS bigint */
PG_FUNCTION_INFO_V1(smarthub_purge_audit_logs);
Datum
smarthub_purge_audit_logs(PG_FUNCTION_ARGS)
{
	Interval   *older_than = PG_GETARG_INTERVAL_P(0);
	Interval	zero;
	pg_uuid_t	user_id;
	SmarthubSavedUser saved;
	Oid			argtypes[1] = {INTERVALOID};
	Datum		argvalues[1];
	uint64		purged;
	uint64		dropped;
	const char *keys[2] = {"older_than", "purged"};
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Oid			types[2] = {INTERVALOID, INT8OID};

	memset(&zero, 0, sizeof(zero));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(older_than),
										  IntervalPGetDatum(&zero))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));
	if (SmarthubGetIdentity(&user_id) && !SmarthubIdentityHasRole("admin"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only an admin may purge the audit log"),
				 errdetail("The current application identity does not hold the admin role.")));

	argvalues[0] = IntervalPGetDatum(older_than);
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (SmarthubAuditChainInstalled())
		purged = PurgeBlocks(older_than);
	else
	{
		dropped = DropOldPartitions(older_than, NULL);
		purged = dropped + PurgeDelete("DELETE FROM smarthub.audit_logs"
									   " WHERE created_at OPERATOR(pg_catalog.<)"
									   " (pg_catalog.now() OPERATOR(pg_catalog.-) $1)",
									   1, argtypes, argvalues);
	}
	if (get_rel_relkind(SmarthubAuditLogsRelid()) == RELKIND_PARTITIONED_TABLE)
		(void) SPI_execute("SELECT smarthub.create_audit_partitions()", false, 0);
	SPI_finish();
	SmarthubRestoreUser(&saved);

	values[0] = IntervalPGetDatum(older_than);
	values[1] = Int64GetDatum((int64) purged);
	SmarthubAuditWriteForIdentity("audit_logs", &zero_uuid, "PURGE",
								  SmarthubJsonbObject(2, keys, values, nulls, types));
	PG_RETURN_INT64((int64) purged);
}
