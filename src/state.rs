use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::clients::audit::AuditStore;
use crate::clients::finnhub::MarketData;
use crate::clients::mailer::Mailer;
use crate::config::Config;
use crate::domain::market::MarketSource;
use crate::services::links::LinkSigner;
use crate::services::passwords::PasswordHasher;
use crate::services::throttle::{AbuseLimits, LoginThrottle};

/// Everything a request or a worker needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub mailer: Arc<dyn Mailer>,
    /// Finnhub, or the offline sample source speaking Finnhub's protocol.
    pub market: Arc<dyn MarketData>,
    pub market_source: MarketSource,
    pub hasher: Arc<PasswordHasher>,
    pub login_throttle: Arc<LoginThrottle>,
    /// Signup, password reset and confirmation limits.
    pub abuse: Arc<AbuseLimits>,
    /// Symbol searches per account: each may cost a Finnhub call.
    pub search_throttle: Arc<governor::DefaultKeyedRateLimiter<uuid::Uuid>>,
    /// Wakes this process's email worker as soon as a request queues an email, so
    /// nobody waits a polling interval for a confirmation link.
    pub outbox_wakeup: Arc<Notify>,
    /// Where audit records are put once (S3).
    pub audit: Arc<dyn AuditStore>,
    /// Signs and checks unsubscribe links.
    pub links: LinkSigner,
    /// Paces digest sends to the SES send rate (`ses_rate` a second), shared by every
    /// process on the database unless `QUOTIDIAN_SES_PACING=local`.
    pub ses_pacer: Arc<crate::services::pacing::SendPacer>,
    pub ses_rate: f64,
    /// "Send now" requests per account.
    pub send_now_throttle: Arc<governor::DefaultKeyedRateLimiter<uuid::Uuid>>,
    /// Wakes the delivery worker when digests were queued; the audit flusher when
    /// records were.
    pub digest_wakeup: Arc<Notify>,
    pub audit_wakeup: Arc<Notify>,
    /// Cancelled when the process is asked to stop: loops stop taking work, and what is
    /// in flight finishes (`workers::Workers::shutdown`).
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The background loops' health, for `/readyz`.
    pub loops: Arc<crate::workers::health::LoopHealth>,
    /// SNS signing certificates fetched so far, for `/webhooks/ses`.
    pub sns: Arc<crate::clients::sns::Verifier>,
}

impl AppState {
    /// The SES sends per second this process paces digests to.
    pub fn ses_pacer_rate(&self) -> f64 {
        self.ses_rate
    }
}
