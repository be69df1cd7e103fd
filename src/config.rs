//! Typed settings from the environment, validated once at start.
//!
//! Every problem is collected, so an operator sees all bad variables in one run, one
//! line each, instead of fixing them one restart at a time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;

use secrecy::SecretString;
use url::Url;

use crate::domain::EmailAddress;

pub const DEFAULT_FINNHUB_BASE_URL: &str = "https://finnhub.io/api/v1";

#[derive(Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub bind: SocketAddr,
    /// Base URL people reach the service at; links in emails start with it. `None` in
    /// tests until the port is known.
    pub public_url: Option<Url>,
    /// The From header, e.g. `Quotidian <digest@quotidian.test>`.
    pub sender: String,
    pub ses_configuration_set: Option<String>,
    pub s3_bucket: String,
    pub finnhub_api_key: Option<SecretString>,
    pub finnhub_base_url: Url,
    pub finnhub_calls_per_minute: NonZeroU32,
    /// Finnhub caps every plan at 30 a second; higher only for local mocks.
    pub finnhub_calls_per_second: NonZeroU32,
    /// Retries after a failed Finnhub call (429, 5xx, timeout).
    pub finnhub_max_retries: u32,
    /// The first retry's backoff; each retry doubles it.
    pub finnhub_retry_base_ms: u64,
    pub finnhub_timeout_ms: u64,
    /// Finnhub calls in flight at once during an extraction.
    pub etl_concurrency: usize,
    /// Raw responses older than this are purged after each run.
    pub raw_retention_days: u32,
    /// A quote fetched within this many seconds is reused rather than fetched again.
    pub quote_max_age_secs: u32,
    /// Accounts (by email) that may see operator resources such as ETL runs.
    pub operator_emails: Vec<String>,
    pub symbol_searches_per_minute: NonZeroU32,
    /// Signs tokens that must survive restarts (unsubscribe links). When unset, a key
    /// generated once and kept in the database is used, shared by every process.
    pub secret_key: Option<SecretString>,
    pub session_ttl_hours: u32,
    pub max_concurrent_hashes: usize,
    pub watchlist_max: u32,
    pub login_attempts_per_account_per_minute: NonZeroU32,
    pub login_attempts_per_client_per_minute: NonZeroU32,
    pub outbox_poll_ms: u64,
    /// Where SNS signing certificates may also be fetched from, besides
    /// `https://sns.<region>.amazonaws.com`: URL prefixes, each normalised to end in
    /// `/` so a prefix cannot match a longer host name or port. For tests and local
    /// set-ups that sign their own messages; empty in production.
    pub sns_cert_url_prefixes: Vec<String>,
    /// The SNS topics `/webhooks/ses` accepts messages from; empty refuses every
    /// message (the webhook fails closed).
    pub sns_topic_arns: Vec<String>,
    pub log_json: bool,
    pub web_dir: std::path::PathBuf,
    pub digest: DigestSettings,
    /// Limits on signups, password resets and confirmations.
    pub limits: AbuseSettings,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` / `Forwarded`
    /// entries are believed; empty: the client is the peer of the connection.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Accounts never confirmed are deleted after this many days.
    pub unconfirmed_account_days: u32,
    /// Serve `/metrics` on this address instead of the public listener.
    pub metrics_bind: Option<SocketAddr>,
    /// How long a stopping process lets its work in flight finish; shorter than the
    /// digest lease, so a stopped worker's sends are never taken for dead ones.
    pub shutdown_grace_secs: u64,
    /// How long rows whose purpose is served are kept (ADR 0011).
    pub retention: RetentionSettings,
}

/// Retention windows, in days, each counted from the moment the row's purpose was
/// served (ADR 0011). Rows still needed (pending, unwritten, unfinished) are never
/// pruned, whatever their age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Audit outbox rows, after S3 has the record.
    pub audit_outbox_days: u32,
    /// Transactional emails, after they were queued, once no longer pending. SES may
    /// report a bounce or complaint for a message until then (believed only for a
    /// message we find).
    pub email_outbox_days: u32,
    /// The HTML and text of a digest, after it finished and its audit record is in S3;
    /// the history keeps the record, subject and content hash.
    pub digest_body_days: u32,
    /// Cached symbol searches (they are served for a day only).
    pub symbol_search_days: u32,
    /// Digest runs that queued nothing.
    pub empty_run_days: u32,
    /// SES events kept as evidence about digest sends (ADR 0006), after they arrived.
    pub ses_event_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            audit_outbox_days: 30,
            email_outbox_days: 30,
            digest_body_days: 90,
            symbol_search_days: 7,
            empty_run_days: 7,
            ses_event_days: 30,
        }
    }
}

/// Per-client (per hour) and overall (per minute) limits on the unauthenticated flows
/// that send email or cost work, and how many keys each rate limiter keeps at most.
#[derive(Debug, Clone)]
pub struct AbuseSettings {
    pub signups_per_client_per_hour: NonZeroU32,
    pub signups_per_minute: NonZeroU32,
    pub resets_per_client_per_hour: NonZeroU32,
    pub resets_per_minute: NonZeroU32,
    pub confirms_per_client_per_hour: NonZeroU32,
    pub confirms_per_minute: NonZeroU32,
    pub max_keys: usize,
}

/// How digests are scheduled, sent and audited.
#[derive(Debug, Clone)]
pub struct DigestSettings {
    /// Run the scheduler, delivery and audit workers in this process (`serve`, `worker`).
    pub workers: bool,
    /// How often the scheduler looks for people who are due.
    pub scheduler_tick_ms: u64,
    /// How long an idle delivery or audit worker waits before looking again.
    pub poll_ms: u64,
    /// Digests sent at once by one process.
    pub concurrency: usize,
    /// SES sends per second; `None`: SES `GetAccount`'s maximum send rate, or 1 (the
    /// sandbox rate) when that is not available.
    pub max_send_rate: Option<f64>,
    /// `Global`: the rate is shared by every process on the database; `Local`: each
    /// process sends at the rate on its own.
    pub pacing: crate::services::pacing::Scope,
    /// First retry delay after SES throttling or a transient error; doubles each time.
    pub retry_base_ms: u64,
    /// Attempts before a digest is recorded as failed.
    pub max_attempts: u32,
    /// "Send now" requests per account per hour.
    pub send_now_per_hour: NonZeroU32,
    /// How long a digest may stay `sending` before its worker is presumed dead and the
    /// digest is recorded as "outcome unknown" (longer than the SES client's 30 s
    /// timeout). Claims not yet sending are released after twice this.
    pub lease_secs: u64,
}
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"[redacted]")
            .field("bind", &self.bind)
            .field("public_url", &self.public_url.as_ref().map(Url::as_str))
            .field("sender", &self.sender)
            .field("ses_configuration_set", &self.ses_configuration_set)
            .field("s3_bucket", &self.s3_bucket)
            .field(
                "finnhub_api_key",
                &self.finnhub_api_key.as_ref().map(|_| "[redacted]"),
            )
            .field("finnhub_base_url", &self.finnhub_base_url.as_str())
            .field("finnhub_calls_per_minute", &self.finnhub_calls_per_minute)
            .field("finnhub_calls_per_second", &self.finnhub_calls_per_second)
            .field("finnhub_max_retries", &self.finnhub_max_retries)
            .field("finnhub_retry_base_ms", &self.finnhub_retry_base_ms)
            .field("finnhub_timeout_ms", &self.finnhub_timeout_ms)
            .field("etl_concurrency", &self.etl_concurrency)
            .field("raw_retention_days", &self.raw_retention_days)
            .field("quote_max_age_secs", &self.quote_max_age_secs)
            .field("operator_emails", &self.operator_emails)
            .field(
                "symbol_searches_per_minute",
                &self.symbol_searches_per_minute,
            )
            .field("secret_key", &"[redacted]")
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("max_concurrent_hashes", &self.max_concurrent_hashes)
            .field("watchlist_max", &self.watchlist_max)
            .field(
                "login_attempts_per_account_per_minute",
                &self.login_attempts_per_account_per_minute,
            )
            .field(
                "login_attempts_per_client_per_minute",
                &self.login_attempts_per_client_per_minute,
            )
            .field("outbox_poll_ms", &self.outbox_poll_ms)
            .field("sns_cert_url_prefixes", &self.sns_cert_url_prefixes)
            .field("sns_topic_arns", &self.sns_topic_arns)
            .field("log_json", &self.log_json)
            .field("web_dir", &self.web_dir)
            .field("digest", &self.digest)
            .field("limits", &self.limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("unconfirmed_account_days", &self.unconfirmed_account_days)
            .field("metrics_bind", &self.metrics_bind)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("retention", &self.retention)
            .finish()
    }
}

/// All the problems found in the environment, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from a map of variables, so tests need not touch the process
    /// environment.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            vars,
            errors: Vec::new(),
        };

        let database_url = r.required("DATABASE_URL", |v| {
            let url = Url::parse(v).map_err(|e| format!("is not a URL ({e})"))?;
            if !matches!(url.scheme(), "postgres" | "postgresql") {
                return Err("must start with postgres:// or postgresql://".into());
            }
            Ok(SecretString::from(v.to_owned()))
        });
        let bind = r.optional("QUOTIDIAN_BIND", "127.0.0.1:8080", |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| "must be an address and port such as 127.0.0.1:8080".into())
        });
        let public_url = r.maybe("QUOTIDIAN_PUBLIC_URL", |v| {
            let url = Url::parse(v).map_err(|e| format!("is not a URL ({e})"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err("must be an http:// or https:// URL with a host".into());
            }
            Ok(url)
        });
        let sender = r.optional(
            "QUOTIDIAN_SENDER",
            "Quotidian <digest@quotidian.test>",
            |v| {
                let address = match (v.find('<'), v.rfind('>')) {
                    (Some(start), Some(end)) if start < end && end == v.trim_end().len() - 1 => {
                        &v[start + 1..end]
                    }
                    (None, None) => v,
                    _ => return Err("must be an address or 'Name <address>'".into()),
                };
                EmailAddress::parse(address)
                    .map(|_| v.trim().to_owned())
                    .map_err(|e| format!("has an invalid address: {}", e.message))
            },
        );
        let ses_configuration_set = r.maybe("QUOTIDIAN_SES_CONFIGURATION_SET", |v| {
            if v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                Ok(v.to_owned())
            } else {
                Err("may contain only letters, digits, '-' and '_'".into())
            }
        });
        let s3_bucket = r.optional("QUOTIDIAN_S3_BUCKET", "quotidian-audit", |v| {
            let ok = (3..=63).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if ok {
                Ok(v.to_owned())
            } else {
                Err("must be an S3 bucket name: 3-63 lower-case letters, digits, '-' or '.'".into())
            }
        });
        let finnhub_api_key = r.maybe("FINNHUB_API_KEY", |v| {
            if v.chars().any(char::is_whitespace) {
                Err("must not contain whitespace".into())
            } else {
                Ok(SecretString::from(v.to_owned()))
            }
        });
        let finnhub_base_url = r.optional("FINNHUB_BASE_URL", DEFAULT_FINNHUB_BASE_URL, |v| {
            let url = Url::parse(v).map_err(|e| format!("is not a URL ({e})"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err("must be an http:// or https:// URL".into());
            }
            Ok(url)
        });
        let finnhub_calls_per_minute =
            r.optional("QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE", "60", positive_u32);
        let finnhub_calls_per_second =
            r.optional("QUOTIDIAN_FINNHUB_CALLS_PER_SECOND", "30", positive_u32);
        let finnhub_max_retries = r.optional("QUOTIDIAN_FINNHUB_MAX_RETRIES", "4", |v| {
            match v.parse::<u32>() {
                Ok(n) if n <= 10 => Ok(n),
                _ => Err("must be a whole number from 0 to 10".into()),
            }
        });
        let finnhub_retry_base_ms = r.optional("QUOTIDIAN_FINNHUB_RETRY_BASE_MS", "1000", |v| {
            positive_u32(v).map(|n| u64::from(n.get()))
        });
        let finnhub_timeout_ms = r.optional("QUOTIDIAN_FINNHUB_TIMEOUT_MS", "10000", |v| {
            positive_u32(v).map(|n| u64::from(n.get()))
        });
        let etl_concurrency = r.optional("QUOTIDIAN_ETL_CONCURRENCY", "8", |v| {
            let n = positive_u32(v)?.get();
            if n > 1024 {
                return Err("must be at most 1024".into());
            }
            Ok(n as usize)
        });
        let raw_retention_days = r.optional("QUOTIDIAN_RAW_RETENTION_DAYS", "30", |v| {
            positive_u32(v).map(|n| n.get())
        });
        let quote_max_age_secs = r.optional("QUOTIDIAN_QUOTE_MAX_AGE_SECS", "300", |v| {
            v.parse::<u32>()
                .map_err(|_| "must be a whole number of seconds (0 fetches every run)".into())
        });
        let operator_emails = r.optional("QUOTIDIAN_OPERATOR_EMAILS", "", |v| {
            v.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(|e| {
                    EmailAddress::parse(e)
                        .map(|a| a.as_ref().to_owned())
                        .map_err(|err| format!("'{e}' {}", err.message))
                })
                .collect::<Result<Vec<_>, _>>()
        });
        let symbol_searches_per_minute =
            r.optional("QUOTIDIAN_SYMBOL_SEARCHES_PER_MINUTE", "30", positive_u32);
        let secret_key = r.maybe("QUOTIDIAN_SECRET_KEY", |v| {
            if v.len() < 32 {
                Err("must be at least 32 characters long".into())
            } else {
                Ok(SecretString::from(v.to_owned()))
            }
        });
        let session_ttl_hours = r.optional("QUOTIDIAN_SESSION_TTL_HOURS", "168", |v| {
            let hours = positive_u32(v)?.get();
            if hours > 24 * 90 {
                return Err("must be at most 2160 (90 days)".into());
            }
            Ok(hours)
        });
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let max_concurrent_hashes =
            r.optional("QUOTIDIAN_MAX_CONCURRENT_HASHES", &cpus.to_string(), |v| {
                positive_u32(v).map(|n| n.get() as usize)
            });
        let watchlist_max = r.optional("QUOTIDIAN_WATCHLIST_MAX", "50", |v| {
            let n = positive_u32(v)?.get();
            if n > 500 {
                return Err("must be at most 500".into());
            }
            Ok(n)
        });
        let login_per_account = r.optional(
            "QUOTIDIAN_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
            "5",
            positive_u32,
        );
        let login_per_client = r.optional(
            "QUOTIDIAN_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE",
            "30",
            positive_u32,
        );
        let outbox_poll_ms = r.optional("QUOTIDIAN_OUTBOX_POLL_MS", "1000", |v| {
            let n = positive_u32(v)?.get();
            if n < 10 {
                return Err("must be at least 10".into());
            }
            Ok(u64::from(n))
        });
        let sns_cert_url_prefixes = r.optional("QUOTIDIAN_SNS_CERT_URL_PREFIXES", "", |v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(parse_url_prefix)
                .collect::<Result<Vec<_>, _>>()
        });
        let sns_topic_arns = r.optional("QUOTIDIAN_SNS_TOPIC_ARNS", "", |v| {
            v.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|arn| {
                    let parts: Vec<&str> = arn.split(':').collect();
                    let ok = parts.len() == 6
                        && parts[0] == "arn"
                        && parts[2] == "sns"
                        && parts.iter().all(|p| !p.is_empty());
                    if ok {
                        Ok(arn.to_owned())
                    } else {
                        Err(format!(
                            "'{arn}' is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)"
                        ))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        });
        let log_json = r.optional("QUOTIDIAN_LOG_FORMAT", "json", |v| match v {
            "json" => Ok(true),
            "pretty" => Ok(false),
            _ => Err("must be json or pretty".into()),
        });
        let web_dir = r.optional("QUOTIDIAN_WEB_DIR", "web/dist", |v| Ok(v.into()));
        let digest_workers = r.optional("QUOTIDIAN_DIGEST_WORKERS", "on", |v| match v {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err("must be on or off".into()),
        });
        let millis = |min: u32| {
            move |v: &str| {
                let n = positive_u32(v)?.get();
                if n < min {
                    return Err(format!("must be at least {min}"));
                }
                Ok(u64::from(n))
            }
        };
        let scheduler_tick_ms = r.optional("QUOTIDIAN_SCHEDULER_TICK_MS", "5000", millis(10));
        let digest_poll_ms = r.optional("QUOTIDIAN_DIGEST_POLL_MS", "1000", millis(10));
        let digest_concurrency = r.optional("QUOTIDIAN_DIGEST_CONCURRENCY", "8", |v| {
            let n = positive_u32(v)?.get();
            if n > 256 {
                return Err("must be at most 256".into());
            }
            Ok(n as usize)
        });
        let max_send_rate = r.maybe("QUOTIDIAN_SES_MAX_SEND_RATE", |v| match v.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 100_000.0 => Ok(rate),
            _ => Err("must be a number of emails per second above 0 (at most 100000)".into()),
        });
        let pacing = r.optional("QUOTIDIAN_SES_PACING", "global", |v| match v {
            "global" => Ok(crate::services::pacing::Scope::Global),
            "local" => Ok(crate::services::pacing::Scope::Local),
            _ => Err("must be global or local".into()),
        });
        let digest_retry_base_ms = r.optional("QUOTIDIAN_DIGEST_RETRY_BASE_MS", "5000", millis(10));
        let digest_max_attempts = r.optional("QUOTIDIAN_DIGEST_MAX_ATTEMPTS", "8", |v| {
            let n = positive_u32(v)?.get();
            if n > 50 {
                return Err("must be at most 50".into());
            }
            Ok(n)
        });
        let send_now_per_hour = r.optional("QUOTIDIAN_SEND_NOW_PER_HOUR", "3", positive_u32);
        let lease_secs = r.optional("QUOTIDIAN_DIGEST_LEASE_SECS", "150", |v| {
            let n = positive_u32(v)?.get();
            if !(2..=3600).contains(&n) {
                return Err("must be between 2 and 3600".into());
            }
            Ok(u64::from(n))
        });
        let signups_per_client =
            r.optional("QUOTIDIAN_SIGNUPS_PER_CLIENT_PER_HOUR", "5", positive_u32);
        let signups_per_minute = r.optional("QUOTIDIAN_SIGNUPS_PER_MINUTE", "60", positive_u32);
        let resets_per_client =
            r.optional("QUOTIDIAN_RESETS_PER_CLIENT_PER_HOUR", "5", positive_u32);
        let resets_per_minute = r.optional("QUOTIDIAN_RESETS_PER_MINUTE", "60", positive_u32);
        let confirms_per_client =
            r.optional("QUOTIDIAN_CONFIRMS_PER_CLIENT_PER_HOUR", "20", positive_u32);
        let confirms_per_minute = r.optional("QUOTIDIAN_CONFIRMS_PER_MINUTE", "120", positive_u32);
        let rate_limit_max_keys = r.optional("QUOTIDIAN_RATE_LIMIT_MAX_KEYS", "100000", |v| {
            let n = positive_u32(v)?.get();
            if !(100..=10_000_000).contains(&n) {
                return Err("must be between 100 and 10000000".into());
            }
            Ok(n as usize)
        });
        let trusted_proxies = r.optional("QUOTIDIAN_TRUSTED_PROXIES", "", |v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse::<ipnet::IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            format!("'{p}' is not an IP address or CIDR range such as 10.0.0.0/8")
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        });
        let unconfirmed_account_days = r.optional("QUOTIDIAN_UNCONFIRMED_ACCOUNT_DAYS", "7", |v| {
            let n = positive_u32(v)?.get();
            if n > 365 {
                return Err("must be at most 365".into());
            }
            Ok(n)
        });
        let metrics_bind = r.maybe("QUOTIDIAN_METRICS_BIND", |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| "must be an address and port such as 127.0.0.1:9090".into())
        });
        let lease_for_grace = lease_secs.unwrap_or(150);
        let default_grace = (lease_for_grace / 2).clamp(1, 30);
        let shutdown_grace_secs = r.optional(
            "QUOTIDIAN_SHUTDOWN_GRACE_SECS",
            &default_grace.to_string(),
            |v| {
                let n = u64::from(positive_u32(v)?.get());
                if n >= lease_for_grace {
                    return Err(format!(
                        "must be shorter than QUOTIDIAN_DIGEST_LEASE_SECS ({lease_for_grace})"
                    ));
                }
                Ok(n)
            },
        );
        let retention_days = RetentionSettings::default();
        let mut retention = |name: &str, default: u32| {
            r.optional(name, &default.to_string(), |v| {
                let n = positive_u32(v)?.get();
                if n > 3650 {
                    return Err("must be at most 3650 (ten years)".into());
                }
                Ok(n)
            })
        };
        let audit_outbox_days = retention(
            "QUOTIDIAN_RETENTION_AUDIT_OUTBOX_DAYS",
            retention_days.audit_outbox_days,
        );
        let email_outbox_days = retention(
            "QUOTIDIAN_RETENTION_EMAIL_OUTBOX_DAYS",
            retention_days.email_outbox_days,
        );
        let digest_body_days = retention(
            "QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS",
            retention_days.digest_body_days,
        );
        let symbol_search_days = retention(
            "QUOTIDIAN_RETENTION_SYMBOL_SEARCH_DAYS",
            retention_days.symbol_search_days,
        );
        let empty_run_days = retention(
            "QUOTIDIAN_RETENTION_EMPTY_RUN_DAYS",
            retention_days.empty_run_days,
        );
        let ses_event_days = retention(
            "QUOTIDIAN_RETENTION_SES_EVENT_DAYS",
            retention_days.ses_event_days,
        );
        if let Some(endpoint) = vars.get("AWS_ENDPOINT_URL").filter(|v| !v.is_empty())
            && Url::parse(endpoint).is_err()
        {
            r.errors
                .push(format!("AWS_ENDPOINT_URL: '{endpoint}' is not a URL"));
        }

        if !r.errors.is_empty() {
            return Err(ConfigError(r.errors));
        }
        let secret_key = secret_key.flatten();
        Ok(Self {
            database_url: database_url.expect("checked above"),
            bind: bind.expect("checked above"),
            public_url: public_url.flatten(),
            sender: sender.expect("checked above"),
            ses_configuration_set: ses_configuration_set.flatten(),
            s3_bucket: s3_bucket.expect("checked above"),
            finnhub_api_key: finnhub_api_key.flatten(),
            finnhub_base_url: finnhub_base_url.expect("checked above"),
            finnhub_calls_per_minute: finnhub_calls_per_minute.expect("checked above"),
            finnhub_calls_per_second: finnhub_calls_per_second.expect("checked above"),
            finnhub_max_retries: finnhub_max_retries.expect("checked above"),
            finnhub_retry_base_ms: finnhub_retry_base_ms.expect("checked above"),
            finnhub_timeout_ms: finnhub_timeout_ms.expect("checked above"),
            etl_concurrency: etl_concurrency.expect("checked above"),
            raw_retention_days: raw_retention_days.expect("checked above"),
            quote_max_age_secs: quote_max_age_secs.expect("checked above"),
            operator_emails: operator_emails.expect("checked above"),
            symbol_searches_per_minute: symbol_searches_per_minute.expect("checked above"),
            secret_key,
            session_ttl_hours: session_ttl_hours.expect("checked above"),
            max_concurrent_hashes: max_concurrent_hashes.expect("checked above"),
            watchlist_max: watchlist_max.expect("checked above"),
            login_attempts_per_account_per_minute: login_per_account.expect("checked above"),
            login_attempts_per_client_per_minute: login_per_client.expect("checked above"),
            outbox_poll_ms: outbox_poll_ms.expect("checked above"),
            sns_cert_url_prefixes: sns_cert_url_prefixes.expect("checked above"),
            sns_topic_arns: sns_topic_arns.expect("checked above"),
            log_json: log_json.expect("checked above"),
            web_dir: web_dir.expect("checked above"),
            digest: DigestSettings {
                workers: digest_workers.expect("checked above"),
                scheduler_tick_ms: scheduler_tick_ms.expect("checked above"),
                poll_ms: digest_poll_ms.expect("checked above"),
                concurrency: digest_concurrency.expect("checked above"),
                max_send_rate: max_send_rate.flatten(),
                pacing: pacing.expect("checked above"),
                retry_base_ms: digest_retry_base_ms.expect("checked above"),
                max_attempts: digest_max_attempts.expect("checked above"),
                send_now_per_hour: send_now_per_hour.expect("checked above"),
                lease_secs: lease_secs.expect("checked above"),
            },
            limits: AbuseSettings {
                signups_per_client_per_hour: signups_per_client.expect("checked above"),
                signups_per_minute: signups_per_minute.expect("checked above"),
                resets_per_client_per_hour: resets_per_client.expect("checked above"),
                resets_per_minute: resets_per_minute.expect("checked above"),
                confirms_per_client_per_hour: confirms_per_client.expect("checked above"),
                confirms_per_minute: confirms_per_minute.expect("checked above"),
                max_keys: rate_limit_max_keys.expect("checked above"),
            },
            trusted_proxies: trusted_proxies.expect("checked above"),
            unconfirmed_account_days: unconfirmed_account_days.expect("checked above"),
            metrics_bind: metrics_bind.flatten(),
            shutdown_grace_secs: shutdown_grace_secs.expect("checked above"),
            retention: RetentionSettings {
                audit_outbox_days: audit_outbox_days.expect("checked above"),
                email_outbox_days: email_outbox_days.expect("checked above"),
                digest_body_days: digest_body_days.expect("checked above"),
                symbol_search_days: symbol_search_days.expect("checked above"),
                empty_run_days: empty_run_days.expect("checked above"),
                ses_event_days: ses_event_days.expect("checked above"),
            },
        })
    }

    /// How long a stopping process waits for its work in flight.
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The URL links in emails start with, without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// How old stored market data may be before an extraction fetches it again.
    pub fn etl_freshness(&self) -> crate::services::etl::Freshness {
        crate::services::etl::Freshness {
            quote: chrono::Duration::seconds(i64::from(self.quote_max_age_secs)),
            ..Default::default()
        }
    }

    pub fn is_operator(&self, email: &str) -> bool {
        self.operator_emails.iter().any(|e| e == email)
    }

    /// Cookies get `Secure` when people reach us over https.
    pub fn cookies_secure(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }
}

/// An http(s) URL prefix, normalised (by `Url`) and ending in `/`, so that
/// `http://127.0.0.1:8000` cannot be matched by `http://127.0.0.1:80001/...` or
/// `https://certs.example` by `https://certs.example.evil/...`.
fn parse_url_prefix(raw: &str) -> Result<String, String> {
    let mut url = Url::parse(raw).map_err(|e| format!("'{raw}' is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "'{raw}' must be an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "'{raw}' must not have a query, a fragment or credentials"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url.into())
}

fn positive_u32(v: &str) -> Result<NonZeroU32, String> {
    v.parse::<NonZeroU32>()
        .map_err(|_| "must be a whole number greater than 0".into())
}

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn check<T>(
        &mut self,
        name: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(raw) {
            Ok(v) => Some(v),
            Err(why) => {
                // Never echo a value that may be a secret.
                let shown =
                    if name.contains("KEY") || name.contains("SECRET") || name == "DATABASE_URL" {
                        String::new()
                    } else {
                        format!(" (got '{raw}')")
                    };
                self.errors.push(format!("{name}: {why}{shown}"));
                None
            }
        }
    }

    fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.value(name).map(str::to_owned) {
            Some(raw) => self.check(name, &raw, parse),
            None => {
                self.errors.push(format!("{name}: is required but not set"));
                None
            }
        }
    }

    fn optional<T>(
        &mut self,
        name: &str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.value(name).unwrap_or(default).to_owned();
        self.check(name, &raw, parse)
    }

    /// `Some(None)` when unset, `Some(Some(v))` when valid, `None` when invalid.
    fn maybe<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.value(name).map(str::to_owned) {
            Some(raw) => self.check(name, &raw, parse).map(Some),
            None => Some(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_with_only_the_database_url() {
        let c = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://u@localhost/db")])).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.finnhub_base_url.as_str(), "https://finnhub.io/api/v1");
        assert_eq!(c.finnhub_calls_per_minute.get(), 60);
        assert_eq!(c.public_base(), "http://127.0.0.1:8080");
        assert!(!c.cookies_secure());
        assert!(c.secret_key.is_none());
    }

    #[test]
    fn reports_every_bad_variable_on_its_own_line() {
        let err = Config::from_vars(&vars(&[
            ("QUOTIDIAN_BIND", "nowhere"),
            ("QUOTIDIAN_PUBLIC_URL", "ftp://x"),
            ("QUOTIDIAN_SENDER", "not an email"),
            ("QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE", "0"),
            ("QUOTIDIAN_SECRET_KEY", "short-secret-value"),
            ("QUOTIDIAN_LOG_FORMAT", "xml"),
        ]))
        .unwrap_err();
        let lines = err.0;
        let starts = |p: &str| lines.iter().any(|l| l.starts_with(p));
        assert!(starts("DATABASE_URL: is required"), "{lines:?}");
        assert!(starts("QUOTIDIAN_BIND:"));
        assert!(starts("QUOTIDIAN_PUBLIC_URL:"));
        assert!(starts("QUOTIDIAN_SENDER:"));
        assert!(starts("QUOTIDIAN_FINNHUB_CALLS_PER_MINUTE:"));
        assert!(starts("QUOTIDIAN_SECRET_KEY:"));
        assert!(starts("QUOTIDIAN_LOG_FORMAT:"));
        assert_eq!(lines.len(), 7, "{lines:?}");
        // The secret's value is never echoed back.
        assert!(!lines.iter().any(|l| l.contains("short-secret-value")));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u:hunter2@localhost/db"),
            ("FINNHUB_API_KEY", "abc123finnhubkey"),
            (
                "QUOTIDIAN_SECRET_KEY",
                "0123456789abcdef0123456789abcdef-secret",
            ),
        ]))
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("abc123finnhubkey"));
        assert!(!shown.contains("0123456789abcdef"));
    }

    #[test]
    fn sns_settings_are_lists_with_normalised_prefixes() {
        let c = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://u@localhost/db")])).unwrap();
        assert!(c.sns_cert_url_prefixes.is_empty());
        assert!(c.sns_topic_arns.is_empty());

        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u@localhost/db"),
            (
                "QUOTIDIAN_SNS_CERT_URL_PREFIXES",
                "http://127.0.0.1:8000, https://Certs.Example.com/sns",
            ),
            (
                "QUOTIDIAN_SNS_TOPIC_ARNS",
                "arn:aws:sns:us-east-1:123456789012:ses-events,",
            ),
        ]))
        .unwrap();
        assert_eq!(
            c.sns_cert_url_prefixes,
            ["http://127.0.0.1:8000/", "https://certs.example.com/sns/"]
        );
        assert_eq!(
            c.sns_topic_arns,
            ["arn:aws:sns:us-east-1:123456789012:ses-events"]
        );

        let err = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u@localhost/db"),
            ("QUOTIDIAN_SNS_CERT_URL_PREFIXES", "ftp://x/, /relative"),
            ("QUOTIDIAN_SNS_TOPIC_ARNS", "arn:aws:sqs:us-east-1:1:q"),
        ]))
        .unwrap_err();
        assert_eq!(err.0.len(), 2, "{:?}", err.0);
        assert!(err.0[0].starts_with("QUOTIDIAN_SNS_CERT_URL_PREFIXES:"));
        assert!(err.0[1].starts_with("QUOTIDIAN_SNS_TOPIC_ARNS:"));
    }

    #[test]
    fn retention_windows_have_defaults_and_are_checked() {
        let c = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://u@localhost/db")])).unwrap();
        assert_eq!(c.retention, RetentionSettings::default());
        assert_eq!(c.retention.digest_body_days, 90);

        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u@localhost/db"),
            ("QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS", "365"),
            ("QUOTIDIAN_RETENTION_EMPTY_RUN_DAYS", "1"),
        ]))
        .unwrap();
        assert_eq!(c.retention.digest_body_days, 365);
        assert_eq!(c.retention.empty_run_days, 1);

        let err = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u@localhost/db"),
            ("QUOTIDIAN_RETENTION_AUDIT_OUTBOX_DAYS", "0"),
            ("QUOTIDIAN_RETENTION_EMAIL_OUTBOX_DAYS", "-3"),
            ("QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS", "3651"),
            ("QUOTIDIAN_RETENTION_SYMBOL_SEARCH_DAYS", "a week"),
        ]))
        .unwrap_err();
        assert_eq!(err.0.len(), 4, "{:?}", err.0);
        for (line, name) in err.0.iter().zip([
            "QUOTIDIAN_RETENTION_AUDIT_OUTBOX_DAYS:",
            "QUOTIDIAN_RETENTION_EMAIL_OUTBOX_DAYS:",
            "QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS: must be at most 3650",
            "QUOTIDIAN_RETENTION_SYMBOL_SEARCH_DAYS:",
        ]) {
            assert!(line.starts_with(name), "{line}");
        }
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u@localhost/db"),
            ("QUOTIDIAN_PUBLIC_URL", "https://quotidian.example.com/"),
        ]))
        .unwrap();
        assert!(c.cookies_secure());
        assert_eq!(c.public_base(), "https://quotidian.example.com");
    }
}
