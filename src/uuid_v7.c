/*
 * uuid_v7.c
 *		Time-ordered uuids (RFC 9562, version 7) for the audit log's key and
 *		for users' own tables: smarthub.uuid_v7() and smarthub.uuid_v7_time().
 *
 * Layout: 48 bits of Unix time in milliseconds, the version (7), 12 bits
 * that count uuids made by this backend within one millisecond (RFC 9562
 * section 6.2, method 1), the variant (10), 62 random bits from OpenSSL.
 * The counter starts each millisecond at a random value below 2048, so ids
 * are not guessable from one another, and a backend's ids are strictly
 * increasing even when the clock steps back or more than 4096 are made in
 * one millisecond (time then runs ahead of the clock by a millisecond or
 * so).  An index on them is appended to rather than written all over.
 */
#include "postgres.h"

#include <openssl/rand.h>

#include "fmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "smarthub.h"

#define UNIX_EPOCH_MS_FROM_PG_EPOCH \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)
#define COUNTER_MAX 0xFFF

static uint64 last_ms = 0;
static uint16 last_counter = 0;

static void
RandomBytes(unsigned char *buf, int n)
{
	if (RAND_bytes(buf, n) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a uuid")));
}

/* A new version-7 uuid into *uuid (see the file header). */
static void
SmarthubUuidV7(pg_uuid_t *uuid)
{
	uint64		ms = (uint64) (GetCurrentTimestamp() / 1000 + UNIX_EPOCH_MS_FROM_PG_EPOCH);
	unsigned char rnd[10];
	uint16		counter;
	int			i;

	RandomBytes(rnd, sizeof(rnd));
	if (ms > last_ms)
		counter = ((rnd[8] << 8) | rnd[9]) & 0x7FF;
	else if (last_counter < COUNTER_MAX)
	{
		ms = last_ms;
		counter = last_counter + 1;
	}
	else
	{
		ms = last_ms + 1;
		counter = 0;
	}
	last_ms = ms;
	last_counter = counter;

	for (i = 0; i < 6; i++)
		uuid->data[i] = (unsigned char) (ms >> (8 * (5 - i)));
	uuid->data[6] = 0x70 | (unsigned char) (counter >> 8);
	uuid->data[7] = (unsigned char) counter;
	uuid->data[8] = 0x80 | (rnd[0] & 0x3F);
	memcpy(&uuid->data[9], &rnd[1], 7);
}

/* smarthub.uuid_v7() RETURNS uuid */
PG_FUNCTION_INFO_V1(smarthub_uuid_v7);
Datum
smarthub_uuid_v7(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

	SmarthubUuidV7(uuid);
	PG_RETURN_UUID_P(uuid);
}

/* smarthub.uuid_v7_time(id uuid) RETURNS timestamptz: its time, NULL unless version 7 */
PG_FUNCTION_INFO_V1(smarthub_uuid_v7_time);
Datum
smarthub_uuid_v7_time(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = PG_GETARG_UUID_P(0);
	uint64		ms = 0;
	int			i;

	if ((uuid->data[6] >> 4) != 7 || (uuid->data[8] & 0xC0) != 0x80)
		PG_RETURN_NULL();
	for (i = 0; i < 6; i++)
		ms = (ms << 8) | uuid->data[i];
	PG_RETURN_TIMESTAMPTZ((TimestampTz) (((int64) ms - UNIX_EPOCH_MS_FROM_PG_EPOCH) * 1000));
}

/* smarthub.uuid_v7_bound(at timestamptz) RETURNS uuid: the millisecond's prefix, zeros after */
PG_FUNCTION_INFO_V1(smarthub_uuid_v7_bound);
Datum
smarthub_uuid_v7_bound(PG_FUNCTION_ARGS)
{
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(0);
	pg_uuid_t  *uuid = palloc0(sizeof(pg_uuid_t));
	int64		ms;
	int			i;

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	ms = at / 1000 + UNIX_EPOCH_MS_FROM_PG_EPOCH;
	if (ms < 0 || ms >= (INT64CONST(1) << 48))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for a version-7 uuid")));
	for (i = 0; i < 6; i++)
		uuid->data[i] = (unsigned char) (ms >> (8 * (5 - i)));
	PG_RETURN_UUID_P(uuid);
}
