/*
 * encryption.c
 *		Field encryption at rest: AES-256-GCM with master keys read from a
 *		keyring file outside the database (smarthub.keyring_file).
 *
 * Envelope (all integers big-endian), version 1:
 *
 *		offset	size	field
 *		0		1		format version (1)
 *		1		4		key id (1 .. 2^31-1)
 *		5		12		nonce (RAND_bytes)
 *		17		n		ciphertext (n = plaintext length)
 *		17+n	16		GCM tag
 *
 * The associated data is the 17-byte header followed by the caller's
 * context string, so neither the header nor the context can be changed
 * without the tag check failing.
 *
 * The keyring is loaded lazily, once per backend and again after each
 * configuration reload (the GUC's assign hook runs on every reload, even
 * when the path is unchanged, and wipes the keys it held).  Loading is all
 * or nothing: any problem with the file leaves no key loaded and is
 * remembered, so every function that needs a key reports it (55000).
 */
#include "postgres.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/rand.h>

#include "common/base64.h"
#include "mb/pg_wchar.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "smarthub.h"

#define ENVELOPE_VERSION	1
#define KEY_BYTES			32
#define NONCE_BYTES			12	/* GCM's default IV length: no EVP_CTRL_GCM_SET_IVLEN */
#define TAG_BYTES			16
#define HEADER_BYTES		(1 + 4 + NONCE_BYTES)
#define OVERHEAD_BYTES		(HEADER_BYTES + TAG_BYTES)
#define KEYRING_MAX_BYTES	(1024 * 1024)

typedef struct KeyringKey
{
	int32		id;
	unsigned char key[KEY_BYTES];
} KeyringKey;

typedef enum KeyringStatus
{
	KEYRING_UNLOADED,			/* not read since start or last reload */
	KEYRING_NOT_CONFIGURED,		/* smarthub.keyring_file is empty */
	KEYRING_BROKEN,				/* refused: keyring_problem says why */
	KEYRING_OK
} KeyringStatus;

/* GUC */
static char *keyring_file = NULL;

/* Keyring state; the keys and the problem text live in KeyringContext. */
static MemoryContext KeyringContext = NULL;
static KeyringStatus keyring_status = KEYRING_UNLOADED;
static KeyringKey *keyring_keys = NULL;
static int	keyring_nkeys = 0;
static int	keyring_capacity = 0;	/* entries allocated: all are wiped */
static int	keyring_current = -1;	/* index of the highest id */
static char *keyring_problem = NULL;	/* errdetail when BROKEN */
/* The audit checkpoint signing key: an "ed25519:<64 hex>" line (its 32-byte seed). */
static bool signing_key_present = false;
static unsigned char signing_seed[KEY_BYTES];
static bool keyring_exit_registered = false;
/* jwt-hmac and jwt-sign lines, for jwt.c; the secrets are wiped with the keys. */
static SmarthubJwtKeyLine *jwt_lines = NULL;
static int	jwt_nlines = 0;
static int	jwt_capacity = 0;	/* entries allocated: every secret in them is wiped */
static uint64 keyring_generation = 0;	/* counts loads, so jwt.c knows when to re-read */

/*
 * Nonces come from RAND_bytes, NONCE_POOL_SIZE at a time: OpenSSL 3's DRBG
 * costs a getpid() and locking per call, a tenth of the time of encrypting
 * 1 KB.  Each nonce is handed out once and then zeroed.  Backends never fork,
 * and the postmaster never encrypts, so no two processes share a pool.
 */
#define NONCE_POOL_SIZE		64
static unsigned char nonce_pool[NONCE_POOL_SIZE * NONCE_BYTES];
static int	nonce_pool_left = 0;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_CIPHER *gcm_cipher = NULL;	/* fetched once, process lifetime */
#endif

/* What went wrong while the keyring file was open (see KeyringLoad). */
typedef enum KeyringLoadProblem
{
	LOAD_OK,
	LOAD_STAT_FAILED,
	LOAD_NOT_REGULAR,
	LOAD_PERMISSIONS,
	LOAD_TOO_LARGE,
	LOAD_OUT_OF_MEMORY,
	LOAD_READ_FAILED,
	LOAD_CHANGED
} KeyringLoadProblem;

/* A parsed envelope: pointers into the caller's bytea. */
typedef struct Envelope
{
	int32		key_id;
	const unsigned char *header;	/* HEADER_BYTES: version, key id, nonce */
	const unsigned char *nonce;
	const unsigned char *ciphertext;
	int			ciphertext_len;
	const unsigned char *tag;
} Envelope;

static void
JwtLinesWipe(void)
{
	for (int i = 0; i < jwt_capacity; i++)
		if (jwt_lines[i].secret != NULL)
			explicit_bzero(jwt_lines[i].secret, jwt_lines[i].secret_alloc);
	jwt_lines = NULL;
	jwt_nlines = 0;
	jwt_capacity = 0;
}

