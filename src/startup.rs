//! Wiring: the state, the router with its layers, and `Application`, which binds
//! first (port 0 in tests) and serves until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_swagger_ui::SwaggerUi;

use crate::clients::audit::{AuditStore, S3AuditStore};
use crate::clients::finnhub::{FinnhubClient, FinnhubSettings, LimiterConfig, MarketData};
use crate::clients::mailer::Mailer;
use crate::config::Config;
use crate::domain::market::MarketSource;
use crate::error::ApiError;
use crate::routers;
use crate::routers::cross_site::{self, OwnOrigin};
use crate::routers::security_headers;
use crate::services::links::LinkSigner;
use crate::services::market_budget::SharedBudget;
use crate::services::passwords::PasswordHasher;
use crate::services::throttle::{AbuseLimits, LoginThrottle};
use crate::state::AppState;
use crate::workers;

pub use crate::error::MAX_BODY_BYTES;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects to PostgreSQL, retrying for a while so that a database that starts a few
/// seconds after us (compose, a restart) is not a crash.
pub async fn connect_database(config: &Config) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(config.database.url.expose_secret())
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await;
        match pool {
            Ok(pool) => return Ok(pool),
            Err(error) if attempt < 8 => {
                tracing::warn!(error = %error, attempt, "database not reachable yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(error) => {
                return Err(error).context("could not connect to the database (DATABASE_URL)");
            }
        }
    }
}

pub async fn migrate(db: &PgPool) -> anyhow::Result<()> {
    // sqlx takes an advisory lock, so instances starting together do not race.
    MIGRATOR
        .run(db)
        .await
        .context("applying database migrations")
}

/// The market data client: Finnhub when an API key is configured, otherwise the
/// built-in sample source, started on a local port and reached through the very same
/// HTTP client (so the offline experience exercises the real code path).
///
/// Every call draws from the Finnhub budget shared by all processes on `db`
/// (ADR 0013).
pub async fn market_from_config(
    config: &Config,
    db: &PgPool,
) -> anyhow::Result<(Arc<dyn MarketData>, MarketSource)> {
    if config.finnhub.api_key.is_some() {
        let client = FinnhubClient::new(
            FinnhubSettings::from_config(&config.finnhub),
            SharedBudget::from_config(db.clone(), &config.finnhub),
        )?;
        return Ok((Arc::new(client), MarketSource::Finnhub));
    }
    let (address, _server) = crate::sample_market::spawn_local()
        .await
        .context("starting the built-in sample market data source")?;
    tracing::warn!(
        %address,
        "FINNHUB_API_KEY is not set: market data comes from the built-in sample source and is labelled as sample data"
    );
    let settings = FinnhubSettings::new(
        url::Url::parse(&format!("http://{address}"))?,
        Some(secrecy::SecretString::from("sample".to_owned())),
    );
    // The local source is unmetered; Finnhub's plan limits would only make the offline
    // set-up slow. The shared budget itself stays in the path.
    let budget = SharedBudget::new(
        db.clone(),
        LimiterConfig {
            calls_per_minute: std::num::NonZeroU32::new(60_000).expect("non-zero"),
            calls_per_second: std::num::NonZeroU32::new(1_000).expect("non-zero"),
            ..LimiterConfig::per_minute(config.finnhub.calls_per_minute)
        },
        0.0,
    );
    Ok((
        Arc::new(FinnhubClient::new(settings, budget)?),
        MarketSource::Sample,
    ))
}

/// The external services a process talks to, other than the database.
pub struct Clients {
    pub mailer: Arc<dyn Mailer>,
    pub audit: Arc<dyn AuditStore>,
    pub market: Arc<dyn MarketData>,
    pub market_source: MarketSource,
}

/// SES sends per second: configured, else the account's maximum from `GetAccount`,
/// else one a second (the SES sandbox rate).
pub async fn send_rate(config: &Config, mailer: &dyn Mailer) -> f64 {
    if let Some(rate) = config.ses.max_send_rate {
        return rate;
    }
    match mailer.max_send_rate().await {
        Some(rate) => {
            tracing::info!(rate, "SES send rate from GetAccount");
            rate
        }
        None => {
            tracing::warn!(
                "SES send rate unknown: pacing digests at 1 a second (set QUOTIDIAN_SES_MAX_SEND_RATE)"
            );
            1.0
        }
    }
}

/// The state of a process without an HTTP listener (`worker`, `run`, `etl`):
/// connects, migrates, and talks to SES, S3 and market data as `serve` does.
pub async fn headless_state(config: Config) -> anyhow::Result<AppState> {
    let db = connect_database(&config).await?;
    migrate(&db).await?;
    let mailer: Arc<dyn Mailer> = Arc::new(
        crate::clients::mailer::SesMailer::from_env(config.ses.configuration_set.clone()).await,
    );
    let audit: Arc<dyn AuditStore> =
        Arc::new(S3AuditStore::from_env(config.s3.bucket.clone()).await);
    let (market, market_source) = market_from_config(&config, &db).await?;
    build_state(
        config,
        db,
        Clients {
            mailer,
            audit,
            market,
            market_source,
        },
    )
    .await
}

