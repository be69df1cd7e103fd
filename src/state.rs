use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::clients::mailer::Mailer;
use crate::config::Config;
use crate::services::passwords::PasswordHasher;
use crate::services::throttle::LoginThrottle;

/// Everything a request or a worker needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub mailer: Arc<dyn Mailer>,
    pub hasher: Arc<PasswordHasher>,
    pub login_throttle: Arc<LoginThrottle>,
    /// Wakes this process's email worker as soon as a request queues an email, so
    /// nobody waits a polling interval for a confirmation link.
    pub outbox_wakeup: Arc<Notify>,
}