/*
 * Zero and free the loaded keys (and any remembered problem).  Safe to call
 * at any time, including from the assign hook and at backend exit.
 */
static void
KeyringWipe(void)
{
	if (keyring_keys != NULL)
		explicit_bzero(keyring_keys, sizeof(KeyringKey) * keyring_capacity);
	if (KeyringContext != NULL)
		MemoryContextDelete(KeyringContext);
	KeyringContext = NULL;
	keyring_keys = NULL;
	keyring_nkeys = 0;
	keyring_capacity = 0;
	keyring_current = -1;
	keyring_problem = NULL;
	keyring_status = KEYRING_UNLOADED;
	explicit_bzero(signing_seed, sizeof(signing_seed));
	signing_key_present = false;
	JwtLinesWipe();
}

static void
KeyringAtExit(int code, Datum arg)
{
	KeyringWipe();
}

/*
 * Assign hook: runs on SET and on every configuration reload, whether or not
 * the value changed, so a reload re-reads the file.  It must not fail: it
 * only forgets the current keyring; the next use loads it again.
 */
static void
KeyringFileAssign(const char *newval, void *extra)
{
	KeyringWipe();
}

/* Record why the keyring was refused; the message never quotes the file's contents. */
static void
KeyringRefuse(const char *path, const char *fmt,...) pg_attribute_printf(2, 3);

static void
KeyringRefuse(const char *path, const char *fmt,...)
{
	va_list		args;
	char		problem[512];

	va_start(args, fmt);
	vsnprintf(problem, sizeof(problem), fmt, args);
	va_end(args);
	/* every entry: the refused line's key, parsed in full or in part, too */
	if (keyring_keys != NULL)
		explicit_bzero(keyring_keys, sizeof(KeyringKey) * keyring_capacity);
	keyring_keys = NULL;
	keyring_nkeys = 0;
	keyring_capacity = 0;
	keyring_current = -1;
	explicit_bzero(signing_seed, sizeof(signing_seed));
	signing_key_present = false;
	JwtLinesWipe();
	keyring_problem = MemoryContextStrdup(KeyringContext,
										  psprintf("Keyring file \"%s\": %s.", path, problem));
	keyring_status = KEYRING_BROKEN;
}

