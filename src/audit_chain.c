/*
 * audit_chain.c
 *		The verifiable audit log: audit rows sealed into hash-chained blocks
 *		(smarthub.audit_blocks), signed checkpoints of the chain's head,
 *		verification, and the background worker that seals every second.
 *
 * A block covers a set of finished transactions, not a range of ids: every
 * audit row whose origin (the system identifier of the cluster that wrote
 * it) is the block's and whose txid lies in [txid_lo, txid_hi).  Sealing
 * takes txid_hi from the oldest transaction still running (a snapshot's
 * xmin), so each block's set of rows is final once sealed: a transaction
 * that commits late has a txid at or above it and lands in a later block,
 * rolled-back rows are never visible, and a row forged into a sealed range
 * changes that block's hash.  The ranges of one origin follow each other
 * from 0, so every row below the last one belongs to exactly one block.
 * Writers never wait for the sealer, nor the sealer for them.
 *
 * Each block's hash covers its own columns, the previous block's hash and
 * the digest of each of its rows, in id order; docs/audit-chain.md gives
 * the encoding, which script/audit-verify recomputes without this code.
 * Retention removes whole blocks (purge_audit_logs, through
 * SmarthubAuditPrune*) and appends a purge block saying so; a cluster
 * change (a restore elsewhere, pg_upgrade) starts a new epoch, whose first
 * block seals what the previous cluster had not.
 */
#include "postgres.h"

#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "access/brin.h"
#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "nodes/params.h"
#include "common/base64.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/bufmgr.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "smarthub.h"

#define HASH_LEN 32
/* PostgreSQL counts microseconds from 2000-01-01; the encoding from 1970-01-01 (Unix). */
#define UNIX_EPOCH_OFFSET_US INT64CONST(946684800000000)

static const char ROW_PREFIX[] = "smarthub-audit-row-v1";
static const char BLOCK_PREFIX[] = "smarthub-audit-block-v1";
static const char CHECKPOINT_FORMAT[] = "smarthub-audit-checkpoint-v1";

/* The columns every row digest covers, in table order (docs/audit-chain.md). */
#define ROW_COLUMNS \
	"id, user_id, entity_type, entity_id, action, changes, ip_address, user_agent," \
	" created_at, db_role, txid, actor_id, origin"
#define ROW_NCOLUMNS 13

/* The columns of a block row, in table order; block_hash covers all but itself. */
#define BLOCK_COLUMNS \
	"block_no, epoch, kind, origin, txid_lo, txid_hi, first_id, last_id, row_count," \
	" newest_at, pruned_through, sealed_by, sealed_at, prev_hash, block_hash"
#define BLOCK_NCOLUMNS 15

/* ---- settings of the sealer worker ---- */
static char *seal_database = NULL;
static int	seal_interval_ms = 1000;

PGDLLEXPORT void smarthub_audit_sealer_main(Datum arg);

/* ---- the canonical encoding ---- */

/*
 * One field: 0x00 for NULL, else 0x01 and the value: integers and times as
 * 8 bytes big-endian (times in microseconds since 1970-01-01 UTC), uuids as
 * their 16 bytes, text as a 4-byte big-endian length and its bytes.  The
 * fields of one row or block header are put into enc, then hashed in one
 * call: one EVP update per field cost more than the hashing.
 */
static StringInfoData enc;		/* in TopMemoryContext, reused */
static const EVP_MD *sha256 = NULL;	/* fetched once: OpenSSL 3 looks it up on every init */

static void
EncodeBegin(const char *prefix, size_t len)
{
	if (enc.data == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&enc);
		MemoryContextSwitchTo(oldcxt);
	}
	resetStringInfo(&enc);
	appendBinaryStringInfo(&enc, prefix, len);
}

static void
PutNull(void)
{
	appendStringInfoCharMacro(&enc, 0);
}

static void
PutInt64(int64 v)
{
	uint8		buf[9];

	buf[0] = 1;
	for (int i = 0; i < 8; i++)
		buf[1 + i] = (uint8) ((uint64) v >> (56 - 8 * i));
	appendBinaryStringInfo(&enc, (const char *) buf, sizeof(buf));
}

static void
PutTime(TimestampTz t)
{
	PutInt64(t + UNIX_EPOCH_OFFSET_US);
}

static void
PutUuid(const pg_uuid_t *u)
{
	appendStringInfoCharMacro(&enc, 1);
	appendBinaryStringInfo(&enc, (const char *) u->data, UUID_LEN);
}

/* The length of bytes appended since start, into the 4 bytes before them. */
static void
PatchLength(int start)
{
	uint32		len = (uint32) (enc.len - start);
	uint8	   *p = (uint8 *) enc.data + start - 4;

	p[0] = (uint8) (len >> 24);
	p[1] = (uint8) (len >> 16);
	p[2] = (uint8) (len >> 8);
	p[3] = (uint8) len;
}

/* 0x01 and room for a length: the text follows, then PatchLength(the offset returned). */
static int
BeginBytes(void)
{
	appendBinaryStringInfo(&enc, "\001\0\0\0\0", 5);
	return enc.len;
}

static void
PutBytes(const char *p, size_t len)
{
	int			start = BeginBytes();

	appendBinaryStringInfo(&enc, p, len);
	PatchLength(start);
}

static EVP_MD_CTX *
NewDigest(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		elog(ERROR, "could not fetch SHA-256");	/* internal error */
	return ctx;
}

/* Start hashing what enc holds; more may follow with EVP_DigestUpdate. */
static void
DigestEncoded(EVP_MD_CTX *ctx)
{
	if (EVP_DigestInit_ex(ctx, sha256, NULL) != 1 ||
		EVP_DigestUpdate(ctx, enc.data, enc.len) != 1)
		elog(ERROR, "could not compute SHA-256");	/* internal error */
}

static void
DigestEnd(EVP_MD_CTX *ctx, uint8 *out)
{
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		elog(ERROR, "could not finish SHA-256");	/* internal error */
}

/* An audit row's id and digest: what its block's hash takes, in id order. */
typedef struct RowDigest
{
	pg_uuid_t	id;
	uint8		digest[HASH_LEN];
} RowDigest;

static int
RowDigestCmp(const void *a, const void *b)
{
	return memcmp(((const RowDigest *) a)->id.data, ((const RowDigest *) b)->id.data, UUID_LEN);
}

