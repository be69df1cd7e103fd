# shellcheck shell=bash
#
# The web page (web/): its npm packages, its lint, its build, the API types it is
# generated from, and the browser its tests drive. Sourced by scripts/lib.sh.
WEB_DIR="$ROOT/web"

# npm ci on first use, and again whenever package-lock.json changed since the last one.
ensure_web_packages() {
    command -v npm >/dev/null 2>&1 || die "node and npm are needed to build the web page"
    npm_ensure web "$WEB_DIR"
}

# ESLint over web/ (web/eslint.config.js: typescript-eslint's recommended rules and the
# React hooks rules). Call ensure_web_packages first.
lint_web() {
    (cd "$WEB_DIR" && npm run --silent lint)
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
    local operator suppressed
    operator="operator-$(date +%s)-$RANDOM@example.com"
    suppressed="bounced-$(date +%s)-$RANDOM@example.com"
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

