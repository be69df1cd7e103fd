# shellcheck shell=bash
#
# Amazon S3 stand-in: moto's server (PyPI moto[server], pinned in
# tools/s3-emulator/requirements.txt) in a virtualenv under .local/, run by the supervisor
# (supervisor.sh). Buckets and objects live in memory. Sourced by scripts/lib.sh.
#   ensure_s3_emulator  install/start it (or reuse it); points the AWS SDK at it
#   stop_s3_emulator    stop it

S3_DIR="$ROOT/tools/s3-emulator"
S3_VENV="$STATE_DIR/s3-emulator-venv"

# The supervisor's description of it (see supervisor.sh).
# shellcheck disable=SC2034 # the variables are the supervisor's locals (dynamic scope)
s3_spec() {
    label=s3-emulator
    port_var=QUOTIDIAN_S3_PORT
    # moto's own dashboard page (about 10 kB, the same size however many buckets the
    # tests left), whose title tells moto apart from any other web server - and from
    # another S3 emulator.
    probe_path=/moto-api/
    probe_text='<title>Moto</title>'
    # The console script runs as "<venv>/bin/python <venv>/bin/moto_server ...".
    own_cmdline="*$S3_VENV/bin/moto_server -H 127.0.0.1 -p $QUOTIDIAN_S3_PORT *"
    start_secs=30 # moto imports a lot on start
    command=("$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$QUOTIDIAN_S3_PORT")
}
s3_installed() { venv_current "$S3_VENV" "$S3_DIR/requirements.txt" moto_server; }
s3_install() { venv_install s3-emulator "$S3_VENV" "$S3_DIR/requirements.txt"; }
s3_started_note() {
    printf 'moto %s' "$("$S3_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)"
}

# Install (if needed) and start (if needed) the S3 emulator, and point the AWS SDK at it.
ensure_s3_emulator() {
    # The AWS SDK sends S3 calls here instead of to AWS (path-style: see
    # src/clients/audit.rs). Moto accepts any keys; keep the caller's own if it has some.
    export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$QUOTIDIAN_S3_PORT"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    emulator_ensure s3
}

stop_s3_emulator() { emulator_stop s3; }
