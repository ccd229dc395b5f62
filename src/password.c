/*
 * password.c
 *		bcrypt password hashing through the system's libcrypt (libxcrypt).
 *
 * libxcrypt carries Openwall's crypt_blowfish, the same core pgcrypto uses,
 * so this file only adds what pgcrypto lacks around it: $2b$ output, salt
 * bytes from OpenSSL, refusal of passwords that bcrypt would silently
 * truncate, a ceiling on the cost of hashes we agree to check (bcrypt cannot
 * be interrupted), and a constant-time comparison.  set_password and
 * create_user live here too: they are the SQL-facing users of the hash.
 */
#include "postgres.h"

#include <crypt.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_hash_password);
PG_FUNCTION_INFO_V1(smarthub_verify_password);
PG_FUNCTION_INFO_V1(smarthub_password_needs_rehash);
PG_FUNCTION_INFO_V1(smarthub_set_password);
PG_FUNCTION_INFO_V1(smarthub_create_user);

#define BCRYPT_HASH_LEN		60	/* "$2b$NN$" + 22 salt + 31 checksum */
#define BCRYPT_MAX_PASSWORD 72	/* bcrypt ignores every byte past this */
#define BCRYPT_MIN_COST		4
#define BCRYPT_MAX_COST		31
#define BCRYPT_SALT_BYTES	16

/* GUCs */
static int	bcrypt_cost = 12;
static int	bcrypt_max_cost = 16;

/* What ParseBcryptHash found wrong, for errdetail; NULL when well formed. */
typedef struct BcryptHashInfo
{
	char		variant;		/* 'a', 'b' or 'y' */
	int			cost;
} BcryptHashInfo;

static const char *ParseBcryptHash(const char *hash, size_t len, BcryptHashInfo *info);
static bool BcryptAlphabet(char c);
static void CheckHashCost(int cost);
static void CheckPasswordForHash(const char *password, size_t len);
static bool BcryptCompute(const char *password, size_t len, const char *setting, char *out);
static text *HashToText(const char *password, size_t len, int cost);

/*
 * Define the module's GUCs.
 *
 * Both are PGC_SUSET.  bcrypt_cost decides the hashes that create_user,
 * set_password and login's re-hashing store for other users: an
 * application that could lower it would weaken their passwords (and one
 * that could raise it would make every login seconds of uninterruptible
 * work).  hash_password's explicit cost argument is unaffected.
 * bcrypt_max_cost is the DBA's bound on how long one bcrypt call may pin a
 * backend (the call cannot be interrupted).
 */
