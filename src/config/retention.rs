//! How long rows whose purpose is served are kept (ADR 0011).

use super::reader::{Reader, positive_u32};

/// Retention windows, in days, each counted from the moment the row's purpose was
/// served. Rows still needed (pending, unwritten, unfinished) are never pruned,
/// whatever their age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// `QUOTIDIAN_RETENTION_AUDIT_OUTBOX_DAYS`: audit outbox rows, after S3 has the
    /// record.
    pub audit_outbox_days: u32,
    /// `QUOTIDIAN_RETENTION_EMAIL_OUTBOX_DAYS`: transactional emails, after they were
    /// queued, once no longer pending. SES may report a bounce or complaint for a
    /// message until then (believed only for a message we find).
    pub email_outbox_days: u32,
    /// `QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS`: the HTML and text of a digest, after it
    /// finished and its audit record is in S3; the history keeps the record, subject
    /// and content hash.
    pub digest_body_days: u32,
    /// `QUOTIDIAN_RETENTION_SYMBOL_SEARCH_DAYS`: cached symbol searches (they are
    /// served for a day only).
    pub symbol_search_days: u32,
    /// `QUOTIDIAN_RETENTION_EMPTY_RUN_DAYS`: digest runs that queued nothing.
    pub empty_run_days: u32,
    /// `QUOTIDIAN_RETENTION_SES_EVENT_DAYS`: SES events kept as evidence about digest
    /// sends (ADR 0006), after they arrived.
    pub ses_event_days: u32,
    /// `QUOTIDIAN_RAW_RETENTION_DAYS`: raw Finnhub responses, purged after each
    /// extraction.
    pub raw_response_days: u32,
    /// `QUOTIDIAN_UNCONFIRMED_ACCOUNT_DAYS`: accounts never confirmed are deleted
    /// after this many days.
    pub unconfirmed_account_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            audit_outbox_days: 30,
            email_outbox_days: 30,
            digest_body_days: 90,
            symbol_search_days: 7,
            empty_run_days: 7,
            ses_event_days: 30,
            raw_response_days: 30,
            unconfirmed_account_days: 7,
        }
    }
}

impl RetentionConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        let raw_response_days = r.or("QUOTIDIAN_RAW_RETENTION_DAYS", d.raw_response_days, |v| {
            positive_u32(v).map(|n| n.get())
        });
        let unconfirmed_account_days = r.or(
            "QUOTIDIAN_UNCONFIRMED_ACCOUNT_DAYS",
            d.unconfirmed_account_days,
            |v| {
                let n = positive_u32(v)?.get();
                if n > 365 {
                    return Err("must be at most 365".into());
                }
                Ok(n)
            },
        );
        let mut window = |name: &str, default: u32| {
            r.or(name, default, |v| {
                let n = positive_u32(v)?.get();
                if n > 3650 {
                    return Err("must be at most 3650 (ten years)".into());
                }
                Ok(n)
            })
        };
        Self {
            audit_outbox_days: window("QUOTIDIAN_RETENTION_AUDIT_OUTBOX_DAYS", d.audit_outbox_days),
            email_outbox_days: window("QUOTIDIAN_RETENTION_EMAIL_OUTBOX_DAYS", d.email_outbox_days),
            digest_body_days: window("QUOTIDIAN_RETENTION_DIGEST_BODY_DAYS", d.digest_body_days),
            symbol_search_days: window(
                "QUOTIDIAN_RETENTION_SYMBOL_SEARCH_DAYS",
                d.symbol_search_days,
            ),
            empty_run_days: window("QUOTIDIAN_RETENTION_EMPTY_RUN_DAYS", d.empty_run_days),
            ses_event_days: window("QUOTIDIAN_RETENTION_SES_EVENT_DAYS", d.ses_event_days),
            raw_response_days,
            unconfirmed_account_days,
        }
    }
}
