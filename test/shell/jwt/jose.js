// The other side of test/shell/062_jwt_jose.sh: panva's jose (Debian's node-jose: 4.11 on Debian
// 12 and 13, 6.2 on testing; or jose 5.10.0 from npm), CommonJS, only the API those share. One
// command per run, its input a JSON object on stdin, its output one JSON object on stdout.
//   node jose.js mint    {now, iss, iss2, aud, sub, unmapped}: keys and tokens for every algorithm;
//                        what smarthub must accept, what it must refuse (tampered, confused, wrong
//                        claims), oddities it must not raise for, bad keys for jwt_issuers; and
//                        jose's own verdict on each under the same rules
//   node jose.js check   {jwks, issuer, now, tokens: [{label, token, audience, ...}]}: each token
//                        of smarthub's under jwtVerify with createLocalJWKSet(jwks) (its fields
//                        passed through), and tampered copies of it
//   node jose.js pubjwk  {der: [base64 PKCS#8 DER, ...]}: the public JWK of each private key
//   node jose.js version {}: jose's version
'use strict';
const crypto = require('crypto');
const jose = require('jose');

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');
const json64 = (obj) => b64u(JSON.stringify(obj));
const parts = (token) => token.split('.');
const header = (token) => JSON.parse(unb64u(parts(token)[0]).toString());

// A compact JWS assembled by hand, for what jose refuses to make (alg none, a header it did not
// sign): HMAC-SHA-256 of the signing input under KEY, or the given signature.
function hs256(head, payload, key) {
    const input = json64(head) + '.' + json64(payload);
    return input + '.' + b64u(crypto.createHmac('sha256', key).update(input).digest());
}

// One character of the payload's JSON changed (inside the value of CLAIM, to another character
// of its kind), re-encoded: the signature no longer covers what the token says.
function flipPayload(token, claim) {
    const [h, p, s] = parts(token);
    const text = unb64u(p).toString();
    const at = text.indexOf('"' + claim + '":"') + claim.length + 4;
    if (at < claim.length + 4) throw new Error('no string claim ' + claim);
    const c = text[at];
    const swapped = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : c === 'z' ? 'a' : c === 'a' ? 'b'
        : /[a-y]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 1) : 'x';
    return h + '.' + b64u(text.slice(0, at) + swapped + text.slice(at + 1)) + '.' + s;
}

// One bit of the signature's middle byte flipped (in the bytes, not the base64url text, whose
// last character can carry unused bits).
function flipSignature(token) {
    const [h, p, s] = parts(token);
    const sig = unb64u(s);
    sig[sig.length >> 1] ^= 0x01;
    return h + '.' + p + '.' + b64u(sig);
}

// The same token with its header's alg replaced (the signature kept).
function swapAlg(token, alg) {
    const [, p, s] = parts(token);
    return json64(Object.assign(header(token), { alg })) + '.' + p + '.' + s;
}

// alg none: the header says so, the signature is empty.
function algNone(token, alg, extra) {
    const [, p] = parts(token);
    return json64(Object.assign({ alg, typ: 'JWT' }, extra || {})) + '.' + p + '.';
}

// JSON text the way PostgreSQL prints a jsonb value: keys by length, then bytes; ", " and ": ".
function jsonbText(obj) {
    const keys = Object.keys(obj).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    return '{' + keys.map((k) => JSON.stringify(k) + ': ' + JSON.stringify(obj[k])).join(', ') + '}';
}

// KEY: an HMAC secret, or a private JWK, imported for the header's alg (jose 6's keys are bound to
// one algorithm, so one RSA key signs RS256 to PS512 through its JWK).
async function sign(payload, head, key) {
    const k = key instanceof Uint8Array ? key : await jose.importJWK(key, head.alg);
    return new jose.SignJWT(payload).setProtectedHeader(head).sign(k);
}