void
PasswordInit(void)
{
	DefineCustomIntVariable("smarthub.bcrypt_cost",
							"bcrypt cost (log2 of the rounds) of new password hashes.",
							"Each step doubles the work; 12 takes about 0.25 s on current hardware.",
							&bcrypt_cost,
							12, BCRYPT_MIN_COST, BCRYPT_MAX_COST,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("smarthub.bcrypt_max_cost",
							"Highest bcrypt cost smarthub will compute or verify.",
							"bcrypt cannot be interrupted: this bounds how long a planted hash can pin a backend.",
							&bcrypt_max_cost,
							16, BCRYPT_MIN_COST, BCRYPT_MAX_COST,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/* The current smarthub.bcrypt_max_cost. */
int
SmarthubBcryptMaxCost(void)
{
	return bcrypt_max_cost;
}

/*
 * Check the shape of a bcrypt hash without looking at the password.  Returns
 * NULL and fills *info when well formed, else a sentence for errdetail (the
 * hash itself never goes into a message).
 */
static const char *
ParseBcryptHash(const char *hash, size_t len, BcryptHashInfo *info)
{
	size_t		i;

	if (len != BCRYPT_HASH_LEN)
		return "A bcrypt hash is 60 characters long.";
	if (hash[0] != '$' || hash[1] != '2' || hash[3] != '$')
		return "A bcrypt hash starts with $2a$, $2b$ or $2y$.";
	if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y')
		return "Only the bcrypt variants $2a$, $2b$ and $2y$ are supported.";
	if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$')
		return "The cost of a bcrypt hash is two digits followed by \"$\".";
	info->variant = hash[2];
	info->cost = (hash[4] - '0') * 10 + (hash[5] - '0');
	if (info->cost < BCRYPT_MIN_COST || info->cost > BCRYPT_MAX_COST)
		return "The cost of a bcrypt hash is between 04 and 31.";
	for (i = 7; i < len; i++)
		if (!BcryptAlphabet(hash[i]))
			return "The salt and checksum of a bcrypt hash use only \"./\", digits and ASCII letters.";
	return NULL;
}

/* bcrypt's base-64 alphabet: ./A-Za-z0-9 */
static bool
BcryptAlphabet(char c)
{
	return c == '.' || c == '/' ||
		(c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* 22023 unless cost is a bcrypt cost at all (4..31). */
static void
CheckCostRange(int cost)
{
	if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bcrypt cost %d is out of range", cost),
				 errdetail("The cost must be between %d and %d.", BCRYPT_MIN_COST, BCRYPT_MAX_COST),
				 errhidestmt(true)));
}

/* 22023 unless cost is one we agree to compute. */
static void
CheckHashCost(int cost)
{
	CheckCostRange(cost);
	if (cost > bcrypt_max_cost)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bcrypt cost %d exceeds smarthub.bcrypt_max_cost (%d)", cost, bcrypt_max_cost),
				 errdetail("A bcrypt computation cannot be interrupted, so its cost is bounded."),
				 errhint("A superuser may raise smarthub.bcrypt_max_cost."),
				 errhidestmt(true)));
}

/* 22023 for a password we refuse to hash. */
static void
CheckPasswordForHash(const char *password, size_t len)
{
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password must not be empty"),
				 errhidestmt(true)));
	if (len > BCRYPT_MAX_PASSWORD)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password is longer than %d bytes", BCRYPT_MAX_PASSWORD),
				 errdetail("bcrypt ignores every byte past the 72nd, so a longer password would be silently truncated."),
				 errhint("Use a password of at most 72 bytes (UTF-8), or pre-hash it in the application."),
				 errhidestmt(true)));
	if (memchr(password, '\0', len) != NULL)	/* can't happen with text */
		elog(ERROR, "password contains a NUL byte"); /* internal error */
}

/*
 * Run bcrypt: the len-byte password against a setting (a full hash or
 * "$2b$NN$" + salt), writing the 60-character result and its NUL into out.
 * Returns false when libxcrypt refused the setting (NULL, or its "*0"/"*1"
 * failure token).  The password's NUL-terminated copy and the 32 kB work
 * area (which holds its key schedule) are wiped before they are freed.
 */
static bool
BcryptCompute(const char *password, size_t len, const char *setting, char *out)
{
	struct crypt_data *data = palloc0(sizeof(struct crypt_data));
	char	   *pw = pnstrdup(password, len);	/* libxcrypt wants it NUL-terminated */
	char	   *res;
	bool		ok;

	res = crypt_rn(pw, setting, data, sizeof(struct crypt_data));
	ok = res != NULL && res[0] != '*' && strlen(res) == BCRYPT_HASH_LEN;
	if (ok)
		memcpy(out, res, BCRYPT_HASH_LEN + 1);
	explicit_bzero(pw, len);
	pfree(pw);
	explicit_bzero(data, sizeof(struct crypt_data));
	pfree(data);
	return ok;
}

