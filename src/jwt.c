/*
 * jwt.c
 *		JSON Web Tokens (RFC 7519) in compact JWS form: verified for the
 *		issuers of smarthub.jwt_issuers and for smarthub itself, bound to the
 *		application identity, and issued for live sessions.
 *
 * Trust: a token is valid only if its iss names an issuer we know, its alg is
 * one that issuer allows and fits the key's type (so an RSA public key can
 * never serve as an HMAC secret), and a key of that issuer verifies its
 * signature; then exp (unless the issuer waives it), nbf and aud are checked.
 * Nothing in the token chooses where keys come from: jku, x5u, jwk and x5c
 * headers are ignored, crit is refused.  HMAC secrets and smarthub's own
 * signing keys come from the keyring file (encryption.c), public keys from
 * the table.
 *
 * Cost: keys are parsed once per backend, and again only after a change to
 * smarthub.jwt_issuers commits (its trigger sends a relcache invalidation
 * that every backend receives) or the keyring is re-read; each key keeps its
 * OpenSSL verification context, so a token costs two small JSON parses, a
 * digest and the public-key operation.
 *
 * Never raising: verification returns false for any token, whatever its
 * bytes.  PostgreSQL's JSON lexer returns errors rather than raising them,
 * except for a few cases screened out first (nesting depth, \u escapes a
 * non-UTF-8 database cannot hold, numbers beyond numeric's range).
 */
#include "postgres.h"

#include <math.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "smarthub.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "smarthub's JWT support needs OpenSSL 3"
#endif

PG_FUNCTION_INFO_V1(smarthub_verify_jwt);
PG_FUNCTION_INFO_V1(smarthub_authenticate_jwt);
PG_FUNCTION_INFO_V1(smarthub_issue_jwt);
PG_FUNCTION_INFO_V1(smarthub_jwks);
PG_FUNCTION_INFO_V1(smarthub_jwt_issuers_changed);

#define JWT_MAX_LEN		8192	/* longer tokens fail before any work */
#define JSON_MAX_DEPTH	32
#define JWKS_MAX_KEYS	20		/* a kid-less token may be tried against each */
#define UNIX_EPOCH_OFFSET ((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* GUC: the iss of the tokens smarthub issues (and the default aud) */
static char *jwt_issuer_name = NULL;

/* ---- algorithms and key types ---- */

typedef enum KeyType
{
	KEY_HMAC,
	KEY_RSA,
	KEY_P256,
	KEY_P384,
	KEY_ED25519
} KeyType;

typedef enum Alg
{
	ALG_HS256, ALG_HS384, ALG_HS512,
	ALG_RS256, ALG_RS384, ALG_RS512,
	ALG_PS256, ALG_PS384, ALG_PS512,
	ALG_ES256, ALG_ES384,
	ALG_EDDSA,
	NUM_ALGS
} Alg;

typedef struct AlgInfo
{
	const char *name;
	KeyType		key;
	const char *digest;			/* NULL for EdDSA, which hashes inside */
	int			size;			/* HMAC: minimum secret; EC: coordinate bytes */
	bool		pss;
} AlgInfo;

static const AlgInfo alg_info[NUM_ALGS] = {
	[ALG_HS256] = {"HS256", KEY_HMAC, "SHA256", 32, false},
	[ALG_HS384] = {"HS384", KEY_HMAC, "SHA384", 48, false},
	[ALG_HS512] = {"HS512", KEY_HMAC, "SHA512", 64, false},
	[ALG_RS256] = {"RS256", KEY_RSA, "SHA256", 0, false},
	[ALG_RS384] = {"RS384", KEY_RSA, "SHA384", 0, false},
	[ALG_RS512] = {"RS512", KEY_RSA, "SHA512", 0, false},
	[ALG_PS256] = {"PS256", KEY_RSA, "SHA256", 0, true},
	[ALG_PS384] = {"PS384", KEY_RSA, "SHA384", 0, true},
	[ALG_PS512] = {"PS512", KEY_RSA, "SHA512", 0, true},
	[ALG_ES256] = {"ES256", KEY_P256, "SHA256", 32, false},
	[ALG_ES384] = {"ES384", KEY_P384, "SHA384", 48, false},
	[ALG_EDDSA] = {"EdDSA", KEY_ED25519, NULL, 0, false},
};

/* Digests, fetched once for the process. */
static EVP_MD *digests[NUM_ALGS];
static EVP_MAC *hmac_mac = NULL;

static int
AlgByName(const char *name, int len)
{
	for (int a = 0; a < NUM_ALGS; a++)
		if ((int) strlen(alg_info[a].name) == len && memcmp(alg_info[a].name, name, len) == 0)
			return a;
	return -1;
}

static EVP_MD *
AlgDigest(int alg)
{
	if (digests[alg] == NULL)
	{
		digests[alg] = EVP_MD_fetch(NULL, alg_info[alg].digest, NULL);
		if (digests[alg] == NULL)
			elog(ERROR, "could not fetch digest %s", alg_info[alg].digest);
	}
	return digests[alg];
}

/* ---- the key cache ---- */

typedef struct JwtKey
{
	char	   *kid;			/* NULL: none */
	KeyType		type;
	int			alg;			/* the JWK's "alg", or -1: any fitting its type */
	EVP_PKEY   *pkey;			/* asymmetric keys (private for our own) */
	unsigned char *secret;		/* HMAC: a copy, wiped when the cache goes */
	int			secret_len;
	/* per alg, made on first use: a keyed HMAC, or an initialised verify context */
	EVP_MAC_CTX *mac[3];
	EVP_PKEY_CTX *verify[NUM_ALGS];
} JwtKey;

typedef struct JwtIssuer
{
	char	   *name;
	char	  **audiences;		/* NULL: aud unchecked */
	int			naudiences;
	char	   *user_claim;
	bool		claim_is_user_id;
	uint32		algs;			/* bit per Alg */
	double		leeway;			/* seconds */
	bool		require_exp;
	bool		require_sid;
	bool		own;
	int			nkeys;
	JwtKey	   *keys;
} JwtIssuer;

static MemoryContext CacheContext = NULL;
static bool cache_valid = false;
static uint64 cache_keyring_generation = 0;
static Oid	issuers_relid = InvalidOid;
static JwtIssuer *issuers = NULL;
static int	nissuers = 0;
static JwtIssuer own_issuer;	/* keys: the keyring's jwt-sign lines, current last */

static SPIPlanPtr issuers_plan = NULL;

static void
KeyFree(JwtKey *key)
{
	if (key->pkey != NULL)
		EVP_PKEY_free(key->pkey);
	for (int i = 0; i < 3; i++)
		if (key->mac[i] != NULL)
			EVP_MAC_CTX_free(key->mac[i]);
	for (int a = 0; a < NUM_ALGS; a++)
		if (key->verify[a] != NULL)
			EVP_PKEY_CTX_free(key->verify[a]);
	if (key->secret != NULL)
		explicit_bzero(key->secret, key->secret_len);
	memset(key, 0, sizeof(*key));
}

