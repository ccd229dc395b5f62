#!/usr/bin/env bash
# `make installcheck` passes on a stock server: a fresh cluster with none of smarthub's settings
# (no keyring, no preload), as a DBA's own server would be.
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d /tmp/smarthub-stock.XXXXXX)
trap 'stop_cluster "$dir"; rm -rf "$dir"' EXIT
port=$(free_port $((PGPORT + 150)))
start_cluster "$dir" "$port"
[ "$(id -u)" -eq 0 ] && chmod 777 "$dir"    # pg_regress, as this user, writes its results there
if PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres make -C "$REPO" -s installcheck \
        EXTRA_REGRESS_OPTS="--outputdir=$dir" > "$dir/out" 2>&1; then
    echo "  ok - make installcheck on a stock server: $(grep -c '\.\.\. ok' "$dir/out") tests"
else
    cat "$dir/out"; [ -f "$dir/regression.diffs" ] && cat "$dir/regression.diffs"
    echo "  not ok - make installcheck fails on a stock server"; exit 1
fi
