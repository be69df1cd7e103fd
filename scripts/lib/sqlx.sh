# shellcheck shell=bash
#
# sqlx-cli, for the compile-time checked SQL (sqlx::query!, query_as!, query_scalar!):
# the macros read the committed query data in .sqlx/ (SQLX_OFFLINE=true, set in
# .cargo/config.toml), and `cargo sqlx prepare` writes it from a migrated database.
# Installed from crates.io with `cargo install` into .local/sqlx-cli, at the version of
# the sqlx crate in Cargo.lock (so the two never drift apart), PostgreSQL and rustls
# only. A fresh machine needs only Rust. Sourced by scripts/lib.sh.
#   ensure_sqlx_cli       install it when missing or at another version than Cargo.lock's
#   sqlx_cli ARGS...      run `cargo sqlx ARGS...` with it
#   sqlx_scratch_database NAME   drop, create and migrate database NAME; prints its URL
#   check_sqlx_offline_data      .sqlx/ matches the queries in the code (scripts/test)
# scripts/sqlx-prepare regenerates .sqlx/.

SQLX_CLI_ROOT="$STATE_DIR/sqlx-cli"
# The scratch database `cargo sqlx prepare` reads the schema from: freshly migrated on
# every use, one per checkout (several may share a cluster through QUOTIDIAN_PG_PORT),
# and not quotidian_test_*, which any test run drops (drop_test_databases).
SQLX_DATABASE="quotidian_sqlx_$(root_hash)"
# Arguments for the `cargo check` that `cargo sqlx prepare` runs. Only the library and
# the binary use the query macros; tests and benchmarks use runtime queries. A test
# that uses a macro needs `--all-targets` here, or its query is not in .sqlx/.
SQLX_CARGO_CHECK_ARGS=()

# The version of the sqlx crate Cargo.lock resolves to (e.g. 0.8.6).
sqlx_locked_version() {
    awk '/^\[\[package\]\]/ { name = "" }
        /^name = / { name = $3 }
        /^version = / && name == "\"sqlx\"" { gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock"
}

# Installs sqlx-cli at Cargo.lock's sqlx version unless that one is already there.
ensure_sqlx_cli() {
    local version installed log="$STATE_DIR/sqlx-cli-install.log"
    version="$(sqlx_locked_version)"
    [[ -n $version ]] || die "sqlx-cli: no sqlx package in $ROOT/Cargo.lock"
    # `cargo-sqlx sqlx --version` prints "sqlx-cli-sqlx 0.8.6" (clap's name for the
    # subcommand); take the last word.
    installed="$("$SQLX_CLI_ROOT/bin/cargo-sqlx" sqlx --version 2>/dev/null | awk '{ print $NF }')" || true
    [[ $installed == "$version" ]] && return 0
    command -v cargo >/dev/null 2>&1 || die "sqlx-cli: cargo is needed to install it"
    mkdir -p "$STATE_DIR"
    say "sqlx-cli: installing $version into $SQLX_CLI_ROOT (cargo install, a few minutes, once)"
    # --locked: sqlx-cli's own Cargo.lock, as released. Its build goes to a temporary
    # target dir that cargo deletes afterwards, not to our target/.
    cargo install sqlx-cli --version "=$version" --locked --no-default-features \
        --features rustls,postgres --root "$SQLX_CLI_ROOT" --force >"$log" 2>&1 || {
        log_tail "$log"
        die "cargo install sqlx-cli $version failed (log: $log)"
    }
}

# cargo sqlx ARGS..., with our sqlx-cli first on PATH (cargo finds cargo-sqlx there).
sqlx_cli() { PATH="$SQLX_CLI_ROOT/bin:$PATH" cargo sqlx "$@"; }

# sqlx_scratch_database NAME: drop and create database NAME in our cluster, apply the
# migrations with sqlx-cli, and print its URL. Call ensure_postgres and ensure_sqlx_cli
# first.
sqlx_scratch_database() {
    local name="${1:?usage: sqlx_scratch_database NAME}" url
    [[ -n ${PG_URL_BASE:-} ]] || die "sqlx_scratch_database: call ensure_postgres first"
    pg_psql -d postgres -v name="$name" >/dev/null <<'SQL'
set client_min_messages = warning;
drop database if exists :"name" with (force);
SQL
    pg_psql -d postgres -v name="$name" <<<'create database :"name"' >/dev/null
    url="$PG_URL_BASE/$name"
    sqlx_cli migrate run --source "$ROOT/migrations" --database-url "$url" >/dev/null ||
        die "sqlx-cli: migrating $name failed"
    echo "$url"
}

# The source files of the crate's targets (src/lib.rs, src/main.rs, tests/*.rs, ...),
# one a line.
crate_target_roots() {
    (cd "$ROOT" && cargo metadata --no-deps --format-version 1) | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    for target in package["targets"]:
        print(target["src_path"])'
}

# cargo sqlx prepare ARGS... (sqlx-cli's options), then the crate's target roots get back the modification
# times they had. sqlx-cli touches them so that cargo expands the macros again; their
# contents do not change, and left touched they would make the next `cargo test`
# rebuild the whole crate for nothing (about 45 s here).
sqlx_prepare_keeping_mtimes() {
    local roots=() stamps=() file i status=0
    while IFS= read -r file; do
        roots+=("$file")
        stamps+=("$(stat -c %y "$file")")
    done < <(crate_target_roots)
    ((${#roots[@]})) || die "sqlx: cargo metadata lists no targets"
    if ((${#SQLX_CARGO_CHECK_ARGS[@]})); then set -- "$@" -- "${SQLX_CARGO_CHECK_ARGS[@]}"; fi
    (cd "$ROOT" && sqlx_cli prepare "$@") || status=$?
    for i in "${!roots[@]}"; do touch -d "${stamps[i]}" "${roots[i]}"; done
    return "$status"
}

# .sqlx/ holds the data of every checked query in the code, for the code and the
# migrations as they are: `cargo sqlx prepare --check` against a freshly migrated
# scratch database compares what the macros describe now with the committed files. It
# fails when a query or a migration changed without `scripts/sqlx-prepare`, and also
# when .sqlx/ keeps a file no query uses any more (sqlx-cli only warns about that).
check_sqlx_offline_data() {
    ensure_sqlx_cli
    local url out status=0
    url="$(sqlx_scratch_database "$SQLX_DATABASE")" || return 1
    # sqlx-cli's verdict goes to stdout, cargo's progress to stderr.
    out="$(cd "$ROOT" && sqlx_prepare_keeping_mtimes --check --database-url "$url")" || status=$?
    [[ -z $out ]] || printf '%s\n' "$out"
    if ((status == 0)) && grep -q 'potentially unused queries' <<<"$out"; then
        say "sqlx: .sqlx/ holds data for queries the code no longer has"
        status=1
    fi
    if ((status != 0)); then
        say "sqlx: .sqlx/ is out of date, or a query does not compile against the migrated schema (see above); fix it, run scripts/sqlx-prepare and commit .sqlx/"
        return 1
    fi
    say "sqlx: .sqlx/ matches the $(find "$ROOT/.sqlx" -name 'query-*.json' | wc -l) checked queries"
}
