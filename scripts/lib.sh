# shellcheck shell=bash
#
# Shared helpers for scripts/run, scripts/test and scripts/stop. Source it, don't run it.
#
# Everything the service needs locally is started from here, without Docker and without
# AWS credentials:
#   - PostgreSQL: our own throwaway cluster (own data dir, port, socket dir), started with
#     the Debian server binaries, installed with apt-get if they are missing.
#   - Amazon SES v2: the npm package aws-ses-v2-local (pinned in tools/ses-emulator),
#     which stores every sent mail in memory and shows it in a web viewer.
#   - Amazon S3: moto's server (PyPI moto[server], pinned in tools/s3-emulator) in a
#     virtualenv under .local/, keeping buckets and objects in memory.
# All keep running after the calling script exits, so the next run/test reuses them;
# scripts/stop shuts them down.
#
# Settings (environment):
#   QUOTIDIAN_PG_PORT   port of our PostgreSQL cluster        (default 54329)
#   QUOTIDIAN_PG_HOME   dir holding data/, run/ and the log    (default $ROOT/.local/postgres)
#   QUOTIDIAN_SES_PORT  port of the SES emulator               (default 8005)
#   QUOTIDIAN_S3_PORT   port of the S3 emulator                (default 5000)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE_DIR="$ROOT/.local"
QUOTIDIAN_PG_PORT="${QUOTIDIAN_PG_PORT:-54329}"
QUOTIDIAN_SES_PORT="${QUOTIDIAN_SES_PORT:-8005}"
QUOTIDIAN_S3_PORT="${QUOTIDIAN_S3_PORT:-5000}"
export QUOTIDIAN_PG_PORT QUOTIDIAN_SES_PORT QUOTIDIAN_S3_PORT

SES_DIR="$ROOT/tools/ses-emulator"
SES_PID_FILE="$STATE_DIR/ses-emulator.pid"
SES_LOG="$STATE_DIR/ses-emulator.log"

S3_DIR="$ROOT/tools/s3-emulator"
S3_VENV="$STATE_DIR/s3-emulator-venv"
# Written after a successful pip install; older than requirements.txt = reinstall.
S3_MARKER="$S3_VENV/.quotidian-installed"
S3_PID_FILE="$STATE_DIR/s3-emulator.pid"
S3_LOG="$STATE_DIR/s3-emulator.log"

# Status lines go to stderr so that stdout stays free for whatever the caller prints.
say() { printf '%s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() { [[ $EUID -eq 0 ]]; }

# Run a command with root rights (for apt-get): directly when we are root, else via sudo.
as_admin() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root rights for: $* (not root and sudo is not installed)"
    fi
}

# A short, stable id for this checkout, so two clones never share /var/tmp state.
root_hash() { printf '%s' "$ROOT" | sha256sum | cut -c1-8; }

# Last lines of a log file, indented, for error messages.
log_tail() {
    if [[ -f $1 ]]; then tail -n "${2:-20}" "$1" | sed 's/^/    /' >&2; fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------

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

# ensure_database NAME: create database NAME in our cluster unless it exists.
# Drops the per-test databases (quotidian_test_*) an earlier test run left behind.
drop_test_databases() {
    local names name
    names="$(pg_psql -d postgres -tA <<<"select datname from pg_database where datname like 'quotidian\_test\_%'")"
    for name in $names; do
        pg_psql -d postgres -v name="$name" <<<'drop database if exists :"name" with (force)' >/dev/null
    done
    [[ -z "$names" ]] || say "postgres: dropped $(wc -w <<<"$names") test databases from an earlier run"
}

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

# ---------------------------------------------------------------------------------------
# SES v2 emulator (aws-ses-v2-local)
# ---------------------------------------------------------------------------------------

# Is our emulator answering on its port? Uses bash's /dev/tcp, so neither curl nor wget
# is needed. GET /store with a 'since' far in the future returns a tiny
# {"templates":{},"emails":[]}, which also tells it apart from any other web server.
# GET path $2 from 127.0.0.1:$1 with bash's /dev/tcp, so neither curl nor wget is
# needed; prints the raw HTTP reply.
local_http_get() {
    {
        exec 3<>"/dev/tcp/127.0.0.1/$1" &&
            printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 &&
            timeout 3 cat <&3
    } 2>/dev/null
}

# Is PID $1 alive and running a command line that matches glob $2? Guards against PID
# reuse when a pid file outlives its process.
pid_runs() {
    local pid="$1" pattern="$2" cmd
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ -r /proc/$pid/cmdline ]] || return 0 # no /proc (macOS): best effort
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    # shellcheck disable=SC2053 # $pattern is a glob on purpose
    [[ $cmd == $pattern ]]
}

