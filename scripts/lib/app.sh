# shellcheck shell=bash
#
# The service itself, run locally (scripts/run, scripts/quotidian). Sourced by
# scripts/lib.sh.

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
        local key_file="$STATE_DIR/secret_key"
        mkdir -p "$STATE_DIR"
        [[ -s "$key_file" ]] || (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$key_file")
        QUOTIDIAN_SECRET_KEY="$(cat "$key_file")"
        export QUOTIDIAN_SECRET_KEY
    fi
}