static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hexadecimal digits into 32 bytes; false if they are not exactly that. */
static bool
ParseHexKey(const char *p, int len, unsigned char *out)
{
	if (len != 2 * KEY_BYTES)
		return false;
	for (int b = 0; b < KEY_BYTES; b++)
	{
		int			hi = HexValue(p[2 * b]);
		int			lo = HexValue(p[2 * b + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[b] = (unsigned char) (hi << 4 | lo);
	}
	return true;
}

/*
 * Parse one "<id>:<64 hex>" line (already stripped of surrounding blanks)
 * into *key.  Returns NULL on success, else a description of the problem.
 */
static const char *
ParseKeyLine(const char *line, int len, KeyringKey *key)
{
	int			i = 0;
	int64		id = 0;

	while (i < len && line[i] >= '0' && line[i] <= '9')
	{
		id = id * 10 + (line[i] - '0');
		if (id > PG_INT32_MAX)
			return "the key id must be an integer between 1 and 2147483647";
		i++;
	}
	if (i == len || line[i] != ':')
		return "expected \"<key id>:<64 hexadecimal digits>\"";
	if (i == 0 || id < 1)
		return "the key id must be an integer between 1 and 2147483647";
	i++;
	if (!ParseHexKey(line + i, len - i, key->key))
		return "the key must be exactly 64 hexadecimal digits";
	key->id = (int32) id;
	return NULL;
}

/* Whether der is an Ed25519 or P-256 private key, PKCS#8 or SEC1 (what issue_jwt signs with). */
static bool
SigningKeyUsable(const unsigned char *der, int len)
{
	EVP_PKEY   *pkey = d2i_AutoPrivateKey(NULL, &der, len);
	char		group[32];
	bool		ok;

	ok = pkey != NULL &&
		(EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 ||
		 (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
		  EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
		  strcmp(group, "prime256v1") == 0));
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ok;
}

static char *
KeyringStrndup(const char *p, int len)
{
	char	   *s = MemoryContextAlloc(KeyringContext, len + 1);

	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* A JWT key id: 1 to 64 of [A-Za-z0-9._-], or "-" for none. */
static bool
JwtKidValid(const char *p, int len)
{
	if (len < 1 || len > 64)
		return false;
	for (int i = 0; i < len; i++)
		if (!(isalnum((unsigned char) p[i]) || p[i] == '.' || p[i] == '_' || p[i] == '-'))
			return false;
	return true;
}

/*
 * Parse "jwt-hmac <issuer> <kid> <base64url secret>" or "jwt-sign <kid>
 * <base64 DER private key>" (fields separated by blanks) into *out,
 * allocated in KeyringContext.  Returns NULL on success, else the problem.
 */
static const char *
ParseJwtLine(const char *line, int len, SmarthubJwtKeyLine *out)
{
	const char *field[5];
	int			flen[5];
	int			nfields = 0;
	int			i = 0;
	bool		hmac;
	const char *secret;
	int			secret_len;
	int			want;

	while (i < len && nfields < 5)
	{
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		field[nfields] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		flen[nfields] = (int) (line + i - field[nfields]);
		nfields++;
	}
	hmac = flen[0] == 8 && strncmp(field[0], "jwt-hmac", 8) == 0;
	if (!hmac && !(flen[0] == 8 && strncmp(field[0], "jwt-sign", 8) == 0))
		return "unknown line type (expected jwt-hmac or jwt-sign)";
	want = hmac ? 4 : 3;
	if (nfields != want || i < len)
		return hmac ? "expected \"jwt-hmac <issuer> <key id or -> <base64url secret>\""
			: "expected \"jwt-sign <key id or -> <base64 DER private key>\"";
	memset(out, 0, sizeof(*out));
	out->kind = hmac ? SMARTHUB_JWT_HMAC : SMARTHUB_JWT_SIGN;
	if (hmac)
		out->issuer = KeyringStrndup(field[1], flen[1]);
	if (!JwtKidValid(field[want - 2], flen[want - 2]))
		return "the key id must be 1 to 64 letters, digits, '.', '_' or '-'";
	if (!(flen[want - 2] == 1 && field[want - 2][0] == '-'))
		out->kid = KeyringStrndup(field[want - 2], flen[want - 2]);
	secret = field[want - 1];
	secret_len = flen[want - 1];
	out->secret = MemoryContextAlloc(KeyringContext, secret_len);
	out->secret_alloc = secret_len;
	out->secret_len = SmarthubBase64Decode(secret, secret_len, false, out->secret);
	if (out->secret_len < 0)
		return hmac ? "the secret is not base64url" : "the private key is not base64";
	if (hmac && out->secret_len < 32)
		return "an HMAC secret must be at least 32 bytes";
	if (!hmac && !SigningKeyUsable(out->secret, out->secret_len))
		return "the private key is not an Ed25519 or P-256 key in DER (PKCS#8 or SEC1)";
	return NULL;
}

/*
 * Parse the file's contents into keyring_keys; on any problem, refuse the
 * whole keyring.  Blank lines and lines starting with '#' are ignored.
 */
static void
KeyringParse(const char *path, const char *buf, int len)
{
	int			maxkeys = 1;
	int			pos = 0;
	int			lineno = 0;

	for (int i = 0; i < len; i++)
		if (buf[i] == '\n')
			maxkeys++;
	keyring_keys = MemoryContextAllocZero(KeyringContext, sizeof(KeyringKey) * maxkeys);
	keyring_capacity = maxkeys;
	keyring_nkeys = 0;
	jwt_lines = MemoryContextAllocZero(KeyringContext, sizeof(SmarthubJwtKeyLine) * maxkeys);
	jwt_capacity = maxkeys;
	jwt_nlines = 0;

	while (pos < len)
	{
		int			start = pos;
		int			end;
		const char *problem;
		KeyringKey *key;

		while (pos < len && buf[pos] != '\n')
			pos++;
		end = pos;
		pos++;					/* skip the newline */
		lineno++;
		while (start < end && (buf[start] == ' ' || buf[start] == '\t'))
			start++;
		while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t' || buf[end - 1] == '\r'))
			end--;
		if (start == end || buf[start] == '#')
			continue;
		if (memchr(buf + start, '\0', end - start) != NULL)
		{
			KeyringRefuse(path, "line %d: contains a NUL byte", lineno);
			return;
		}

		if (end - start > 8 && strncmp(buf + start, "ed25519:", 8) == 0)
		{
			if (signing_key_present)
			{
				KeyringRefuse(path, "line %d: a second ed25519 signing key", lineno);
				return;
			}
			if (!ParseHexKey(buf + start + 8, end - start - 8, signing_seed))
			{
				KeyringRefuse(path, "line %d: the ed25519 key must be exactly 64 hexadecimal digits", lineno);
				return;
			}
			signing_key_present = true;
			continue;
		}
		if (end - start > 4 && strncmp(buf + start, "jwt-", 4) == 0)
		{
			problem = ParseJwtLine(buf + start, end - start, &jwt_lines[jwt_nlines]);
			if (problem != NULL)
			{
				KeyringRefuse(path, "line %d: %s", lineno, problem);
				return;
			}
			jwt_nlines++;
			continue;
		}
		key = &keyring_keys[keyring_nkeys];
		problem = ParseKeyLine(buf + start, end - start, key);
		if (problem != NULL)
		{
			KeyringRefuse(path, "line %d: %s", lineno, problem);
			return;
		}
		for (int k = 0; k < keyring_nkeys; k++)
		{
			if (keyring_keys[k].id == key->id)
			{
				KeyringRefuse(path, "line %d: duplicate key id %d", lineno, key->id);
				return;
			}
		}
		keyring_nkeys++;
	}

	if (keyring_nkeys == 0 && !signing_key_present && jwt_nlines == 0)
	{
		KeyringRefuse(path, "contains no keys");
		return;
	}
	keyring_current = keyring_nkeys > 0 ? 0 : -1;
	for (int k = 1; k < keyring_nkeys; k++)
		if (keyring_keys[k].id > keyring_keys[keyring_current].id)
			keyring_current = k;
	keyring_status = KEYRING_OK;
}

/*
 * Read the keyring file named by the GUC.  Never raises for a problem with
 * the file (only for out-of-memory): problems are remembered instead.
 */
static void
KeyringLoad(void)
{
	const char *path = keyring_file;
	KeyringLoadProblem problem = LOAD_OK;
	int			fd;
	int			save_errno;
	struct stat st;
	char	   *buf = NULL;
	ssize_t		nread = 0;

	KeyringWipe();
	keyring_generation++;
	if (!keyring_exit_registered)
	{
		on_proc_exit(KeyringAtExit, (Datum) 0);
		keyring_exit_registered = true;
	}
	if (path == NULL || path[0] == '\0')
	{
		keyring_status = KEYRING_NOT_CONFIGURED;
		return;
	}

	KeyringContext = AllocSetContextCreate(TopMemoryContext, "smarthub keyring",
										   ALLOCSET_SMALL_SIZES);

	/*
	 * A special file is refused before it is opened: opening a FIFO waits,
	 * uninterruptibly, for a writer.  O_NONBLOCK covers one swapped in after
	 * the stat (it changes nothing for a regular file), and fstat below
	 * refuses it.
	 */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
	{
		KeyringRefuse(path, "not a regular file");
		return;
	}

	/*
	 * Nothing between open() and close() may raise, or the descriptor would
	 * leak: problems are only noted here and recorded after close().
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | PG_BINARY | O_CLOEXEC, 0);
	if (fd < 0)
	{
		KeyringRefuse(path, "could not open: %m");
		return;
	}
	if (fstat(fd, &st) != 0)
		problem = LOAD_STAT_FAILED;
	else if (!S_ISREG(st.st_mode))
		problem = LOAD_NOT_REGULAR;
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		problem = LOAD_PERMISSIONS;
	else if (st.st_size > KEYRING_MAX_BYTES)
		problem = LOAD_TOO_LARGE;
	else if ((buf = MemoryContextAllocExtended(KeyringContext, st.st_size + 1, MCXT_ALLOC_NO_OOM)) == NULL)
		problem = LOAD_OUT_OF_MEMORY;
	else if ((nread = read(fd, buf, st.st_size + 1)) < 0)
		problem = LOAD_READ_FAILED;
	else if (nread > st.st_size)
		problem = LOAD_CHANGED;
	save_errno = errno;
	close(fd);
	errno = save_errno;

	switch (problem)
	{
		case LOAD_OK:
			KeyringParse(path, buf, (int) nread);
			break;
		case LOAD_STAT_FAILED:
			KeyringRefuse(path, "could not stat: %m");
			break;
		case LOAD_NOT_REGULAR:
			KeyringRefuse(path, "not a regular file");
			break;
		case LOAD_PERMISSIONS:
			KeyringRefuse(path, "permissions %04o give access to group or others; it must be readable only by the server's OS user (chmod 600)",
						  (unsigned int) (st.st_mode & 07777));
			break;
		case LOAD_TOO_LARGE:
			KeyringRefuse(path, "larger than %d bytes", KEYRING_MAX_BYTES);
			break;
		case LOAD_OUT_OF_MEMORY:
			KeyringRefuse(path, "out of memory reading it");
			break;
		case LOAD_READ_FAILED:
			KeyringRefuse(path, "could not read: %m");
			break;
		case LOAD_CHANGED:
			KeyringRefuse(path, "changed while being read");
			break;
	}
	if (buf != NULL)
	{
		explicit_bzero(buf, st.st_size + 1);
		pfree(buf);
	}
}

/* The loaded keyring, or an error (55000) saying why there is none. */
static void
KeyringRequire(void)
{
	if (keyring_status == KEYRING_UNLOADED)
		KeyringLoad();
	if (keyring_status == KEYRING_NOT_CONFIGURED)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no encryption keyring is configured"),
				 errhint("Set smarthub.keyring_file to the path of a keyring file and reload the configuration.")));
	if (keyring_status == KEYRING_BROKEN)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the encryption keyring was refused"),
				 errdetail_internal("%s", keyring_problem),
				 errhint("Fix the file named by smarthub.keyring_file and reload the configuration.")));
	Assert(keyring_status == KEYRING_OK);
}

