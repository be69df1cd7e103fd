//! Typed settings from the environment, validated once at start.
//!
//! One struct per area, each read from the environment in its own module, with its
//! defaults in its `Default` impl beside the fields they belong to. Every problem is
//! collected, so an operator sees all bad variables in one run, one line each, instead
//! of fixing them one restart at a time. Secrets are `secrecy::SecretString`, whose
//! `Debug` prints `[REDACTED]`, so `Config`'s derived `Debug` never shows one.

use std::collections::HashMap;

use secrecy::SecretString;
use url::Url;

mod accounts;
mod database;
mod digests;
mod etl;
mod finnhub;
mod limits;
mod reader;
mod retention;
mod s3;
mod server;
mod ses;
mod sns;

pub use accounts::AccountsConfig;
pub use database::DatabaseConfig;
pub use digests::DigestsConfig;
pub use etl::EtlConfig;
pub use finnhub::FinnhubConfig;
pub use limits::LimitsConfig;
pub use retention::RetentionConfig;
pub use s3::S3Config;
pub use server::ServerConfig;
pub use ses::SesConfig;
pub use sns::SnsConfig;

use reader::Reader;

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub accounts: AccountsConfig,
    pub limits: LimitsConfig,
    pub finnhub: FinnhubConfig,
    pub etl: EtlConfig,
    pub ses: SesConfig,
    pub sns: SnsConfig,
    pub s3: S3Config,
    pub digests: DigestsConfig,
    pub retention: RetentionConfig,
}

/// All the problems found in the environment, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Every setting at its default, on the given database: what the environment
    /// with only `DATABASE_URL` set would give. For tests and tools that build their
    /// configuration in code.
    pub fn with_database(url: SecretString) -> Self {
        Self {
            server: ServerConfig::default(),
            database: DatabaseConfig { url },
            accounts: AccountsConfig::default(),
            limits: LimitsConfig::default(),
            finnhub: FinnhubConfig::default(),
            etl: EtlConfig::default(),
            ses: SesConfig::default(),
            sns: SnsConfig::default(),
            s3: S3Config::default(),
            digests: DigestsConfig::default(),
            retention: RetentionConfig::default(),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from a map of variables, so tests need not touch the process
    /// environment.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut r = Reader::new(vars);
        let database = DatabaseConfig::read(&mut r);
        let server = ServerConfig::read(&mut r);
        let accounts = AccountsConfig::read(&mut r);
        let limits = LimitsConfig::read(&mut r);
        let finnhub = FinnhubConfig::read(&mut r);
        let etl = EtlConfig::read(&mut r);
        let ses = SesConfig::read(&mut r);
        let sns = SnsConfig::read(&mut r);
        let s3 = S3Config::read(&mut r);
        let digests = DigestsConfig::read(&mut r);
        let retention = RetentionConfig::read(&mut r);
        // The AWS SDK reads the AWS_* variables itself; a bad endpoint is reported
        // here with the rest rather than as a connection error later.
        if let Some(endpoint) = vars.get("AWS_ENDPOINT_URL").filter(|v| !v.is_empty())
            && Url::parse(endpoint).is_err()
        {
            r.report(format!("AWS_ENDPOINT_URL: '{endpoint}' is not a URL"));
        }
        let errors = r.into_errors();
        match database {
            Some(database) if errors.is_empty() => Ok(Self {
                server,
                database,
                accounts,
                limits,
                finnhub,
                etl,
                ses,
                sns,
                s3,
                digests,
                retention,
            }),
            // A missing or bad DATABASE_URL is on the list with the rest.
            _ => Err(ConfigError(errors)),
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
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.finnhub.base_url.as_str(), "https://finnhub.io/api/v1");
        assert_eq!(c.finnhub.calls_per_minute.get(), 60);
        assert_eq!(c.server.public_base(), "http://127.0.0.1:8080");
        assert!(!c.server.cookies_secure());
        assert!(c.accounts.secret_key.is_none());
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
        assert!(c.sns.cert_url_prefixes.is_empty());
        assert!(c.sns.topic_arns.is_empty());

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
            c.sns.cert_url_prefixes,
            ["http://127.0.0.1:8000/", "https://certs.example.com/sns/"]
        );
        assert_eq!(
            c.sns.topic_arns,
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
        assert_eq!(c.retention, RetentionConfig::default());
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
        assert!(c.server.cookies_secure());
        assert_eq!(c.server.public_base(), "https://quotidian.example.com");
    }

    #[test]
    fn debug_shows_every_setting_and_redacts_every_secret() {
        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u:hunter2@localhost/db"),
            ("FINNHUB_API_KEY", "abc123finnhubkey"),
            (
                "QUOTIDIAN_SECRET_KEY",
                "0123456789abcdef0123456789abcdef-secret",
            ),
            ("QUOTIDIAN_S3_BUCKET", "audit-bucket-in-debug"),
        ]))
        .unwrap();
        for shown in [format!("{c:?}"), format!("{c:#?}")] {
            for secret in ["hunter2", "abc123finnhubkey", "0123456789abcdef"] {
                assert!(!shown.contains(secret), "{secret} shown in {shown}");
            }
            // The three secrets are there, as redacted values...
            assert_eq!(shown.matches("[REDACTED]").count(), 3, "{shown}");
            // ...and the settings that are not secret are shown as they are.
            assert!(shown.contains("127.0.0.1:8080"), "{shown}");
            assert!(shown.contains("audit-bucket-in-debug"), "{shown}");
        }
        // An unset optional secret shows as None, not as a redacted value.
        let unset =
            Config::from_vars(&vars(&[("DATABASE_URL", "postgres://u@localhost/db")])).unwrap();
        assert_eq!(format!("{unset:?}").matches("[REDACTED]").count(), 1);
    }

    #[test]
    fn the_defaults_in_code_are_the_environments_defaults() {
        let url = "postgres://u@localhost/db";
        let from_env = Config::from_vars(&vars(&[("DATABASE_URL", url)])).unwrap();
        let in_code = Config::with_database(SecretString::from(url));
        assert_eq!(format!("{from_env:?}"), format!("{in_code:?}"));
    }

    #[test]
    fn the_shutdown_grace_follows_the_lease_unless_set() {
        let db = ("DATABASE_URL", "postgres://u@localhost/db");
        let grace = |pairs: &[(&str, &str)]| {
            let mut all = vec![db];
            all.extend_from_slice(pairs);
            Config::from_vars(&vars(&all)).map(|c| c.digests.shutdown_grace().as_secs())
        };
        assert_eq!(grace(&[]).unwrap(), 30);
        assert_eq!(grace(&[("QUOTIDIAN_DIGEST_LEASE_SECS", "10")]).unwrap(), 5);
        assert_eq!(grace(&[("QUOTIDIAN_DIGEST_LEASE_SECS", "2")]).unwrap(), 1);
        assert_eq!(grace(&[("QUOTIDIAN_SHUTDOWN_GRACE_SECS", "7")]).unwrap(), 7);
        let err = grace(&[
            ("QUOTIDIAN_DIGEST_LEASE_SECS", "10"),
            ("QUOTIDIAN_SHUTDOWN_GRACE_SECS", "10"),
        ])
        .unwrap_err();
        assert_eq!(
            err.0,
            [
                "QUOTIDIAN_SHUTDOWN_GRACE_SECS: must be shorter than QUOTIDIAN_DIGEST_LEASE_SECS (10) (got '10')"
            ]
        );
    }
}
