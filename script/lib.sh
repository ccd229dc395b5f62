# Shared by script/server, script/test and script/bench: packages, build, throwaway clusters.
# Sourced, not run. Everything here works as root (server commands run as the postgres OS user,
# since initdb refuses root) and as an ordinary user who already has the packages.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PACKAGES="build-essential postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-pgtap libssl-dev libcrypt-dev libtap-parser-sourcehandler-pgtap-perl python3-bcrypt"
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install the Debian packages that are missing (as root), or say exactly what to run.
ensure_packages() {
    local missing=() p
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        printf 'smarthub needs these Debian packages; run as root:\n  apt-get update && apt-get install -y %s\n' "${missing[*]}" >&2
        exit 1
    fi
    log "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

# Build and install the extension into the PostgreSQL that $PG_CONFIG names.
build_install() {
    log "building smarthub (PG_CFLAGS='${SMARTHUB_CFLAGS:-}')"
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="${SMARTHUB_CFLAGS:-}" >/dev/null
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" install >/dev/null \
        || die "make install failed (as a non-root user, install the packages and run as root)"
}

PGBIN=$("$PG_CONFIG" --bindir 2>/dev/null)

# Run a server-side command as the postgres OS user when we are root.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# First free TCP port on 127.0.0.1 at or above $1.
free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

# start_cluster DIR PORT [extra postgresql.conf lines]: a fresh cluster in DIR/data, listening on
# 127.0.0.1 and a unix socket in DIR only, logging to DIR/postgresql.log.
start_cluster() {
    local dir=$1 port=$2 extra=${3:-}
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
max_connections = 50
log_line_prefix = '%m [%p] %q%u@%d '
$extra
CONF
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 start >/dev/null \
        || { cat "$dir/postgresql.log" >&2; die "server did not start"; }
}

stop_cluster() {
    local dir=$1
    [ -d "$dir/data" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    return 0
}

# A database with pgTAP, pgcrypto and smarthub installed.
create_test_db() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1" \
        && "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" \
            -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION pgcrypto' -c 'CREATE EXTENSION smarthub'
}
