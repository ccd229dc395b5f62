// node jwt/sign.js N ISSUER AUDIENCE OUTDIR: one RSA 2048, one P-256 and one Ed25519 key pair
// (node's built-in crypto, i.e. OpenSSL), their public keys as a JWK Set (OUTDIR/jwks.json), and
// N distinct tokens per algorithm, RS256, ES256 and EdDSA (OUTDIR/asym.tsv: alg TAB token), valid
// for a day. The private keys never leave this process.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [n, iss, aud, outdir] = [Number(process.argv[2]), process.argv[3], process.argv[4], process.argv[5]];
if (!(n > 0) || !iss || !aud || !outdir) {
    console.error('usage: node sign.js N ISSUER AUDIENCE OUTDIR');
    process.exit(2);
}
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const now = Math.floor(Date.now() / 1000);

const algs = [
    { alg: 'RS256', kid: 'bench-rs256', pair: () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }),
      sign: (data, key) => crypto.sign('sha256', data, key) },
    { alg: 'ES256', kid: 'bench-es256', pair: () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      sign: (data, key) => crypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) },
    { alg: 'EdDSA', kid: 'bench-eddsa', pair: () => crypto.generateKeyPairSync('ed25519'),
      sign: (data, key) => crypto.sign(null, data, key) },
];

const keys = [];
const lines = [];
for (const a of algs) {
    const { publicKey, privateKey } = a.pair();
    keys.push({ ...publicKey.export({ format: 'jwk' }), kid: a.kid, alg: a.alg, use: 'sig' });
    const header = b64u(JSON.stringify({ alg: a.alg, typ: 'JWT', kid: a.kid }));
    for (let i = 1; i <= n; i++) {
        const claims = b64u(JSON.stringify({
            iss, sub: 'ext|' + i, aud, exp: now + 86400, nbf: now - 60, iat: now - 60,
            jti: a.alg + '-' + i, scope: 'openid profile',
        }));
        const input = header + '.' + claims;
        lines.push(a.alg + '\t' + input + '.' + b64u(a.sign(Buffer.from(input), privateKey)));
    }
}
fs.writeFileSync(path.join(outdir, 'jwks.json'), JSON.stringify({ keys }));
fs.writeFileSync(path.join(outdir, 'asym.tsv'), lines.join('\n') + '\n');