static const KeyringKey *
KeyringFind(int32 id)
{
	for (int k = 0; k < keyring_nkeys; k++)
		if (keyring_keys[k].id == id)
			return &keyring_keys[k];
	return NULL;
}

/* A fresh random nonce into *nonce (NONCE_BYTES), or false if OpenSSL's RNG failed. */
static bool
NextNonce(unsigned char *nonce)
{
	unsigned char *slot;

	if (nonce_pool_left == 0)
	{
		if (RAND_bytes(nonce_pool, sizeof(nonce_pool)) != 1)
			return false;
		nonce_pool_left = NONCE_POOL_SIZE;
	}
	nonce_pool_left--;
	slot = nonce_pool + nonce_pool_left * NONCE_BYTES;
	memcpy(nonce, slot, NONCE_BYTES);
	memset(slot, 0, NONCE_BYTES);
	return true;
}

static const EVP_CIPHER *
GcmCipher(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	/* an explicit fetch once, instead of an implicit one on every call */
	if (gcm_cipher == NULL)
		gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (gcm_cipher == NULL)
		elog(ERROR, "could not fetch the AES-256-GCM cipher");	/* internal error */
	return gcm_cipher;
#else
	return EVP_aes_256_gcm();
#endif
}

/*
 * Split an envelope into its parts, or raise 22023 for one that is too
 * short or of an unknown format version.
 */
