# shellcheck shell=bash
#
# Helpers every piece of scripts/lib.sh uses. Sourced by scripts/lib.sh (which sets ROOT
# and STATE_DIR first), not on its own.

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

# npm_install LABEL DIR: npm ci in DIR on first use, and again whenever its
# package-lock.json changed since the last one (npm ci writes
# node_modules/.package-lock.json).
npm_current() {
    [[ -f $1/node_modules/.package-lock.json &&
        ! $1/package-lock.json -nt $1/node_modules/.package-lock.json ]]
}
npm_install() {
    local label="$1" dir="$2"
    command -v npm >/dev/null 2>&1 || die "node and npm are needed for $label"
    say "$label: installing npm packages (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        die "npm ci failed in $dir"
}
npm_ensure() { npm_current "$2" || npm_install "$@"; }

# Python tools (the S3 emulator, shellcheck) live in virtualenvs under .local/, each from
# a requirements.txt that pins them. A marker file is written after a successful pip
# install; a requirements.txt newer than it means "reinstall".

# venv_current VENV REQUIREMENTS PROGRAM: is VENV installed from the current REQUIREMENTS,
# with PROGRAM in its bin/?
venv_current() {
    [[ -x $1/bin/$3 && -f $1/.quotidian-installed && ! $2 -nt $1/.quotidian-installed ]]
}

# venv_install LABEL VENV REQUIREMENTS: create VENV (if needed) and pip install the pinned
# REQUIREMENTS into it. Dies, with the tail of pip's log, when that fails.
venv_install() {
    local label="$1" venv="$2" requirements="$3" python log="$STATE_DIR/$1-pip.log"
    python="$(command -v python3 2>/dev/null)" || die "python3 is needed for $label"
    # Debian splits venv/ensurepip into python3-venv; a python3 from pyenv or python.org
    # has them built in.
    if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 ||
            die "python3 cannot create virtualenvs (no venv/ensurepip module)"
        say "$label: installing python3-venv (apt-get)"
        as_admin apt-get install -y -qq python3-venv >/dev/null ||
            die "apt-get install python3-venv failed"
    fi
    # A venv whose interpreter no longer runs (python upgraded or removed) cannot be
    # repaired in place: start it afresh.
    if [[ -e $venv ]] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
        rm -rf "$venv"
    fi
    mkdir -p "$STATE_DIR"
    if [[ ! -x $venv/bin/python ]]; then
        "$python" -m venv "$venv" || die "could not create a virtualenv in $venv"
    fi
    rm -f "$venv/.quotidian-installed"
    say "$label: installing $(grep -v '^#' "$requirements" | xargs) (pip)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$requirements" >"$log" 2>&1 || {
        log_tail "$log"
        die "pip install failed for $requirements (log: $log)"
    }
    touch "$venv/.quotidian-installed"
}
