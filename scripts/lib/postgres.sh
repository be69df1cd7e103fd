# shellcheck shell=bash
#
# PostgreSQL: our own throwaway cluster, with its own data dir, port and socket dir, from
# Debian's server binaries (installed with apt-get when missing). Sourced by
# scripts/lib.sh.
#   ensure_postgres      install/initialise/start it (or reuse it); exports PG_URL_BASE
#   ensure_database NAME create a database unless it exists
#   drop_test_databases  drop the per-test databases an earlier test run left behind
#   pg_psql ...          psql against it as superuser
#   stop_postgres        stop it

# Server binaries directory for major version $1, or the newest installed one when $1 is
# empty. Prints nothing when none is found.
pg_find_bindir() {
    local want="${1:-}" dir newest="" initdb
    if [[ -n $want ]]; then
        [[ -x /usr/lib/postgresql/$want/bin/initdb ]] && echo "/usr/lib/postgresql/$want/bin"
        return 0
    fi
    # Debian installs each major version side by side; take the highest one.
    newest="$(for dir in /usr/lib/postgresql/*/bin; do
        [[ -x $dir/initdb ]] && basename "$(dirname "$dir")"
    done | sort -V | tail -n 1)"
    if [[ -n $newest ]]; then
        echo "/usr/lib/postgresql/$newest/bin"
        return 0
    fi
    # Not Debian's layout (e.g. Homebrew): fall back to whatever initdb is on PATH.
    if initdb="$(command -v initdb 2>/dev/null)"; then
        dirname "$(readlink -f "$initdb")"
    fi
}