/* Hash a password (already checked for length) at cost; raises 22023. */
static text *
HashToText(const char *password, size_t len, int cost)
{
	unsigned char salt[BCRYPT_SALT_BYTES];
	char		setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char		out[BCRYPT_HASH_LEN + 1];
	bool		ok;

	CheckHashCost(cost);
	CheckPasswordForHash(password, len);

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random salt"),
				 errhidestmt(true)));
	if (crypt_gensalt_rn("$2b$", cost, (const char *) salt, sizeof(salt),
						 setting, sizeof(setting)) == NULL || setting[0] == '*')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("libcrypt could not make a bcrypt salt for cost %d", cost),
				 errhidestmt(true)));
	explicit_bzero(salt, sizeof(salt));

	ok = BcryptCompute(password, len, setting, out);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("libcrypt could not compute a bcrypt hash"),
				 errhidestmt(true)));
	return cstring_to_text_with_len(out, BCRYPT_HASH_LEN);
}

/*
 * Hash a password at cost (-1: smarthub.bcrypt_cost) for the other modules;
 * raises 22023 like hash_password.
 */
text *
SmarthubHashPassword(const char *password, size_t len, int cost)
{
	return HashToText(password, len, cost < 0 ? bcrypt_cost : cost);
}

/*
 * Check a password against a hash for login without raising, always
 * spending one bcrypt computation at the cost of the stored hash, or at
 * smarthub.bcrypt_cost (bounded by bcrypt_max_cost) when hash is NULL,
 * malformed, over the ceiling, or the password is over-long: the caller's
 * failures then cost what a real check costs.
 */
bool
SmarthubPasswordCheck(const char *password, size_t len, const char *hash, size_t hashlen)
{
	static const char dummy_tail[] = "$......................"
		"...............................";
	BcryptHashInfo info;
	char		setting[BCRYPT_HASH_LEN + 1];
	char		out[BCRYPT_HASH_LEN + 1];
	bool		real;
	bool		ok;

	real = hash != NULL && ParseBcryptHash(hash, hashlen, &info) == NULL &&
		info.cost <= bcrypt_max_cost && len <= BCRYPT_MAX_PASSWORD &&
		memchr(password, '\0', len) == NULL;
	if (real)
		memcpy(setting, hash, BCRYPT_HASH_LEN);
	else
	{
		/* any well-formed setting makes libxcrypt do the full work */
		snprintf(setting, sizeof(setting), "$2b$%02d%s",
				 Min(bcrypt_cost, bcrypt_max_cost), dummy_tail);
		len = Min(len, BCRYPT_MAX_PASSWORD);
	}
	setting[BCRYPT_HASH_LEN] = '\0';

	ok = BcryptCompute(password, len, setting, out);
	ok = ok && real && CRYPTO_memcmp(out, setting, BCRYPT_HASH_LEN) == 0;
	explicit_bzero(out, sizeof(out));
	return ok;
}

/*
 * The cost at which login should re-hash a verified password, or 0 to keep
 * the hash: re-hashing only ever strengthens, to $2b$ from $2a$/$2y$ and up
 * to smarthub.bcrypt_cost, never down from a costlier hash.
 */
int
SmarthubPasswordRehashCost(const char *hash, size_t len)
{
	BcryptHashInfo info;

	if (ParseBcryptHash(hash, len, &info) != NULL)
		return 0;
	if (info.cost < bcrypt_cost)
		return bcrypt_cost;
	return info.variant != 'b' ? info.cost : 0;
}

/* hash_password(password text, cost integer DEFAULT NULL) RETURNS text */
Datum
smarthub_hash_password(PG_FUNCTION_ARGS)
{
	text	   *password;
	int			cost;
	text	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	password = PG_GETARG_TEXT_PP(0);
	cost = PG_ARGISNULL(1) ? bcrypt_cost : PG_GETARG_INT32(1);
	result = HashToText(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password), cost);
	PG_RETURN_TEXT_P(result);
}

