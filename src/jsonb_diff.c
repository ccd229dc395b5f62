/*
 * jsonb_diff.c
 *		Row → JSONB and before/after diffs for the audit trail.
 *
 * The only file that touches JSONB internals.  Values are rendered exactly
 * as to_jsonb() renders them (numbers stay numbers, date/time values are
 * ISO 8601 strings, json/jsonb values nest, arrays become arrays, NULL is
 * null, anything else is its output function's string), but built directly
 * with pushJsonbValue: calling to_jsonb through DirectFunctionCall fails on
 * PostgreSQL 15 ("could not determine input data type"), and going through
 * text would cost a parse per row.  Type lookups happen once, when the
 * audit trigger builds its per-table cache (SmarthubJsonTypeInit).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "parser/parse_coerce.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "smarthub.h"

#define REDACTED "[redacted]"

static void PushDatum(JsonbParseState **ps, JsonbIteratorToken tok,
					  const SmarthubJsonType *type, Datum value, bool isnull);

/*
 * Classify typid the way to_jsonb does (jsonb_categorize_type in jsonb.c),
 * and look up what rendering it needs.
 */
void
SmarthubJsonTypeInit(SmarthubJsonType *type, Oid typid, MemoryContext cxt)
{
	Oid			base = getBaseType(typid);
	Oid			elemtype;
	Oid			func = InvalidOid;
	bool		isvarlena;

	memset(type, 0, sizeof(*type));
	type->typid = base;
	get_typlenbyvalalign(base, &type->typlen, &type->typbyval, &type->typalign);

	switch (base)
	{
		case BOOLOID:
			type->kind = SH_JSON_BOOL;
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			type->kind = SH_JSON_INT;
			return;
		case NUMERICOID:
			type->kind = SH_JSON_NUMERIC;
			return;
		case FLOAT4OID:
		case FLOAT8OID:
			type->kind = SH_JSON_FLOAT;
			break;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			type->kind = SH_JSON_DATETIME;
			return;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			type->kind = SH_JSON_TEXT;
			return;
		case JSONBOID:
			type->kind = SH_JSON_JSONB;
			return;
		case JSONOID:
			type->kind = SH_JSON_JSON;
			return;
		default:
			elemtype = get_element_type(base);
			if (OidIsValid(elemtype))
			{
				type->kind = SH_JSON_ARRAY;
				type->elem = MemoryContextAlloc(cxt, sizeof(SmarthubJsonType));
				SmarthubJsonTypeInit(type->elem, elemtype, cxt);
				return;
			}
			if (type_is_rowtype(base))
			{
				type->kind = SH_JSON_COMPOSITE;
				return;
			}
			type->kind = SH_JSON_OTHER;
			/* to_jsonb honours a cast to json, for types that are not built in */
			if (base >= FirstNormalObjectId &&
				find_coercion_pathway(JSONOID, base, COERCION_EXPLICIT, &func) == COERCION_PATH_FUNC &&
				OidIsValid(func))
				type->kind = SH_JSON_CAST;
			break;
	}

	if (type->kind != SH_JSON_CAST)
		getTypeOutputInfo(base, &func, &isvarlena);
	fmgr_info_cxt(func, &type->func, cxt);
}

/* Push a string value (not copied: it must live until serialisation). */
static void
PushString(JsonbParseState **ps, JsonbIteratorToken tok, char *str, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = str;
	v.val.string.len = len;
	pushJsonbValue(ps, tok, &v);
}

/* Push a whole jsonb document as a value: scalars as scalars, containers nested. */
static void
PushJsonb(JsonbParseState **ps, JsonbIteratorToken tok, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbIteratorToken r;
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jb))
	{
		JsonbExtractScalar(&jb->root, &v);
		pushJsonbValue(ps, tok, &v);
		return;
	}
	it = JsonbIteratorInit(&jb->root);
	while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (r == WJB_BEGIN_ARRAY || r == WJB_END_ARRAY ||
			r == WJB_BEGIN_OBJECT || r == WJB_END_OBJECT)
			pushJsonbValue(ps, r, NULL);
		else
			pushJsonbValue(ps, r, &v);
	}
}

/* Push JSON text (json values, casts to json, row_to_json output) parsed as jsonb. */
static void
PushJsonText(JsonbParseState **ps, JsonbIteratorToken tok, Datum json)
{
	char	   *str = text_to_cstring(DatumGetTextPP(json));

	PushJsonb(ps, tok, DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str))));
}

