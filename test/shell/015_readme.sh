#!/usr/bin/env bash
# README.md is the source: its examples run exactly as printed, and its Reference and Configuration
# tables agree with the catalogs.
#
# - Every ```sql block, in document order, is pasted line by line (psql reading stdin) into one
#   psql session on a fresh database set up exactly as script/server sets up its database
#   (CREATE EXTENSION smarthub, then script/demo.sql). Getting started is the first; a reader who
#   goes on pasting into the same psql gets what this test gets. Blocks not meant to be pasted
#   (signatures, fragments, configuration) use another fence (```text, ```sh, ```ini).
# - A line annotated `-- ERROR xxxxx` must raise exactly that SQLSTATE; nothing else may raise an
#   error, and psql itself must not complain (\gset without one row, unknown commands, …).
# - A one-line statement annotated `-- → value` must print exactly that (unaligned; … matches
#   anything).
# - Reference: every function in schema smarthub appears once, with the signature, result,
#   volatility, parallel label, strictness and security definer that pg_proc holds.
# - Configuration: every smarthub.* setting appears once, with pg_settings' default and context.
# Roles the README creates are dropped at the end, and the database too.
. "$(dirname "$0")/lib.sh"
db=smarthub_readme
readme=${SMARTHUB_README:-$REPO/README.md}
roles_before=$(q postgres "SELECT string_agg(quote_ident(rolname), ' ' ORDER BY rolname) FROM pg_roles")

cleanup() {
    q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    local r
    for r in $(q postgres "SELECT quote_ident(rolname) FROM pg_roles ORDER BY rolname"); do
        case " $roles_before " in *" $r "*) ;; *) q postgres "DROP ROLE $r" >/dev/null 2>&1 || echo "  could not drop role $r";; esac
    done
}
trap cleanup EXIT

# The database, exactly as script/server makes it.
q postgres "DROP DATABASE IF EXISTS $db" 2>/dev/null
q postgres "CREATE DATABASE $db"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d $db -c 'CREATE EXTENSION smarthub' -f "$REPO/script/demo.sql" >/dev/null

python3 - "$readme" "$db" "$PGBIN/psql" <<'PY'
import os, re, subprocess, sys

readme_path, db, psql = sys.argv[1:4]
lines = open(readme_path, encoding="utf-8").read().split("\n")
failures = []
verbose = bool(os.environ.get("SMARTHUB_README_VERBOSE"))

def fail(msg):
    failures.append(msg)
    print("  not ok - " + msg)

# --- The ```sql blocks, with their README line numbers, and the section each one is in.
blocks, section, fence, cur = [], None, None, None
for n, line in enumerate(lines, 1):
    if fence is None:
        if line.startswith("## "):
            section = line[3:].strip()
        m = re.match(r"^\s*```(\S*)", line)
        if m:
            fence = m.group(1)
            cur = {"section": section, "lines": []} if fence == "sql" else None
    elif line.strip().startswith("```"):
        if cur is not None:
            blocks.append(cur)
        fence, cur = None, None
    elif cur is not None:
        cur["lines"].append((n, line))

if not blocks or blocks[0]["section"] != "Getting started":
    fail("the first ```sql block must be Getting started")

# --- Feed them to psql as a paste: README lines as they are, markers around checked lines.
ERR = re.compile(r"--\s*ERROR\s+([0-9A-Z]{5})\b")
RES = re.compile(r"--\s*→\s*(.*?)\s*$")
feed, origin = ["\\set VERBOSITY verbose"], [0]
expected_errors, checks = [], []
for b in blocks:
    for n, line in b["lines"]:
        m = ERR.search(line)
        if m:
            expected_errors.append((n, m.group(1)))
        r = RES.search(line)
        if r and not m:
            checks.append((n, r.group(1)))
            feed.append("\\echo @@CHECK %d" % n); origin.append(0)
        feed.append(line); origin.append(n)
        if r and not m:
            feed.append("\\echo @@END"); origin.append(0)
proc = subprocess.run([psql, "-X", "-A", "-t", "-d", db, "-f", "-"], input="\n".join(feed) + "\n",
                      capture_output=True, text=True)
if proc.returncode != 0:
    fail("psql exited with status %d" % proc.returncode)

def where(stdin_line):
    n = origin[stdin_line - 1] if 0 < stdin_line <= len(origin) else 0
    return "README.md:%d" % n if n else "stdin line %d" % stdin_line

actual_errors = []
for line in proc.stderr.splitlines():
    m = re.match(r"^psql:<stdin>:(\d+): (.*)$", line)
    if not m:
        continue                      # DETAIL, HINT, LOCATION, CONTEXT lines of a message
    at, msg = int(m.group(1)), m.group(2)
    e = re.match(r"^ERROR:  ([0-9A-Z]{5}): (.*)", msg)
    if e:
        actual_errors.append((origin[at - 1], e.group(1), e.group(2)))
        if verbose:
            print("  ok - README.md:%d raised %s: %s" % (origin[at - 1], e.group(1), e.group(2)))
    elif not re.match(r"^(NOTICE|INFO|LOG):", msg):
        fail("%s: psql: %s" % (where(at), msg))

