// An application's database calls, made the way a real application makes them: through
// node-postgres, each value a bind parameter (the extended query protocol: Parse with $1, $2 in
// the text, the values apart in Bind). A statement without parameters goes as a simple query,
// as psql sends it. Used by test/shell/098_logging.sh.
//
// stdin: one JSON array per line, [sql, param...], all run in order on one connection (PGHOST,
// PGPORT, PGUSER, PGDATABASE from the environment, as libpq reads them). stdout: one line per
// statement, 'ok VALUE' (the first column of the first row, empty when there is none) or
// 'error SQLSTATE'. An error ends only its statement, as in an application.
'use strict';
const { Client } = require('pg');

async function main() {
    const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const client = new Client();
    await client.connect();
    for (const line of lines) {
        const [sql, ...params] = JSON.parse(line);
        try {
            const res = params.length > 0 ? await client.query(sql, params) : await client.query(sql);
            const last = Array.isArray(res) ? res[res.length - 1] : res;
            const row = last.rows && last.rows[0];
            const value = row ? row[last.fields[0].name] : '';
            console.log('ok ' + (value === null ? 'NULL' : String(value)));
        } catch (e) {
            if (!e.code) throw e;
            console.log('error ' + e.code);
        }
    }
    await client.end();
}

main().catch((e) => { console.error(e); process.exit(1); });
