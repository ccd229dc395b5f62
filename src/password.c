/*
 * password.c
 *		bcrypt password hashing through the system's libcrypt (libxcrypt).
 *
 * libxcrypt carries Openwall's crypt_blowfish, the same core pgcrypto uses,
 * so this file only adds what pgcrypto lacks around it: $2b$ output, salt
 * bytes from OpenSSL, refusal of passwords that bcrypt would silently
 * truncate, a ceiling on the cost of hashes we agree to check (bcrypt cannot
 * be interrupted), a constant-time comparison, and failed checks that all
 * cost the same.  The account functions that store hashes are in
 * account.c.
 */
#include "postgres.h"

#include <crypt.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "utils/builtins.h"
#include "utils/guc.h"

#include "smarthub.h"

PG_FUNCTION_INFO_V1(smarthub_hash_password);
PG_FUNCTION_INFO_V1(smarthub_verify_password);
PG_FUNCTION_INFO_V1(smarthub_password_needs_rehash);

#define BCRYPT_HASH_LEN		60	/* "$2b$NN$" + 22 salt + 31 checksum */
#define BCRYPT_MAX_PASSWORD 72	/* bcrypt ignores every byte past this */
#define BCRYPT_MIN_COST		4
#define BCRYPT_MAX_COST		31
#define BCRYPT_SALT_BYTES	16

/* GUCs */
static int	bcrypt_cost = 12;
static int	bcrypt_max_cost = 16;

/*
 * bcrypt rounds (2^cost per computation) this backend has computed: what
 * SmarthubPasswordCheck reports at DEBUG1, so a test can see that every
 * kind of failed login does the same work without timing it.
 */
static uint64 bcrypt_rounds = 0;

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
	/* settings reach here well formed ("$2x$NN$..."), ours or ParseBcryptHash's */
	bcrypt_rounds += UINT64CONST(1) << ((setting[4] - '0') * 10 + (setting[5] - '0'));
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

/* The password rules of SmarthubHashPassword, without the hash (22023). */
void
SmarthubCheckPassword(const char *password, size_t len)
{
	CheckPasswordForHash(password, len);
}

/*
 * Check a password against a hash for login without raising, always doing
 * the work of one bcrypt computation at smarthub.bcrypt_cost (bounded by
 * bcrypt_max_cost), so that no failure tells an unknown login from a wrong
 * password.  NULL, malformed or over-ceiling hashes and over-long passwords
 * are checked against a dummy hash at that cost.  A stored hash of lower
 * cost s (a pgcrypto import, or a hash from before bcrypt_cost was raised)
 * is checked, then padded with dummy computations at costs s, s+1, ...,
 * target-1: 2^s + (2^s + ... + 2^(target-1)) = 2^target rounds, exactly
 * what the dummy costs.  Only a stored hash above the target costs more
 * (see README: lowering bcrypt_cost).
 */
bool
SmarthubPasswordCheck(const char *password, size_t len, const char *hash, size_t hashlen)
{
	static const char dummy_tail[] = "$......................"
		"...............................";
	int			target = Min(bcrypt_cost, bcrypt_max_cost);
	uint64		rounds_before = bcrypt_rounds;
	BcryptHashInfo info;
	char		setting[BCRYPT_HASH_LEN + 1];
	char		out[BCRYPT_HASH_LEN + 1];
	bool		real;
	bool		ok;
	int			pad_from;
	int			cost;

	real = hash != NULL && ParseBcryptHash(hash, hashlen, &info) == NULL &&
		info.cost <= bcrypt_max_cost && len <= BCRYPT_MAX_PASSWORD &&
		memchr(password, '\0', len) == NULL;
	if (real)
	{
		memcpy(setting, hash, BCRYPT_HASH_LEN);
		pad_from = info.cost;
	}
	else
	{
		/* any well-formed setting makes libxcrypt do the full work */
		snprintf(setting, sizeof(setting), "$2b$%02d%s", target, dummy_tail);
		len = Min(len, BCRYPT_MAX_PASSWORD);
		pad_from = target;
	}
	setting[BCRYPT_HASH_LEN] = '\0';

	ok = BcryptCompute(password, len, setting, out);
	ok = ok && real && CRYPTO_memcmp(out, setting, BCRYPT_HASH_LEN) == 0;

	for (cost = pad_from; cost < target; cost++)
	{
		snprintf(setting, sizeof(setting), "$2b$%02d%s", cost, dummy_tail);
		(void) BcryptCompute(password, len, setting, out);
	}
	explicit_bzero(out, sizeof(out));
	ereport(DEBUG1,
			(errmsg_internal("smarthub: the password check computed " UINT64_FORMAT " bcrypt rounds",
							 bcrypt_rounds - rounds_before),
			 errhidestmt(true)));
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