ses_answering() {
    local reply
    reply="$(local_http_get "$QUOTIDIAN_SES_PORT" '/store?since=4102444800')" || return 1
    [[ $reply == "HTTP/1."?" 200"* && $reply == *'"emails"'* ]]
}

# Is PID $1 our emulator (this checkout's copy, on our port)? Guards against PID reuse.
ses_is_ours() {
    pid_runs "$1" "*$SES_DIR/node_modules/aws-ses-v2-local/* --port $QUOTIDIAN_SES_PORT *"
}

# PID of our running emulator: from the pid file, or - if that was lost (say, .local was
# deleted) - by looking through the process list.
ses_pid() {
    local pid dir
    if [[ -f $SES_PID_FILE ]]; then
        pid="$(<"$SES_PID_FILE")"
        if ses_is_ours "$pid"; then
            echo "$pid"
            return 0
        fi
    fi
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        if [[ $pid != "$$" ]] && ses_is_ours "$pid"; then
            echo "$pid"
            return 0
        fi
    done 2>/dev/null
    return 1
}

# The emulator answers the SES v2 GetAccount call (GET /v2/email/account) only when
# AWS_SES_ACCOUNT holds an account description; give it a healthy production account.
SES_DEFAULT_ACCOUNT='{"DedicatedIpAutoWarmupEnabled":false,"Details":{"AdditionalContactEmailAddresses":[],"ContactLanguage":"EN","MailType":"TRANSACTIONAL","ReviewDetails":{"CaseId":"local","Status":"GRANTED"},"UseCaseDescription":"Quotidian local development","WebsiteURL":"http://127.0.0.1:8080"},"EnforcementStatus":"HEALTHY","ProductionAccessEnabled":true,"SendingEnabled":true,"SendQuota":{"Max24HourSend":50000,"MaxSendRate":14,"SentLast24Hours":0},"SuppressionAttributes":{"SuppressedReasons":["BOUNCE","COMPLAINT"]}}'

