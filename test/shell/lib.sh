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

# The keyring helpers of the tests that write keyring files of their own ($kdir, set by the test):
# keyring NAME [MODE]: the file $kdir/NAME with stdin as contents, mode MODE (default 0600), owned
# by the server's OS user.
keyring() {
    cat > "$kdir/$1"
    chmod "${2:-600}" "$kdir/$1"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$kdir/$1"
    return 0
}
# reload: pg_reload_conf, then wait until a new connection sees the postmaster's new load time.
reload() {
    local before i
    before=$(q postgres "SELECT pg_conf_load_time()")
    q postgres "SELECT pg_reload_conf()" >/dev/null
    for i in $(seq 100); do
        [ "$(q postgres "SELECT pg_conf_load_time()")" != "$before" ] && return 0
        sleep 0.1
    done
    echo "  not ok - configuration was not reloaded"; exit 1
}
# use_keyring NAME: smarthub.keyring_file = $kdir/NAME (ALTER SYSTEM), reloaded.
use_keyring() {
    q postgres "ALTER SYSTEM SET smarthub.keyring_file = '$kdir/$1'" >/dev/null
    reload
}