static void
EnvelopeParse(bytea *envelope, Envelope *env)
{
	const unsigned char *p = (const unsigned char *) VARDATA_ANY(envelope);
	int			len = VARSIZE_ANY_EXHDR(envelope);
	uint32		id;

	if (len < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value is truncated"),
				 errdetail("The value is empty; an envelope has at least %d bytes.", OVERHEAD_BYTES)));
	if (p[0] != ENVELOPE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value has unknown format version %d", p[0]),
				 errdetail("This version of smarthub reads format version %d.", ENVELOPE_VERSION)));
	if (len < OVERHEAD_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value is truncated"),
				 errdetail_plural("The value has %d byte; an envelope has at least %d bytes.",
								  "The value has %d bytes; an envelope has at least %d bytes.",
								  len, len, OVERHEAD_BYTES)));

	id = ((uint32) p[1] << 24) | ((uint32) p[2] << 16) | ((uint32) p[3] << 8) | (uint32) p[4];
	if (id < 1 || id > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value has an invalid key id")));
	env->key_id = (int32) id;
	env->header = p;
	env->nonce = p + 5;
	env->ciphertext = p + HEADER_BYTES;
	env->ciphertext_len = len - OVERHEAD_BYTES;
	env->tag = p + len - TAG_BYTES;
}

/*
 * Encrypt plaintext under key, binding context; returns a palloc'd envelope.
 * Every allocation happens before the cipher context exists and nothing in
 * between can raise, so no EVP_CIPHER_CTX is left behind by an error.
 */
static bytea *
EncryptWithKey(const KeyringKey *key, const unsigned char *plain, int plain_len,
			   const unsigned char *context, int context_len)
{
	const EVP_CIPHER *cipher = GcmCipher();
	bytea	   *result;
	unsigned char *out;
	EVP_CIPHER_CTX *ctx;
	int			n;
	bool		ok;

	if ((Size) plain_len + OVERHEAD_BYTES + VARHDRSZ > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value too large to encrypt"),
				 errdetail("The envelope would exceed the maximum of %d bytes.", (int) MaxAllocSize - VARHDRSZ)));

	result = palloc(VARHDRSZ + OVERHEAD_BYTES + plain_len);
	SET_VARSIZE(result, VARHDRSZ + OVERHEAD_BYTES + plain_len);
	out = (unsigned char *) VARDATA(result);
	out[0] = ENVELOPE_VERSION;
	out[1] = (unsigned char) ((uint32) key->id >> 24);
	out[2] = (unsigned char) ((uint32) key->id >> 16);
	out[3] = (unsigned char) ((uint32) key->id >> 8);
	out[4] = (unsigned char) ((uint32) key->id);
	if (!NextNonce(out + 5))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random nonce")));

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL
		&& EVP_EncryptInit_ex(ctx, cipher, NULL, key->key, out + 5) == 1
		&& EVP_EncryptUpdate(ctx, NULL, &n, out, HEADER_BYTES) == 1
		&& (context_len == 0 || EVP_EncryptUpdate(ctx, NULL, &n, context, context_len) == 1)
		&& (plain_len == 0 || EVP_EncryptUpdate(ctx, out + HEADER_BYTES, &n, plain, plain_len) == 1)
		&& EVP_EncryptFinal_ex(ctx, out + HEADER_BYTES + plain_len, &n) == 1
		&& EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + HEADER_BYTES + plain_len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		elog(ERROR, "AES-256-GCM encryption failed");	/* internal error */
	return result;
}

/*
 * Decrypt a parsed envelope, binding context.  Returns the plaintext as a
 * palloc'd varlena (usable as bytea or, once checked, as text), or raises
 * 22023 when the key is unknown or the tag does not match.  The keyring
 * must be loaded.  As in EncryptWithKey, nothing can raise while the cipher
 * context exists.
 */