pub async fn build_state(config: Config, db: PgPool, clients: Clients) -> anyhow::Result<AppState> {
    let links = LinkSigner::resolve(config.accounts.secret_key.as_ref(), &db)
        .await
        .context("reading the link signing key")?;
    let rate = send_rate(&config, clients.mailer.as_ref()).await;
    let Clients {
        mailer,
        audit,
        market,
        market_source,
    } = clients;
    Ok(AppState {
        audit,
        links,
        ses_pacer: Arc::new(crate::services::pacing::SendPacer::new(
            db.clone(),
            rate,
            config.ses.pacing,
        )),
        ses_rate: rate,
        send_now_throttle: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_hour(
            config.digests.send_now_per_hour,
        ))),
        digest_wakeup: Arc::new(Notify::new()),
        audit_wakeup: Arc::new(Notify::new()),
        search_throttle: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(
            config.limits.symbol_searches_per_minute,
        ))),
        market,
        market_source,
        hasher: Arc::new(PasswordHasher::new(config.accounts.max_concurrent_hashes)),
        login_throttle: Arc::new(LoginThrottle::new(
            config.limits.login_attempts_per_account_per_minute,
            config.limits.login_attempts_per_client_per_minute,
            config.limits.max_keys,
        )),
        abuse: Arc::new(AbuseLimits::from_config(&config)),
        config: Arc::new(config),
        db,
        mailer,
        outbox_wakeup: Arc::new(Notify::new()),
        sns: Arc::new(crate::clients::sns::Verifier::new()),
        shutdown: tokio_util::sync::CancellationToken::new(),
        loops: Arc::new(workers::LoopHealth::default()),
    })
}

fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    // The route template, not the raw path: it groups requests and keeps tokens or
    // symbols in the path out of the span name.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route, request_id)
}

async fn panic_response() -> Response {
    ApiError::from(anyhow::anyhow!("handler panicked")).into_response()
}

pub fn router(state: AppState) -> anyhow::Result<Router> {
    let (api, mut openapi) = routers::api_router_and_document();
    routers::name_session_cookie(&mut openapi, routers::session_cookie_name(&state.config));
    let timeout_layer =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30));
    let own_origin = OwnOrigin::from_config(&state.config)?;
    let headers = security_headers::Settings {
        hsts: state.config.server.cookies_secure(),
    };
    // The validator badge would send our document's URL to validator.swagger.io.
    let docs = SwaggerUi::new("/docs")
        .url("/openapi.json", openapi)
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    let api = api
        .merge(docs)
        .fallback(routers::web::fallback)
        .method_not_allowed_fallback(routers::web::method_not_allowed)
        .with_state(state);
    Ok(api
        .layer(middleware::from_fn_with_state(
            own_origin,
            cross_site::refuse_cross_site,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            futures_util::FutureExt::now_or_never(panic_response()).expect("ready future")
        }))
        .layer(timeout_layer)
        .layer(middleware::from_fn_with_state(
            headers,
            security_headers::set_security_headers,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid)))
}

pub struct Application {
    listener: TcpListener,
    /// `QUOTIDIAN_METRICS_BIND`'s listener, when set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

/// Binds `QUOTIDIAN_METRICS_BIND`, when set, so a taken port fails the start.
pub async fn bind_metrics(config: &Config) -> anyhow::Result<Option<TcpListener>> {
    match config.server.metrics_bind {
        Some(addr) => {
            Ok(Some(TcpListener::bind(addr).await.with_context(|| {
                format!("binding {addr} (QUOTIDIAN_METRICS_BIND)")
            })?))
        }
        None => Ok(None),
    }
}

impl Application {
    /// Connects, migrates and binds. With `QUOTIDIAN_BIND` port 0 the OS picks a port;
    /// without a public URL, links point at the bound address.
    pub async fn build(config: Config, mailer: Arc<dyn Mailer>) -> anyhow::Result<Self> {
        let audit: Arc<dyn AuditStore> =
            Arc::new(S3AuditStore::from_env(config.s3.bucket.clone()).await);
        Self::build_with(config, mailer, audit).await
    }

    /// As `build`, with the audit store given (tests use one that fails).
    pub async fn build_with(
        mut config: Config,
        mailer: Arc<dyn Mailer>,
        audit: Arc<dyn AuditStore>,
    ) -> anyhow::Result<Self> {
        let db = connect_database(&config).await?;
        migrate(&db).await?;
        let listener = TcpListener::bind(config.server.bind)
            .await
            .with_context(|| format!("binding {} (QUOTIDIAN_BIND)", config.server.bind))?;
        let metrics_listener = bind_metrics(&config).await?;
        let local = listener.local_addr()?;
        if config.server.public_url.is_none() {
            config.server.public_url = Some(url::Url::parse(&format!("http://{local}"))?);
        }
        let (market, market_source) = market_from_config(&config, &db).await?;
        let state = build_state(
            config,
            db,
            Clients {
                mailer,
                audit,
                market,
                market_source,
            },
        )
        .await?;
        Ok(Self {
            listener,
            metrics_listener,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The metrics listener's port, when it has one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves HTTP and runs the background workers until `shutdown` resolves.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = router(self.state.clone())?;
        let state = self.state;
        let workers = workers::spawn_all(
            &state,
            workers::Loops::Service {
                digests: state.config.digests.workers,
            },
        );
        // The signal cancels the process's token: HTTP stops accepting and drains, the
        // loops stop taking work and finish what is in flight.
        let token = state.shutdown.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("stopping: no new work is taken; finishing what is in flight");
            token.cancel();
        });
        let metrics_listener = self.metrics_listener.map(|listener| {
            tokio::spawn(routers::metrics::serve_own_listener(
                listener,
                state.clone(),
                state.shutdown.clone().cancelled_owned(),
            ))
        });
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(state.shutdown.clone().cancelled_owned())
        .await;
        workers
            .shutdown(&state, state.config.digests.shutdown_grace())
            .await;
        if let Some(metrics_listener) = metrics_listener {
            metrics_listener.abort();
        }
        served.context("HTTP server failed")
    }
}
