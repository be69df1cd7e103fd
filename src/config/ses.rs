//! Sending email through SES v2 (the AWS SDK reads the standard `AWS_*` variables
//! itself).

use crate::domain::EmailAddress;
use crate::services::pacing::Scope;

use super::reader::{Reader, positive_u32};

#[derive(Debug, Clone)]
pub struct SesConfig {
    /// `QUOTIDIAN_SENDER`: the From header, e.g. `Quotidian <digest@quotidian.test>`.
    pub sender: String,
    /// `QUOTIDIAN_SES_CONFIGURATION_SET`: sent with every email, for SES event
    /// destinations (bounces and complaints).
    pub configuration_set: Option<String>,
    /// `QUOTIDIAN_SES_MAX_SEND_RATE`: SES sends per second; `None`: SES `GetAccount`'s
    /// maximum send rate, or 1 (the sandbox rate) when that is not available.
    pub max_send_rate: Option<f64>,
    /// `QUOTIDIAN_SES_PACING`: `Global`, the rate is shared by every process on the
    /// database; `Local`, each process sends at the rate on its own.
    pub pacing: Scope,
    /// `QUOTIDIAN_OUTBOX_POLL_MS`: how long an idle email outbox worker waits before
    /// looking for due rows again.
    pub outbox_poll_ms: u64,
}

impl Default for SesConfig {
    fn default() -> Self {
        Self {
            sender: "Quotidian <digest@quotidian.test>".to_owned(),
            configuration_set: None,
            max_send_rate: None,
            pacing: Scope::Global,
            outbox_poll_ms: 1000,
        }
    }
}

impl SesConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            sender: r.or("QUOTIDIAN_SENDER", d.sender, |v| {
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
            }),
            configuration_set: r.maybe("QUOTIDIAN_SES_CONFIGURATION_SET", |v| {
                if v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    Ok(v.to_owned())
                } else {
                    Err("may contain only letters, digits, '-' and '_'".into())
                }
            }),
            outbox_poll_ms: r.or("QUOTIDIAN_OUTBOX_POLL_MS", d.outbox_poll_ms, |v| {
                let n = positive_u32(v)?.get();
                if n < 10 {
                    return Err("must be at least 10".into());
                }
                Ok(u64::from(n))
            }),
            max_send_rate: r.maybe("QUOTIDIAN_SES_MAX_SEND_RATE", |v| match v.parse::<f64>() {
                Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 100_000.0 => Ok(rate),
                _ => Err("must be a number of emails per second above 0 (at most 100000)".into()),
            }),
            pacing: r.or("QUOTIDIAN_SES_PACING", d.pacing, |v| match v {
                "global" => Ok(Scope::Global),
                "local" => Ok(Scope::Local),
                _ => Err("must be global or local".into()),
            }),
        }
    }
}
