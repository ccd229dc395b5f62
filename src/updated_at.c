/*
 * updated_at.c
 *		smarthub.set_updated_at(): BEFORE UPDATE trigger keeping updated_at current.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "smarthub.h"

/*
 * smarthub.set_updated_at() RETURNS trigger
 *
 * Stamps the statement's start time rather than the transaction's, so that a
 * row inserted and then updated in one transaction shows the update; the
 * value is never before created_at (which defaults to now()).
 */
PG_FUNCTION_INFO_V1(smarthub_set_updated_at);
Datum
smarthub_set_updated_at(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	int			attnum;
	Datum		stamp;
	bool		isnull = false;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.set_updated_at() must be called as a trigger")));
	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("smarthub.set_updated_at() must be fired BEFORE UPDATE FOR EACH ROW")));

	tupdesc = trigdata->tg_relation->rd_att;
	attnum = SPI_fnumber(tupdesc, "updated_at");
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" has no column \"updated_at\"",
						RelationGetRelationName(trigdata->tg_relation))));
	if (TupleDescAttr(tupdesc, attnum - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"updated_at\" of table \"%s\" must be of type timestamptz",
						RelationGetRelationName(trigdata->tg_relation))));

	stamp = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	return PointerGetDatum(heap_modify_tuple_by_cols(trigdata->tg_newtuple, tupdesc,
													 1, &attnum, &stamp, &isnull));
}