# Install (if needed) and start (if needed) the SES emulator, and point the AWS SDK at it.
ensure_ses_emulator() {
    local url="http://127.0.0.1:$QUOTIDIAN_SES_PORT"
    # The AWS SDK sends SES v2 calls here instead of to AWS. The emulator checks only that
    # an "Authorization: AWS..." header is present, not the signature, so any keys do;
    # keep the caller's own settings if it has some.
    export AWS_ENDPOINT_URL_SESV2="$url"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    export AWS_REGION="${AWS_REGION:-us-east-1}"

    if ses_answering; then
        say "ses-emulator: reusing $url"
        return 0
    fi

    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        die "node and npm are needed for the SES emulator"
    fi
    # npm ci on first use, and again whenever package-lock.json changed since the last one
    # (npm ci writes node_modules/.package-lock.json).
    if [[ ! -f $SES_DIR/node_modules/.package-lock.json ||
        $SES_DIR/package-lock.json -nt $SES_DIR/node_modules/.package-lock.json ]]; then
        say "ses-emulator: installing npm packages (npm ci)"
        (cd "$SES_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            die "npm ci failed in $SES_DIR"
    fi

    # A pid file whose process is gone or is not the emulator is stale.
    local pid
    if pid="$(ses_pid)"; then
        # Ours, alive, but not answering: wedged. Replace it.
        kill "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$SES_PID_FILE"

    mkdir -p "$STATE_DIR"
    local detach=()
    if command -v setsid >/dev/null 2>&1; then detach=(setsid); fi # util-linux; not on macOS
    # setsid: own session, so Ctrl-C in the terminal running scripts/run does not reach it;
    # nohup + all fds redirected: it outlives this script without holding the terminal or
    # a CI step's output pipe open. The inner shell writes its own PID (the same process
    # becomes node via exec) - $! would be wrong if setsid had to fork.
    # shellcheck disable=SC2016 # $$, $1 and $@ are for the inner shell
    AWS_SES_ACCOUNT="${AWS_SES_ACCOUNT:-$SES_DEFAULT_ACCOUNT}" \
        ${detach[@]+"${detach[@]}"} nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$SES_PID_FILE" \
        node "$SES_DIR/node_modules/aws-ses-v2-local/dist/cli.js" \
        --host 127.0.0.1 --port "$QUOTIDIAN_SES_PORT" \
        </dev/null >"$SES_LOG" 2>&1 &

    local i
    for ((i = 0; i < 80; i++)); do # 80 x 0.25 s = 20 s
        if ses_answering; then
            say "ses-emulator: started on $url (mail viewer: $url/, log: $SES_LOG)"
            return 0
        fi
        # Exited already (typically: port taken)? Then there is no point waiting.
        if ((i >= 4)) && ! ses_pid >/dev/null; then break; fi
        sleep 0.25
    done
    log_tail "$SES_LOG"
    die "SES emulator did not come up on $url (log: $SES_LOG); is port $QUOTIDIAN_SES_PORT taken? (QUOTIDIAN_SES_PORT)"
}

stop_ses_emulator() {
    local pid i
    if ! pid="$(ses_pid)"; then
        rm -f "$SES_PID_FILE"
        say "ses-emulator: not running"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    # ses_is_ours rather than kill -0: an exited but not yet reaped process still "exists".
    for ((i = 0; i < 20; i++)); do
        ses_is_ours "$pid" || break
        sleep 0.25
    done
    if ses_is_ours "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$SES_PID_FILE"
    say "ses-emulator: stopped"
}

# ---------------------------------------------------------------------------------------
# S3 emulator (moto_server)
# ---------------------------------------------------------------------------------------

# Is our emulator answering on its port? bash's /dev/tcp again. GET /moto-api/ is moto's
# own dashboard page (about 10 kB, the same size however many buckets the tests left),
# whose title tells moto apart from any other web server - and from another S3 emulator.
s3_answering() {
    local reply
    reply="$(local_http_get "$QUOTIDIAN_S3_PORT" /moto-api/)" || return 1
    [[ $reply == "HTTP/1."?" 200"* && $reply == *'<title>Moto</title>'* ]]
}

# Is PID $1 our emulator (this checkout's virtualenv, on our port)? Guards against PID
# reuse. The console script runs as "<venv>/bin/python <venv>/bin/moto_server ...".
s3_is_ours() {
    pid_runs "$1" "*$S3_VENV/bin/moto_server -H 127.0.0.1 -p $QUOTIDIAN_S3_PORT *"
}

# PID of our running emulator: from the pid file, or by looking through the process list.
s3_pid() {
    local pid dir
    if [[ -f $S3_PID_FILE ]]; then
        pid="$(<"$S3_PID_FILE")"
        if s3_is_ours "$pid"; then
            echo "$pid"
            return 0
        fi
    fi
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        if [[ $pid != "$$" ]] && s3_is_ours "$pid"; then
            echo "$pid"
            return 0
        fi
    done 2>/dev/null
    return 1
}

# Is the virtualenv installed, from the current requirements.txt?
s3_venv_current() {
    [[ -x $S3_VENV/bin/moto_server && -f $S3_MARKER && ! $S3_DIR/requirements.txt -nt $S3_MARKER ]]
}

# Create the virtualenv (if needed) and pip install the pinned requirements into it.
s3_install() {
    local python
    python="$(command -v python3 2>/dev/null)" || die "python3 is needed for the S3 emulator"
    # Debian splits venv/ensurepip into python3-venv; a python3 from pyenv or python.org
    # has them built in.
    if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 ||
            die "python3 cannot create virtualenvs (no venv/ensurepip module)"
        say "s3-emulator: installing python3-venv (apt-get)"
        as_admin apt-get install -y -qq python3-venv >/dev/null ||
            die "apt-get install python3-venv failed"
    fi
    # A venv whose interpreter no longer runs (python upgraded or removed) cannot be
    # repaired in place: start it afresh.
    if [[ -e $S3_VENV ]] && ! "$S3_VENV/bin/python" -c '' >/dev/null 2>&1; then
        rm -rf "$S3_VENV"
    fi
    if [[ ! -x $S3_VENV/bin/python ]]; then
        mkdir -p "$STATE_DIR"
        "$python" -m venv "$S3_VENV" || die "could not create a virtualenv in $S3_VENV"
    fi
    rm -f "$S3_MARKER"
    say "s3-emulator: installing $(grep -v '^#' "$S3_DIR/requirements.txt" | xargs) (pip)"
    "$S3_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$S3_DIR/requirements.txt" >"$STATE_DIR/s3-emulator-pip.log" 2>&1 || {
        log_tail "$STATE_DIR/s3-emulator-pip.log"
        die "pip install failed for $S3_DIR/requirements.txt (log: $STATE_DIR/s3-emulator-pip.log)"
    }
    touch "$S3_MARKER"
}

# Install (if needed) and start (if needed) the S3 emulator, and point the AWS SDK at it.
ensure_s3_emulator() {
    local url="http://127.0.0.1:$QUOTIDIAN_S3_PORT"
    # The AWS SDK sends S3 calls here instead of to AWS (path-style: see
    # src/clients/audit.rs). Moto accepts any keys; keep the caller's own if it has some.
    export AWS_ENDPOINT_URL_S3="$url"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    export AWS_REGION="${AWS_REGION:-us-east-1}"

    local pid
    if s3_venv_current; then
        if s3_answering; then
            say "s3-emulator: reusing $url"
            return 0
        fi
    else
        s3_install
        # A server still running the previous pins would hide the upgrade: replace it.
        # (Something answering that is not ours is reused below, as with a clean install.)
        if pid="$(s3_pid)"; then
            say "s3-emulator: requirements changed, restarting it"
            stop_s3_emulator >/dev/null 2>&1
        fi
        if s3_answering; then
            say "s3-emulator: reusing $url (not started by this checkout)"
            return 0
        fi
    fi

    # A pid file whose process is gone or is not the emulator is stale.
    if pid="$(s3_pid)"; then
        # Ours, alive, but not answering: wedged (or still starting, which a concurrent
        # run would have waited for). Replace it.
        kill "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$S3_PID_FILE"

    mkdir -p "$STATE_DIR"
    local detach=()
    if command -v setsid >/dev/null 2>&1; then detach=(setsid); fi # util-linux; not on macOS
    # Detached exactly like the SES emulator (see ensure_ses_emulator for why).
    # shellcheck disable=SC2016 # $$, $1 and $@ are for the inner shell
    ${detach[@]+"${detach[@]}"} nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$S3_PID_FILE" \
        "$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$QUOTIDIAN_S3_PORT" \
        </dev/null >"$S3_LOG" 2>&1 &

    local i
    for ((i = 0; i < 120; i++)); do # 120 x 0.25 s = 30 s; moto imports a lot on start
        if s3_answering; then
            say "s3-emulator: started on $url (moto $("$S3_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null), log: $S3_LOG)"
            return 0
        fi
        # Exited already (typically: port taken)? Then there is no point waiting.
        if ((i >= 8)) && ! s3_pid >/dev/null; then break; fi
        sleep 0.25
    done
    log_tail "$S3_LOG"
    die "S3 emulator did not come up on $url (log: $S3_LOG); is port $QUOTIDIAN_S3_PORT taken? (QUOTIDIAN_S3_PORT)"
}

