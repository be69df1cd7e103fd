# syntax=docker/dockerfile:1
#
# Container image for the `quotidian` binary.
#
# NOTE: the development machines have no Docker engine, so this file is not built
# there. It is kept correct by reading. If you change the build (Cargo.toml targets,
# a build.rs, new compile-time inputs such as `migrations/` or `.sqlx/`), update the
# stages below.
#
#   docker build -t quotidian .
#   docker run --rm -e DATABASE_URL=postgres://... -p 8080:8080 quotidian          # serve
#   docker run --rm -e DATABASE_URL=postgres://... quotidian migrate

# ---------------------------------------------------------------------------
# Builder: compile a release binary.
# ---------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /build

# The project's cargo settings, as in a checkout: SQLX_OFFLINE=true, so the query
# macros read .sqlx/ (copied below) and the build needs no database. Set here as well,
# so that it holds even if .cargo/config.toml stops saying it.
COPY .cargo ./.cargo
ENV SQLX_OFFLINE=true

# Dependency layer. Compile every dependency against stub sources, so that changing
# only our own code reuses this (about 3 minutes on 2 cores) from the layer cache.
# The stubs must cover every target Cargo.toml declares explicitly. Today that is the
# library (src/lib.rs), the `quotidian` binary (src/main.rs) and the `login_health`,
# `etl`, `digests`, `flood` and `peak` [[bench]] targets. Any further explicit [[bench]], [[test]] or [[example]] entry needs a stub
# here too, or cargo rejects the manifest.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src benches \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > benches/login_health.rs \
    && echo 'fn main() {}' > benches/etl.rs \
    && echo 'fn main() {}' > benches/digests.rs \
    && echo 'fn main() {}' > benches/flood.rs \
    && echo 'fn main() {}' > benches/peak.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin quotidian \
    && rm -rf src

# Our code. `migrations/` must be here at compile time: `sqlx::migrate!` embeds it in
# the binary, which is why the runtime stage does not copy it. `.sqlx/` is the
# committed data of the compile-time checked queries (`sqlx::query!` and co.), which
# the macros read instead of a database.
COPY src ./src
COPY migrations ./migrations
COPY .sqlx ./.sqlx
# The placeholder page and the email templates are compiled into the binary.
COPY web/placeholder ./web/placeholder
COPY templates ./templates
# COPY keeps the build context's modification times, which can be older than the
# stub build's outputs. Touch the crate roots so cargo rebuilds our crate, not the stub.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin quotidian

# ---------------------------------------------------------------------------
# Web page: build web/dist with Node. The API types (web/src/api) are committed,
# generated from the service's OpenAPI document, so this stage needs no Rust.
# ---------------------------------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

# ---------------------------------------------------------------------------
# Runtime: the binary, CA certificates, and a non-root user. Nothing else.
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# CA roots for TLS to AWS (and, later, Finnhub). The same Debian release as the
# builder, so the glibc the binary was linked against is present.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 quotidian \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin quotidian

WORKDIR /app
COPY --from=builder /build/target/release/quotidian /usr/local/bin/quotidian
# The built web page, served at / by `serve`.
COPY --from=web /web/dist /app/web/dist

# Listen on all interfaces inside the container; the default (127.0.0.1) would be
# unreachable through a published port. Links in emails come from
# QUOTIDIAN_PUBLIC_URL, which defaults to http://<bind>. Set it at run time to the
# address users actually reach.
ENV QUOTIDIAN_BIND=0.0.0.0:8080 \
    QUOTIDIAN_WEB_DIR=/app/web/dist

# Numeric, so orchestrators that check runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8080

# No HEALTHCHECK: the slim image has no curl or wget, and adding one only for probes
# would enlarge the image and its attack surface. Probes belong to the orchestrator.
# compose.yaml probes /healthz with bash's /dev/tcp. Kubernetes uses its own
# httpGet probes and ignores HEALTHCHECK anyway.
ENTRYPOINT ["/usr/local/bin/quotidian"]
CMD ["serve"]