static void
PutTextDatum(Datum d)
{
	text	   *t = DatumGetTextPP(d);

	PutBytes(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/*
 * The digest of one audit row (its ROW_COLUMNS); per-row allocations go to the current
 * context.  Every column but user_id: its foreign key sets it NULL when the
 * user is deleted, which must not read as tampering.  actor_id, which
 * nothing changes, says who acted, and verification checks that user_id is
 * NULL or actor_id (rows written before 1.1 have no actor_id: their
 * user_id is not covered).
 */
static void
RowDigestCompute(EVP_MD_CTX *ctx, const Datum *values, const bool *nulls, RowDigest *out)
{
	EncodeBegin(ROW_PREFIX, sizeof(ROW_PREFIX) - 1);
	for (int i = 0; i < ROW_NCOLUMNS; i++)
	{
		Datum		d = values[i];

		if (i == 1)
			continue;
		if (nulls[i])
		{
			PutNull();
			continue;
		}
		switch (i)
		{
			case 0:				/* id */
			case 3:				/* entity_id */
			case 11:			/* actor_id */
				PutUuid(DatumGetUUIDP(d));
				break;
			case 2:				/* entity_type */
			case 4:				/* action */
			case 7:				/* user_agent */
			case 9:				/* db_role */
				PutTextDatum(d);
				break;
			case 5:				/* changes: jsonb's text output */
				{
					Jsonb	   *jb = DatumGetJsonbP(d);
					int			start = BeginBytes();

					(void) JsonbToCString(&enc, &jb->root, VARSIZE(jb));
					PatchLength(start);
					break;
				}
			case 6:				/* ip_address: inet's text output */
				{
					char	   *s = DatumGetCString(DirectFunctionCall1(inet_out, d));

					PutBytes(s, strlen(s));
					break;
				}
			case 8:				/* created_at */
				PutTime(DatumGetTimestampTz(d));
				break;
			case 10:			/* txid */
			case 12:			/* origin */
				PutInt64(DatumGetInt64(d));
				break;
		}
	}
	if (nulls[0])
		memset(out->id.data, 0, UUID_LEN);	/* id is NOT NULL: can't happen */
	else
		memcpy(out->id.data, DatumGetUUIDP(values[0])->data, UUID_LEN);
	DigestEncoded(ctx);
	DigestEnd(ctx, out->digest);
}

/* ---- blocks ---- */

typedef struct ChainBlock
{
	int64		block_no;
	int64		epoch;
	char		kind;			/* 's' seal, 'p' purge, '?' neither */
	bool		origin_null;
	int64		origin;
	bool		lo_null;
	int64		txid_lo;
	bool		hi_null;
	int64		txid_hi;
	bool		first_null;
	pg_uuid_t	first_id;
	bool		last_null;
	pg_uuid_t	last_id;
	int64		row_count;
	bool		newest_null;
	TimestampTz newest_at;
	bool		pruned_null;
	int64		pruned_through;
	int64		sealed_by;
	TimestampTz sealed_at;
	uint8		prev_hash[HASH_LEN];
	uint8		block_hash[HASH_LEN];
	bool		hashes_wellformed;	/* both bytea columns had 32 bytes */
} ChainBlock;

static const char *
KindName(char kind)
{
	return kind == 's' ? "seal" : kind == 'p' ? "purge" : "?";
}

/* The hash of a block: its fields but block_hash, then its rows' digests (sorted by id). */
static void
BlockHash(EVP_MD_CTX *ctx, const ChainBlock *b, const RowDigest *rows, int64 nrows, uint8 *out)
{
	EncodeBegin(BLOCK_PREFIX, sizeof(BLOCK_PREFIX) - 1);
	PutInt64(b->block_no);
	PutInt64(b->epoch);
	PutBytes(KindName(b->kind), strlen(KindName(b->kind)));
	if (b->origin_null)
		PutNull();
	else
		PutInt64(b->origin);
	if (b->lo_null)
		PutNull();
	else
		PutInt64(b->txid_lo);
	if (b->hi_null)
		PutNull();
	else
		PutInt64(b->txid_hi);
	if (b->first_null)
		PutNull();
	else
		PutUuid(&b->first_id);
	if (b->last_null)
		PutNull();
	else
		PutUuid(&b->last_id);
	PutInt64(b->row_count);
	if (b->newest_null)
		PutNull();
	else
		PutTime(b->newest_at);
	if (b->pruned_null)
		PutNull();
	else
		PutInt64(b->pruned_through);
	PutInt64(b->sealed_by);
	PutTime(b->sealed_at);
	PutBytes((const char *) b->prev_hash, HASH_LEN);
	DigestEncoded(ctx);
	for (int64 i = 0; i < nrows; i++)
		EVP_DigestUpdate(ctx, rows[i].digest, HASH_LEN);
	DigestEnd(ctx, out);
}

static void
GetHash(Datum d, bool isnull, uint8 *out, bool *wellformed)
{
	bytea	   *b;

	memset(out, 0, HASH_LEN);
	if (isnull)
	{
		*wellformed = false;
		return;
	}
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != HASH_LEN)
		*wellformed = false;
	else
		memcpy(out, VARDATA_ANY(b), HASH_LEN);
}

/* A row of audit_blocks, its BLOCK_COLUMNS, into *b. */
static void
BlockFromValues(const Datum *values, const bool *nulls, ChainBlock *b)
{
	text	   *kind = DatumGetTextPP(values[2]);
	int			kindlen = VARSIZE_ANY_EXHDR(kind);

	memset(b, 0, sizeof(*b));
	b->block_no = DatumGetInt64(values[0]);
	b->epoch = DatumGetInt64(values[1]);
	b->kind = kindlen == 4 && memcmp(VARDATA_ANY(kind), "seal", 4) == 0 ? 's'
		: kindlen == 5 && memcmp(VARDATA_ANY(kind), "purge", 5) == 0 ? 'p' : '?';
	b->origin_null = nulls[3];
	b->origin = nulls[3] ? 0 : DatumGetInt64(values[3]);
	b->lo_null = nulls[4];
	b->txid_lo = nulls[4] ? 0 : DatumGetInt64(values[4]);
	b->hi_null = nulls[5];
	b->txid_hi = nulls[5] ? 0 : DatumGetInt64(values[5]);
	b->first_null = nulls[6];
	if (!nulls[6])
		memcpy(&b->first_id, DatumGetUUIDP(values[6]), UUID_LEN);
	b->last_null = nulls[7];
	if (!nulls[7])
		memcpy(&b->last_id, DatumGetUUIDP(values[7]), UUID_LEN);
	b->row_count = DatumGetInt64(values[8]);
	b->newest_null = nulls[9];
	b->newest_at = nulls[9] ? 0 : DatumGetTimestampTz(values[9]);
	b->pruned_null = nulls[10];
	b->pruned_through = nulls[10] ? 0 : DatumGetInt64(values[10]);
	b->sealed_by = DatumGetInt64(values[11]);
	b->sealed_at = DatumGetTimestampTz(values[12]);
	b->hashes_wellformed = true;
	GetHash(values[13], nulls[13], b->prev_hash, &b->hashes_wellformed);
	GetHash(values[14], nulls[14], b->block_hash, &b->hashes_wellformed);
}

static bytea *
HashBytea(const uint8 *hash)
{
	bytea	   *b = palloc(VARHDRSZ + HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + HASH_LEN);
	memcpy(VARDATA(b), hash, HASH_LEN);
	return b;
}

static char *
HashHex(const uint8 *hash)
{
	static const char hex[] = "0123456789abcdef";
	char	   *s = palloc(2 * HASH_LEN + 1);

	for (int i = 0; i < HASH_LEN; i++)
	{
		s[2 * i] = hex[hash[i] >> 4];
		s[2 * i + 1] = hex[hash[i] & 15];
	}
	s[2 * HASH_LEN] = '\0';
	return s;
}

/* Append block b (its hash computed here) to audit_blocks. */
static void
InsertBlock(EVP_MD_CTX *ctx, ChainBlock *b, const RowDigest *rows, int64 nrows)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[15] = {INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, UUIDOID,
	UUIDOID, INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, TIMESTAMPTZOID, BYTEAOID, BYTEAOID};
	Datum		v[15];
	char		n[15];

	BlockHash(ctx, b, rows, nrows, b->block_hash);
	memset(n, ' ', sizeof(n));
	v[0] = Int64GetDatum(b->block_no);
	v[1] = Int64GetDatum(b->epoch);
	v[2] = CStringGetTextDatum(KindName(b->kind));
	v[3] = Int64GetDatum(b->origin);
	n[3] = b->origin_null ? 'n' : ' ';
	v[4] = Int64GetDatum(b->txid_lo);
	n[4] = b->lo_null ? 'n' : ' ';
	v[5] = Int64GetDatum(b->txid_hi);
	n[5] = b->hi_null ? 'n' : ' ';
	v[6] = UUIDPGetDatum(&b->first_id);
	n[6] = b->first_null ? 'n' : ' ';
	v[7] = UUIDPGetDatum(&b->last_id);
	n[7] = b->last_null ? 'n' : ' ';
	v[8] = Int64GetDatum(b->row_count);
	v[9] = TimestampTzGetDatum(b->newest_at);
	n[9] = b->newest_null ? 'n' : ' ';
	v[10] = Int64GetDatum(b->pruned_through);
	n[10] = b->pruned_null ? 'n' : ' ';
	v[11] = Int64GetDatum(b->sealed_by);
	v[12] = TimestampTzGetDatum(b->sealed_at);
	v[13] = PointerGetDatum(HashBytea(b->prev_hash));
	v[14] = PointerGetDatum(HashBytea(b->block_hash));
	SmarthubExecute(SmarthubKeepPlan(&plan,
									 "INSERT INTO smarthub.audit_blocks (" BLOCK_COLUMNS ")"
									 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
									 15, types),
					v, n, false, SPI_OK_INSERT);
}

