# shellcheck shell=bash
#
# Shared helpers for scripts/run, scripts/test, scripts/stop, scripts/bench and
# scripts/quotidian. Source it, don't run it. It only sets the settings below and sources
# the pieces in scripts/lib/, one per local service:
#   common.sh        messages, root rights, HTTP probe, pid checks, npm and pip installs
#   postgres.sh      PostgreSQL: our own throwaway cluster (own data dir, port, socket
#                    dir) from the Debian server binaries, installed with apt-get if missing
#   supervisor.sh    the one supervisor both AWS emulators run under (install, reuse,
#                    replace a stale or wedged one, start detached, wait, stop)
#   ses-emulator.sh  Amazon SES v2: the npm package aws-ses-v2-local (pinned in
#                    tools/ses-emulator), keeping sent mail in memory, with a web viewer
#   s3-emulator.sh   Amazon S3: moto's server (PyPI moto[server], pinned in
#                    tools/s3-emulator) in a virtualenv under .local/, in memory
#   web.sh           the web page: npm packages, build, ESLint, Chromium, browser tests
#   app.sh           the environment `quotidian` runs with locally
#   lint.sh          shellcheck over every shell script (pinned in tools/shellcheck);
#                    compose.yaml's emulator versions checked against the pins
# Everything runs without Docker and without AWS credentials. The services keep running
# after the calling script exits, so the next run/test reuses them; scripts/stop shuts
# them down.
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

# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=lib/postgres.sh
source "$ROOT/scripts/lib/postgres.sh"
# shellcheck source=lib/supervisor.sh
source "$ROOT/scripts/lib/supervisor.sh"
# shellcheck source=lib/ses-emulator.sh
source "$ROOT/scripts/lib/ses-emulator.sh"
# shellcheck source=lib/s3-emulator.sh
source "$ROOT/scripts/lib/s3-emulator.sh"
# shellcheck source=lib/web.sh
source "$ROOT/scripts/lib/web.sh"
# shellcheck source=lib/app.sh
source "$ROOT/scripts/lib/app.sh"
# shellcheck source=lib/sqlx.sh
source "$ROOT/scripts/lib/sqlx.sh"
# shellcheck source=lib/lint.sh
source "$ROOT/scripts/lib/lint.sh"

stop_local_services() {
    stop_postgres
    stop_ses_emulator
    stop_s3_emulator
}