static bytea *
DecryptEnvelope(const Envelope *env, text *context)
{
	const EVP_CIPHER *cipher = GcmCipher();
	const KeyringKey *key = KeyringFind(env->key_id);
	const unsigned char *aad = (const unsigned char *) VARDATA_ANY(context);
	int			aad_len = VARSIZE_ANY_EXHDR(context);
	bytea	   *result;
	unsigned char *plain;
	EVP_CIPHER_CTX *ctx;
	int			n;
	bool		ok;
	bool		authentic;

	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value uses key %d, which is not in the keyring", env->key_id),
				 errhint("Add the key back to the keyring file, or restore the value from a backup.")));

	result = palloc(VARHDRSZ + env->ciphertext_len + 1);	/* + 1: room for Final */
	SET_VARSIZE(result, VARHDRSZ + env->ciphertext_len);
	plain = (unsigned char *) VARDATA(result);

	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL
		&& EVP_DecryptInit_ex(ctx, cipher, NULL, key->key, env->nonce) == 1
		&& EVP_DecryptUpdate(ctx, NULL, &n, env->header, HEADER_BYTES) == 1
		&& (aad_len == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, aad_len) == 1)
		&& (env->ciphertext_len == 0 ||
			EVP_DecryptUpdate(ctx, plain, &n, env->ciphertext, env->ciphertext_len) == 1)
		&& EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, (void *) env->tag) == 1;
	authentic = ok && EVP_DecryptFinal_ex(ctx, plain + env->ciphertext_len, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);

	if (!authentic)
	{
		/* unauthenticated plaintext is never released */
		explicit_bzero(plain, env->ciphertext_len);
		pfree(result);
		if (!ok)
			elog(ERROR, "AES-256-GCM decryption failed");	/* internal error */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value failed authentication"),
				 errdetail("Either the context differs from the one it was encrypted with, or the value was altered.")));
	}
	return result;
}

/* Envelope -> plaintext varlena; the shared body of decrypt, decrypt_text and reencrypt. */
static bytea *
DecryptBytea(bytea *envelope, text *context)
{
	Envelope	env;

	EnvelopeParse(envelope, &env);
	KeyringRequire();
	return DecryptEnvelope(&env, context);
}

static bytea *
EncryptBytes(const unsigned char *plain, int plain_len, text *context)
{
	KeyringRequire();
	if (keyring_current < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the encryption keyring holds no encryption key"),
				 errhint("Add a \"<key id>:<64 hexadecimal digits>\" line to the file named by smarthub.keyring_file and reload the configuration.")));
	return EncryptWithKey(&keyring_keys[keyring_current], plain, plain_len,
						  (unsigned char *) VARDATA_ANY(context), VARSIZE_ANY_EXHDR(context));
}

/*
 * Encrypt or decrypt bytes for another module (mfa.c's TOTP secrets), with a
 * C-string context: the same envelopes, keyring and errors as
 * smarthub.encrypt and smarthub.decrypt (55000 without a usable keyring,
 * 22023 for an envelope that fails).  The plaintext SmarthubDecryptBytes
 * returns is palloc'd: the caller wipes it.
 */
bytea *
SmarthubEncryptBytes(const unsigned char *plain, int len, const char *context)
{
	return EncryptBytes(plain, len, cstring_to_text(context));
}

bytea *
SmarthubDecryptBytes(bytea *envelope, const char *context)
{
	return DecryptBytea(envelope, cstring_to_text(context));
}

/* Wipe and free a plaintext varlena. */
static void
WipeVarlena(void *v)
{
	explicit_bzero(v, VARSIZE(v));
	pfree(v);
}

/* Free an input argument if detoasting copied it, wiping it first. */
static void
WipeArgCopy(void *arg, Datum original)
{
	if ((Pointer) arg != DatumGetPointer(original))
	{
		explicit_bzero(arg, VARSIZE_ANY(arg));
		pfree(arg);
	}
}

/* Body of smarthub.encrypt(plaintext bytea, context text DEFAULT '') RETURNS bytea */
static Datum
Encrypt(PG_FUNCTION_ARGS)
{
	bytea	   *plain = PG_GETARG_BYTEA_PP(0);
	text	   *context = PG_GETARG_TEXT_PP(1);
	bytea	   *result;

	result = EncryptBytes((unsigned char *) VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain), context);
	WipeArgCopy(plain, PG_GETARG_DATUM(0));
	PG_RETURN_BYTEA_P(result);
}

/* smarthub.decrypt(ciphertext bytea, context text DEFAULT '') RETURNS bytea */
PG_FUNCTION_INFO_V1(smarthub_decrypt);
Datum
smarthub_decrypt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(DecryptBytea(PG_GETARG_BYTEA_PP(0), PG_GETARG_TEXT_PP(1)));
}