static void
CacheFree(void)
{
	for (int i = 0; i < nissuers; i++)
		for (int k = 0; k < issuers[i].nkeys; k++)
			KeyFree(&issuers[i].keys[k]);
	for (int k = 0; k < own_issuer.nkeys; k++)
		KeyFree(&own_issuer.keys[k]);
	issuers = NULL;
	nissuers = 0;
	memset(&own_issuer, 0, sizeof(own_issuer));
	if (CacheContext != NULL)
		MemoryContextReset(CacheContext);
	cache_valid = false;
}

/* A change to jwt_issuers committed (here or elsewhere), or the relcache was reset. */
static void
JwtRelcacheCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == issuers_relid)
		cache_valid = false;	/* freed at the next use, never under a caller's feet */
}

/* ---- JSON ---- */

/*
 * Screen a JSON text before PostgreSQL's parser sees it: nesting no deeper
 * than JSON_MAX_DEPTH (its recursion checks the stack by raising), and, in a
 * database that is not UTF-8, no \u escape beyond ASCII (converting one
 * raises when the database encoding cannot hold it).
 */
static bool
JsonScreen(const char *s, int len)
{
	int			depth = 0;
	bool		in_string = false;
	bool		ascii_escapes_only = GetDatabaseEncoding() != PG_UTF8;

	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '"')
				in_string = false;
			else if (c == '\\' && i + 1 < len)
			{
				i++;
				if (s[i] == 'u' && ascii_escapes_only &&
					(i + 2 >= len || s[i + 1] != '0' || s[i + 2] != '0' ||
					 (i + 3 < len && s[i + 3] > '7')))
					return false;
			}
		}
		else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
		{
			if (++depth > JSON_MAX_DEPTH)
				return false;
		}
		else if (c == '}' || c == ']')
			depth--;
	}
	return true;
}

/* Semantic state: builds a JsonbValue as jsonb_in does, refusing duplicate keys. */
typedef struct JsonBuild
{
	JsonbParseState *state;
	JsonbValue *result;
	int			depth;
	int			fields[JSON_MAX_DEPTH + 1]; /* keys seen in each open object */
	bool		failed;
} JsonBuild;

#if PG_VERSION_NUM >= 160000
#define SEM_RETURN(b) return (b)->failed ? JSON_SEM_ACTION_FAILED : JSON_SUCCESS
typedef JsonParseErrorType SemResult;
#else
#define SEM_RETURN(b) return
typedef void SemResult;
#endif

static SemResult
JbObjectStart(void *arg)
{
	JsonBuild  *b = arg;

	if (!b->failed)
	{
		b->result = pushJsonbValue(&b->state, WJB_BEGIN_OBJECT, NULL);
		b->fields[++b->depth] = 0;
	}
	SEM_RETURN(b);
}

static SemResult
JbObjectEnd(void *arg)
{
	JsonBuild  *b = arg;

	if (!b->failed)
	{
		b->result = pushJsonbValue(&b->state, WJB_END_OBJECT, NULL);
		/* jsonb keeps the last of duplicate keys; a token may not have any */
		if (b->result->val.object.nPairs != b->fields[b->depth])
			b->failed = true;
		b->depth--;
	}
	SEM_RETURN(b);
}

static SemResult
JbArrayStart(void *arg)
{
	JsonBuild  *b = arg;

	if (b->state == NULL)
		b->failed = true;		/* the document must be an object */
	if (!b->failed)
	{
		b->result = pushJsonbValue(&b->state, WJB_BEGIN_ARRAY, NULL);
		b->fields[++b->depth] = 0;
	}
	SEM_RETURN(b);
}

static SemResult
JbArrayEnd(void *arg)
{
	JsonBuild  *b = arg;

	if (!b->failed)
	{
		b->result = pushJsonbValue(&b->state, WJB_END_ARRAY, NULL);
		b->depth--;
	}
	SEM_RETURN(b);
}

static SemResult
JbField(void *arg, char *fname, bool isnull)
{
	JsonBuild  *b = arg;
	JsonbValue	v;

	if (!b->failed)
	{
		v.type = jbvString;
		v.val.string.val = fname;
		v.val.string.len = strlen(fname);
		b->result = pushJsonbValue(&b->state, WJB_KEY, &v);
		b->fields[b->depth]++;
	}
	SEM_RETURN(b);
}

/* Whether a JSON number is small enough for numeric_in never to raise. */
static bool
NumberInRange(const char *token)
{
	const char *e = strpbrk(token, "eE");

	if (strlen(token) > 40)
		return false;
	if (e != NULL)
	{
		int			exp = atoi(e[1] == '+' ? e + 2 : e + 1);

		if (exp > 300 || exp < -300)
			return false;
	}
	return true;
}

static SemResult
JbScalar(void *arg, char *token, JsonTokenType type)
{
	JsonBuild  *b = arg;
	JsonbValue	v;

	if (b->state == NULL)
		b->failed = true;		/* the document must be an object */
	if (b->failed)
		SEM_RETURN(b);
	switch (type)
	{
		case JSON_TOKEN_STRING:
			v.type = jbvString;
			v.val.string.val = token;
			v.val.string.len = strlen(token);
			break;
		case JSON_TOKEN_NUMBER:
			if (!NumberInRange(token))
			{
				b->failed = true;
				SEM_RETURN(b);
			}
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(token),
																ObjectIdGetDatum(InvalidOid),
																Int32GetDatum(-1)));
			break;
		case JSON_TOKEN_TRUE:
			v.type = jbvBool;
			v.val.boolean = true;
			break;
		case JSON_TOKEN_FALSE:
			v.type = jbvBool;
			v.val.boolean = false;
			break;
		default:
			v.type = jbvNull;
			break;
	}
	b->result = pushJsonbValue(&b->state,
							   b->state->contVal.type == jbvArray ? WJB_ELEM : WJB_VALUE, &v);
	SEM_RETURN(b);
}

/*
 * Parse a JSON object (len bytes, not NUL-terminated) into a JsonbValue;
 * NULL for anything else: invalid JSON or encoding, a duplicate key, too
 * deep, a number out of range.  Never raises for the input's content.
 */
static JsonbValue *
ParseJsonObject(char *json, int len)
{
	JsonBuild	build;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;

	if (len == 0 || json[0] != '{' ||
		!pg_verifymbstr(json, len, true) || !JsonScreen(json, len))
		return NULL;
	memset(&build, 0, sizeof(build));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &build;
	sem.object_start = JbObjectStart;
	sem.object_end = JbObjectEnd;
	sem.array_start = JbArrayStart;
	sem.array_end = JbArrayEnd;
	sem.object_field_start = JbField;
	sem.scalar = JbScalar;
#if PG_VERSION_NUM >= 170000
	lex = makeJsonLexContextCstringLen(NULL, json, len, GetDatabaseEncoding(), true);
#else
	lex = makeJsonLexContextCstringLen(json, len, GetDatabaseEncoding(), true);
#endif
	rc = pg_parse_json(lex, &sem);
#if PG_VERSION_NUM >= 170000
	freeJsonLexContext(lex);
#endif
	if (rc != JSON_SUCCESS || build.failed || build.result == NULL ||
		build.result->type != jbvObject || build.state != NULL)
		return NULL;
	return build.result;
}