exp = [(n, s) for n, s in expected_errors]
act = [(n, s) for n, s, _ in actual_errors]
for n, s, text in actual_errors:
    if (n, s) not in exp:
        fail("README.md:%d: unexpected ERROR %s: %s" % (n, s, text))
for n, s in exp:
    if (n, s) not in act:
        fail("README.md:%d: expected ERROR %s, which did not occur" % (n, s))
if exp == act:
    print("  ok - %d annotated errors occurred in order, no other error" % len(exp))
elif not failures:
    fail("errors occurred in another order than annotated")

outputs, cur = {}, None
for line in proc.stdout.splitlines():
    m = re.match(r"^@@CHECK (\d+)$", line)
    if m:
        cur = int(m.group(1)); outputs[cur] = []
    elif line == "@@END":
        cur = None
    elif cur is not None:
        outputs[cur].append(line)
for n, want in checks:
    got = "\n".join(outputs.get(n, ["<no output>"]))
    pattern = "".join(".*" if ch == "…" else re.escape(ch) for ch in want)
    if not re.fullmatch(pattern, got, re.S):
        fail("README.md:%d: expected → %s, got %r" % (n, want, got))
    elif verbose:
        print("  ok - README.md:%d → %s" % (n, got))
print("  ok - %d ```sql blocks (%d lines) pasted, %d results checked" %
      (len(blocks), sum(len(b["lines"]) for b in blocks), len(checks)))
if len(checks) < 5 or len(exp) < 5:
    fail("too few checked results (%d) or annotated errors (%d): the convention is gone?" % (len(checks), len(exp)))

# --- Markdown tables of one section: rows of cells, header row first.
def section_tables(title):
    out, inside = [], False
    for line in lines:
        if line.startswith("## "):
            inside = line[3:].strip() == title
        elif inside and line.startswith("|") and not re.match(r"^\|[-| :]+\|$", line):
            out.append([c.strip() for c in line.strip().strip("|").split("|")])
    return out

def catalog(sql):
    # LOAD first: the settings exist once the library is loaded.
    r = subprocess.run([psql, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db,
                        "-c", "LOAD 'smarthub'", "-c", sql],
                       capture_output=True, text=True, check=True)
    return [row.split("\t") for row in r.stdout.splitlines()]

# --- Reference against pg_proc.
VOL = {"v": "volatile", "s": "stable", "i": "immutable"}
PAR = {"s": "safe", "r": "restricted", "u": "unsafe"}
YES = {"t": "yes", "f": "no"}
procs = {}
for name, args, result, vol, par, strict, definer in catalog(
        "SELECT proname, pg_get_function_arguments(oid), pg_get_function_result(oid), provolatile,"
        " proparallel, proisstrict, prosecdef FROM pg_proc WHERE pronamespace = 'smarthub'::regnamespace"):
    args = re.sub(r"::[a-z_ ]+(\[\])?", "", args).replace("timestamp with time zone", "timestamptz")
    procs["%s(%s)" % (name, args)] = [result, VOL[vol], PAR[par], YES[strict], YES[definer]]
documented = {}
for row in section_tables("Reference"):
    if len(row) < 6 or not row[0].startswith("`"):
        continue
    sig = row[0].strip("`")
    if sig in documented:
        fail("Reference lists %s twice" % sig)
    documented[sig] = [row[1].strip("`")] + [c.lower() for c in row[2:6]]
for sig, want in procs.items():
    if sig not in documented:
        fail("Reference lacks %s" % sig)
    elif documented[sig] != want:
        fail("Reference: %s is %s in README, %s in pg_proc" % (sig, documented[sig], want))
for sig in documented:
    if sig not in procs:
        fail("Reference lists %s, which pg_proc does not have" % sig)
print("  ok - Reference checked against pg_proc: %d functions" % len(documented))

# --- Configuration against pg_settings.
WHO = {"user": "any user", "superuser": "superuser", "sighup": "config file + reload",
       "postmaster": "config file + restart"}
UNIT = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}
settings = {n: (b, u, c) for n, b, u, c in catalog(
    "SELECT name, boot_val, coalesce(unit, ''), context FROM pg_settings WHERE name LIKE 'smarthub.%'")}
rows = [r for r in section_tables("Configuration") if r[0].startswith("`smarthub.")]
seen = set()
for r in rows:
    name, default, who = r[0].strip("`"), r[1].strip("`"), r[2]
    if name in seen:
        fail("Configuration lists %s twice" % name)
    seen.add(name)
    if name not in settings:
        fail("Configuration lists %s, which pg_settings does not have" % name); continue
    boot, unit, context = settings[name]
    if unit:
        m = re.fullmatch(r"(\d+)(ms|s|min|h|d)", default)
        ok = m is not None and int(m.group(1)) * UNIT[m.group(2)] == int(boot) * UNIT[unit]
    else:
        ok = default == boot or (default == "''" and boot == "")
    if not ok:
        fail("Configuration: %s defaults to %r in README, %r %s in pg_settings" % (name, default, boot, unit))
    if not who.startswith(WHO.get(context, "?")):
        fail("Configuration: %s may be set by %r in README; its context is %s" % (name, who, context))
for name in settings:
    if name not in seen:
        fail("Configuration lacks %s" % name)
print("  ok - Configuration checked against pg_settings: %d settings" % len(seen))

sys.exit(1 if failures else 0)
PY