/* verify_password(password text, hash text) RETURNS boolean, STRICT */
Datum
smarthub_verify_password(PG_FUNCTION_ARGS)
{
	text	   *password = PG_GETARG_TEXT_PP(0);
	text	   *hash = PG_GETARG_TEXT_PP(1);
	const char *h = VARDATA_ANY(hash);
	size_t		hlen = VARSIZE_ANY_EXHDR(hash);
	size_t		plen = VARSIZE_ANY_EXHDR(password);
	const char *problem;
	BcryptHashInfo info;
	char		setting[BCRYPT_HASH_LEN + 1];
	char		out[BCRYPT_HASH_LEN + 1];
	bool		ok;

	problem = ParseBcryptHash(h, hlen, &info);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid bcrypt hash"),
				 errdetail_internal("%s", problem),
				 errhidestmt(true)));
	CheckHashCost(info.cost);

	/* No hash of ours can match: a login form must not turn this into an error. */
	if (plen > BCRYPT_MAX_PASSWORD)
		PG_RETURN_BOOL(false);

	memcpy(setting, h, BCRYPT_HASH_LEN);
	setting[BCRYPT_HASH_LEN] = '\0';
	ok = BcryptCompute(VARDATA_ANY(password), plen, setting, out);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid bcrypt hash"),
				 errdetail("libcrypt refused the hash's salt."),
				 errhidestmt(true)));
	ok = CRYPTO_memcmp(out, setting, BCRYPT_HASH_LEN) == 0;
	explicit_bzero(out, sizeof(out));
	PG_RETURN_BOOL(ok);
}

/* password_needs_rehash(hash text, cost integer DEFAULT NULL) RETURNS boolean */
Datum
smarthub_password_needs_rehash(PG_FUNCTION_ARGS)
{
	text	   *hash;
	int			cost;
	const char *problem;
	BcryptHashInfo info;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	hash = PG_GETARG_TEXT_PP(0);
	cost = PG_ARGISNULL(1) ? bcrypt_cost : PG_GETARG_INT32(1);
	CheckCostRange(cost);
	problem = ParseBcryptHash(VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash), &info);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid bcrypt hash"),
				 errdetail_internal("%s", problem),
				 errhidestmt(true)));
	PG_RETURN_BOOL(info.variant != 'b' || info.cost != cost);
}

/*
 * Call fn, marking any error it raises (ours, a constraint violation from
 * the INSERT, a read-only transaction...) so that the server log does not
 * show the statement: the statement carries a password.  A check or NOT NULL
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
		if (edata->sqlerrcode == ERRCODE_CHECK_VIOLATION ||
			edata->sqlerrcode == ERRCODE_NOT_NULL_VIOLATION)
			edata->detail = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	return result;
}

/* 22004 when a required argument is NULL. */
static void
RequireArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhidestmt(true)));
}

/*
 * Body of set_password(user_id uuid, password text) RETURNS void.
 *
 * Soft-deleted accounts count as unknown (P0002): to the application they
 * are gone.
 */
static Datum
SetPassword(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	pg_uuid_t  *user_id;
	text	   *password;
	text	   *hash;
	Datum		values[2];
	int			rc;

	RequireArg(fcinfo, 0, "user_id");
	RequireArg(fcinfo, 1, "password");
	user_id = PG_GETARG_UUID_P(0);
	password = PG_GETARG_TEXT_PP(1);

	SmarthubCheckActingFor(user_id);
	hash = HashToText(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password), bcrypt_cost);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");	/* internal error */
	if (plan == NULL)
	{
		Oid			types[2] = {UUIDOID, TEXTOID};
		SPIPlanPtr	p = SPI_prepare("UPDATE smarthub.users SET password_hash = $2"
									" WHERE id OPERATOR(pg_catalog.=) $1 AND deleted_at IS NULL",
									2, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));	/* internal error */
		plan = p;
	}
	values[0] = UUIDPGetDatum(user_id);
	values[1] = PointerGetDatum(hash);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));	/* internal error */
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(user_id)))),
				 errhidestmt(true)));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Body of create_user(email text, username text, password text, first_name text
 *			   DEFAULT NULL, last_name text DEFAULT NULL, roles text[] DEFAULT
 *			   ARRAY['user']) RETURNS uuid
 *
 * Role names are checked before the (expensive) hash; NULL roles means none.
 * Clashes and bad emails come from the table's own constraints (23505,
 * 23514).
 */