/* The value of key in a parsed object, or NULL. */
static JsonbValue *
ObjectGet(JsonbValue *obj, const char *key)
{
	int			len = strlen(key);

	for (int i = 0; i < obj->val.object.nPairs; i++)
	{
		JsonbPair  *p = &obj->val.object.pairs[i];

		if (p->key.val.string.len == len && memcmp(p->key.val.string.val, key, len) == 0)
			return &p->value;
	}
	return NULL;
}

static bool
StringEquals(const JsonbValue *v, const char *s)
{
	int			len = strlen(s);

	return v->type == jbvString && v->val.string.len == len &&
		memcmp(v->val.string.val, s, len) == 0;
}

/* A JSON number as double; false for another type or a non-finite value. */
static bool
NumberValue(const JsonbValue *v, double *out)
{
	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric))
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
	return isfinite(*out);
}

/* ---- base64url ---- */

static char *
Base64UrlEncode(const unsigned char *p, int len)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char	   *out = palloc((len * 4) / 3 + 4);
	int			n = 0;
	int			i;

	for (i = 0; i + 2 < len; i += 3)
	{
		uint32		v = (uint32) p[i] << 16 | (uint32) p[i + 1] << 8 | p[i + 2];

		out[n++] = digits[v >> 18];
		out[n++] = digits[(v >> 12) & 63];
		out[n++] = digits[(v >> 6) & 63];
		out[n++] = digits[v & 63];
	}
	if (i < len)
	{
		uint32		v = (uint32) p[i] << 16 | (i + 1 < len ? (uint32) p[i + 1] << 8 : 0);

		out[n++] = digits[v >> 18];
		out[n++] = digits[(v >> 12) & 63];
		if (i + 1 < len)
			out[n++] = digits[(v >> 6) & 63];
	}
	out[n] = '\0';
	return out;
}

/* A base64url member of a JWK, decoded into palloc'd memory; NULL when absent or malformed. */
static unsigned char *
JwkBytes(JsonbValue *jwk, const char *member, int *len)
{
	JsonbValue *v = ObjectGet(jwk, member);
	unsigned char *out;

	if (v == NULL || v->type != jbvString)
		return NULL;
	out = palloc(v->val.string.len + 1);
	*len = SmarthubBase64Decode(v->val.string.val, v->val.string.len, true, out);
	return *len < 0 ? NULL : out;
}

/* ---- JWK -> key ---- */

static EVP_PKEY *
PkeyFromParams(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY   *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static const char *
RsaKey(JsonbValue *jwk, JwtKey *key)
{
	int			nlen,
				elen;
	unsigned char *n = JwkBytes(jwk, "n", &nlen);
	unsigned char *e = JwkBytes(jwk, "e", &elen);
	BIGNUM	   *bn_n,
			   *bn_e;
	OSSL_PARAM_BLD *bld;

	if (n == NULL || e == NULL || nlen == 0 || elen == 0 || elen > 8)
		return "an RSA key needs base64url members \"n\" and \"e\"";
	bn_n = BN_bin2bn(n, nlen, NULL);
	bn_e = BN_bin2bn(e, elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL ||
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		elog(ERROR, "could not build an RSA key");	/* out of memory */
	/* at most 8192 bits: a bogus token must not cost many slow verifications */
	if (BN_is_odd(bn_e) && BN_num_bits(bn_e) > 1 && BN_num_bits(bn_n) >= 2048 &&
		BN_num_bits(bn_n) <= 8192)
		key->pkey = PkeyFromParams("RSA", bld);
	BN_free(bn_n);
	BN_free(bn_e);
	OSSL_PARAM_BLD_free(bld);
	if (key->pkey == NULL)
		return "an RSA key must have an odd exponent and a modulus of 2048 to 8192 bits";
	key->type = KEY_RSA;
	return NULL;
}

static const char *
EcKey(JsonbValue *jwk, JwtKey *key)
{
	JsonbValue *crv = ObjectGet(jwk, "crv");
	bool		p256 = crv != NULL && StringEquals(crv, "P-256");
	int			size = p256 ? 32 : 48;
	int			xlen,
				ylen;
	unsigned char *x = JwkBytes(jwk, "x", &xlen);
	unsigned char *y = JwkBytes(jwk, "y", &ylen);
	unsigned char point[1 + 2 * 48];
	OSSL_PARAM_BLD *bld;

	if (!p256 && !(crv != NULL && StringEquals(crv, "P-384")))
		return "an EC key's \"crv\" must be P-256 or P-384";
	if (x == NULL || y == NULL || xlen != size || ylen != size)
		return "an EC key needs base64url coordinates \"x\" and \"y\" of its curve's size";
	point[0] = 0x04;			/* uncompressed */
	memcpy(point + 1, x, size);
	memcpy(point + 1 + size, y, size);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, p256 ? "P-256" : "P-384", 0) != 1 ||
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size) != 1)
		elog(ERROR, "could not build an EC key");	/* out of memory */
	key->pkey = PkeyFromParams("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	if (key->pkey == NULL)
		return "the EC key's point is not on its curve";
	key->type = p256 ? KEY_P256 : KEY_P384;
	return NULL;
}

static const char *
OkpKey(JsonbValue *jwk, JwtKey *key)
{
	JsonbValue *crv = ObjectGet(jwk, "crv");
	int			xlen;
	unsigned char *x = JwkBytes(jwk, "x", &xlen);

	if (crv == NULL || !StringEquals(crv, "Ed25519"))
		return "an OKP key's \"crv\" must be Ed25519";
	if (x == NULL || xlen != 32)
		return "an Ed25519 key needs a base64url \"x\" of 32 bytes";
	key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
	if (key->pkey == NULL)
		return "OpenSSL refused the Ed25519 key";
	key->type = KEY_ED25519;
	return NULL;
}

/*
 * One JWK (a parsed object) into *key, its strings allocated in cxt; NULL on
 * success, else why it cannot be used.  Public keys only: a private member
 * ("d", "p", ...) or a symmetric key is refused, since the table is readable
 * by whoever can read the DBA's tables and dumps.
 */