/* Body of smarthub.encrypt_text(plaintext text, context text DEFAULT '') RETURNS text */
static Datum
EncryptText(PG_FUNCTION_ARGS)
{
	text	   *plain = PG_GETARG_TEXT_PP(0);
	text	   *context = PG_GETARG_TEXT_PP(1);
	int			envlen = VARSIZE_ANY_EXHDR(plain) + OVERHEAD_BYTES;
	Size		b64len;
	bytea	   *envelope;
	int			enclen;
	text	   *result;

	/* computed here in Size: pg_b64_enc_len's int arithmetic overflows near 512 MB */
	b64len = ((Size) envlen + 2) / 3 * 4;
	if (b64len + VARHDRSZ > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value too large to encrypt as text"),
				 errdetail("The base64 envelope would exceed the maximum of %d bytes.", (int) MaxAllocSize - VARHDRSZ)));
	envelope = EncryptBytes((unsigned char *) VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain), context);
	WipeArgCopy(plain, PG_GETARG_DATUM(0));
	Assert(VARSIZE(envelope) - VARHDRSZ == envlen);
	result = palloc(VARHDRSZ + b64len);
	enclen = pg_b64_encode((const SmarthubB64Byte *) VARDATA(envelope), envlen,
						   VARDATA(result), (int) b64len);
	if (enclen < 0)
		elog(ERROR, "could not encode the envelope in base64");	/* internal error */
	SET_VARSIZE(result, VARHDRSZ + enclen);
	pfree(envelope);
	PG_RETURN_TEXT_P(result);
}

/*
 * Base64 text -> envelope bytea, or 22023.  Whitespace is skipped, so
 * values that went through encode(..., 'base64'), which breaks lines every
 * 76 characters, still decrypt; encrypt_text itself never writes any.
 */
static bytea *
EnvelopeFromBase64(text *encoded)
{
	const char *src = VARDATA_ANY(encoded);
	int			srclen = VARSIZE_ANY_EXHDR(encoded);
	char	   *compact = palloc(srclen + 1);
	int			len = 0;
	int			maxlen;
	bytea	   *envelope;
	int			declen;

	for (int i = 0; i < srclen; i++)
		if (src[i] != ' ' && src[i] != '\t' && src[i] != '\n' && src[i] != '\r')
			compact[len++] = src[i];
	maxlen = (int) ((Size) len * 3 / 4);	/* not pg_b64_dec_len: int overflow */
	envelope = palloc(VARHDRSZ + maxlen + 1);
	declen = pg_b64_decode(compact, len, (SmarthubB64Byte *) VARDATA(envelope), maxlen + 1);
	pfree(compact);
	if (declen < 0 || len % 4 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("encrypted value is not valid base64")));
	SET_VARSIZE(envelope, VARHDRSZ + declen);
	return envelope;
}

/* encrypt and encrypt_text: their statements carry the plaintext, which no error may log */
PG_FUNCTION_INFO_V1(smarthub_encrypt);
Datum
smarthub_encrypt(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(Encrypt, fcinfo);
}

PG_FUNCTION_INFO_V1(smarthub_encrypt_text);
Datum
smarthub_encrypt_text(PG_FUNCTION_ARGS)
{
	return SmarthubCallHidingStatement(EncryptText, fcinfo);
}

/* smarthub.decrypt_text(ciphertext text, context text DEFAULT '') RETURNS text */
PG_FUNCTION_INFO_V1(smarthub_decrypt_text);
Datum
smarthub_decrypt_text(PG_FUNCTION_ARGS)
{
	bytea	   *envelope = EnvelopeFromBase64(PG_GETARG_TEXT_PP(0));
	bytea	   *plain;

	plain = DecryptBytea(envelope, PG_GETARG_TEXT_PP(1));
	pfree(envelope);
	/* bytes put in with encrypt() may not be text; never echo them in the error */
	if (!pg_verifymbstr(VARDATA(plain), VARSIZE(plain) - VARHDRSZ, true))
	{
		WipeVarlena(plain);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("decrypted value is not valid text in the database encoding"),
				 errhint("Use smarthub.decrypt() for values encrypted from bytea.")));
	}
	PG_RETURN_TEXT_P((text *) plain);
}

/* smarthub.reencrypt(ciphertext bytea, context text DEFAULT '') RETURNS bytea */
PG_FUNCTION_INFO_V1(smarthub_reencrypt);
Datum
smarthub_reencrypt(PG_FUNCTION_ARGS)
{
	text	   *context = PG_GETARG_TEXT_PP(1);
	bytea	   *plain;
	bytea	   *result;

	plain = DecryptBytea(PG_GETARG_BYTEA_PP(0), context);
	result = EncryptBytes((unsigned char *) VARDATA(plain), VARSIZE(plain) - VARHDRSZ, context);
	WipeVarlena(plain);
	PG_RETURN_BYTEA_P(result);
}

/* smarthub.key_id(ciphertext bytea) RETURNS integer */
PG_FUNCTION_INFO_V1(smarthub_key_id);
Datum
smarthub_key_id(PG_FUNCTION_ARGS)
{
	Envelope	env;

	EnvelopeParse(PG_GETARG_BYTEA_PP(0), &env);
	PG_RETURN_INT32(env.key_id);
}

