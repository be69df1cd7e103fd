# shellcheck shell=bash
#
# The one supervisor for the local AWS emulators (ses-emulator.sh, s3-emulator.sh):
# install when needed, reuse one that answers, replace a stale or wedged one, start it
# detached, wait for it to answer (or show its log), stop it. Sourced by scripts/lib.sh.
#
# An emulator NAME is described by functions of its own file:
#   NAME_spec       sets the variables below. bash variables are dynamically scoped: each
#                   supervisor function declares them local, then calls NAME_spec, so the
#                   description is read afresh (QUOTIDIAN_*_PORT included) on every call.
#     label         its name in messages and in its files: .local/LABEL.pid, .local/LABEL.log
#     port_var      the setting holding its port on 127.0.0.1 (QUOTIDIAN_SES_PORT, ...)
#     probe_path    a GET that it answers with 200 and a body containing ...
#     probe_text    ... this text, which tells it apart from any other web server
#     own_cmdline   a glob its command line matches when it is this checkout's copy on
#                   this port (a pid file can outlive its process, and PIDs are reused)
#     start_secs    how long it may take to answer once started
#     command       array: the command that runs it in the foreground
#   NAME_installed  true when its install is there and current with its pins
#   NAME_install    installs it (or dies saying why)
#   NAME_started_note  optional: a few words for the "started" line

# emulator_answering NAME: is NAME answering on its port?
emulator_answering() {
    local label port_var probe_path probe_text own_cmdline start_secs command=() reply
    "$1_spec"
    reply="$(local_http_get "${!port_var}" "$probe_path")" || return 1
    [[ $reply == "HTTP/1."?" 200"* && $reply == *"$probe_text"* ]]
}

# emulator_pid NAME: PID of this checkout's running NAME, from its pid file or - if that
# was lost (say, .local was deleted) - by looking through the process list.
emulator_pid() {
    local label port_var probe_path probe_text own_cmdline start_secs command=() pid dir pid_file
    "$1_spec"
    pid_file="$STATE_DIR/$label.pid"
    if [[ -f $pid_file ]]; then
        pid="$(<"$pid_file")"
        if pid_runs "$pid" "$own_cmdline"; then
            echo "$pid"
            return 0
        fi
    fi
    for dir in /proc/[0-9]*; do
        pid="${dir#/proc/}"
        if [[ $pid != "$$" ]] && pid_runs "$pid" "$own_cmdline"; then
            echo "$pid"
            return 0
        fi
    done 2>/dev/null
    return 1
}

# emulator_ensure NAME: install NAME (if needed) and start it (if needed).
emulator_ensure() {
    local name="$1"
    local label port_var probe_path probe_text own_cmdline start_secs command=()
    "${name}_spec"
    local port="${!port_var}"
    local url="http://127.0.0.1:$port" pid_file="$STATE_DIR/$label.pid" log="$STATE_DIR/$label.log"

    local pid
    if "${name}_installed"; then
        if emulator_answering "$name"; then
            say "$label: reusing $url"
            return 0
        fi
    else
        "${name}_install"
        # A server still running the previous pins would hide the upgrade: replace it.
        # (Something answering that is not ours is reused below, as with a clean install.)
        if pid="$(emulator_pid "$name")"; then
            say "$label: its pinned version changed, restarting it"
            emulator_stop "$name" >/dev/null 2>&1
        fi
        if emulator_answering "$name"; then
            say "$label: reusing $url (not started by this checkout)"
            return 0
        fi
    fi

    # A pid file whose process is gone or is not the emulator is stale.
    if pid="$(emulator_pid "$name")"; then
        # Ours, alive, but not answering: wedged (or still starting, which a concurrent
        # run would have waited for). Replace it.
        kill "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$pid_file"

    mkdir -p "$STATE_DIR"
    local detach=()
    if command -v setsid >/dev/null 2>&1; then detach=(setsid); fi # util-linux; not on macOS
    # setsid: own session, so Ctrl-C in the terminal running scripts/run does not reach it;
    # nohup + all fds redirected: it outlives this script without holding the terminal or
    # a CI step's output pipe open. The inner shell writes its own PID (the same process
    # becomes the emulator via exec) - $! would be wrong if setsid had to fork.
    # shellcheck disable=SC2016 # $$, $1 and $@ are for the inner shell
    ${detach[@]+"${detach[@]}"} nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pid_file" \
        "${command[@]}" </dev/null >"$log" 2>&1 &

    local i note
    for ((i = 0; i < start_secs * 4; i++)); do # 0.25 s each
        if emulator_answering "$name"; then
            note=""
            if declare -F "${name}_started_note" >/dev/null; then note="$("${name}_started_note"), "; fi
            say "$label: started on $url (${note}log: $log)"
            return 0
        fi
        # Exited already (typically: port taken)? Then there is no point waiting.
        if ((i >= 8)) && ! emulator_pid "$name" >/dev/null; then break; fi
        sleep 0.25
    done
    log_tail "$log"
    die "$label did not come up on $url (log: $log); is port $port taken? ($port_var)"
}

# emulator_stop NAME: stop this checkout's NAME on its port, if it runs. Never touches an
# emulator started by another checkout or on another port.
emulator_stop() {
    local name="$1"
    local label port_var probe_path probe_text own_cmdline start_secs command=()
    "${name}_spec"
    local pid i pid_file="$STATE_DIR/$label.pid"
    if ! pid="$(emulator_pid "$name")"; then
        rm -f "$pid_file"
        say "$label: not running"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    # pid_runs rather than kill -0: an exited but not yet reaped process still "exists".
    for ((i = 0; i < 20; i++)); do
        pid_runs "$pid" "$own_cmdline" || break
        sleep 0.25
    done
    if pid_runs "$pid" "$own_cmdline"; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$pid_file"
    say "$label: stopped"
}