async function mint(cfg) {
    const { now, iss, iss2, aud, sub, unmapped } = cfg;
    const out = { valid: [], invalid: [], hmac: [] };

    // HMAC secrets, one per hash, of the hash's length (at least 32 bytes); the HS256 secret is the
    // issuer's key for tokens without a kid ('-') and is written with its base64 padding.
    const secrets = {
        HS256: { kid: null, key: crypto.randomBytes(32) },
        HS384: { kid: 'hs384', key: crypto.randomBytes(48) },
        HS512: { kid: 'hs512', key: crypto.randomBytes(64) },
    };
    for (const [alg, s] of Object.entries(secrets)) {
        let text = b64u(s.key);
        if (alg === 'HS256') text = s.key.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
        out.hmac.push({ issuer: iss, kid: s.kid || '-', secret: text });
    }

    // Key pairs: RSA-2048 (RS* and PS*), EC P-256, EC P-384, Ed25519.
    const pairs = {
        rsa1: await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true }),
        ec256: await jose.generateKeyPair('ES256', { extractable: true }),
        ec384: await jose.generateKeyPair('ES384', { extractable: true }),
        ed1: await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true }),
    };
    const jwk = {};
    const priv = {};
    for (const [kid, pair] of Object.entries(pairs)) {
        jwk[kid] = Object.assign(await jose.exportJWK(pair.publicKey), { kid });
        priv[kid] = await jose.exportJWK(pair.privateKey);
    }
    out.jwks = { keys: Object.values(jwk) };
    out.jwks2 = { keys: [jwk.rsa1] };
    const kidFor = { RS256: 'rsa1', RS384: 'rsa1', RS512: 'rsa1', PS256: 'rsa1', PS384: 'rsa1', PS512: 'rsa1',
        ES256: 'ec256', ES384: 'ec384', EdDSA: 'ed1' };

    const claims = (extra) => Object.assign({
        iss, aud, sub, iat: now, nbf: now, exp: now + 600,
        name: 'Zoë ☃ "quoted" \\ back/slash', groups: ['a', 'b'], n: 1.5, big: 12345678901, ok: true,
        none: null, nested: { k: [1, { x: 'y' }], e: {} },
    }, extra || {});

    // Every algorithm, signed by jose, must verify to exactly its claims.
    const tok = {};
    for (const [alg, s] of Object.entries(secrets)) {
        const payload = claims({ jti: alg });
        const head = s.kid ? { alg, typ: 'JWT', kid: s.kid } : { alg, typ: 'JWT' };
        tok[alg] = await sign(payload, head, s.key);
        out.valid.push({ label: `${alg}${s.kid ? '' : ' (no kid: the issuer\'s "-" secret)'}`, token: tok[alg], payload });
    }
    for (const [alg, kid] of Object.entries(kidFor)) {
        const payload = claims({ jti: alg });
        tok[alg] = await sign(payload, { alg, typ: 'JWT', kid }, priv[kid]);
        out.valid.push({ label: `${alg} (${kid})`, token: tok[alg], payload });
    }
    {
        const payload = claims({ jti: 'aud-array', aud: ['https://other.test', aud] });
        out.valid.push({ label: 'EdDSA, aud an array that names the audience',
            token: await sign(payload, { alg: 'EdDSA', kid: 'ed1' }, priv.ed1), payload });
        out.valid.push({ label: 'EdDSA, verify_jwt given the audience', audience: aud,
            token: await sign(payload, { alg: 'EdDSA', kid: 'ed1' }, priv.ed1), payload });
        const p2 = { iss: iss2, sub, iat: now, exp: now + 600, jti: 'rsa-only' };
        out.valid.push({ label: `RS256 for ${iss2} (no audiences: aud unchecked)`,
            token: await sign(p2, { alg: 'RS256', kid: 'rsa1' }, priv.rsa1), payload: p2 });
    }
    const bad = (label, token, audience) => out.invalid.push(audience ? { label, token, audience } : { label, token });

    // Tampered: every algorithm's token with a payload character or a signature bit changed.
    for (const alg of Object.keys(tok)) {
        bad(`${alg}: one payload character changed`, flipPayload(tok[alg], 'sub'));
        bad(`${alg}: one signature bit flipped`, flipSignature(tok[alg]));
    }
    // Header alg swapped to another allowed algorithm, the signature kept.
    for (const [from, to] of [['RS256', 'RS384'], ['RS256', 'PS256'], ['PS256', 'RS256'], ['PS512', 'PS384'],
        ['RS512', 'RS256'], ['ES256', 'ES384'], ['ES384', 'ES256'], ['EdDSA', 'ES256'], ['ES256', 'EdDSA'],
        ['HS256', 'HS384'], ['HS512', 'HS256'], ['HS384', 'HS512'], ['RS256', 'EdDSA']]) {
        bad(`alg ${from} swapped to ${to}`, swapAlg(tok[from], to));
    }
    // alg none, with an empty signature (and with the original one kept).
    bad('alg none, empty signature', algNone(tok.RS256, 'none'));
    bad('alg none with the RSA kid, empty signature', algNone(tok.RS256, 'none', { kid: 'rsa1' }));
    bad('alg None, empty signature', algNone(tok.ES256, 'None'));
    bad('alg NONE, empty signature', algNone(tok.EdDSA, 'NONE', { kid: 'ed1' }));
    bad('alg none, the RS256 signature kept', swapAlg(tok.RS256, 'none'));
    bad('alg "", empty signature', algNone(tok.RS256, ''));
    bad(`alg none for ${iss2}, empty signature`, algNone(out.valid[out.valid.length - 1].token, 'none'));

    // Key confusion: HS256 whose HMAC key is the issuer's RSA public key as some text or bytes a
    // verifier might hold (PEM, JWK JSON): with the RSA kid and without a kid, for the issuer whose
    // algorithms are RS256 and HS256 (and no HMAC secret) and for the main issuer.
    const rsaKey = pairs.rsa1.publicKey;
    const spki = await jose.exportSPKI(rsaKey);
    const nodeKey = crypto.createPublicKey(spki);
    const forms = {
        'SPKI PEM': spki.endsWith('\n') ? spki : spki + '\n',
        'SPKI PEM without a final newline': spki.replace(/\n+$/, ''),
        'PKCS#1 PEM': nodeKey.export({ type: 'pkcs1', format: 'pem' }),
        'SPKI DER': nodeKey.export({ type: 'spki', format: 'der' }),
        'JWK JSON': JSON.stringify(jwk.rsa1),
        'JWK as jsonb prints it': jsonbText(jwk.rsa1),
        'JWK Set as jsonb prints it': '{"keys": [' + jsonbText(jwk.rsa1) + ']}',
        'modulus bytes': unb64u(jwk.rsa1.n),
        'base64url modulus (n)': jwk.rsa1.n,
    };
    const p2 = { iss: iss2, sub, iat: now, exp: now + 600, jti: 'confused' };
    for (const [form, key] of Object.entries(forms)) {
        bad(`key confusion for ${iss2}: HS256 keyed with the RSA key's ${form}, kid rsa1`,
            hs256({ alg: 'HS256', typ: 'JWT', kid: 'rsa1' }, p2, key));
        bad(`key confusion for ${iss2}: HS256 keyed with the RSA key's ${form}, no kid`,
            hs256({ alg: 'HS256', typ: 'JWT' }, p2, key));
    }
    bad(`key confusion for ${iss}: HS256 keyed with the RSA SPKI PEM, kid rsa1`,
        hs256({ alg: 'HS256', typ: 'JWT', kid: 'rsa1' }, claims({ jti: 'confused' }), spki));
    bad(`key confusion for ${iss}: HS256 keyed with the Ed25519 JWK JSON, kid ed1`,
        hs256({ alg: 'HS256', typ: 'JWT', kid: 'ed1' }, claims({ jti: 'confused' }), JSON.stringify(jwk.ed1)));

    // Correctly signed, but the claims or the key are wrong.
    const other = await jose.exportJWK((await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true })).privateKey);
    bad('RS256 signed by another RSA key under kid rsa1',
        await sign(claims(), { alg: 'RS256', kid: 'rsa1' }, other));
    bad('RS256 with a kid the issuer does not have',
        await sign(claims(), { alg: 'RS256', kid: 'nope' }, priv.rsa1));
    bad('RS256 without a kid, signed by another RSA key',
        await sign(claims(), { alg: 'RS256' }, other));
    bad('HS256 under the key of another kid (hs384\'s secret, kid hs512)',
        await sign(claims(), { alg: 'HS256', kid: 'hs512' }, secrets.HS384.key));
    bad(`HS256 for ${iss2} under ${iss}'s "-" secret`,
        await sign(p2, { alg: 'HS256' }, secrets.HS256.key));
    bad(`PS256 for ${iss2}, which allows only RS256 and HS256`,
        await sign(p2, { alg: 'PS256', kid: 'rsa1' }, priv.rsa1));
    bad('an issuer with no jwt_issuers row',
        await sign(claims({ iss: 'https://evil.test' }), { alg: 'RS256', kid: 'rsa1' }, priv.rsa1));
    bad('expired an hour ago', await sign(claims({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
        { alg: 'ES256', kid: 'ec256' }, priv.ec256));
    bad('expired 40 s ago (leeway 30 s)', await sign(claims({ iat: now - 600, nbf: now - 600, exp: now - 40 }),
        { alg: 'ES256', kid: 'ec256' }, priv.ec256));
    bad('nbf an hour ahead', await sign(claims({ nbf: now + 3600, exp: now + 7200 }),
        { alg: 'ES256', kid: 'ec256' }, priv.ec256));
    const noExp = claims();
    delete noExp.exp;
    bad('no exp (require_exp)', await sign(noExp, { alg: 'EdDSA', kid: 'ed1' }, priv.ed1));
    bad('an aud that is not among the issuer\'s audiences',
        await sign(claims({ aud: 'https://other.test' }), { alg: 'EdDSA', kid: 'ed1' }, priv.ed1));
    const noAud = claims();
    delete noAud.aud;
    bad('no aud, the issuer having audiences', await sign(noAud, { alg: 'EdDSA', kid: 'ed1' }, priv.ed1));
    bad('verify_jwt given another audience than the token\'s', tok.EdDSA, 'https://other.test');
    bad('a token with a fourth part', tok.ES256 + '.' + parts(tok.ES256)[2]);
    bad('a token signed twice (header.payload.sig.sig)', tok.RS256.replace(/\.([^.]*)$/, '.$1$1'));
    bad('not a token', 'not-a-token');
    bad('an empty string', '');

    // Odd but correctly signed (HS256 under the "-" secret, so only parsing can stop them):
    // verify_jwt must not raise for any; "NULL": it must refuse it, "any": either answer will do.
    const raw = (headText, payloadBytes, key) => {
        const input = b64u(Buffer.from(headText)) + '.' + b64u(Buffer.from(payloadBytes));
        return input + '.' + b64u(crypto.createHmac('sha256', key || secrets.HS256.key).update(input).digest());
    };
    const hs = '{"alg":"HS256","typ":"JWT"}';
    const base = JSON.stringify(claims({ jti: 'odd' })).slice(0, -1);    // without its closing brace
    const claim = (name, value) => base.replace(new RegExp('"' + name + '":("[^"]*"|\\d+)'), '"' + name + '":' + value) + '}';
    out.robust = [
        ['any', 'a claim nested 200 arrays deep', base + ',"deep":' + '['.repeat(200) + ']'.repeat(200) + '}'],
        ['any', 'a claim nested 5000 objects deep', base + ',"deep":' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + '}'],
        ['any', 'a number 1e400', base + ',"huge":1e400}'],
        ['any', 'a number -1e-400', base + ',"tiny":-1e-400}'],
        ['any', 'a number of 2000 digits', base + ',"long":' + '9'.repeat(2000) + '}'],
        ['any', 'exp 1e308', claim('exp', '1e308')],
        ['NULL', 'exp a string', claim('exp', '"' + (now + 600) + '"')],
        ['NULL', 'exp -0.5e3', claim('exp', '-0.5e3')],
        ['NULL', 'nbf a string', claim('nbf', '"' + now + '"')],
        ['NULL', 'a \\u0000 escape in a claim (jsonb cannot hold it)', base + ',"nul":"a\\u0000b"}'],
        ['NULL', 'a lone surrogate \\ud800 (jsonb cannot hold it)', base + ',"half":"\\ud800"}'],
        ['any', 'a surrogate pair \\ud83d\\ude00', base + ',"pair":"\\ud83d\\ude00"}'],
        ['any', 'a duplicate sub', base + ',"sub":"mallory"}'],
        ['NULL', 'invalid UTF-8 in a claim', Buffer.concat([Buffer.from(base + ',"bad":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])],
        ['NULL', 'a NUL byte in the payload', Buffer.concat([Buffer.from(base + ',"nulbyte":"a'), Buffer.from([0]), Buffer.from('b"}')])],
        ['NULL', 'a payload that is a JSON array', '[' + JSON.stringify(claims()) + ']'],
        ['NULL', 'a payload that is a JSON string', '"' + iss + '"'],
        ['NULL', 'a payload with trailing garbage', JSON.stringify(claims()) + 'x'],
        ['NULL', 'a truncated payload', JSON.stringify(claims()).slice(0, -1)],
        ['NULL', 'iss a number', claim('iss', '42')],
        ['NULL', 'iss an array naming the issuer', claim('iss', '["' + iss + '"]')],
        ['NULL', 'aud an array of numbers', claim('aud', '[1,2]')],
        ['any', 'sub an object', claim('sub', '{"id":"alice-ext"}')],
    ].map(([expect, label, payload]) => ({ expect, label, token: raw(hs, payload) }));
    const zero = Buffer.alloc(32);
    for (const [expect, label, head, key] of [
        ['NULL', 'a header with crit', '{"alg":"HS256","crit":["exp"],"exp":1}'],
        ['NULL', 'a header with b64 false', '{"alg":"HS256","b64":false,"crit":["b64"]}'],
        ['any', 'a header with a duplicate alg (none, then HS256)', '{"alg":"none","alg":"HS256"}'],
        ['NULL', 'a header that is not JSON', '{"alg":"HS256"'],
        ['any', 'a header with kid a number', '{"alg":"HS256","kid":7}'],
        ['NULL', 'a header with a jwk of the attacker\'s, signed with it', '{"alg":"HS256","jwk":{"kty":"oct","k":"' + b64u(zero) + '"}}', zero],
    ]) out.robust.push({ expect, label, token: raw(head, JSON.stringify(claims()), key) });
    out.robust.push({ expect: 'any', label: 'a signature with base64 padding', token: tok.HS256 + '=' });
    out.robust.push({ expect: 'NULL', label: 'a signature with a non-base64url character', token: tok.HS256.slice(0, -1) + '+' });
    out.robust.push({ expect: 'NULL', label: 'a token of 100000 characters', token: tok.HS256 + 'A'.repeat(100000) });
    out.robust.push({ expect: 'NULL', label: 'a token of only dots', token: '..' });

    // For authenticate_jwt: one that user_identities maps, one it does not.
    out.mapped = tok.RS256;
    out.tampered = flipSignature(tok.RS256);
    out.unmapped = await sign(claims({ sub: unmapped }), { alg: 'EdDSA', kid: 'ed1' }, priv.ed1);

    // The bad keys smarthub must refuse in a jwt_issuers row.
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p521 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const k256 = crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const x25519 = crypto.generateKeyPairSync('x25519');
    const pubJwk = (pair) => pair.publicKey.export({ format: 'jwk' });    // Node's own, any key type
    const otherEc = pubJwk(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const badEc = Object.assign({}, jwk.ec256, { kid: 'off-curve', y: otherEc.y });
    out.badKeys = {
        'an oct (symmetric) key': { kty: 'oct', kid: 'oct1', k: b64u(crypto.randomBytes(32)) },
        'an RSA-1024 key': Object.assign(pubJwk(small), { kid: 'rsa1024' }),
        'an EC P-521 key': Object.assign(pubJwk(p521), { kid: 'p521' }),
        'an EC secp256k1 key': Object.assign(pubJwk(k256), { kid: 'k256' }),
        'an OKP X25519 key': Object.assign(pubJwk(x25519), { kid: 'x25519' }),
        'a P-256 key whose y is not its curve point': badEc,
        'an RSA key without n': { kty: 'RSA', kid: 'non', e: 'AQAB' },
        'an Ed25519 key with a 31-byte x': { kty: 'OKP', crv: 'Ed25519', kid: 'short', x: b64u(crypto.randomBytes(31)) },
        'an RSA private key (with d)': Object.assign({}, priv.rsa1, { kid: 'private' }),
    };

    // The model verifier: jose itself, given the same keys and rules, must agree on every case, so
    // that a case proves something about smarthub and not about how the case was made.
    out.model = await model(out, cfg, secrets, jwk);
    return out;
}

// jose's verdict on each case under the contract's rules: the key by issuer, kid and alg family
// (HMAC secrets from the issuer's keyring lines, others from its JWK Set), the issuer's algorithms,
// audiences, leeway 30 s, exp required.
async function model(out, cfg, secrets, jwk) {
    const { iss, iss2, aud } = cfg;
    const issuers = {
        [iss]: { algorithms: ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'],
            audience: aud, keys: out.jwks.keys, hmac: Object.fromEntries(Object.values(secrets).map((s) => [s.kid || '-', s.key])) },
        [iss2]: { algorithms: ['RS256', 'HS256'], audience: undefined, keys: out.jwks2.keys, hmac: {} },
    };
    const verdict = async (c) => {
        let claims;
        try { claims = jose.decodeJwt(c.token); } catch (e) { return 'refused: ' + e.code; }
        const rules = issuers[claims.iss];
        if (!rules) return 'refused: unknown issuer';
        try {
            const { payload } = await jose.jwtVerify(c.token, async (h) => {
                if (!rules.algorithms.includes(h.alg)) throw new Error('alg not allowed');
                if (h.alg.startsWith('HS')) {
                    const s = rules.hmac[h.kid === undefined ? '-' : h.kid];
                    if (!s) throw new Error('no secret');
                    return s;
                }
                // a token without a kid: any of the issuer's keys of the alg's type
                const kty = h.alg.startsWith('ES') ? 'EC' : h.alg === 'EdDSA' ? 'OKP' : 'RSA';
                const k = rules.keys.find((j) => (h.kid === undefined ? j.kty === kty : j.kid === h.kid));
                if (!k) throw new Error('no key');
                return jose.importJWK(k, h.alg);
            }, { issuer: claims.iss, audience: c.audience || rules.audience, clockTolerance: 30,
                algorithms: rules.algorithms });
            if (payload.exp === undefined) return 'refused: no exp';    // jose 4.11 has no requiredClaims
            return JSON.stringify(payload) === JSON.stringify(c.payload) ? 'accepted' : 'accepted, other claims';
        } catch (e) {
            return 'refused: ' + (e.code || e.message);
        }
    };
    const disagree = [];
    for (const c of out.valid) if ((await verdict(c)) !== 'accepted') disagree.push(c.label + ': ' + (await verdict(c)));
    for (const c of out.invalid) if ((await verdict(c)).startsWith('accepted')) disagree.push(c.label + ': accepted');
    return { cases: out.valid.length + out.invalid.length, disagree };
}

async function check(cfg) {
    const { jwks, issuer, now } = cfg;
    const set = jose.createLocalJWKSet(jwks);
    const verify = async (token, audience) => {
        try {
            const { payload, protectedHeader } = await jose.jwtVerify(token, set, { issuer, audience });
            return { ok: true, header: protectedHeader, payload };
        } catch (e) {
            return { ok: false, error: e.code || e.message };
        }
    };
    const results = [];
    for (const t of cfg.tokens) {
        const r = Object.assign({}, t, await verify(t.token, t.audience));
        const h = header(t.token);
        const p = JSON.parse(unb64u(parts(t.token)[1]).toString());
        const confused = jwks.keys.find((k) => k.kid === h.kid);
        const pem = confused ? crypto.createPublicKey({ key: confused, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) : 'x';
        const variants = {
            'one payload character changed': () => flipPayload(t.token, 'sub'),
            'the sid changed': () => flipPayload(t.token, 'sid'),
            'one signature bit flipped': () => flipSignature(t.token),
            'alg swapped': () => swapAlg(t.token, h.alg === 'EdDSA' ? 'ES256' : 'EdDSA'),
            'alg none, empty signature': () => algNone(t.token, 'none', { kid: h.kid }),
            'HS256 keyed with its public key\'s SPKI PEM': () => hs256(Object.assign({}, h, { alg: 'HS256' }), p, pem),
            'HS256 keyed with its public JWK\'s JSON': () => hs256(Object.assign({}, h, { alg: 'HS256' }), p, JSON.stringify(confused || {})),
            'exp a day later, the signature kept': () => {
                const [hh, , s] = parts(t.token);
                return hh + '.' + json64(Object.assign({}, p, { exp: p.exp + 86400 })) + '.' + s;
            },
        };
        r.tampered = [];
        for (const [name, make] of Object.entries(variants)) {
            // a copy that cannot be made is the token itself, which must then show as accepted
            let token = t.token, label = name;
            try { token = make(); } catch (e) { label = `${name} (could not be made: ${e.message})`; }
            const v = await verify(token, t.audience);
            r.tampered.push({ label, token, sql_audience: t.sql_audience, ok: v.ok, error: v.error });
        }
        r.now = now;
        results.push(r);
    }
    return { results };
}

function pubjwk(cfg) {
    return {
        keys: cfg.der.map((d) => {
            const priv = crypto.createPrivateKey({ key: Buffer.from(d, 'base64'), format: 'der', type: 'pkcs8' });
            return crypto.createPublicKey(priv).export({ format: 'jwk' });
        }),
    };
}

function version() {
    try { return require('jose/package.json').version; } catch (e) { return 'unknown'; }
}

async function main() {
    const cmd = process.argv[2];
    const input = JSON.parse(require('fs').readFileSync(0, 'utf8') || '{}');
    let out;
    if (cmd === 'mint') out = await mint(input);
    else if (cmd === 'check') out = await check(input);
    else if (cmd === 'pubjwk') out = pubjwk(input);
    else if (cmd === 'version') out = { version: version() };
    else throw new Error('usage: node jose.js mint|check|pubjwk|version < input.json');
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
    process.stderr.write(String(e && e.stack || e) + '\n');
    process.exit(1);
});
