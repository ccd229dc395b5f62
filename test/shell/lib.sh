# Sourced by the shell tests: psql wrappers and assertions. script/test exports PGHOST, PGPORT,
# PGUSER, PGBIN and SMARTHUB_CLUSTER.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$REPO/script/lib.sh"

# q DB SQL: one value, unaligned, no headers.
q() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# run DB: a script on stdin.
run() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1"; }

check() {   # check LABEL EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "  ok - $1"; else echo "  not ok - $1: expected '$2', got '$3'"; exit 1; fi
}