/* Push a number given as text: a JSON number when it is one, else a string (NaN, Infinity). */
static void
PushNumberText(JsonbParseState **ps, JsonbIteratorToken tok, char *str)
{
	int			len = strlen(str);
	JsonbValue	v;

	if (!IsValidJsonNumber(str, len))
	{
		PushString(ps, tok, str, len);
		return;
	}
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(str),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
	pushJsonbValue(ps, tok, &v);
}

/* One dimension of an array, recursively: JSON arrays nest like to_jsonb's. */
static void
PushArrayDim(JsonbParseState **ps, JsonbIteratorToken tok, const SmarthubJsonType *elem,
			 int dim, int ndims, const int *dims, Datum *values, bool *nulls, int *index)
{
	int			i;

	pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < dims[dim]; i++)
	{
		if (dim + 1 == ndims)
		{
			PushDatum(ps, WJB_ELEM, elem, values[*index], nulls[*index]);
			(*index)++;
		}
		else
			PushArrayDim(ps, WJB_ELEM, elem, dim + 1, ndims, dims, values, nulls, index);
	}
	pushJsonbValue(ps, WJB_END_ARRAY, NULL);
}

static void
PushArray(JsonbParseState **ps, JsonbIteratorToken tok, const SmarthubJsonType *type, Datum value)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	const SmarthubJsonType *elem = type->elem;
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			index = 0;

	if (ARR_NDIM(arr) <= 0)
	{
		pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
		pushJsonbValue(ps, WJB_END_ARRAY, NULL);
		return;
	}
	deconstruct_array(arr, ARR_ELEMTYPE(arr), elem->typlen, elem->typbyval, elem->typalign,
					  &values, &nulls, &n);
	PushArrayDim(ps, tok, elem, 0, ARR_NDIM(arr), ARR_DIMS(arr), values, nulls, &index);
}

/* Push one value as to_jsonb would render it. */
static void
PushDatum(JsonbParseState **ps, JsonbIteratorToken tok, const SmarthubJsonType *type,
		  Datum value, bool isnull)
{
	JsonbValue	v;

	if (isnull)
	{
		v.type = jbvNull;
		pushJsonbValue(ps, tok, &v);
		return;
	}

	switch (type->kind)
	{
		case SH_JSON_BOOL:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(value);
			pushJsonbValue(ps, tok, &v);
			break;
		case SH_JSON_INT:
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(type->typid == INT2OID ? DatumGetInt16(value) :
											 type->typid == INT4OID ? DatumGetInt32(value) :
											 DatumGetInt64(value));
			pushJsonbValue(ps, tok, &v);
			break;
		case SH_JSON_NUMERIC:
			{
				Numeric		num = DatumGetNumeric(value);

				if (numeric_is_nan(num) || numeric_is_inf(num))
				{
					char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out,
																		  NumericGetDatum(num)));

					PushString(ps, tok, str, strlen(str));
					break;
				}
				v.type = jbvNumeric;
				v.val.numeric = num;
				pushJsonbValue(ps, tok, &v);
			}
			break;
		case SH_JSON_FLOAT:
			PushNumberText(ps, tok, OutputFunctionCall((FmgrInfo *) &type->func, value));
			break;
		case SH_JSON_DATETIME:
			{
				char	   *str = JsonEncodeDateTime(NULL, value, type->typid, NULL);

				PushString(ps, tok, str, strlen(str));
			}
			break;
		case SH_JSON_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				PushString(ps, tok, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			break;
		case SH_JSON_JSONB:
			PushJsonb(ps, tok, DatumGetJsonbP(value));
			break;
		case SH_JSON_JSON:
			PushJsonText(ps, tok, value);
			break;
		case SH_JSON_CAST:
			PushJsonText(ps, tok, FunctionCall1((FmgrInfo *) &type->func, value));
			break;
		case SH_JSON_COMPOSITE:
			PushJsonText(ps, tok, DirectFunctionCall1(row_to_json, value));
			break;
		case SH_JSON_ARRAY:
			PushArray(ps, tok, type, value);
			break;
		case SH_JSON_OTHER:
			{
				char	   *str = OutputFunctionCall((FmgrInfo *) &type->func, value);

				PushString(ps, tok, str, strlen(str));
			}
			break;
	}
}