/* ---- sealing ---- */

/* What a seal continues from: the head of the chain. */
typedef struct ChainHead
{
	TimestampTz sealed_at;		/* of the blocks this seal appends */
	bool		empty;
	int64		block_no;
	int64		epoch;
	int64		sealed_by;
	bool		seal_of_self;	/* a seal block of this cluster's rows ... */
	int64		txid_hi;		/* ... ending there */
	uint8		hash[HASH_LEN];
} ChainHead;

/*
 * The one int8 value a query returns (0 when NULL, *isnull says which).
 * Sealing reads with read_only false: a fresh snapshot that sees the blocks
 * a seal that held the lock before it appended.  Verification reads
 * everything in the calling statement's snapshot (read_only true).
 */
static int64
QueryInt64(SPIPlanPtr *plan, const char *sql, bool read_only, int nargs, const Oid *types,
		   Datum *values, bool *isnull)
{
	bool		null;
	int64		result;

	if (SPI_execute_plan(SmarthubKeepPlan(plan, sql, nargs, types), values, NULL, read_only, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "chain query failed: %s", sql); /* internal error */
	result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null));
	if (isnull)
		*isnull = null;
	return null ? 0 : result;
}

/* Kept plans of the one-value queries below, one per query. */
static SPIPlanPtr origin_end_plan, horizon_plan, closing_end_plan, last_purge_plan, prunable_plan,
			pruned_through_plan, sealed_rows_plan;

static void
ReadHead(ChainHead *head)
{
	static SPIPlanPtr plan = NULL;

	memset(head, 0, sizeof(*head));
	if (SPI_execute_plan(SmarthubKeepPlan(&plan, "SELECT " BLOCK_COLUMNS " FROM smarthub.audit_blocks"
										  " ORDER BY block_no DESC LIMIT 1", 0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the chain's head");	/* internal error */
	if (SPI_processed == 0)
	{
		head->empty = true;
		return;
	}
	{
		ChainBlock	b;
		Datum		values[BLOCK_NCOLUMNS];
		bool		nulls[BLOCK_NCOLUMNS];

		heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, values, nulls);
		BlockFromValues(values, nulls, &b);
		head->block_no = b.block_no;
		head->epoch = b.epoch;
		head->sealed_by = b.sealed_by;
		head->seal_of_self = b.kind == 's' && !b.origin_null && !b.hi_null &&
			b.origin == (int64) GetSystemIdentifier();
		head->txid_hi = b.txid_hi;
		memcpy(head->hash, b.block_hash, HASH_LEN);
	}
}

/*
 * fn(values, nulls, arg) for each row the kept plan returns, straight from
 * the executor's slot: a cursor would copy each of a million rows into a
 * tuple table first.  fn runs in the caller's memory context.
 */
typedef void (*RowFn) (Datum *values, bool *nulls, TupleDesc desc, void *arg);

typedef struct RowReceiver
{
	DestReceiver pub;
	RowFn		fn;
	void	   *arg;
	MemoryContext cxt;
} RowReceiver;

static bool
RowReceive(TupleTableSlot *slot, DestReceiver *self)
{
	RowReceiver *r = (RowReceiver *) self;
	MemoryContext oldcxt;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	oldcxt = MemoryContextSwitchTo(r->cxt);
	r->fn(slot->tts_values, slot->tts_isnull, slot->tts_tupleDescriptor, r->arg);
	MemoryContextSwitchTo(oldcxt);
	return true;
}

static void
RowStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
RowShutdown(DestReceiver *self)
{
}

static void
ForEachRow(SPIPlanPtr plan, Datum *args, bool read_only, RowFn fn, void *arg)
{
	RowReceiver r;
	SPIExecuteOptions options;
	int			nargs = SPI_getargcount(plan);
	int			rc;

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = RowReceive;
	r.pub.rStartup = RowStartup;
	r.pub.rShutdown = RowShutdown;
	r.pub.rDestroy = RowShutdown;
	r.pub.mydest = DestNone;
	r.fn = fn;
	r.arg = arg;
	r.cxt = CurrentMemoryContext;
	memset(&options, 0, sizeof(options));
	if (nargs > 0)
	{
		options.params = makeParamList(nargs);
		for (int i = 0; i < nargs; i++)
		{
			options.params->params[i].value = args[i];
			options.params->params[i].isnull = false;
			options.params->params[i].pflags = PARAM_FLAG_CONST;
			options.params->params[i].ptype = SPI_getargtypeid(plan, i);
		}
	}
	options.read_only = read_only;
	options.dest = (DestReceiver *) &r;
	rc = SPI_execute_plan_extended(plan, &options);
	/* a SELECT whose rows go to a receiver of DestNone reports SPI_OK_UTILITY */
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		elog(ERROR, "chain scan failed: %s", SPI_result_code_string(rc));	/* internal error */
}

/* A row to seal: its digest, and where it falls among transactions and in time. */
typedef struct SealRow
{
	int64		txid;
	TimestampTz created_at;
	RowDigest	d;
} SealRow;

static int
SealRowTxidCmp(const void *a, const void *b)
{
	int64		x = ((const SealRow *) a)->txid;
	int64		y = ((const SealRow *) b)->txid;

	return x < y ? -1 : x > y;
}

static int
SealRowIdCmp(const void *a, const void *b)
{
	return memcmp(((const SealRow *) a)->d.id.data, ((const SealRow *) b)->d.id.data, UUID_LEN);
}

typedef struct Collect
{
	EVP_MD_CTX *ctx;
	MemoryContext rowcxt;		/* reset after each row */
	SealRow    *rows;
	int64		n;
	int64		cap;
} Collect;

static void
CollectRow(Datum *values, bool *nulls, TupleDesc desc, void *arg)
{
	Collect    *c = arg;
	MemoryContext oldcxt;

	if (c->n == c->cap)
	{
		c->cap = Max(1024, c->cap * 2);
		c->rows = c->rows == NULL ? MemoryContextAllocHuge(CurrentMemoryContext, c->cap * sizeof(SealRow))
			: repalloc_huge(c->rows, c->cap * sizeof(SealRow));
	}
	oldcxt = MemoryContextSwitchTo(c->rowcxt);
	RowDigestCompute(c->ctx, values, nulls, &c->rows[c->n].d);
	c->rows[c->n].txid = DatumGetInt64(values[10]);
	c->rows[c->n].created_at = DatumGetTimestampTz(values[8]);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(c->rowcxt);
	c->n++;
}

/* The rows of origin with txid in [lo, hi), digested. */
static SealRow *
CollectRows(EVP_MD_CTX *ctx, int64 origin, int64 lo, int64 hi, int64 *nrows)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3] = {Int64GetDatum(origin), Int64GetDatum(lo), Int64GetDatum(hi)};
	Collect		c = {ctx, NULL, NULL, 0, 0};
	int			nest;

	c.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "smarthub seal row", ALLOCSET_DEFAULT_SIZES);
	/*
	 * A seal that continues the chain (every second's) goes through the
	 * BRIN index on txid, even before ANALYZE has seen a new partition (a
	 * seq scan of it every second otherwise): for this query only, as a
	 * function's SET clause would.  An origin's first seal, which takes all
	 * its rows (the first after an upgrade), is left to the planner, whose
	 * seq scan then reads less.
	 */
	nest = NewGUCNestLevel();
	if (lo > 0)
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	ForEachRow(SmarthubKeepPlan(&plan, "SELECT " ROW_COLUMNS " FROM smarthub.audit_logs"
								" WHERE origin OPERATOR(pg_catalog.=) $1"
								"   AND txid OPERATOR(pg_catalog.>=) $2 AND txid OPERATOR(pg_catalog.<) $3",
								3, types),
			   args, false, CollectRow, &c);
	AtEOXact_GUC(true, nest);
	MemoryContextDelete(c.rowcxt);
	*nrows = c.n;
	return c.rows;
}

