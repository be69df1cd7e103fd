//! The closed sets of states and causes the service records: one Rust enum per set, so
//! the database (a `text` column and its CHECK constraint), the JSON of the API and the
//! audit records, the OpenAPI document and the web page's generated TypeScript all
//! carry the same values.
//!
//! Each enum spells its values once per consumer, all from the same rule: serde (the
//! API, the audit records, and the OpenAPI document through utoipa, which reads serde's
//! attributes), sqlx (the column) and strum (`as_str`, `Display`, every variant for
//! tests). The tests below and `tests/api/statuses.rs` hold them to one spelling and
//! to the database's constraints.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Derives and spells a status enum the same way for serde, sqlx and strum: snake_case.
macro_rules! status_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            Serialize, Deserialize, ToSchema, sqlx::Type,
            strum::IntoStaticStr, strum::Display, strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        $vis enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// The value as stored and sent.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

status_enum! {
    /// Where a digest stands (`digest_jobs.status`), and so how its delivery ended: the
    /// history, the run reports and the delivery audit records report this same set.
    ///
    /// `pending` → `claimed` (a worker holds it; nothing sent) → `sending` (committed
    /// just before the SES call) → `sent` or `failed`; `skipped` (not sent on purpose:
    /// paused, unsubscribed, suppressed, unconfirmed); `missed` (due on a day the
    /// service was not running). See the digests migration and ADR 0006.
    pub enum DigestStatus {
        Pending,
        Claimed,
        Sending,
        Sent,
        Failed,
        Skipped,
        Missed,
    }
}

status_enum! {
    /// What queued a digest, or started a digest run (`digest_jobs.trigger`,
    /// `digest_runs.trigger`): a scheduler pass, `quotidian run`, or "send now".
    pub enum DigestTrigger {
        Schedule,
        Manual,
        SendNow,
    }
}

status_enum! {
    /// How a market-data extraction run stands or ended (`etl_runs.status`).
    pub enum EtlRunStatus {
        Running,
        Succeeded,
        /// Finished, with some symbols or endpoints failed.
        Partial,
        Failed,
    }
}

status_enum! {
    /// What started an extraction run (`etl_runs.trigger`): `quotidian etl`, a digest
    /// batch topping up what was missing, the market-data planner, or a symbol just
    /// added to a watchlist.
    pub enum EtlTrigger {
        Cli,
        /// A delivery batch topping up what the planner left missing.
        Digest,
        /// The market-data planner, ahead of the due times (ADR 0013).
        Planner,
        /// A symbol just added to a watchlist, fetched at once.
        Watchlist,
    }
}

status_enum! {
    /// Why one call of an extraction run loaded nothing (`etl_failures.outcome`).
    pub enum EtlOutcome {
        /// Finnhub answered, with nothing for the symbol.
        NoData,
        /// The answer could not be read as what the endpoint returns.
        BadData,
        /// Finnhub could not be reached (retries spent), or storing the answer failed.
        Unavailable,
        /// Still answered 429 after the retries.
        RateLimited,
        /// Refused: the plan does not cover the endpoint, or the request was rejected.
        Rejected,
    }
}

status_enum! {
    /// Why an address is suppressed (`suppressed_addresses.reason`): a permanent
    /// bounce or a complaint reported by SES, or an operator's hand.
    pub enum SuppressionReason {
        Bounce,
        Complaint,
        Manual,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use strum::VariantArray;

    /// Every variant's serde, strum and `as_str` spellings agree, and it parses back.
    pub(crate) fn assert_one_spelling<T>()
    where
        T: VariantArray + Copy + Into<&'static str> + std::fmt::Display + std::fmt::Debug,
        T: Serialize + for<'de> Deserialize<'de> + PartialEq,
    {
        assert!(!T::VARIANTS.is_empty());
        for &v in T::VARIANTS {
            let spelled: &'static str = v.into();
            assert_eq!(serde_json::to_value(v).unwrap(), spelled, "{v:?}");
            assert_eq!(v.to_string(), spelled, "{v:?}");
            let back: T = serde_json::from_value(serde_json::json!(spelled)).unwrap();
            assert_eq!(back, v);
        }
    }

    #[test]
    fn each_status_has_one_spelling() {
        assert_one_spelling::<DigestStatus>();
        assert_one_spelling::<DigestTrigger>();
        assert_one_spelling::<EtlRunStatus>();
        assert_one_spelling::<EtlTrigger>();
        assert_one_spelling::<EtlOutcome>();
        assert_one_spelling::<SuppressionReason>();
    }

    #[test]
    fn values_are_spelled_as_they_were_as_strings() {
        assert_eq!(DigestTrigger::SendNow.as_str(), "send_now");
        assert_eq!(EtlOutcome::RateLimited.as_str(), "rate_limited");
        assert_eq!(EtlOutcome::NoData.as_str(), "no_data");
        let all: Vec<&str> = DigestStatus::VARIANTS.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            all,
            [
                "pending", "claimed", "sending", "sent", "failed", "skipped", "missed"
            ]
        );
    }

    #[test]
    fn an_unknown_value_is_refused() {
        assert!(serde_json::from_str::<DigestStatus>("\"outcome unknown\"").is_err());
        assert!(serde_json::from_str::<DigestTrigger>("\"sendnow\"").is_err());
    }
}