static Datum
CreateUser(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr role_plan = NULL;
	static SPIPlanPtr user_plan = NULL;
	static SPIPlanPtr grant_plan = NULL;
	text	   *password;
	text	   *hash;
	Datum		roles = (Datum) 0;
	Datum		values[5];
	char		nulls[5];
	Datum		id;
	bool		isnull;
	int			rc;

	RequireArg(fcinfo, 0, "email");
	RequireArg(fcinfo, 1, "username");
	RequireArg(fcinfo, 2, "password");
	SmarthubCheckActingFor(NULL);
	password = PG_GETARG_TEXT_PP(2);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");	/* internal error */
	if (role_plan == NULL)
	{
		Oid			rtypes[1] = {TEXTARRAYOID};
		Oid			utypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Oid			gtypes[2] = {UUIDOID, TEXTARRAYOID};
		SPIPlanPtr	p1,
					p2,
					p3;

		/* the first role name that does not exist, if any */
		p1 = SPI_prepare("SELECT n FROM pg_catalog.unnest($1) AS u(n)"
						 " WHERE n IS NULL OR NOT EXISTS (SELECT FROM smarthub.roles r"
						 " WHERE r.name OPERATOR(pg_catalog.=) u.n) LIMIT 1",
						 1, rtypes);
		p2 = SPI_prepare("INSERT INTO smarthub.users (email, username, password_hash, first_name, last_name)"
						 " VALUES ($1, $2, $3, $4, $5) RETURNING id",
						 5, utypes);
		p3 = SPI_prepare("INSERT INTO smarthub.user_roles (user_id, role_id)"
						 " SELECT DISTINCT $1, r.id FROM smarthub.roles r"
						 " WHERE r.name OPERATOR(pg_catalog.=) ANY ($2)",
						 2, gtypes);
		if (p1 == NULL || p2 == NULL || p3 == NULL ||
			SPI_keepplan(p1) != 0 || SPI_keepplan(p2) != 0 || SPI_keepplan(p3) != 0)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));	/* internal error */
		user_plan = p2;
		grant_plan = p3;
		role_plan = p1;
	}

	if (!PG_ARGISNULL(5))
	{
		roles = PG_GETARG_DATUM(5);
		rc = SPI_execute_plan(role_plan, &roles, NULL, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));	/* internal error */
		if (SPI_processed > 0)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (name == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("role names must not be null"),
				 errhidestmt(true)));
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("role \"%s\" does not exist", name),
					 errhint("The roles are listed in smarthub.roles."),
				 errhidestmt(true)));
		}
	}

	hash = HashToText(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password), bcrypt_cost);

	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PointerGetDatum(hash);
	values[3] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	values[4] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	memset(nulls, ' ', sizeof(nulls));
	nulls[3] = PG_ARGISNULL(3) ? 'n' : ' ';
	nulls[4] = PG_ARGISNULL(4) ? 'n' : ' ';
	rc = SPI_execute_plan(user_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));	/* internal error */
	/* the uuid must survive SPI_finish */
	id = PointerGetDatum(SPI_palloc(UUID_LEN));
	memcpy(DatumGetPointer(id),
		   DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		   UUID_LEN);

	if (roles != (Datum) 0)
	{
		Datum		gvalues[2] = {id, roles};

		rc = SPI_execute_plan(grant_plan, gvalues, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));	/* internal error */
	}
	SPI_finish();
	PG_RETURN_DATUM(id);
}

/* set_password(user_id uuid, password text) RETURNS void */
Datum
smarthub_set_password(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(SetPassword, fcinfo);
}

/* create_user(email, username, password, first_name, last_name, roles) RETURNS uuid */
Datum
smarthub_create_user(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(CreateUser, fcinfo);
}