stop_s3_emulator() {
    local pid i
    if ! pid="$(s3_pid)"; then
        rm -f "$S3_PID_FILE"
        say "s3-emulator: not running"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        s3_is_ours "$pid" || break
        sleep 0.25
    done
    if s3_is_ours "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$S3_PID_FILE"
    say "s3-emulator: stopped"
}

stop_local_services() {
    stop_postgres
    stop_ses_emulator
    stop_s3_emulator
}

# ---------------------------------------------------------------------------------------
# The web page (web/): its npm packages, its build, and the browser its tests drive.
# ---------------------------------------------------------------------------------------
WEB_DIR="$ROOT/web"

# npm ci on first use, and again whenever package-lock.json changed since the last one.
ensure_web_packages() {
    command -v npm >/dev/null 2>&1 || die "node and npm are needed to build the web page"
    if [[ ! -f $WEB_DIR/node_modules/.package-lock.json ||
        $WEB_DIR/package-lock.json -nt $WEB_DIR/node_modules/.package-lock.json ]]; then
        say "web: installing npm packages (npm ci)"
        (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            die "npm ci failed in $WEB_DIR"
    fi
}

# Builds web/dist, which `quotidian serve` serves at / (QUOTIDIAN_WEB_DIR).
build_web() {
    ensure_web_packages
    mkdir -p "$STATE_DIR"
    say "web: building the web page (vite build into web/dist)"
    (cd "$WEB_DIR" && npm run --silent build >"$STATE_DIR/web-build.log" 2>&1) || {
        log_tail "$STATE_DIR/web-build.log"
        die "the web page did not build (log: $STATE_DIR/web-build.log)"
    }
}

# Debian's Chromium, for the browser tests (playwright-core drives it; test tools cannot
# download their own browsers here). Installed with apt-get when missing.
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ensure_chromium() {
    if [[ -x $CHROMIUM ]]; then return 0; fi
    command -v apt-get >/dev/null 2>&1 ||
        die "Chromium not found at $CHROMIUM and apt-get is not available; install Chromium and set CHROMIUM"
    say "chromium: not installed, installing Debian's chromium with apt-get (once)"
    as_admin apt-get update -qq
    as_admin env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null ||
        die "apt-get install chromium failed"
    [[ -x $CHROMIUM ]] || die "apt-get installed chromium, but $CHROMIUM is missing"
}

# The API types in web/src/api are generated from `quotidian openapi`; they must be the
# ones committed, so the page cannot drift from the API (regenerate: npm run gen:api).
check_api_types() {
    local tmp
    tmp="$(mktemp -d)"
    "$ROOT/target/debug/quotidian" openapi >"$tmp/openapi.json"
    (cd "$WEB_DIR" && npx --no-install openapi-typescript "$tmp/openapi.json" -o "$tmp/schema.d.ts" >/dev/null 2>&1)
    if ! cmp -s "$tmp/openapi.json" "$WEB_DIR/src/api/openapi.json" ||
        ! cmp -s "$tmp/schema.d.ts" "$WEB_DIR/src/api/schema.d.ts"; then
        diff -u "$WEB_DIR/src/api/openapi.json" "$tmp/openapi.json" | head -40 >&2 || true
        say "web/src/api is out of date with the service's OpenAPI document: run 'npm run gen:api' in web/ and commit"
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$tmp"
}

# Starts the service (the binary the tests just built) on its own port and a fresh
# database, serving web/dist, and runs the browser tests against it.
browser_tests() {
    local port="${QUOTIDIAN_E2E_PORT:-18080}" db=quotidian_test_e2e
    pg_psql -d postgres -v name="$db" <<<'drop database if exists :"name" with (force)' >/dev/null
    pg_psql -d postgres -v name="$db" <<<'create database :"name"' >/dev/null
    local log="$STATE_DIR/e2e-service.log"
    # The operator journey signs this address up (new each run: the SES emulator's
    # mailbox outlives the database) and lifts the suppression seeded below.
    local operator="operator-$(date +%s)-$RANDOM@example.com"
    local suppressed="bounced-$(date +%s)-$RANDOM@example.com"
    local svc_env=(
        DATABASE_URL="$PG_URL_BASE/$db"
        QUOTIDIAN_BIND="127.0.0.1:$port"
        QUOTIDIAN_PUBLIC_URL="http://127.0.0.1:$port"
        QUOTIDIAN_WEB_DIR="$WEB_DIR/dist"
        QUOTIDIAN_SENDER="Quotidian <digest@quotidian.test>"
        QUOTIDIAN_S3_BUCKET=quotidian-test-e2e
        QUOTIDIAN_SECRET_KEY="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
        QUOTIDIAN_DIGEST_POLL_MS=200 QUOTIDIAN_OUTBOX_POLL_MS=200 QUOTIDIAN_SCHEDULER_TICK_MS=1000
        QUOTIDIAN_LOG_FORMAT=json
        # Every browser test signs up from 127.0.0.1; the limit itself has API tests.
        QUOTIDIAN_SIGNUPS_PER_CLIENT_PER_HOUR=100
        QUOTIDIAN_OPERATOR_EMAILS="$operator"
    )
    env "${svc_env[@]}" "$ROOT/target/debug/quotidian" setup-audit >"$log" 2>&1 || {
        log_tail "$log"
        return 1
    }
    env "${svc_env[@]}" "$ROOT/target/debug/quotidian" serve >>"$log" 2>&1 &
    local pid=$!
    local i ready=
    for ((i = 0; i < 120; i++)); do
        if local_http_get "$port" /readyz | head -n 1 | grep -q ' 200 '; then ready=1 && break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    if [[ -z $ready ]]; then
        kill "$pid" 2>/dev/null || true
        log_tail "$log"
        say "the service for the browser tests did not come up (log: $log)"
        return 1
    fi
    # A bounce as SES would have reported it (the webhook only believes signed SNS).
    pg_psql -d "$db" -v email="$suppressed" \
        <<<"insert into suppressed_addresses (email, reason, detail) values (:'email', 'bounce', 'Permanent/General: smtp; 550 5.1.1 user unknown')" >/dev/null
    local status=0
    (cd "$WEB_DIR" && E2E_BASE_URL="http://127.0.0.1:$port" SES_URL="$AWS_ENDPOINT_URL_SESV2" \
        E2E_OPERATOR_EMAIL="$operator" E2E_SUPPRESSED_EMAIL="$suppressed" \
        CHROMIUM="$CHROMIUM" npm run --silent e2e) || status=$?
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    ((status == 0)) || say "service log: $log; screenshots: web/e2e/artifacts/"
    return "$status"
}

# The environment `quotidian` runs with locally (scripts/run, scripts/quotidian): the
# project's PostgreSQL and SES emulator, and no Finnhub key, so the built-in sample
# market data stands in (set FINNHUB_API_KEY to use Finnhub).
local_app_env() {
    export DATABASE_URL="$PG_URL_BASE/quotidian"
    export QUOTIDIAN_BIND="${QUOTIDIAN_BIND:-127.0.0.1:8080}"
    export QUOTIDIAN_PUBLIC_URL="${QUOTIDIAN_PUBLIC_URL:-http://127.0.0.1:8080}"
    export QUOTIDIAN_SENDER="${QUOTIDIAN_SENDER:-Quotidian <digest@quotidian.test>}"
    export QUOTIDIAN_LOG_FORMAT="${QUOTIDIAN_LOG_FORMAT:-pretty}"
    export QUOTIDIAN_S3_BUCKET="${QUOTIDIAN_S3_BUCKET:-quotidian-audit}"
    # A key kept under .local/ so signed links keep working across restarts.
    if [[ -z "${QUOTIDIAN_SECRET_KEY:-}" ]]; then
        mkdir -p "$STATE_DIR"
        key_file="$STATE_DIR/secret_key"
        [[ -s "$key_file" ]] || (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$key_file")
        QUOTIDIAN_SECRET_KEY="$(cat "$key_file")"
        export QUOTIDIAN_SECRET_KEY
    fi
}