static void
PushKey(JsonbParseState **ps, const char *key)
{
	PushString(ps, WJB_KEY, (char *) key, strlen(key));
}

/*
 * Whether two non-null values of a column are the same, by their stored
 * image (so '1.0' and '1.00' differ, as they print differently).  Two
 * pointers to the same out-of-line TOAST value are equal without fetching
 * it: an UPDATE that does not touch a large column keeps its pointer.
 */
static bool
SameImage(const SmarthubAuditColumn *col, Datum a, Datum b)
{
	if (col->attlen == -1 &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(a)) &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(b)) &&
		VARSIZE_EXTERNAL(DatumGetPointer(a)) == VARSIZE_EXTERNAL(DatumGetPointer(b)) &&
		memcmp(DatumGetPointer(a), DatumGetPointer(b), VARSIZE_EXTERNAL(DatumGetPointer(a))) == 0)
		return true;
	return datum_image_eq(a, b, col->attbyval, col->attlen);
}

/* One side of the change: null, or an object of the columns selected by 'changed'. */
static void
PushSide(JsonbParseState **ps, const char *side, const SmarthubAuditColumn *cols, int ncols,
		 const Datum *values, const bool *nulls, const bool *changed)
{
	JsonbValue	v;
	int			i;

	PushKey(ps, side);
	if (values == NULL)
	{
		v.type = jbvNull;
		pushJsonbValue(ps, WJB_VALUE, &v);
		return;
	}
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < ncols; i++)
	{
		const SmarthubAuditColumn *col = &cols[i];
		int			a = col->attnum - 1;

		if (changed != NULL && !changed[i])
			continue;
		PushKey(ps, col->name);
		if (col->redact)
			PushString(ps, WJB_VALUE, REDACTED, strlen(REDACTED));
		else
			PushDatum(ps, WJB_VALUE, &col->type, values[a], nulls[a]);
	}
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * {"before": ..., "after": ...}; see smarthub.h.  Per-call memory only: the
 * caller (a trigger) runs in a per-row context.
 */
Jsonb *
SmarthubJsonbRowChange(const SmarthubAuditColumn *cols, int ncols, TupleDesc desc,
					   HeapTupleData *oldtup, HeapTupleData *newtup)
{
	Datum	   *oldvalues = NULL;
	bool	   *oldnulls = NULL;
	Datum	   *newvalues = NULL;
	bool	   *newnulls = NULL;
	bool	   *changed = NULL;
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	if (oldtup != NULL)
	{
		oldvalues = palloc(desc->natts * sizeof(Datum));
		oldnulls = palloc(desc->natts * sizeof(bool));
		heap_deform_tuple(oldtup, desc, oldvalues, oldnulls);
	}
	if (newtup != NULL)
	{
		newvalues = palloc(desc->natts * sizeof(Datum));
		newnulls = palloc(desc->natts * sizeof(bool));
		heap_deform_tuple(newtup, desc, newvalues, newnulls);
	}

	if (oldtup != NULL && newtup != NULL)
	{
		bool		any = false;
		int			i;

		changed = palloc(ncols * sizeof(bool));
		for (i = 0; i < ncols; i++)
		{
			const SmarthubAuditColumn *col = &cols[i];
			int			a = col->attnum - 1;

			if (col->ignore)
				changed[i] = false;
			else if (oldnulls[a] || newnulls[a])
				changed[i] = oldnulls[a] != newnulls[a];
			else
				changed[i] = !SameImage(col, oldvalues[a], newvalues[a]);
			any |= changed[i];
		}
		if (!any)
			return NULL;
	}

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	PushSide(&ps, "before", cols, ncols, oldvalues, oldnulls, changed);
	PushSide(&ps, "after", cols, ncols, newvalues, newnulls, changed);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* A flat object of typed values; see smarthub.h. */
Jsonb *
SmarthubJsonbObject(int n, const char *const *keys, const Datum *values, const bool *nulls,
					const Oid *types)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < n; i++)
	{
		SmarthubJsonType type;

		SmarthubJsonTypeInit(&type, types[i], CurrentMemoryContext);
		PushKey(&ps, keys[i]);
		PushDatum(&ps, WJB_VALUE, &type, values[i], nulls[i]);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