static const char *
JwkToKey(JsonbValue *jwk, JwtKey *key, MemoryContext cxt)
{
	JsonbValue *kty = ObjectGet(jwk, "kty");
	JsonbValue *kid = ObjectGet(jwk, "kid");
	JsonbValue *alg = ObjectGet(jwk, "alg");
	JsonbValue *use = ObjectGet(jwk, "use");
	const char *problem;

	memset(key, 0, sizeof(*key));
	key->alg = -1;
	if (jwk->type != jbvObject)
		return "each key must be a JSON object";
	if (ObjectGet(jwk, "d") != NULL || ObjectGet(jwk, "p") != NULL || ObjectGet(jwk, "k") != NULL)
		return "a private or secret key: smarthub.jwt_issuers holds public keys only (HMAC secrets go in the keyring file)";
	if (kty == NULL || kty->type != jbvString)
		return "a key needs a \"kty\"";
	if (kid != NULL)
	{
		if (kid->type != jbvString || kid->val.string.len == 0)
			return "a \"kid\" must be a non-empty string";
		key->kid = MemoryContextStrdup(cxt, pnstrdup(kid->val.string.val, kid->val.string.len));
	}
	if (use != NULL && !StringEquals(use, "sig"))
		return "a key's \"use\" must be \"sig\"";
	if (alg != NULL)
	{
		if (alg->type != jbvString ||
			(key->alg = AlgByName(alg->val.string.val, alg->val.string.len)) < 0)
			return "a key's \"alg\" must be one smarthub verifies";
	}
	if (StringEquals(kty, "RSA"))
		problem = RsaKey(jwk, key);
	else if (StringEquals(kty, "EC"))
		problem = EcKey(jwk, key);
	else if (StringEquals(kty, "OKP"))
		problem = OkpKey(jwk, key);
	else if (StringEquals(kty, "oct"))
		problem = "a symmetric (oct) key: HMAC secrets go in the keyring file";
	else
		problem = "\"kty\" must be RSA, EC or OKP";
	if (problem == NULL && key->alg >= 0 && alg_info[key->alg].key != key->type)
		problem = "the key's \"alg\" does not fit its type";
	if (problem != NULL && key->pkey != NULL)
	{
		EVP_PKEY_free(key->pkey);
		key->pkey = NULL;
	}
	return problem;
}

/*
 * The keys of a JWK Set into *keys (allocated in cxt); returns their number.
 * A problem raises 22023 when strict (the trigger), else skips the key.
 */
static int
JwksToKeys(Jsonb *jwks, JwtKey **keys, MemoryContext cxt, bool strict)
{
	JsonbValue	set;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;
	int			index = 0;

	*keys = NULL;
	if (!JB_ROOT_IS_OBJECT(jwks) ||
		getKeyJsonValueFromContainer(&jwks->root, "keys", 4, &set) == NULL ||
		set.type != jbvBinary || !JsonContainerIsArray(set.val.binary.data))
	{
		if (strict)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("jwks must be a JWK Set: {\"keys\": [...]}")));
		return 0;
	}
	if (JsonContainerSize(set.val.binary.data) > JWKS_MAX_KEYS)
	{
		if (strict)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("jwks holds more than %d keys", JWKS_MAX_KEYS)));
		return 0;
	}
	*keys = MemoryContextAllocZero(cxt, sizeof(JwtKey) * Max(1, JsonContainerSize(set.val.binary.data)));
	it = JsonbIteratorInit(set.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const char *problem;

		if (tok != WJB_ELEM)
			continue;
		index++;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			problem = "each key must be a JSON object";
		else
		{
			Jsonb	   *one = JsonbValueToJsonb(&v);
			JsonbValue *parsed;
			char	   *text = JsonbToCString(NULL, &one->root, VARSIZE(one));

			/* re-parsed as a value tree: the same accessors as for tokens */
			parsed = ParseJsonObject(text, strlen(text));
			problem = parsed == NULL ? "each key must be a JSON object"
				: JwkToKey(parsed, &(*keys)[n], cxt);
		}
		if (problem == NULL && (*keys)[n].kid != NULL)
		{
			for (int k = 0; k < n; k++)
				if ((*keys)[k].kid != NULL && strcmp((*keys)[k].kid, (*keys)[n].kid) == 0)
				{
					problem = "two keys have the same \"kid\"";
					KeyFree(&(*keys)[n]);
					break;
				}
		}
		if (problem != NULL)
		{
			if (strict)
			{
				for (int k = 0; k < n; k++)
					KeyFree(&(*keys)[k]);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("key %d of jwks cannot be used", index),
						 errdetail("%s.", problem)));
			}
			continue;
		}
		n++;
	}
	return n;
}

/* ---- loading ---- */

/*
 * The required members of one of our public keys as a JWK, in RFC 7638's
 * order (so that, between braces, they are what its thumbprint hashes).
 */
static void
AppendPublicJwk(StringInfo buf, JwtKey *key)
{
	if (key->type == KEY_ED25519)
	{
		unsigned char x[32];
		size_t		xlen = sizeof(x);

		if (EVP_PKEY_get_raw_public_key(key->pkey, x, &xlen) != 1 || xlen != 32)
			elog(ERROR, "could not read an Ed25519 public key");
		appendStringInfo(buf, "\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"", Base64UrlEncode(x, 32));
	}
	else
	{
		BIGNUM	   *bx = NULL,
				   *by = NULL;
		unsigned char cx[32],
					cy[32];

		if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
			EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
			BN_bn2binpad(bx, cx, 32) != 32 || BN_bn2binpad(by, cy, 32) != 32)
			elog(ERROR, "could not read a P-256 public key");
		BN_free(bx);
		BN_free(by);
		appendStringInfo(buf, "\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"",
						 Base64UrlEncode(cx, 32), Base64UrlEncode(cy, 32));
	}
}

/* RFC 7638 thumbprint of one of our keys: its kid when the keyring says "-". */
static char *
Thumbprint(JwtKey *key)
{
	StringInfoData buf;
	unsigned char hash[32];

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	AppendPublicJwk(&buf, key);
	appendStringInfoChar(&buf, '}');
	if (EVP_Digest(buf.data, buf.len, hash, NULL, AlgDigest(ALG_HS256), NULL) != 1)
		elog(ERROR, "SHA-256 failed");
	return Base64UrlEncode(hash, 32);
}

/* Our own issuer from the keyring's jwt-sign lines (encryption.c checked their DER). */
static void
LoadOwnKeys(const SmarthubJwtKeyLine *lines, int nlines)
{
	int			n = 0;

	own_issuer.own = true;
	own_issuer.algs = (1u << ALG_EDDSA) | (1u << ALG_ES256);
	own_issuer.require_exp = true;
	own_issuer.require_sid = true;
	own_issuer.claim_is_user_id = true;
	own_issuer.user_claim = "sub";
	own_issuer.keys = MemoryContextAllocZero(CacheContext, sizeof(JwtKey) * Max(1, nlines));
	for (int i = 0; i < nlines; i++)
	{
		const unsigned char *der = lines[i].secret;
		JwtKey	   *key = &own_issuer.keys[n];

		if (lines[i].kind != SMARTHUB_JWT_SIGN)
			continue;
		key->pkey = d2i_AutoPrivateKey(NULL, &der, lines[i].secret_len);
		if (key->pkey == NULL)
			continue;
		key->alg = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519 ? ALG_EDDSA : ALG_ES256;
		key->type = key->alg == ALG_EDDSA ? KEY_ED25519 : KEY_P256;
		key->kid = MemoryContextStrdup(CacheContext,
									   lines[i].kid != NULL ? lines[i].kid : Thumbprint(key));
		n++;
	}
	own_issuer.nkeys = n;
}

