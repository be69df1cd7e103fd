use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::clients::finnhub::MarketData;
use crate::clients::mailer::Mailer;
use crate::config::Config;
use crate::domain::market::MarketSource;
use crate::services::passwords::PasswordHasher;
use crate::services::throttle::LoginThrottle;

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
    /// Symbol searches per account: each may cost a Finnhub call.
    pub search_throttle: Arc<governor::DefaultKeyedRateLimiter<uuid::Uuid>>,
    /// Wakes this process's email worker as soon as a request queues an email, so
    /// nobody waits a polling interval for a confirmation link.
    pub outbox_wakeup: Arc<Notify>,
    /// SNS signing certificates fetched so far, for `/webhooks/ses`.
    pub sns: Arc<crate::services::sns::Verifier>,
}