/* Append the block of rows[0 .. n) (txids in [lo, hi)) after head. */
static void
SealBlock(EVP_MD_CTX *ctx, ChainHead *head, int64 epoch, int64 origin, int64 lo, int64 hi,
		  SealRow *rows, int64 n)
{
	ChainBlock	b;
	RowDigest  *digests;

	memset(&b, 0, sizeof(b));
	b.newest_at = DT_NOBEGIN;
	for (int64 i = 0; i < n; i++)
		b.newest_at = Max(b.newest_at, rows[i].created_at);
	if (n > 1)
		qsort(rows, n, sizeof(SealRow), SealRowIdCmp);
	digests = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(RowDigest));
	for (int64 i = 0; i < n; i++)
		digests[i] = rows[i].d;
	b.block_no = head->empty ? 1 : head->block_no + 1;
	b.epoch = epoch;
	b.kind = 's';
	b.origin = origin;
	b.txid_lo = lo;
	b.txid_hi = hi;
	b.first_id = digests[0].id;
	b.last_id = digests[n - 1].id;
	b.row_count = n;
	b.pruned_null = true;
	b.sealed_by = (int64) GetSystemIdentifier();
	b.sealed_at = head->sealed_at;
	memcpy(b.prev_hash, head->hash, HASH_LEN);	/* zeros before the first block */
	InsertBlock(ctx, &b, digests, n);
	pfree(digests);

	head->empty = false;
	head->block_no = b.block_no;
	head->epoch = b.epoch;
	head->sealed_by = b.sealed_by;
	head->seal_of_self = origin == (int64) GetSystemIdentifier();
	head->txid_hi = hi;
	memcpy(head->hash, b.block_hash, HASH_LEN);
}

/* The first cut after t: the next UTC midnight, or split_before when it comes sooner. */
static TimestampTz
NextCut(TimestampTz t, TimestampTz split_before)
{
	TimestampTz day = t / USECS_PER_DAY;

	if (t < 0 && t % USECS_PER_DAY != 0)
		day--;					/* floor, before 2000 too */
	day = (day + 1) * USECS_PER_DAY;
	if (split_before != DT_NOBEGIN && split_before > t && split_before < day)
		return split_before;
	return day;
}

/*
 * Seal origin's rows with txid in [lo, hi) after head; the rows sealed.
 * Retention removes whole blocks, a block once all its rows are older than
 * the cutoff: so the range is cut before each UTC midnight its rows cross
 * (and before split_before, purge's cutoff), at the first transaction with
 * a row at or after it, and each block but the last holds only rows older
 * than the cut that ends it.  A block whose rows already cross a cut (a
 * transaction that wrote long after a later one) waits for the next cut.
 */
static int64
SealRange(EVP_MD_CTX *ctx, ChainHead *head, int64 epoch, int64 origin, int64 lo, int64 hi,
		  TimestampTz split_before)
{
	SealRow    *rows;
	int64		n;
	int64		start = 0;
	int64		block_lo = lo;
	TimestampTz newest;			/* of rows[start .. i) */
	TimestampTz cut;

	if (hi <= lo)
		return 0;
	rows = CollectRows(ctx, origin, lo, hi, &n);
	if (n == 0)
	{
		if (rows)
			pfree(rows);
		return 0;
	}
	/* no cut within the rows' times (the usual case): one block, no need of txid order */
	{
		TimestampTz first = rows[0].created_at;
		TimestampTz last = rows[0].created_at;

		for (int64 i = 1; i < n; i++)
		{
			first = Min(first, rows[i].created_at);
			last = Max(last, rows[i].created_at);
		}
		if (NextCut(first, split_before) > last)
			start = n;			/* skips the loop below */
		else if (n > 1)
			qsort(rows, n, sizeof(SealRow), SealRowTxidCmp);
	}
	if (start == n)
	{
		SealBlock(ctx, head, epoch, origin, lo, hi, rows, n);
		pfree(rows);
		return n;
	}
	newest = rows[0].created_at;
	cut = NextCut(newest, split_before);
	for (int64 i = 1; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (rows[i].txid != rows[i - 1].txid)
		{
			while (newest >= cut)
				cut = NextCut(newest, split_before);
			if (rows[i].created_at >= cut)
			{
				SealBlock(ctx, head, epoch, origin, block_lo, rows[i].txid, rows + start, i - start);
				block_lo = rows[i].txid;
				start = i;
				newest = rows[i].created_at;
				cut = NextCut(newest, split_before);
				continue;
			}
		}
		newest = Max(newest, rows[i].created_at);
	}
	SealBlock(ctx, head, epoch, origin, block_lo, hi, rows + start, n - start);
	pfree(rows);
	return n;
}

/*
 * A seal finds its rows through the BRIN index on txid, which reads every
 * page range not yet summarized in full: all that was written since the
 * last VACUUM, which autovacuum lets grow to a fifth of the table.  So each
 * seal summarizes the ranges completed since the one before.  Complete ones
 * only: a row inserted into a summarized range updates its summary, which
 * would put work on the writers' path.  The lock is the one VACUUM and
 * ANALYZE take: a partition one of them holds is left to the next seal.
 */
typedef struct SummarizedUpTo
{
	Oid			heap;
	BlockNumber next;			/* ranges before this block are summarized */
} SummarizedUpTo;

static SummarizedUpTo summarized[64];
static int	nsummarized = 0;

static void
SummarizeCompleteRanges(void)
{
	static SPIPlanPtr plan = NULL;
	SPITupleTable *tuptable;
	uint64		n;

	if (SPI_execute_plan(SmarthubKeepPlan(&plan,
										  "SELECT i.indexrelid, i.indrelid FROM pg_catalog.pg_inherits h"
										  "  JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) h.inhrelid"
										  "  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid"
										  "  JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) c.relam"
										  " WHERE h.inhparent OPERATOR(pg_catalog.=) 'smarthub.audit_logs'::pg_catalog.regclass"
										  "   AND a.amname OPERATOR(pg_catalog.=) 'brin'", 0, NULL),
						 NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the audit log's BRIN indexes");	/* internal error */
	tuptable = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			index = DatumGetObjectId(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull));
		Oid			heap = DatumGetObjectId(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 2, &isnull));
		Relation	rel;
		BlockNumber per_range;
		BlockNumber complete;
		int			k;

		if (!ConditionalLockRelationOid(heap, ShareUpdateExclusiveLock))
			continue;
		rel = index_open(index, AccessShareLock);
		per_range = BrinGetPagesPerRange(rel);
		index_close(rel, AccessShareLock);
		rel = table_open(heap, NoLock);
		complete = RelationGetNumberOfBlocks(rel);
		table_close(rel, NoLock);
		complete -= complete % per_range;
		for (k = 0; k < nsummarized; k++)
			if (summarized[k].heap == heap)
				break;
		if (k == nsummarized)
		{
			if (nsummarized == lengthof(summarized))
				k = nsummarized - 1;	/* a log of more partitions: the last slot serves the rest */
			else
				nsummarized++;
			summarized[k].heap = heap;
			summarized[k].next = 0;
		}
		for (BlockNumber blk = summarized[k].next; blk < complete; blk += per_range)
		{
			CHECK_FOR_INTERRUPTS();
			(void) DirectFunctionCall2(brin_summarize_range, ObjectIdGetDatum(index), Int64GetDatum((int64) blk));
		}
		summarized[k].next = Max(summarized[k].next, complete);
		UnlockRelationOid(heap, ShareUpdateExclusiveLock);
	}
}

/* Where the next block of origin starts: the end of its last one, or 0. */
static int64
OriginSealedBelow(int64 origin)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(origin)};

	/* an origin's ranges rise with block_no: its newest block's end, found from the head back */
	return QueryInt64(&origin_end_plan, "SELECT (SELECT txid_hi FROM smarthub.audit_blocks"
					  "         WHERE kind OPERATOR(pg_catalog.=) 'seal' AND origin OPERATOR(pg_catalog.=) $1"
					  "         ORDER BY block_no DESC LIMIT 1)", false,
					  1, types, args, NULL);
}