static void
AttachHmacKeys(const SmarthubJwtKeyLine *lines, int nlines)
{
	for (int i = 0; i < nissuers; i++)
	{
		JwtIssuer  *iss = &issuers[i];
		int			extra = 0;
		JwtKey	   *keys;

		for (int l = 0; l < nlines; l++)
			if (lines[l].kind == SMARTHUB_JWT_HMAC && strcmp(lines[l].issuer, iss->name) == 0)
				extra++;
		if (extra == 0)
			continue;
		keys = MemoryContextAllocZero(CacheContext, sizeof(JwtKey) * (iss->nkeys + extra));
		if (iss->nkeys > 0)
			memcpy(keys, iss->keys, sizeof(JwtKey) * iss->nkeys);
		for (int l = 0; l < nlines; l++)
		{
			JwtKey	   *key;

			if (lines[l].kind != SMARTHUB_JWT_HMAC || strcmp(lines[l].issuer, iss->name) != 0)
				continue;
			key = &keys[iss->nkeys++];
			key->type = KEY_HMAC;
			key->alg = -1;
			key->kid = lines[l].kid != NULL ? MemoryContextStrdup(CacheContext, lines[l].kid) : NULL;
			key->secret = MemoryContextAlloc(CacheContext, lines[l].secret_len);
			memcpy(key->secret, lines[l].secret, lines[l].secret_len);
			key->secret_len = lines[l].secret_len;
		}
		iss->keys = keys;
	}
}

/* Read smarthub.jwt_issuers, as the owner, into the cache. */
static void
LoadIssuers(void)
{
	SmarthubSavedUser saved;
	uint64		i;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	SmarthubExecute(SmarthubKeepPlan(&issuers_plan,
									 "SELECT issuer, audiences, user_claim, claim_is_user_id, algorithms,"
									 "       pg_catalog.date_part('epoch', leeway)::pg_catalog.float8,"
									 "       require_exp, require_sid, jwks"
									 "  FROM smarthub.jwt_issuers", 0, NULL),
					NULL, NULL, true, SPI_OK_SELECT);
	issuers = MemoryContextAllocZero(CacheContext, sizeof(JwtIssuer) * Max(1, SPI_processed));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		JwtIssuer  *iss = &issuers[nissuers];
		bool		isnull;
		Datum		d;
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(CacheContext);
		iss->name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &isnull);
		if (!isnull)
		{
			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &nelems);
			iss->audiences = palloc0(sizeof(char *) * Max(1, nelems));
			for (int a = 0; a < nelems; a++)
				if (!nulls[a])
					iss->audiences[iss->naudiences++] = TextDatumGetCString(elems[a]);
		}
		iss->user_claim = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		iss->claim_is_user_id = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull)), TEXTOID, -1,
						  false, TYPALIGN_INT, &elems, &nulls, &nelems);
		for (int a = 0; a < nelems; a++)
		{
			int			alg;

			if (nulls[a])
				continue;
			alg = AlgByName(VARDATA_ANY(elems[a]), VARSIZE_ANY_EXHDR(elems[a]));
			if (alg >= 0)
				iss->algs |= 1u << alg;
		}
		iss->leeway = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		iss->require_exp = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		iss->require_sid = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
		MemoryContextSwitchTo(old);
		iss->nkeys = JwksToKeys(DatumGetJsonbP(SPI_getbinval(tup, desc, 9, &isnull)),
								&iss->keys, CacheContext, false);
		nissuers++;
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
}

/*
 * Make the cache current.  Marked valid before reading, so an invalidation
 * that arrives while we read (a concurrent commit) makes the next use read
 * again.
 */
static void
EnsureCache(void)
{
	const SmarthubJwtKeyLine *lines;
	uint64		generation;
	int			nlines = SmarthubKeyringJwt(&lines, &generation);

	if (cache_valid && generation == cache_keyring_generation)
		return;
	CacheFree();
	cache_keyring_generation = generation;
	if (CacheContext == NULL)
		CacheContext = AllocSetContextCreate(TopMemoryContext, "smarthub jwt keys",
											 ALLOCSET_SMALL_SIZES);
	if (!OidIsValid(issuers_relid))
		issuers_relid = get_relname_relid("jwt_issuers", get_namespace_oid(SMARTHUB_SCHEMA, false));
	cache_valid = true;
	PG_TRY();
	{
		LoadOwnKeys(lines, nlines);
		LoadIssuers();
		AttachHmacKeys(lines, nlines);
	}
	PG_CATCH();
	{
		CacheFree();
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* ---- verification ---- */

static JwtIssuer *
FindIssuer(const JsonbValue *iss)
{
	if (iss == NULL || iss->type != jbvString)
		return NULL;
	/* our own name comes first: no row can stand in for smarthub */
	if (StringEquals(iss, jwt_issuer_name))
		return &own_issuer;
	for (int i = 0; i < nissuers; i++)
		if (StringEquals(iss, issuers[i].name))
			return &issuers[i];
	return NULL;
}

static bool
KidMatches(const JwtKey *key, const JsonbValue *kid)
{
	if (kid == NULL)
		return true;			/* a token without kid may be signed by any of them */
	return key->kid != NULL && StringEquals(kid, key->kid);
}

static EVP_MAC_CTX *
HmacContext(JwtKey *key, int alg)
{
	EVP_MAC_CTX **slot = &key->mac[alg - ALG_HS256];

	if (*slot == NULL)
	{
		OSSL_PARAM params[2];

		if (hmac_mac == NULL && (hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
			elog(ERROR, "could not fetch HMAC");
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
													 (char *) alg_info[alg].digest, 0);
		params[1] = OSSL_PARAM_construct_end();
		*slot = EVP_MAC_CTX_new(hmac_mac);
		if (*slot == NULL || EVP_MAC_init(*slot, key->secret, key->secret_len, params) != 1)
			elog(ERROR, "could not set up HMAC");
		return *slot;
	}
	/* the key set above is kept: only the state is reset */
	if (EVP_MAC_init(*slot, NULL, 0, NULL) != 1)
		elog(ERROR, "could not reset HMAC");
	return *slot;
}

static EVP_PKEY_CTX *
VerifyContext(JwtKey *key, int alg)
{
	EVP_PKEY_CTX *ctx = key->verify[alg];

	if (ctx != NULL)
		return ctx;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
		EVP_PKEY_CTX_set_signature_md(ctx, AlgDigest(alg)) != 1 ||
		(alg_info[alg].key == KEY_RSA &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, alg_info[alg].pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1) ||
		(alg_info[alg].pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		elog(ERROR, "could not set up %s verification", alg_info[alg].name);
	key->verify[alg] = ctx;
	return ctx;
}

/* JWS's raw R || S as the DER that OpenSSL verifies; NULL for a wrong length. */
static unsigned char *
EcdsaDer(const unsigned char *sig, int siglen, int size, int *derlen)
{
	ECDSA_SIG  *es;
	BIGNUM	   *r,
			   *s;
	unsigned char *der = NULL;
	unsigned char *copy;

	if (siglen != 2 * size)
		return NULL;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, size, NULL);
	s = BN_bin2bn(sig + size, size, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		elog(ERROR, "out of memory in OpenSSL");
	*derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (*derlen <= 0)
		elog(ERROR, "could not encode an ECDSA signature");
	copy = palloc(*derlen);
	memcpy(copy, der, *derlen);
	OPENSSL_free(der);
	return copy;
}

static bool
SignatureValid(JwtKey *key, int alg, const char *input, size_t inlen,
			   const unsigned char *sig, int siglen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	bool		ok = false;

	if (alg_info[alg].key == KEY_HMAC)
	{
		EVP_MAC_CTX *ctx;
		size_t		maclen;

		/* RFC 7518 3.2: a secret at least as long as the hash */
		if (key->secret_len < alg_info[alg].size)
			return false;
		ctx = HmacContext(key, alg);
		if (EVP_MAC_update(ctx, (const unsigned char *) input, inlen) != 1 ||
			EVP_MAC_final(ctx, md, &maclen, sizeof(md)) != 1)
			elog(ERROR, "HMAC failed");
		return (int) maclen == siglen && CRYPTO_memcmp(md, sig, maclen) == 0;
	}
	if (alg_info[alg].key == KEY_ED25519)
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) != 1)
			elog(ERROR, "could not set up Ed25519 verification");
		ok = siglen == 64 &&
			EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) input, inlen) == 1;
		EVP_MD_CTX_free(ctx);
	}
	else
	{
		const unsigned char *s = sig;
		int			slen = siglen;

		if (alg_info[alg].key != KEY_RSA &&
			(s = EcdsaDer(sig, siglen, alg_info[alg].size, &slen)) == NULL)
			return false;
		if (EVP_Digest(input, inlen, md, &mdlen, AlgDigest(alg), NULL) != 1)
			elog(ERROR, "%s digest failed", alg_info[alg].digest);
		ok = EVP_PKEY_verify(VerifyContext(key, alg), s, slen, md, mdlen) == 1;
	}
	/* a failed check leaves errors queued, which other OpenSSL users would misread */
	if (!ok)
		ERR_clear_error();
	return ok;
}

