// node jwt/verify.js JWKS TSV ISSUER AUDIENCE: the application-side verifier, for reference: each
// token of the file (alg TAB token) split, its header and claims decoded and parsed, its signature
// checked with node's built-in crypto (OpenSSL) against the key its kid names, and exp, nbf, iss and
// aud checked, as verify_jwt does. Prints one line per algorithm: alg TAB microseconds of CPU time
// (user and system, like openssl speed's and the backend's in 60_jwt.sh) per token TAB tokens
// valid. Keys are imported once, before timing; the first 100 tokens warm up untimed.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const [jwksFile, tsvFile, iss, aud] = process.argv.slice(2);
const keys = new Map();
for (const jwk of JSON.parse(fs.readFileSync(jwksFile, 'utf8')).keys)
    keys.set(jwk.kid, { alg: jwk.alg, key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) });

const byAlg = new Map();
for (const line of fs.readFileSync(tsvFile, 'utf8').split('\n')) {
    if (!line) continue;
    const [alg, token] = line.split('\t');
    if (!byAlg.has(alg)) byAlg.set(alg, []);
    byAlg.get(alg).push(token);
}

function verify(token, now) {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const k = keys.get(header.kid);
    if (!k || k.alg !== header.alg) return null;
    const data = Buffer.from(parts[0] + '.' + parts[1]);
    const sig = Buffer.from(parts[2], 'base64url');
    let ok;
    if (header.alg === 'RS256') ok = crypto.verify('sha256', data, k.key, sig);
    else if (header.alg === 'ES256') ok = crypto.verify('sha256', data, { key: k.key, dsaEncoding: 'ieee-p1363' }, sig);
    else if (header.alg === 'EdDSA') ok = crypto.verify(null, data, k.key, sig);
    if (!ok) return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof claims.exp !== 'number' || claims.exp + 30 <= now) return null;
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf - 30 > now)) return null;
    if (claims.iss !== iss) return null;
    if (!(claims.aud === aud || (Array.isArray(claims.aud) && claims.aud.includes(aud)))) return null;
    return claims;
}

for (const [alg, tokens] of byAlg) {
    const now = Date.now() / 1000;
    for (const t of tokens.slice(0, 100)) verify(t, now);
    let valid = 0;
    const start = process.cpuUsage();
    for (const t of tokens) if (verify(t, now) !== null) valid++;
    const used = process.cpuUsage(start);
    console.log(alg + '\t' + ((used.user + used.system) / tokens.length).toFixed(2) + '\t' + valid);
}