static void
RequireReadCommitted(const char *what)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("%s must run in a READ COMMITTED transaction", what),
				 errdetail("A transaction snapshot would not see the blocks that another seal appended meanwhile.")));
}

/*
 * Seal everything that can be sealed; inside an SPI connection, as the
 * owner.  split_before, when not DT_NOBEGIN, is purge's cutoff: blocks are
 * cut there too (see SealRange).  Returns the rows sealed.
 */
static int64
SealChain(TimestampTz split_before)
{
	EVP_MD_CTX *ctx;
	ChainHead	head;
	int64		self = (int64) GetSystemIdentifier();
	int64		epoch;
	int64		lo;
	int64		horizon;
	int64		sealed = 0;

	RequireReadCommitted("smarthub.audit_seal()");
	/* one sealer at a time; writers of audit_logs are not affected */
	if (SPI_execute("LOCK TABLE smarthub.audit_blocks IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock smarthub.audit_blocks");	/* internal error */
	ReadHead(&head);
	/* every transaction below the oldest one running has finished: its rows are final */
	horizon = QueryInt64(&horizon_plan, "SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())"
						 "::pg_catalog.text::pg_catalog.int8", false, 0, NULL, NULL, NULL);
	/* after the horizon: every row the blocks take was committed before it */
	head.sealed_at = GetCurrentTimestamp();
	SummarizeCompleteRanges();

	ctx = NewDigest();
	PG_TRY();
	{
		epoch = head.empty ? 1 : head.epoch;
		if (!head.empty && head.sealed_by != self)
		{
			/*
			 * Another cluster sealed the head (this database was restored or
			 * upgraded from it): a new epoch, whose first block takes the
			 * rows that cluster wrote and had not sealed.  Its txids are of
			 * that cluster, so the block ends after the greatest of them.
			 */
			Oid			types[2] = {INT8OID, INT8OID};
			Datum		args[2];
			bool		none;
			int64		prev_lo = OriginSealedBelow(head.sealed_by);
			int64		prev_max;

			epoch = head.epoch + 1;
			args[0] = Int64GetDatum(head.sealed_by);
			args[1] = Int64GetDatum(prev_lo);
			prev_max = QueryInt64(&closing_end_plan, "SELECT pg_catalog.max(txid) FROM smarthub.audit_logs"
								  " WHERE origin OPERATOR(pg_catalog.=) $1 AND txid OPERATOR(pg_catalog.>=) $2", false,
								  2, types, args, &none);
			if (!none)
				sealed += SealRange(ctx, &head, epoch, head.sealed_by, prev_lo, prev_max + 1,
									split_before);
		}
		/* usually the head says; else (a purge block, a new epoch) the chain does */
		lo = head.seal_of_self ? head.txid_hi : OriginSealedBelow(self);
		sealed += SealRange(ctx, &head, epoch, self, lo, horizon, split_before);
	}
	PG_FINALLY();
	{
		EVP_MD_CTX_free(ctx);
	}
	PG_END_TRY();
	return sealed;
}

/* Whether this database has smarthub 1.1's chain (a 1.0 database on this library has not). */
bool
SmarthubAuditChainInstalled(void)
{
	Oid			nsp = get_namespace_oid(SMARTHUB_SCHEMA, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("audit_blocks", nsp));
}

static void
RequireChain(void)
{
	if (!SmarthubAuditChainInstalled())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this database has no smarthub.audit_blocks"),
				 errhint("Update the extension: ALTER EXTENSION smarthub UPDATE.")));
}

/* smarthub.audit_seal() RETURNS bigint */
PG_FUNCTION_INFO_V1(smarthub_audit_seal);
Datum
smarthub_audit_seal(PG_FUNCTION_ARGS)
{
	SmarthubSavedUser saved;
	int64		sealed;

	RequireChain();
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	sealed = SealChain(DT_NOBEGIN);
	SPI_finish();
	SmarthubRestoreUser(&saved);
	PG_RETURN_INT64(sealed);
}

/* ---- retention ---- */

/*
 * Before purge_audit_logs deletes anything: seal, splitting at the cutoff,
 * then find the blocks to prune: the longest run from the first block
 * whose rows are all older than the cutoff.  Inside the caller's SPI
 * connection, as the owner.  False when there is nothing new to prune.
 */