static bool
AudienceContains(const JsonbValue *aud, const char *want)
{
	if (aud == NULL)
		return false;
	if (aud->type == jbvString)
		return StringEquals(aud, want);
	if (aud->type == jbvArray)
		for (int i = 0; i < aud->val.array.nElems; i++)
			if (StringEquals(&aud->val.array.elems[i], want))
				return true;
	return false;
}

/* aud: a string or an array of strings, naming what the caller expects. */
static bool
AudienceValid(const JwtIssuer *iss, const JsonbValue *aud, const char *audience)
{
	if (aud != NULL && aud->type != jbvString)
	{
		if (aud->type != jbvArray)
			return false;
		for (int i = 0; i < aud->val.array.nElems; i++)
			if (aud->val.array.elems[i].type != jbvString)
				return false;
	}
	if (audience != NULL)
	{
		/* an issuer that names its audiences is trusted for those only */
		if (iss->audiences != NULL)
		{
			bool		listed = false;

			for (int i = 0; i < iss->naudiences && !listed; i++)
				listed = strcmp(iss->audiences[i], audience) == 0;
			if (!listed)
				return false;
		}
		return AudienceContains(aud, audience);
	}
	if (iss->own)
		return AudienceContains(aud, jwt_issuer_name);
	if (iss->audiences == NULL)
		return true;
	for (int i = 0; i < iss->naudiences; i++)
		if (AudienceContains(aud, iss->audiences[i]))
			return true;
	return false;
}

static bool
ClaimsValid(const JwtIssuer *iss, JsonbValue *claims, const char *audience)
{
	double		now = (double) GetCurrentTimestamp() / USECS_PER_SEC + UNIX_EPOCH_OFFSET;
	JsonbValue *v;
	double		t;

	v = ObjectGet(claims, "exp");
	if (v != NULL)
	{
		if (!NumberValue(v, &t) || !(now < t + iss->leeway))
			return false;
	}
	else if (iss->require_exp)
		return false;
	v = ObjectGet(claims, "nbf");
	if (v != NULL && (!NumberValue(v, &t) || now + iss->leeway < t))
		return false;
	v = ObjectGet(claims, "iat");
	if (v != NULL && !NumberValue(v, &t))
		return false;
	v = ObjectGet(claims, "sub");
	if (v != NULL && v->type != jbvString)
		return false;
	return AudienceValid(iss, ObjectGet(claims, "aud"), audience);
}

/*
 * Verify a compact JWS token: true with *claims (the payload) and *issuer
 * when it is valid, false for anything else.  Never raises for the token.
 */
static bool
JwtVerify(const char *tok, int len, const char *audience, JsonbValue **claims, JwtIssuer **issuer)
{
	const char *dot1;
	const char *dot2;
	int			hlen,
				plen,
				slen;
	char	   *buf;
	int			n;
	JsonbValue *header;
	JsonbValue *payload;
	JsonbValue *v;
	JsonbValue *kid;
	unsigned char *sig;
	int			siglen;
	int			alg;
	JwtIssuer  *iss;

	if (len <= 0 || len > JWT_MAX_LEN ||
		(dot1 = memchr(tok, '.', len)) == NULL ||
		(dot2 = memchr(dot1 + 1, '.', tok + len - dot1 - 1)) == NULL ||
		memchr(dot2 + 1, '.', tok + len - dot2 - 1) != NULL)
		return false;
	hlen = dot1 - tok;
	plen = dot2 - dot1 - 1;
	slen = tok + len - dot2 - 1;

	buf = palloc(hlen + 1);
	if ((n = SmarthubBase64Decode(tok, hlen, true, (unsigned char *) buf)) < 0 ||
		(header = ParseJsonObject(buf, n)) == NULL)
		return false;
	v = ObjectGet(header, "alg");
	if (v == NULL || v->type != jbvString ||
		(alg = AlgByName(v->val.string.val, v->val.string.len)) < 0)
		return false;			/* "none" included */
	/* no extension is understood, and b64 (RFC 7797) changes what is signed */
	if (ObjectGet(header, "crit") != NULL || ObjectGet(header, "b64") != NULL)
		return false;
	kid = ObjectGet(header, "kid");
	if (kid != NULL && kid->type != jbvString)
		return false;
	v = ObjectGet(header, "typ");
	if (v != NULL && v->type != jbvString)
		return false;

	buf = palloc(plen + 1);
	if ((n = SmarthubBase64Decode(dot1 + 1, plen, true, (unsigned char *) buf)) < 0 ||
		(payload = ParseJsonObject(buf, n)) == NULL)
		return false;

	EnsureCache();
	iss = FindIssuer(ObjectGet(payload, "iss"));
	if (iss == NULL || (iss->algs & (1u << alg)) == 0)
		return false;

	sig = palloc(slen + 1);
	if ((siglen = SmarthubBase64Decode(dot2 + 1, slen, true, sig)) <= 0)
		return false;
	for (int k = 0;; k++)
	{
		JwtKey	   *key;

		if (k == iss->nkeys)
			return false;
		key = &iss->keys[k];
		if (key->type == alg_info[alg].key && (key->alg < 0 || key->alg == alg) &&
			KidMatches(key, kid) &&
			SignatureValid(key, alg, tok, dot2 - tok, sig, siglen))
			break;
	}
	if (!ClaimsValid(iss, payload, audience))
		return false;
	*claims = payload;
	*issuer = iss;
	return true;
}

