# shellcheck shell=bash
#
# Amazon SES v2 stand-in: the npm package aws-ses-v2-local, pinned in tools/ses-emulator,
# run by the supervisor (supervisor.sh). It keeps every sent mail in memory, lists it as
# JSON at GET /store and shows it in a web viewer at /. Sourced by scripts/lib.sh.
#   ensure_ses_emulator  install/start it (or reuse it); points the AWS SDK at it
#   stop_ses_emulator    stop it

SES_DIR="$ROOT/tools/ses-emulator"

# The emulator answers the SES v2 GetAccount call (GET /v2/email/account) only when
# AWS_SES_ACCOUNT holds an account description; give it a healthy production account.
SES_DEFAULT_ACCOUNT='{"DedicatedIpAutoWarmupEnabled":false,"Details":{"AdditionalContactEmailAddresses":[],"ContactLanguage":"EN","MailType":"TRANSACTIONAL","ReviewDetails":{"CaseId":"local","Status":"GRANTED"},"UseCaseDescription":"Quotidian local development","WebsiteURL":"http://127.0.0.1:8080"},"EnforcementStatus":"HEALTHY","ProductionAccessEnabled":true,"SendingEnabled":true,"SendQuota":{"Max24HourSend":50000,"MaxSendRate":14,"SentLast24Hours":0},"SuppressionAttributes":{"SuppressedReasons":["BOUNCE","COMPLAINT"]}}'

# The supervisor's description of it (see supervisor.sh).
# shellcheck disable=SC2034 # the variables are the supervisor's locals (dynamic scope)
ses_spec() {
    label=ses-emulator
    port_var=QUOTIDIAN_SES_PORT
    # GET /store with a 'since' far in the future returns a tiny
    # {"templates":{},"emails":[]}, which no other web server would.
    probe_path='/store?since=4102444800'
    probe_text='"emails"'
    own_cmdline="*$SES_DIR/node_modules/aws-ses-v2-local/* --port $QUOTIDIAN_SES_PORT *"
    start_secs=20
    command=(
        env "AWS_SES_ACCOUNT=${AWS_SES_ACCOUNT:-$SES_DEFAULT_ACCOUNT}"
        node "$SES_DIR/node_modules/aws-ses-v2-local/dist/cli.js"
        --host 127.0.0.1 --port "$QUOTIDIAN_SES_PORT"
    )
}
ses_installed() { npm_current "$SES_DIR"; }
ses_install() {
    command -v node >/dev/null 2>&1 || die "node and npm are needed for the SES emulator"
    npm_install ses-emulator "$SES_DIR"
}
ses_started_note() { printf 'mail viewer: http://127.0.0.1:%s/' "$QUOTIDIAN_SES_PORT"; }

# Install (if needed) and start (if needed) the SES emulator, and point the AWS SDK at it.
ensure_ses_emulator() {
    # The AWS SDK sends SES v2 calls here instead of to AWS. The emulator checks only that
    # an "Authorization: AWS..." header is present, not the signature, so any keys do;
    # keep the caller's own settings if it has some.
    export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$QUOTIDIAN_SES_PORT"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    emulator_ensure ses
}

stop_ses_emulator() { emulator_stop ses; }