# Major version of the server binaries in directory $1 ("pg_ctl (PostgreSQL) 15.14 ..." -> 15).
pg_major() { "$1/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/'; }

# Run a PostgreSQL server tool. initdb and pg_ctl refuse to run as root, so as root they
# run as the 'postgres' system user (created by Debian's postgresql-common package). cd /
# first because that user may not be allowed into our current directory.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Choose PG_HOME, the directory that holds our cluster: data/ (PGDATA), run/ (Unix
# socket) and postgres.log. As root it must be reachable by the 'postgres' user: a clone
# under /root (mode 700) is not, and then we fall back to /var/tmp.
pg_choose_home() {
    local home="${QUOTIDIAN_PG_HOME:-$STATE_DIR/postgres}"
    if ! is_root; then
        mkdir -p "$home"
        PG_HOME="$home"
        return 0
    fi
    id postgres >/dev/null 2>&1 ||
        die "user 'postgres' does not exist (it comes with Debian's postgresql package)"
    mkdir -p "$(dirname "$home")"
    # 'test -x' on the parent fails unless every directory on the way is searchable.
    if runuser -u postgres -- test -x "$(dirname "$home")" 2>/dev/null; then
        mkdir -p "$home"
    else
        local fallback
        fallback="/var/tmp/quotidian-$(root_hash)"
        say "postgres: $home is not reachable by user postgres, using $fallback instead"
        home="$fallback"
        mkdir -p "$home"
        chmod 700 "$home"
    fi
    [[ "$(stat -c %U "$home")" == postgres ]] || chown postgres: "$home"
    PG_HOME="$home"
}

# The Unix socket lives in $PG_HOME/run, unless that path is too long for a socket name
# (about 107 bytes on Linux, including "/.s.PGSQL.<port>"): then a short dir in /tmp.
pg_socket_dir() {
    local dir="$PG_HOME/run"
    if ((${#dir} > 80)); then
        dir="/tmp/quotidian-$(root_hash)-pg"
    fi
    mkdir -p "$dir"
    if is_root; then chown postgres: "$dir"; fi
    echo "$dir"
}

# Is something answering on our port? (Possibly not our cluster - see ensure_postgres.)
pg_ready() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$QUOTIDIAN_PG_PORT" -U postgres -d postgres \
        >/dev/null 2>&1
}

# Is PID $1 a live PostgreSQL server process? Lock files (postmaster.pid, and the
# .s.PGSQL.<port>.lock next to the socket) outlive a killed server, and their PID may since
# have been reused by an unrelated process; the server then refuses to start.
pg_pid_live() {
    local pid="$1" stat state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    if [[ -r /proc/$pid/stat ]]; then
        # /proc/PID/stat is "PID (COMM) STATE ...". A killed server whose parent has not
        # reaped it yet is a zombie (Z): dead, even though kill -0 still succeeds.
        stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
        state="${stat##*) }"
        [[ $stat == *"(postgres)"* && ${state:0:1} != [ZX] ]]
    else
        kill -0 "$pid" 2>/dev/null # no /proc (macOS): best effort
    fi
}

# Does postmaster.pid name a live server, and is it the one serving $PG_DATA (a server
# chdirs into its data dir)? The latter keeps us from ever signalling another cluster.
pg_pidfile_live() {
    local pid cwd
    [[ -f $PG_DATA/postmaster.pid ]] || return 1
    pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    pg_pid_live "$pid" || return 1
    if cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)"; then
        [[ $cwd == "$(cd "$PG_DATA" && pwd -P)" ]]
    fi
}

# Remove lock files left behind by a dead server (see pg_pid_live).
pg_remove_stale_locks() {
    local sockdir="$1" lock
    rm -f "$PG_DATA/postmaster.pid"
    lock="$sockdir/.s.PGSQL.$QUOTIDIAN_PG_PORT.lock"
    if [[ -f $lock ]] && ! pg_pid_live "$(head -n 1 "$lock" 2>/dev/null || true)"; then
        rm -f "$lock" "$sockdir/.s.PGSQL.$QUOTIDIAN_PG_PORT"
    fi
}

# Install (if needed), initialise (if needed) and start (if needed) our PostgreSQL cluster,
# then export PG_URL_BASE=postgres://postgres@127.0.0.1:$QUOTIDIAN_PG_PORT.
ensure_postgres() {
    PG_BIN="$(pg_find_bindir)"
    if [[ -z $PG_BIN ]]; then
        command -v apt-get >/dev/null 2>&1 ||
            die "PostgreSQL server binaries not found and apt-get is not available; install PostgreSQL (initdb, pg_ctl) first"
        say "postgres: server not installed, installing it with apt-get (once)"
        # Debian's package also creates and starts its own cluster "main" on port 5432
        # with its socket in /var/run/postgresql. We leave it alone and never use it: our
        # cluster has its own data dir, port and socket dir, and every client call below
        # names host and port explicitly.
        as_admin apt-get update -qq
        as_admin env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        PG_BIN="$(pg_find_bindir)"
        [[ -n $PG_BIN ]] || die "apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/initdb was found"
    fi

    pg_choose_home
    PG_DATA="$PG_HOME/data"
    PG_LOG="$PG_HOME/postgres.log"

    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        # initdb cleans up after itself when it fails, but not when it is killed; and we
        # won't delete a directory we are not sure is ours.
        if [[ -d $PG_DATA ]] && [[ -n "$(ls -A "$PG_DATA")" ]]; then
            die "$PG_DATA is not empty but holds no cluster (interrupted initdb?); delete it and retry"
        fi
        # C.UTF-8 (when the OS has it) so lower()/upper() work beyond ASCII, without
        # depending on whatever LANG the machine happens to have (often unset or missing).
        local locale_opt=--no-locale
        if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale_opt=--locale=C.UTF-8; fi
        if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust --no-sync -U postgres -E UTF8 \
            "$locale_opt" >"$PG_HOME/initdb.log" 2>&1; then
            log_tail "$PG_HOME/initdb.log"
            die "initdb failed (full output: $PG_HOME/initdb.log)"
        fi
    fi

    # A newer server cannot open an older cluster: use the binaries of the cluster's version.
    local version
    version="$(<"$PG_DATA/PG_VERSION")"
    if [[ "$(pg_major "$PG_BIN")" != "$version" ]]; then
        PG_BIN="$(pg_find_bindir "$version")"
        [[ -n $PG_BIN ]] ||
            die "$PG_DATA was created by PostgreSQL $version, which is not installed; delete that directory to start afresh"
    fi

    local addr="127.0.0.1:$QUOTIDIAN_PG_PORT"
    if pg_pidfile_live; then
        # Line 4 of postmaster.pid is the port the server was started with.
        local running_port i
        running_port="$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
        if [[ $running_port == "$QUOTIDIAN_PG_PORT" ]]; then
            # Ours. It may still be starting up or recovering: give it a moment.
            for ((i = 0; i < 20; i++)); do
                pg_ready && break
                sleep 0.5
            done
            if pg_ready; then
                say "postgres: reusing server on $addr (data: $PG_DATA)"
                export PG_URL_BASE="postgres://postgres@$addr"
                return 0
            fi
            say "postgres: server in $PG_DATA is not answering on $addr, restarting it"
        else
            say "postgres: server in $PG_DATA runs on port ${running_port:-?}, restarting it on $QUOTIDIAN_PG_PORT"
        fi
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi

    if pg_ready; then
        die "something else is already listening on $addr; stop it or set QUOTIDIAN_PG_PORT to a free port"
    fi

    local sockdir attempt
    sockdir="$(pg_socket_dir)"
    if ! pg_pidfile_live; then
        pg_remove_stale_locks "$sockdir"
    fi
    # fsync & co. off: this cluster holds only dev/test data, and speed matters more.
    # max_connections: every test opens its own pool, and tests run in parallel.
    for attempt in 1 2 3; do
        # A concurrent scripts/run or scripts/test may have started it meanwhile.
        if ((attempt > 1)) && pg_pidfile_live && pg_ready; then break; fi
        if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
            -o "-p $QUOTIDIAN_PG_PORT -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            >/dev/null 2>&1; then
            break
        fi
        # After a kill -9 the old server's children can hold its shared memory for a
        # moment ("pre-existing shared memory block is still in use"): wait and retry.
        if ((attempt == 3)); then
            log_tail "$PG_LOG"
            die "could not start PostgreSQL on $addr (log: $PG_LOG)"
        fi
        sleep 2
    done
    say "postgres: started on $addr (data: $PG_DATA)"
    export PG_URL_BASE="postgres://postgres@$addr"
}

# psql against our cluster, as superuser 'postgres' over TCP (trust auth, no password).
# -X: ignore ~/.psqlrc, which could change the output format.
pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$QUOTIDIAN_PG_PORT" -U postgres "$@"
}

# Drops the per-test databases (quotidian_test_*) an earlier test run left behind.
drop_test_databases() {
    local names name
    names="$(pg_psql -d postgres -tA <<<"select datname from pg_database where datname like 'quotidian\_test\_%'")"
    for name in $names; do
        pg_psql -d postgres -v name="$name" <<<'drop database if exists :"name" with (force)' >/dev/null
    done
    [[ -z "$names" ]] || say "postgres: dropped $(wc -w <<<"$names") test databases from an earlier run"
}

# ensure_database NAME: create database NAME in our cluster unless it exists.
ensure_database() {
    local name="${1:?usage: ensure_database NAME}"
    [[ -n ${PG_URL_BASE:-} ]] || die "ensure_database: call ensure_postgres first"
    local exists
    # Through stdin, not -c: psql expands :'name' (a quoted literal) only in scripts.
    exists="$(pg_psql -d postgres -tA -v name="$name" <<<"select count(*) from pg_database where datname = :'name'")"
    if [[ $exists == 1 ]]; then
        say "postgres: database $name exists"
        return 0
    fi
    # Tolerate losing a race with a concurrent run: only fail if it still doesn't exist.
    local err
    if ! err="$(pg_psql -d postgres -v name="$name" <<<'create database :"name"' 2>&1)"; then
        exists="$(pg_psql -d postgres -tA -v name="$name" <<<"select count(*) from pg_database where datname = :'name'")"
        [[ $exists == 1 ]] || die "could not create database $name: $err"
    fi
    say "postgres: created database $name"
}

# Stop our cluster(s) - both the usual place and the /var/tmp fallback - if running.
stop_postgres() {
    local home bin
    for home in "${QUOTIDIAN_PG_HOME:-$STATE_DIR/postgres}" "/var/tmp/quotidian-$(root_hash)"; do
        PG_DATA="$home/data"
        [[ -f $PG_DATA/PG_VERSION ]] || continue
        if ! pg_pidfile_live; then
            say "postgres: not running (data: $PG_DATA)"
            continue
        fi
        bin="$(pg_find_bindir "$(<"$PG_DATA/PG_VERSION")")"
        [[ -n $bin ]] || bin="$(pg_find_bindir)"
        as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
        say "postgres: stopped (data: $PG_DATA)"
    done
}