/* The token argument, or NULL when absent or too long to be one (checked before detoasting). */
static text *
TokenArg(FunctionCallInfo fcinfo, int argno)
{
	Datum		d;

	if (PG_ARGISNULL(argno))
		return NULL;
	d = PG_GETARG_DATUM(argno);
	if (toast_raw_datum_size(d) > VARHDRSZ + JWT_MAX_LEN)
		return NULL;
	return DatumGetTextPP(d);
}

static Datum
VerifyJwt(PG_FUNCTION_ARGS)
{
	text	   *token = TokenArg(fcinfo, 0);
	char	   *audience = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	JsonbValue *claims;
	JwtIssuer  *iss;

	if (token == NULL ||
		!JwtVerify(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), audience, &claims, &iss))
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(JsonbValueToJsonb(claims));
}

/* verify_jwt(token text, audience text DEFAULT NULL) RETURNS jsonb */
Datum
smarthub_verify_jwt(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(VerifyJwt, fcinfo);
}

/* ---- identity ---- */

typedef enum JwtPlan
{
	PLAN_MAPPED_USER,
	PLAN_SESSION_LIVE,
	PLAN_ROLES,
	NUM_JWT_PLANS
} JwtPlan;

static SPIPlanPtr plans[NUM_JWT_PLANS];

static const struct
{
	const char *sql;
	int			nargs;
	Oid			types[2];
}			plan_specs[NUM_JWT_PLANS] = {
	[PLAN_MAPPED_USER] = {
		"SELECT i.user_id FROM smarthub.user_identities i"
		"  JOIN smarthub.users u ON u.id OPERATOR(pg_catalog.=) i.user_id"
		" WHERE i.issuer OPERATOR(pg_catalog.=) $1 AND i.subject OPERATOR(pg_catalog.=) $2"
		"   AND u.is_active AND u.deleted_at IS NULL",
		2, {TEXTOID, TEXTOID}
	},
	[PLAN_SESSION_LIVE] = {
		"SELECT FROM smarthub.sessions WHERE id OPERATOR(pg_catalog.=) $2"
		"   AND user_id OPERATOR(pg_catalog.=) $1"
		"   AND expires_at OPERATOR(pg_catalog.>) pg_catalog.now()",
		2, {UUIDOID, UUIDOID}
	},
	[PLAN_ROLES] = {
		"SELECT pg_catalog.array_agg(r.name::pg_catalog.text ORDER BY r.name COLLATE pg_catalog.\"C\")"
		"  FROM smarthub.user_roles ur"
		"  JOIN smarthub.roles r ON r.id OPERATOR(pg_catalog.=) ur.role_id"
		" WHERE ur.user_id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
};

static void
Run(JwtPlan which, Datum *values, bool read_only)
{
	SmarthubExecute(SmarthubKeepPlan(&plans[which], plan_specs[which].sql,
									 plan_specs[which].nargs, plan_specs[which].types),
					values, NULL, read_only, SPI_OK_SELECT);
}

static int
HexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A canonical 36-character UUID string into *out, never raising (uuid_in would). */
static bool
ParseUuid(const JsonbValue *v, pg_uuid_t *out)
{
	const char *s;
	int			j = 0;

	if (v == NULL || v->type != jbvString || v->val.string.len != 36)
		return false;
	s = v->val.string.val;
	for (int i = 0; i < 36; i++)
	{
		int			hi,
					lo;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
			continue;
		}
		hi = HexDigit(s[i]);
		lo = HexDigit(s[++i]);
		if (hi < 0 || lo < 0)
			return false;
		out->data[j++] = (unsigned char) (hi << 4 | lo);
	}
	return j == UUID_LEN;
}

/*
 * The smarthub user a verified token names: its user claim mapped through
 * user_identities (or taken as a user id), the user active and not deleted,
 * and, when the issuer requires it, its sid a live session of that user.
 */
static bool
ResolveUser(const JwtIssuer *iss, JsonbValue *claims, pg_uuid_t *user, pg_uuid_t *sid)
{
	JsonbValue *subject = ObjectGet(claims, iss->user_claim);
	bool		read_only = ActiveSnapshotSet();
	SmarthubSavedUser saved;
	bool		found;
	Datum		values[2];

	if (subject == NULL || subject->type != jbvString)
		return false;
	if (iss->claim_is_user_id && !ParseUuid(subject, user))
		return false;
	if (iss->require_sid && !ParseUuid(ObjectGet(claims, "sid"), sid))
		return false;

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	if (iss->claim_is_user_id)
	{
		found = SmarthubUserIsLive(UUIDPGetDatum(user), read_only);
	}
	else
	{
		bool		isnull;

		values[0] = CStringGetTextDatum(iss->name);
		values[1] = PointerGetDatum(cstring_to_text_with_len(subject->val.string.val,
															 subject->val.string.len));
		Run(PLAN_MAPPED_USER, values, read_only);
		found = SPI_processed == 1;
		if (found)
			*user = *DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (found && iss->require_sid)
	{
		values[0] = UUIDPGetDatum(user);
		values[1] = UUIDPGetDatum(sid);
		Run(PLAN_SESSION_LIVE, values, read_only);
		found = SPI_processed == 1;
	}
	SPI_finish();
	SmarthubRestoreUser(&saved);
	return found;
}

static Datum
AuthenticateJwt(PG_FUNCTION_ARGS)
{
	text	   *token = TokenArg(fcinfo, 0);
	JsonbValue *claims;
	JwtIssuer  *iss;
	pg_uuid_t	user;
	pg_uuid_t	sid;

	SmarthubRefuseOnSomeoneElsesBehalf("authenticate_jwt");
	if (token != NULL &&
		JwtVerify(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), NULL, &claims, &iss) &&
		ResolveUser(iss, claims, &user, &sid))
	{
		pg_uuid_t  *result = palloc(sizeof(pg_uuid_t));

		/*
		 * smarthub's own tokens stand for the live session their sid names
		 * (ResolveUser checked it), whose assurance level current_aal reads;
		 * another issuer's sid names nothing of smarthub's.
		 */
		SmarthubSetSessionIdentity(&user, iss->own ? &sid : NULL);
		*result = user;
		PG_RETURN_UUID_P(result);
	}
	SmarthubSetIdentity(NULL);
	PG_RETURN_NULL();
}

/* authenticate_jwt(token text) RETURNS uuid */
Datum
smarthub_authenticate_jwt(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(AuthenticateJwt, fcinfo);
}

/* ---- issuing ---- */

static JwtKey *
CurrentSigningKey(void)
{
	EnsureCache();
	if (own_issuer.nkeys == 0)
		SmarthubKeyringRaiseIfRefused();	/* a refused keyring says why */
	if (own_issuer.nkeys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no JWT signing key is configured"),
				 errhint("Add a \"jwt-sign <key id> <base64 PKCS#8 private key>\" line to the file named by smarthub.keyring_file and reload the configuration.")));
	return &own_issuer.keys[own_issuer.nkeys - 1];
}

static void
AppendJsonString(StringInfo buf, const char *key, const char *value)
{
	/* a comma unless this is the object's first member */
	if (buf->len > 0 && buf->data[buf->len - 1] != '{')
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	escape_json(buf, value);
}