bool
SmarthubAuditPrunePlan(TimestampTz cutoff, SmarthubPrune *prune)
{
	int64		already;

	memset(prune, 0, sizeof(*prune));
	(void) SealChain(cutoff);
	already = QueryInt64(&last_purge_plan, "SELECT (SELECT pruned_through FROM smarthub.audit_blocks"
						 "         WHERE kind OPERATOR(pg_catalog.=) 'purge' ORDER BY block_no DESC LIMIT 1)", false,
						 0, NULL, NULL, NULL);
	{
		Oid			types[2] = {TIMESTAMPTZOID, INT8OID};
		Datum		args[2] = {TimestampTzGetDatum(cutoff), Int64GetDatum(already)};
		bool		none;

		/* the block before the first one since the last purge that holds a row at or after the cutoff */
		prune->through = QueryInt64(&prunable_plan, "SELECT COALESCE("
									"   (SELECT block_no FROM smarthub.audit_blocks"
									"     WHERE block_no OPERATOR(pg_catalog.>) $2 AND kind OPERATOR(pg_catalog.=) 'seal'"
									"       AND newest_at OPERATOR(pg_catalog.>=) $1"
									"     ORDER BY block_no LIMIT 1) OPERATOR(pg_catalog.-) 1,"
									"   (SELECT block_no FROM smarthub.audit_blocks"
									"     WHERE kind OPERATOR(pg_catalog.=) 'seal' ORDER BY block_no DESC LIMIT 1))", false,
									2, types, args, &none);
		if (none || prune->through <= already)
			return false;
	}
	{
		Oid			types[1] = {INT8OID};
		Datum		args[1] = {Int64GetDatum(prune->through)};
		bool		isnull;

		/* each origin's rows below its pruned horizon are the pruned blocks' rows */
		if (SPI_execute_with_args("SELECT pg_catalog.array_agg(origin ORDER BY origin),"
								  "       pg_catalog.array_agg(below ORDER BY origin)"
								  "  FROM (SELECT origin, pg_catalog.max(txid_hi) AS below"
								  "          FROM smarthub.audit_blocks"
								  "         WHERE kind OPERATOR(pg_catalog.=) 'seal'"
								  "           AND block_no OPERATOR(pg_catalog.<=) $1"
								  "         GROUP BY origin) o",
								  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not plan the audit purge");	/* internal error */
		prune->origins = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
		prune->below = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull), false, -1);
		/* the least row id of the blocks that stay: a partition wholly below it may go */
		if (SPI_execute_with_args("SELECT first_id FROM smarthub.audit_blocks"
								  " WHERE kind OPERATOR(pg_catalog.=) 'seal' AND block_no OPERATOR(pg_catalog.>) $1"
								  " ORDER BY first_id LIMIT 1",
								  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not plan the audit purge");	/* internal error */
		prune->kept_from_null = SPI_processed == 0;
		if (!prune->kept_from_null)
			prune->kept_from = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &prune->kept_from_null);
		if (!prune->kept_from_null)
			prune->kept_from = SPI_datumTransfer(prune->kept_from, false, UUID_LEN);
	}
	prune->self = (int64) GetSystemIdentifier();
	prune->self_sealed_below = OriginSealedBelow(prune->self);
	return true;
}

/* After the pruned blocks' rows are gone: the purge block that says so. */
void
SmarthubAuditPruneRecord(const SmarthubPrune *prune, int64 rows)
{
	EVP_MD_CTX *ctx = NewDigest();
	ChainHead	head;
	ChainBlock	b;

	ReadHead(&head);
	memset(&b, 0, sizeof(b));
	b.block_no = head.block_no + 1;
	b.epoch = head.epoch;
	b.kind = 'p';
	b.origin_null = b.lo_null = b.hi_null = b.first_null = b.last_null = b.newest_null = true;
	b.row_count = rows;
	b.pruned_through = prune->through;
	b.sealed_by = (int64) GetSystemIdentifier();
	b.sealed_at = GetCurrentTimestamp();
	memcpy(b.prev_hash, head.hash, HASH_LEN);
	PG_TRY();
	{
		InsertBlock(ctx, &b, NULL, 0);
	}
	PG_FINALLY();
	{
		EVP_MD_CTX_free(ctx);
	}
	PG_END_TRY();
}

/* ---- verification ---- */

typedef struct VerifyBlock
{
	ChainBlock	b;
	RowDigest  *rows;			/* collected so far; NULL once finished */
	int64		nrows;
	int64		cap;
	bool		finished;
	bool		excess;			/* a row arrived after its block was complete */
} VerifyBlock;

typedef struct Verify
{
	VerifyBlock *blocks;		/* the seal blocks that still have rows, by block_no */
	int64		nblocks;
	VerifyBlock **by_range;		/* the same, by (origin, txid_lo) */
	int64		total_blocks;	/* every block in the chain */
	int64		pruned_through;
	int64		rows;			/* rows found in sealed blocks */
	int64		unsealed;
	int64		in_pruned;		/* rows found in pruned blocks */
	bool		bad;
	int64		bad_block;		/* the least block found bad */
	char	   *reason;
	int64		head_no;
	struct
	{
		int64		origin;
		int64		next_lo;	/* where its next block must start */
		int64		pruned_below;	/* its rows below this txid were pruned */
	}		   *origins;		/* each origin's blocks so far */
	int			norigins;
	int64		cap;			/* of blocks */
	/* while the blocks are read: what the next one must continue */
	int64		expect;
	uint8		prev[HASH_LEN];
	int64		prev_epoch;
	int64		prev_pruned;
	EVP_MD_CTX *ctx;
	MemoryContext rowcxt;		/* reset after each audit row */
} Verify;

static void
Bad(Verify *v, int64 block_no, const char *fmt,...) pg_attribute_printf(3, 4);

static void
Bad(Verify *v, int64 block_no, const char *fmt,...)
{
	va_list		args;
	char		buf[512];

	if (v->bad && v->bad_block <= block_no)
		return;
	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	v->bad = true;
	v->bad_block = block_no;
	v->reason = pstrdup(buf);
}

static int
RangeCmp(const void *a, const void *b)
{
	const ChainBlock *x = &(*(VerifyBlock *const *) a)->b;
	const ChainBlock *y = &(*(VerifyBlock *const *) b)->b;

	if (x->origin != y->origin)
		return x->origin < y->origin ? -1 : 1;
	if (x->txid_lo != y->txid_lo)
		return x->txid_lo < y->txid_lo ? -1 : 1;
	return 0;
}

/* One row of audit_blocks, in block_no order: numbering, links, and the seal blocks whose rows remain. */
static void
VerifyBlockRow(Datum *values, bool *nulls, TupleDesc desc, void *arg)
{
	Verify	   *v = arg;
	ChainBlock	b;
	int			k;

	BlockFromValues(values, nulls, &b);
	v->total_blocks++;
	if (b.block_no != v->expect)
	{
		Bad(v, Min(v->expect, b.block_no), "block %lld is missing: the chain goes from block %lld to block %lld",
			(long long) v->expect, (long long) (v->expect - 1), (long long) b.block_no);
		v->expect = b.block_no;
	}
	v->expect++;
	if (!b.hashes_wellformed)
		Bad(v, b.block_no, "block %lld's prev_hash or block_hash is not a 32-byte hash", (long long) b.block_no);
	else if (memcmp(b.prev_hash, v->prev, HASH_LEN) != 0)
		Bad(v, b.block_no, "block %lld's prev_hash is not the hash of block %lld",
			(long long) b.block_no, (long long) (b.block_no - 1));
	if (b.epoch < v->prev_epoch)
		Bad(v, b.block_no, "block %lld's epoch %lld is before the previous block's %lld",
			(long long) b.block_no, (long long) b.epoch, (long long) v->prev_epoch);
	v->prev_epoch = b.epoch;
	memcpy(v->prev, b.block_hash, HASH_LEN);
	v->head_no = b.block_no;

	if (b.kind == 'p')
	{
		/* a purge block is checked by its own hash; it has no rows */
		uint8		h[HASH_LEN];

		BlockHash(v->ctx, &b, NULL, 0, h);
		if (memcmp(h, b.block_hash, HASH_LEN) != 0)
			Bad(v, b.block_no, "block %lld (a purge) does not match its hash: the block row was changed",
				(long long) b.block_no);
		if (b.pruned_null || b.pruned_through < v->prev_pruned || b.pruned_through >= b.block_no)
			Bad(v, b.block_no, "block %lld (a purge) prunes an impossible range of blocks", (long long) b.block_no);
		else
			v->prev_pruned = b.pruned_through;
		return;
	}
	if (b.kind != 's')
	{
		Bad(v, b.block_no, "block %lld is neither a seal nor a purge", (long long) b.block_no);
		return;
	}
	if (b.origin_null || b.lo_null || b.hi_null || b.txid_hi <= b.txid_lo || b.first_null || b.last_null)
	{
		Bad(v, b.block_no, "block %lld has no origin, txid range or row range", (long long) b.block_no);
		return;
	}
	/* an origin's ranges follow each other from 0: a row is in exactly one block */
	for (k = 0; k < v->norigins; k++)
		if (v->origins[k].origin == b.origin)
			break;
	if (k == v->norigins)
	{
		v->origins = v->norigins == 0 ? palloc(sizeof(*v->origins) * 4)
			: repalloc(v->origins, sizeof(*v->origins) * (v->norigins + 4));
		v->origins[k].origin = b.origin;
		v->origins[k].next_lo = 0;
		v->origins[k].pruned_below = 0;
		v->norigins++;
	}
	if (b.txid_lo != v->origins[k].next_lo)
		Bad(v, b.block_no, "block %lld's transactions do not follow on from the previous block of its origin (txid_lo %lld, expected %lld)",
			(long long) b.block_no, (long long) b.txid_lo, (long long) v->origins[k].next_lo);
	v->origins[k].next_lo = b.txid_hi;
	if (b.block_no <= v->pruned_through)
	{
		/* its rows are gone; its hash is vouched for by the next block's prev_hash */
		v->origins[k].pruned_below = b.txid_hi;
		return;
	}
	if (v->nblocks == v->cap)
	{
		v->cap = Max(64, v->cap * 2);
		v->blocks = v->blocks == NULL ? MemoryContextAllocHuge(CurrentMemoryContext, v->cap * sizeof(VerifyBlock))
			: repalloc_huge(v->blocks, v->cap * sizeof(VerifyBlock));
	}
	memset(&v->blocks[v->nblocks], 0, sizeof(VerifyBlock));
	v->blocks[v->nblocks].b = b;
	v->nblocks++;
}

/* Read the chain: links, numbering and ranges; the seal blocks whose rows remain. */
static void
VerifyLoadBlocks(Verify *v)
{
	static SPIPlanPtr plan = NULL;

	/* pruning is known before the blocks it covers are read: one small query */
	v->pruned_through = QueryInt64(&pruned_through_plan, "SELECT pg_catalog.max(pruned_through) FROM smarthub.audit_blocks", true,
								   0, NULL, NULL, NULL);
	v->expect = 1;
	memset(v->prev, 0, HASH_LEN);
	ForEachRow(SmarthubKeepPlan(&plan, "SELECT " BLOCK_COLUMNS " FROM smarthub.audit_blocks ORDER BY block_no",
								0, NULL),
			   NULL, true, VerifyBlockRow, v);

	v->by_range = MemoryContextAllocHuge(CurrentMemoryContext, Max(v->nblocks, 1) * sizeof(VerifyBlock *));
	for (int64 i = 0; i < v->nblocks; i++)
		v->by_range[i] = &v->blocks[i];
	qsort(v->by_range, v->nblocks, sizeof(VerifyBlock *), RangeCmp);
}

static VerifyBlock *
FindBlock(Verify *v, int64 origin, int64 txid)
{
	int64		lo = 0;
	int64		hi = v->nblocks;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;
		ChainBlock *b = &v->by_range[mid]->b;

		if (b->origin < origin || (b->origin == origin && b->txid_hi <= txid))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < v->nblocks)
	{
		ChainBlock *b = &v->by_range[lo]->b;

		if (b->origin == origin && b->txid_lo <= txid && txid < b->txid_hi)
			return v->by_range[lo];
	}
	return NULL;
}

