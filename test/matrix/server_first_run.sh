#!/usr/bin/env bash
# Run by script/matrix inside a fresh Debian root, as root, as the first command after the clone:
# script/server as a new user runs it. As an unprivileged user it names the exact packages to
# install and changes nothing; as root it installs only the server's packages (no test-only
# ones), starts, prints a psql line that connects, and 'script/server stop' ends it.
set -uo pipefail
cd "$(dirname "$0")/../.."
. script/lib.sh
passed=0 failed=0
check() {   # check LABEL EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok - $1"; passed=$((passed + 1))
    else echo "not ok - $1: expected '$2', got '$3'"; failed=$((failed + 1)); fi
}

chmod 755 /root    # the unprivileged user reads the checkout
out=$(runuser -u nobody -- script/server 2>&1); rc=$?
check "as a user without the packages: exits 1" 1 "$rc"
check "and says exactly what to run as root" \
    "smarthub needs these Debian packages; run as root:|  apt-get update && apt-get install -y $SERVER_PACKAGES" \
    "$(tr '\n' '|' <<<"$out" | sed 's/|$//')"

script/server > /tmp/server.out 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '^    psql -h' /tmp/server.out && break; kill -0 $pid 2>/dev/null || break; sleep 0.5; done
line=$(sed -n 's/^    \(psql -h .*\)$/\1/p' /tmp/server.out)
check "as root, the first command starts a server and prints how to connect" 1 "$([ -n "$line" ] && echo 1)"
[ -n "$line" ] || cat /tmp/server.out
port=$(sed -n 's/.* -p \([0-9]*\) .*/\1/p' <<<"$line")
set_pg_paths    # the packages are there now
check "the printed psql line connects, to the demo data" 2 \
    "$("$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "$port" -U postgres -d smarthub -c 'SELECT count(*) FROM smarthub.users' 2>&1)"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' && echo installed || echo absent; }
check "the server's packages are installed" installed "$(for p in $SERVER_PACKAGES; do installed "$p"; done | sort -u)"
check "and no test-only package" absent \
    "$(for p in $TEST_PACKAGES; do [[ " $SERVER_PACKAGES " == *" $p "* ]] || installed "$p"; done | sort -u)"
script/server stop > /dev/null 2>&1
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
check "'script/server stop' ends the foreground script" gone "$(kill -0 $pid 2>/dev/null && echo running || echo gone)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
