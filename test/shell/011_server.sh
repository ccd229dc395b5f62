#!/usr/bin/env bash
# script/server as a user runs it: the demo users, passwords and keys it prints work; two runs
# get two clusters and never touch each other's; 'script/server stop PORT' stops one and ends
# its foreground script; SIGTERM and Ctrl-C (SIGINT) stop it at once and remove its cluster.
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
base=$((PGPORT + 50))    # apart from the other tests' clusters (script/matrix runs versions side by side)
# On any exit, stop the servers this test started (never a developer's own script/server).
a_port= b_port= c_port=
trap 'for p in $a_port $b_port $c_port; do "$REPO/script/server" stop "$p" >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT

# start NAME: script/server in the background with default signal handling (a background job of a
# script would ignore SIGINT); waits for its connection line and sets NAME_pid, NAME_port.
start() {
    local out=$work/$1.out i
    SMARTHUB_PORT_BASE=$base python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$REPO/script/server" > "$out" 2>&1 &
    printf -v "$1_pid" %s $!
    for i in $(seq 120); do grep -q '^    psql -h' "$out" && break; sleep 0.5; done
    printf -v "$1_port" %s "$(sed -n 's/^    psql -h 127.0.0.1 -p \([0-9]*\) .*/\1/p' "$out")"
}
# ended PID SECONDS: the process has exited within SECONDS.
ended() { local i; for i in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
on() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d smarthub -c "$2"; }
cluster_of() { sed -n 's/^==> starting a throwaway cluster in \([^ ]*\) .*/\1/p' "$work/$1.out"; }

start a
[ -n "$a_port" ] || { echo "  not ok - script/server printed no psql line:"; cat "$work/a.out"; exit 1; }
check "prints the demo users with passwords and roles" \
    "alice|alice@example.com|alice-password|admin bob|bob@example.com|bob-password|user" \
    "$(sed -n 's/^ \(alice\|bob\) *| \([^ ]*\) *| \([^ ]*\) *| \([^ ]*\) *$/\1|\2|\3|\4/p' "$work/a.out" | tr '\n' ' ' | sed 's/ $//')"
alice_key=$(sed -n 's/^ alice *| \(shk_[A-Za-z0-9]*\) *$/\1/p' "$work/a.out")
check "the printed key is alice's" alice "$(on "$a_port" "SELECT username FROM smarthub.users WHERE id = smarthub.verify_key('$alice_key')")"
check "the printed password logs in" t "$(on "$a_port" "SELECT smarthub.login('bob', 'bob-password') IS NOT NULL")"

start b
check "a second run gets its own port" 1 "$(( b_port != a_port ))"
check "and its own cluster" 1 "$([ "$(cluster_of a)" != "$(cluster_of b)" ] && echo 1)"

"$REPO/script/server" stop "$a_port" >/dev/null 2>&1
check "'script/server stop PORT' ends that foreground script" ok "$(ended "$a_pid" 5 && echo ok)"
check "and removes its cluster" gone "$([ -e "$(cluster_of a)" ] || echo gone)"
check "the other run's server is untouched" 2 "$(on "$b_port" "SELECT count(*) FROM smarthub.users")"

kill -TERM "$b_pid"
check "SIGTERM stops it within 3 s" ok "$(ended "$b_pid" 3 && echo ok)"
check "and removes its cluster" gone "$([ -e "$(cluster_of b)" ] || echo gone)"

start c
kill -INT "$c_pid"
check "Ctrl-C (SIGINT) stops it within 3 s" ok "$(ended "$c_pid" 3 && echo ok)"
check "and removes its cluster and state" gone "$([ -e "$(cluster_of c)" ] || [ -e "$REPO/.tmp/server-$c_port.env" ] || echo gone)"

check "'stop' with nothing running says so" "error: no server of this checkout is running on port $c_port" \
    "$("$REPO/script/server" stop "$c_port" 2>&1)"