/* The signature of input with our key, base64url; JWS's raw R || S for ES256. */
static char *
Sign(JwtKey *key, const char *input, int len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[256];
	size_t		siglen = sizeof(sig);
	char	   *result;

	if (ctx == NULL ||
		EVP_DigestSignInit(ctx, NULL, key->type == KEY_ED25519 ? NULL : AlgDigest(ALG_ES256),
						   NULL, key->pkey) != 1 ||
		EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) input, len) != 1)
		elog(ERROR, "JWT signing failed");
	EVP_MD_CTX_free(ctx);
	if (key->type == KEY_P256)
	{
		const unsigned char *p = sig;
		ECDSA_SIG  *es = d2i_ECDSA_SIG(NULL, &p, siglen);
		unsigned char raw[64];

		if (es == NULL ||
			BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 ||
			BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32)
			elog(ERROR, "could not decode an ECDSA signature");
		ECDSA_SIG_free(es);
		return Base64UrlEncode(raw, 64);
	}
	result = Base64UrlEncode(sig, (int) siglen);
	return result;
}

static Datum
IssueJwt(PG_FUNCTION_ARGS)
{
	text	   *session_token = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	Interval   *ttl;
	char	   *audience = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	int64		ttl_secs;
	pg_uuid_t	user,
				sid;
	TimestampTz expires_at;
	JwtKey	   *key;
	int64		iat,
				exp;
	StringInfoData header,
				payload,
				token;
	SmarthubSavedUser saved;
	Datum		roles;
	bool		roles_null;

	/* it mints a credential: never from code run on someone else's behalf */
	SmarthubRefuseOnSomeoneElsesBehalf("issue_jwt");
	SmarthubRequireArg(fcinfo, 1, "ttl");
	ttl = PG_GETARG_INTERVAL_P(1);
	ttl_secs = ttl->month == 0 && ttl->day >= 0 && ttl->day <= 1 ?
		ttl->day * SECS_PER_DAY + ttl->time / USECS_PER_SEC : -1;
	if (ttl_secs < 1 || ttl_secs > SECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be between 1 second and 1 day")));
	if (audience != NULL && audience[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audience must not be empty")));
	key = CurrentSigningKey();
	if (session_token == NULL ||
		!SmarthubVerifySession(session_token, &user, &sid, &expires_at))
		PG_RETURN_NULL();

	SmarthubBecomeOwner(&saved);
	SmarthubSpiConnect();
	{
		Datum		arg = UUIDPGetDatum(&user);

		Run(PLAN_ROLES, &arg, ActiveSnapshotSet());
	}
	roles = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &roles_null);

	iat = (int64) floor((double) GetCurrentTimestamp() / USECS_PER_SEC + UNIX_EPOCH_OFFSET);
	exp = Min(iat + ttl_secs,
			  (int64) floor((double) expires_at / USECS_PER_SEC + UNIX_EPOCH_OFFSET));

	initStringInfo(&header);
	appendStringInfoChar(&header, '{');
	AppendJsonString(&header, "alg", key->type == KEY_ED25519 ? "EdDSA" : "ES256");
	AppendJsonString(&header, "kid", key->kid);
	AppendJsonString(&header, "typ", "JWT");
	appendStringInfoChar(&header, '}');

	initStringInfo(&payload);
	appendStringInfoChar(&payload, '{');
	AppendJsonString(&payload, "iss", jwt_issuer_name);
	AppendJsonString(&payload, "sub", DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&user))));
	AppendJsonString(&payload, "aud", audience != NULL ? audience : jwt_issuer_name);
	AppendJsonString(&payload, "sid", DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&sid))));
	appendStringInfoString(&payload, ",\"roles\":[");
	if (!roles_null)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(roles), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (i > 0)
				appendStringInfoChar(&payload, ',');
			escape_json(&payload, TextDatumGetCString(elems[i]));
		}
	}
	appendStringInfo(&payload, "],\"iat\":" INT64_FORMAT ",\"exp\":" INT64_FORMAT "}", iat, exp);
	SPI_finish();
	SmarthubRestoreUser(&saved);

	initStringInfo(&token);
	appendStringInfoString(&token, Base64UrlEncode((unsigned char *) header.data, header.len));
	appendStringInfoChar(&token, '.');
	appendStringInfoString(&token, Base64UrlEncode((unsigned char *) payload.data, payload.len));
	{
		char	   *sig = Sign(key, token.data, token.len);

		appendStringInfoChar(&token, '.');
		appendStringInfoString(&token, sig);
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(token.data, token.len));
}

/* issue_jwt(session_token text, ttl interval DEFAULT '15 minutes', audience text DEFAULT NULL) RETURNS text */
Datum
smarthub_issue_jwt(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(IssueJwt, fcinfo);
}

/* jwks() RETURNS jsonb: our public keys, current last */
Datum
smarthub_jwks(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	EnsureCache();
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"keys\":[");
	for (int k = 0; k < own_issuer.nkeys; k++)
	{
		JwtKey	   *key = &own_issuer.keys[k];

		appendStringInfoString(&buf, k > 0 ? ",{" : "{");
		AppendPublicJwk(&buf, key);
		AppendJsonString(&buf, "alg", key->type == KEY_ED25519 ? "EdDSA" : "ES256");
		AppendJsonString(&buf, "kid", key->kid);
		AppendJsonString(&buf, "use", "sig");
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* ---- configuration ---- */

/*
 * BEFORE INSERT OR UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement)
 * on smarthub.jwt_issuers: refuse keys that cannot be used (22023) while the
 * DBA is there to see it, and have every backend drop its cached keys once
 * the change commits (relcache invalidations are transactional: a rolled
 * back change sends none).
 */
Datum
smarthub_jwt_issuers_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	int			attnum;
	bool		isnull;
	Datum		jwks;
	JwtKey	   *keys;
	int			n;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "smarthub.jwt_issuers_changed() must be called as a trigger");
	CacheInvalidateRelcache(td->tg_relation);
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		return PointerGetDatum(td->tg_trigtuple);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	attnum = SPI_fnumber(td->tg_relation->rd_att, "jwks");
	if (attnum <= 0)
		elog(ERROR, "smarthub.jwt_issuers has no column jwks");
	jwks = heap_getattr(tuple, attnum, td->tg_relation->rd_att, &isnull);
	if (!isnull)
	{
		n = JwksToKeys(DatumGetJsonbP(jwks), &keys, CurrentMemoryContext, true);
		for (int k = 0; k < n; k++)
			KeyFree(&keys[k]);
	}
	return PointerGetDatum(tuple);
}

static bool
JwtIssuerCheck(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("smarthub.jwt_issuer must not be empty.");
		return false;
	}
	return true;
}

void
JwtInit(void)
{
	DefineCustomStringVariable("smarthub.jwt_issuer",
							   "The iss (and default aud) of the JWTs smarthub issues and accepts as its own.",
							   NULL,
							   &jwt_issuer_name,
							   "smarthub",
							   PGC_SUSET,
							   0,
							   JwtIssuerCheck, NULL, NULL);
	CacheRegisterRelcacheCallback(JwtRelcacheCallback, (Datum) 0);
}