static void
FinishBlock(Verify *v, VerifyBlock *vb)
{
	uint8		h[HASH_LEN];
	ChainBlock *b = &vb->b;

	vb->finished = true;
	if (vb->nrows != b->row_count)
		Bad(v, b->block_no, "block %lld was sealed with %lld rows; %lld are there (a row was deleted or one was forged into it)",
			(long long) b->block_no, (long long) b->row_count, (long long) vb->nrows);
	else
	{
		if (vb->nrows > 1)
			qsort(vb->rows, vb->nrows, sizeof(RowDigest), RowDigestCmp);
		BlockHash(v->ctx, b, vb->rows, vb->nrows, h);
		if (memcmp(h, b->block_hash, HASH_LEN) != 0)
			Bad(v, b->block_no, "block %lld does not match its hash: a row in it, or the block row itself, was changed, replaced or reordered",
				(long long) b->block_no);
	}
	if (vb->rows)
		pfree(vb->rows);
	vb->rows = NULL;
}

/* One audit row, into its block; the block finished as its last row arrives. */
static void
VerifyAuditRow(Datum *values, bool *nulls, TupleDesc desc, void *arg)
{
	Verify	   *v = arg;
	VerifyBlock *vb;
	int64		origin;
	int64		txid;
	MemoryContext oldcxt;

	origin = DatumGetInt64(values[12]);
	txid = DatumGetInt64(values[10]);
	vb = FindBlock(v, origin, txid);
	if (vb == NULL)
	{
		int			k;

		for (k = 0; k < v->norigins; k++)
			if (v->origins[k].origin == origin && txid < v->origins[k].pruned_below)
				break;
		if (k < v->norigins)
			v->in_pruned++;
		else
			v->unsealed++;
		return;
	}
	if (vb->finished)
	{
		if (!vb->excess)
			Bad(v, vb->b.block_no, "block %lld has more rows than it was sealed with (%lld): one was forged into it",
				(long long) vb->b.block_no, (long long) vb->b.row_count);
		vb->excess = true;
		return;
	}
	if (vb->nrows == vb->cap)
	{
		int64		want = vb->cap == 0 ? 1024 : vb->cap * 2;

		if (vb->b.row_count > vb->nrows && vb->b.row_count < want)
			want = vb->b.row_count;
		vb->cap = want;
		vb->rows = vb->rows == NULL ? MemoryContextAllocHuge(CurrentMemoryContext, vb->cap * sizeof(RowDigest))
			: repalloc_huge(vb->rows, vb->cap * sizeof(RowDigest));
	}
	/* user_id is not in the digest: the foreign key may only have set it NULL */
	if (!nulls[1] && !nulls[11] &&
		memcmp(DatumGetUUIDP(values[1])->data, DatumGetUUIDP(values[11])->data, UUID_LEN) != 0)
		Bad(v, vb->b.block_no, "block %lld has a row whose user_id is neither NULL nor its actor_id",
			(long long) vb->b.block_no);
	oldcxt = MemoryContextSwitchTo(v->rowcxt);
	RowDigestCompute(v->ctx, values, nulls, &vb->rows[vb->nrows]);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(v->rowcxt);
	vb->nrows++;
	v->rows++;
	if (vb->nrows == vb->b.row_count)
		FinishBlock(v, vb);
}

/* Every audit row, in the order the table gives them; then the blocks still open. */
static void
VerifyScanRows(Verify *v)
{
	static SPIPlanPtr plan = NULL;

	v->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "smarthub verify row", ALLOCSET_DEFAULT_SIZES);
	ForEachRow(SmarthubKeepPlan(&plan, "SELECT " ROW_COLUMNS " FROM smarthub.audit_logs", 0, NULL),
			   NULL, true, VerifyAuditRow, v);
	MemoryContextDelete(v->rowcxt);
	for (int64 i = 0; i < v->nblocks; i++)
		if (!v->blocks[i].finished)
			FinishBlock(v, &v->blocks[i]);
}

static JsonbValue *
AnchorField(Jsonb *anchor, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(&anchor->root, JB_FOBJECT, &k);
}

static pg_noreturn void
BadAnchor(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid audit checkpoint"),
			 errdetail("%s", detail),
			 errhint("Pass a value returned by smarthub.audit_checkpoint(), unchanged.")));
}

static int64
AnchorInt(Jsonb *anchor, const char *key)
{
	JsonbValue *f = AnchorField(anchor, key);
	char	   *text;
	char	   *end;
	long long	v;

	if (f == NULL || f->type != jbvNumeric)
		BadAnchor(psprintf("Its \"%s\" is missing or not a number.", key));
	/* its text, so that 1e30 or 1.5 is this error, not bigint's */
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(f->val.numeric)));
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text)
		BadAnchor(psprintf("Its \"%s\" is not a whole number in the range of bigint.", key));
	return (int64) v;
}

static char *
AnchorText(Jsonb *anchor, const char *key, bool required)
{
	JsonbValue *f = AnchorField(anchor, key);

	if (f == NULL || f->type == jbvNull)
	{
		if (required)
			BadAnchor(psprintf("Its \"%s\" is missing.", key));
		return NULL;
	}
	if (f->type != jbvString)
		BadAnchor(psprintf("Its \"%s\" is not a string.", key));
	return pnstrdup(f->val.string.val, f->val.string.len);
}

/* The text a checkpoint's signature is over (docs/audit-chain.md). */
static char *
CheckpointMessage(const char *database, int64 epoch, int64 block, const char *hash, int64 rows,
				  const char *time)
{
	return psprintf("%s\ndatabase %s\nepoch %lld\nblock %lld\nhash %s\nrows %lld\ntime %s\n",
					CHECKPOINT_FORMAT, database, (long long) epoch, (long long) block, hash,
					(long long) rows, time);
}

/* Check an anchor (a checkpoint) against the chain just read. */
static void
VerifyAnchor(Verify *v, Jsonb *anchor)
{
	char	   *format;
	int64		block;
	char	   *hash;
	char	   *signature;

	if (!JB_ROOT_IS_OBJECT(anchor))
		BadAnchor("It is not a JSON object.");
	format = AnchorText(anchor, "format", true);
	if (strcmp(format, CHECKPOINT_FORMAT) != 0)
		BadAnchor(psprintf("Its format is not \"%s\".", CHECKPOINT_FORMAT));
	block = AnchorInt(anchor, "block");
	hash = AnchorText(anchor, "hash", true);
	signature = AnchorText(anchor, "signature", false);
	if (signature != NULL && SmarthubSigningKeyConfigured())
	{
		char	   *message = CheckpointMessage(AnchorText(anchor, "database", true),
												AnchorInt(anchor, "epoch"), block, hash,
												AnchorInt(anchor, "rows"),
												AnchorText(anchor, "time", true));

		if (!SmarthubVerifySignature(message, strlen(message), signature))
		{
			Bad(v, Max(block, 1), "the anchor's signature does not verify with the keyring's signing key");
			return;
		}
	}
	if (block < 0)
		BadAnchor("Its block is negative.");
	if (block == 0)
		return;					/* a checkpoint of an empty chain proves nothing */
	if (block > v->head_no)
	{
		Bad(v, v->head_no + 1, "the chain ends at block %lld but the anchor is block %lld: newer blocks were removed",
			(long long) v->head_no, (long long) block);
		return;
	}
	if (SPI_execute_with_args("SELECT pg_catalog.encode(block_hash, 'hex') FROM smarthub.audit_blocks"
							  " WHERE block_no OPERATOR(pg_catalog.=) $1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(block)}, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the anchor's block");	/* internal error */
	if (SPI_processed == 0)
		return;					/* missing: reported by the chain's numbering */
	if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), hash) != 0)
		Bad(v, block, "block %lld's hash differs from the anchor's: the chain was rewritten since the checkpoint",
			(long long) block);
}