/* ---- the JWT keys (jwt.c) ---- */

int
SmarthubKeyringJwt(const SmarthubJwtKeyLine **lines, uint64 *generation)
{
	if (keyring_status == KEYRING_UNLOADED)
		KeyringLoad();
	*generation = keyring_generation;
	*lines = jwt_lines;
	return keyring_status == KEYRING_OK ? jwt_nlines : 0;
}

void
SmarthubKeyringRaiseIfRefused(void)
{
	if (keyring_status == KEYRING_UNLOADED)
		KeyringLoad();
	if (keyring_status == KEYRING_BROKEN)
		KeyringRequire();
}

/* ---- the signing key ---- */

bool
SmarthubSigningKeyConfigured(void)
{
	if (keyring_status == KEYRING_UNLOADED)
		KeyringLoad();
	if (keyring_status == KEYRING_NOT_CONFIGURED)
		return false;
	KeyringRequire();
	return signing_key_present;
}

static EVP_PKEY *
SigningKey(void)
{
	EVP_PKEY   *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, signing_seed, KEY_BYTES);

	if (pkey == NULL)
		elog(ERROR, "could not load the ed25519 signing key");	/* internal error */
	return pkey;
}

static char *
Base64(const unsigned char *p, int len)
{
	char	   *out = palloc(pg_b64_enc_len(len) + 1);
	int			n = pg_b64_encode((const SmarthubB64Byte *) p, len, out, pg_b64_enc_len(len));

	out[n] = '\0';
	return out;
}

void
SmarthubSign(const char *message, size_t len, char **signature, char **public_key)
{
	EVP_PKEY   *pkey;
	EVP_MD_CTX *ctx;
	unsigned char sig[64];
	size_t		siglen = sizeof(sig);
	unsigned char pub[KEY_BYTES];
	size_t		publen = sizeof(pub);
	bool		ok;

	*signature = *public_key = NULL;
	if (!SmarthubSigningKeyConfigured())
		return;
	pkey = SigningKey();
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) message, len) == 1 &&
		EVP_PKEY_get_raw_public_key(pkey, pub, &publen) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (!ok)
		elog(ERROR, "ed25519 signing failed");	/* internal error */
	*signature = Base64(sig, (int) siglen);
	*public_key = Base64(pub, (int) publen);
}

bool
SmarthubVerifySignature(const char *message, size_t len, const char *signature)
{
	EVP_PKEY   *priv;
	EVP_PKEY   *pub;
	EVP_MD_CTX *ctx;
	unsigned char raw[KEY_BYTES];
	size_t		rawlen = sizeof(raw);
	unsigned char sig[128];
	int			siglen;
	int			rc;

	siglen = pg_b64_dec_len(strlen(signature));
	if (siglen > (int) sizeof(sig))
		return false;
	siglen = pg_b64_decode(signature, strlen(signature), (SmarthubB64Byte *) sig, sizeof(sig));
	if (siglen != 64)
		return false;
	priv = SigningKey();
	if (EVP_PKEY_get_raw_public_key(priv, raw, &rawlen) != 1)
		elog(ERROR, "could not derive the ed25519 public key");	/* internal error */
	EVP_PKEY_free(priv);
	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, rawlen);
	ctx = EVP_MD_CTX_new();
	if (pub == NULL || ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) != 1)
		elog(ERROR, "could not set up ed25519 verification"); /* internal error */
	rc = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) message, len);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	return rc == 1;
}

/* smarthub.audit_signing_key() RETURNS text: the public key, PEM (for openssl pkeyutl -pubin) */
PG_FUNCTION_INFO_V1(smarthub_audit_signing_key);
Datum
smarthub_audit_signing_key(PG_FUNCTION_ARGS)
{
	EVP_PKEY   *pkey;
	unsigned char raw[KEY_BYTES];
	size_t		rawlen = sizeof(raw);
	/* SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): this prefix, then the 32 bytes */
	static const unsigned char spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
	unsigned char der[sizeof(spki_prefix) + KEY_BYTES];

	if (!SmarthubSigningKeyConfigured())
		PG_RETURN_NULL();
	pkey = SigningKey();
	if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != KEY_BYTES)
		elog(ERROR, "could not derive the ed25519 public key");	/* internal error */
	EVP_PKEY_free(pkey);
	memcpy(der, spki_prefix, sizeof(spki_prefix));
	memcpy(der + sizeof(spki_prefix), raw, KEY_BYTES);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n",
											  Base64(der, sizeof(der)))));
}

void
EncryptionInit(void)
{
	DefineCustomStringVariable("smarthub.keyring_file",
							   "Path of the keyring file holding the field-encryption master keys.",
							   "One key per line as <key id>:<64 hex digits>; the highest id encrypts. "
							   "The file must be readable only by the server's OS user.",
							   &keyring_file,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   NULL,
							   KeyringFileAssign,
							   NULL);
}
