# Shared by script/server, script/test and script/bench: packages, build, throwaway clusters.
# Sourced, not run. Everything here works as root (server commands run as the postgres OS user,
# since initdb refuses root) and as an ordinary user who already has the packages.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The PostgreSQL major version: SMARTHUB_PG_MAJOR, else the one the Debian release carries.
debian_pg_major() {
    local codename
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    case "$codename" in
        bookworm) echo 15 ;;
        trixie) echo 17 ;;
        *) echo 18 ;;    # testing and unstable
    esac
}
PG_MAJOR=${SMARTHUB_PG_MAJOR:-$(debian_pg_major)}
# script/server needs these; script/test and script/bench need the test packages as well.
SERVER_PACKAGES="build-essential postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libssl-dev libcrypt-dev"
TEST_PACKAGES="$SERVER_PACKAGES postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl python3-bcrypt python3-psycopg
    pgbouncer postgresql-$PG_MAJOR-pgaudit jq faketime python3-pyotp"
# (faketime brings libfaketime: test/shell/063_jwt_rfc.sh runs a server whose clock reads 2011, when
# RFC 7515's example tokens were still valid, and 076_totp.sh one whose clock visits the times of
# RFC 6238's test vectors; python3-pyotp is the authenticator library 076_totp.sh reads smarthub's
# otpauth URIs and generates codes with)
# (the openssl command the tests use comes with the server: postgresql-common needs ssl-cert, which needs it)
# test/shell/098_logging.sh drives the server through node-postgres: Debian's node-pg (which brings
# Debian's nodejs), unless this machine has npm already: a Node.js that is not Debian's (NodeSource's
# carries npm) cannot take Debian's node-* packages, and the test then installs pg with npm.
command -v npm >/dev/null 2>&1 || TEST_PACKAGES="$TEST_PACKAGES node-pg"
command -v npm >/dev/null 2>&1 || TEST_PACKAGES="$TEST_PACKAGES node-jose"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# PG_CONFIG and PGBIN, once the packages are there (a fresh machine gets them in ensure_packages).
set_pg_paths() {
    export PG_CONFIG=${SMARTHUB_PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
    PGBIN=$("$PG_CONFIG" --bindir 2>/dev/null) || PGBIN=
}
set_pg_paths

# ensure_packages PACKAGE...: install the Debian packages that are missing (as root), or say
# exactly what to run.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
            printf 'smarthub needs these Debian packages; run as root:\n  apt-get update && apt-get install -y %s\n' "${missing[*]}" >&2
            exit 1
        fi
        log "installing ${missing[*]}"
        apt-get update -q >/dev/null || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
            || die "apt-get install ${missing[*]} failed"
    fi
    set_pg_paths
    [ -n "$PGBIN" ] || die "$PG_CONFIG does not work"
}

# Build and install the extension into the PostgreSQL that $PG_CONFIG names.
build_install() {
    log "building smarthub for PostgreSQL $PG_MAJOR (PG_CFLAGS='${SMARTHUB_CFLAGS:-}')"
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="${SMARTHUB_CFLAGS:-}" >/dev/null
    make -C "$REPO" -s PG_CONFIG="$PG_CONFIG" install >/dev/null \
        || die "make install failed (as a non-root user, install the packages and run as root)"
}

# Run a server-side command as the postgres OS user when we are root.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# First free TCP port on 127.0.0.1 at or above $1. The scripts' ports (25432 and up) lie below
# Linux's ephemeral range (32768-60999): a port there can be taken by the local end of any client
# connection between this check and the bind, which made a standby fail to start with 'Address
# already in use' while the matrix ran versions side by side.
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
    if [ -d "$dir/data" ]; then as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
}

# A database with pgTAP, pgcrypto and smarthub installed.
create_test_db() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1" \
        && "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" \
            -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION pgcrypto' -c 'CREATE EXTENSION smarthub'
}