/*
 * smarthub.audit_verify(anchor jsonb DEFAULT NULL)
 *   RETURNS TABLE(ok boolean, blocks bigint, rows bigint, first_bad_block bigint, reason text)
 */
PG_FUNCTION_INFO_V1(smarthub_audit_verify);
Datum
smarthub_audit_verify(PG_FUNCTION_ARGS)
{
	Jsonb	   *anchor = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	Oid			caller = SmarthubCaller(fcinfo);
	pg_uuid_t	identity;
	SmarthubSavedUser saved;
	Verify		v;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	StringInfoData note;

	RequireChain();
	SmarthubRefuseOnSomeoneElsesBehalf("smarthub.audit_verify()");
	if (SmarthubGetIdentity(&identity) ? !SmarthubIdentityHasRole("admin")
		: !SmarthubRoleIsTrusted(caller))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only an admin may verify the audit log"),
				 errdetail("Verification reads every audit row: it needs the admin role's identity or a trusted database role.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "audit_verify must return a row");	/* internal error */

	memset(&v, 0, sizeof(v));
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	v.ctx = NewDigest();
	PG_TRY();
	{
		VerifyLoadBlocks(&v);
		VerifyScanRows(&v);
		if (anchor != NULL)
			VerifyAnchor(&v, anchor);
	}
	PG_FINALLY();
	{
		EVP_MD_CTX_free(v.ctx);
	}
	PG_END_TRY();
	if (v.in_pruned > 0)
		Bad(&v, v.pruned_through, "%lld rows remain in blocks pruned through block %lld",
			(long long) v.in_pruned, (long long) v.pruned_through);
	/* the reason outlives the SPI connection whose memory it was made in */
	if (v.reason != NULL)
		v.reason = strcpy(SPI_palloc(strlen(v.reason) + 1), v.reason);
	SPI_finish();
	SmarthubRestoreUser(&saved);

	values[0] = BoolGetDatum(!v.bad);
	values[1] = Int64GetDatum(v.total_blocks);
	values[2] = Int64GetDatum(v.rows);
	values[3] = Int64GetDatum(v.bad_block);
	nulls[3] = !v.bad;
	initStringInfo(&note);
	if (v.bad)
		appendStringInfoString(&note, v.reason);
	else
	{
		/* not tampering, but worth saying */
		if (v.pruned_through > 0)
			appendStringInfo(&note, "the rows of blocks 1 to %lld were removed by purge_audit_logs",
							 (long long) v.pruned_through);
		if (v.unsealed > 0)
			appendStringInfo(&note, "%s%lld %s not sealed yet", note.len ? "; " : "",
							 (long long) v.unsealed, v.unsealed == 1 ? "row is" : "rows are");
	}
	values[4] = CStringGetTextDatum(note.data);
	nulls[4] = note.len == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* smarthub.audit_checkpoint() RETURNS jsonb */
PG_FUNCTION_INFO_V1(smarthub_audit_checkpoint);
Datum
smarthub_audit_checkpoint(PG_FUNCTION_ARGS)
{
	SmarthubSavedUser saved;
	ChainHead	head;
	int64		rows;
	char	   *hash;
	char	   *time;
	char	   *database = get_database_name(MyDatabaseId);
	char	   *message;
	char	   *signature = NULL;
	char	   *public_key = NULL;
	Jsonb	   *result;

	RequireChain();
	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	ReadHead(&head);
	rows = QueryInt64(&sealed_rows_plan, "SELECT COALESCE(pg_catalog.sum(row_count), 0)::pg_catalog.int8"
					  "  FROM smarthub.audit_blocks WHERE kind OPERATOR(pg_catalog.=) 'seal'", false,
					  0, NULL, NULL, NULL);
	if (SPI_execute("SELECT pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC',"
					" 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the time"); /* internal error */
	time = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	hash = HashHex(head.hash);
	message = CheckpointMessage(database, head.empty ? 0 : head.epoch, head.empty ? 0 : head.block_no,
								hash, rows, time);
	SmarthubSign(message, strlen(message), &signature, &public_key);
	{
		Oid			types[9] = {TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID};
		Datum		args[9];
		char		n[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		bool		isnull;

		args[0] = CStringGetTextDatum(CHECKPOINT_FORMAT);
		args[1] = CStringGetTextDatum(database);
		args[2] = Int64GetDatum(head.empty ? 0 : head.epoch);
		args[3] = Int64GetDatum(head.empty ? 0 : head.block_no);
		args[4] = CStringGetTextDatum(hash);
		args[5] = Int64GetDatum(rows);
		args[6] = CStringGetTextDatum(time);
		args[7] = signature ? CStringGetTextDatum(signature) : (Datum) 0;
		args[8] = public_key ? CStringGetTextDatum(public_key) : (Datum) 0;
		n[7] = signature ? ' ' : 'n';
		n[8] = public_key ? ' ' : 'n';
		if (SPI_execute_with_args("SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
								  " 'format', $1, 'database', $2, 'epoch', $3, 'block', $4, 'hash', $5,"
								  " 'rows', $6, 'time', $7, 'signature', $8, 'public_key', $9))",
								  9, types, args, n, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not build the checkpoint");	/* internal error */
		result = DatumGetJsonbP(SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
																1, &isnull), false, -1));
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	PG_RETURN_JSONB_P(result);
}

/* smarthub.audit_origin() RETURNS bigint: this cluster's system identifier */
PG_FUNCTION_INFO_V1(smarthub_audit_origin);
Datum
smarthub_audit_origin(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) GetSystemIdentifier());
}

/*
 * smarthub.audit_blocks_guard() RETURNS trigger
 *
 * BEFORE UPDATE OR DELETE FOR EACH ROW and BEFORE TRUNCATE on audit_blocks,
 * ENABLE ALWAYS: the chain is only ever appended to, retention included.
 */
PG_FUNCTION_INFO_V1(smarthub_audit_blocks_guard);
Datum
smarthub_audit_blocks_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.audit_blocks_guard() must be fired BEFORE UPDATE, DELETE or TRUNCATE")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("smarthub.audit_blocks is append-only"),
			 errdetail("%s on the audit chain is refused for every role, superusers included.",
					   TRIGGER_FIRED_BY_DELETE(td->tg_event) ? "DELETE" :
					   TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "UPDATE" : "TRUNCATE")));
	PG_RETURN_NULL();			/* keep the compiler quiet */
}

/* ---- the sealer worker ---- */

/*
 * Background worker (shared_preload_libraries = 'smarthub' and
 * smarthub.audit_seal_database set): seals that database's audit log every
 * smarthub.audit_seal_interval.  A database without the chain (smarthub
 * not installed, or still 1.0) is skipped until it has one; an error ends
 * the worker, which the postmaster starts again 10 seconds later.
 */
void
smarthub_audit_sealer_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(seal_database, NULL, 0);
	pgstat_report_appname("smarthub audit sealer");
	/* what ALTER DATABASE ... SET may have made the default must not stop every seal */
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);

	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 seal_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "smarthub.audit_seal()");
		if (SmarthubAuditChainInstalled())
		{
			SmarthubSavedUser saved;

			SmarthubBecomeOwner(&saved);
			SmarthubSpiConnect();
			(void) SealChain(DT_NOBEGIN);
			SPI_finish();
			SmarthubRestoreUser(&saved);
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, NULL);
	}
}

void
AuditChainInit(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("smarthub.audit_seal_interval",
							"Time between two seals of the audit log by the background worker.",
							NULL, &seal_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	/* a postmaster setting can only be defined while the postmaster loads the library */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("smarthub.audit_seal_database",
							   "Database whose audit log smarthub's background worker seals.",
							   "Needs smarthub in shared_preload_libraries; empty: no worker.",
							   &seal_database, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	if (seal_database == NULL || seal_database[0] == '\0')
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "smarthub");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "smarthub_audit_sealer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "smarthub audit sealer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "smarthub audit sealer");
	RegisterBackgroundWorker(&worker);
}
