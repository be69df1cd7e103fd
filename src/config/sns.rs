//! The SES bounce and complaint webhook, fed by SNS (ADR 0007).

use url::Url;

use super::reader::{Reader, list};

#[derive(Debug, Clone, Default)]
pub struct SnsConfig {
    /// `QUOTIDIAN_SNS_CERT_URL_PREFIXES`: where SNS signing certificates may also be
    /// fetched from, besides `https://sns.<region>.amazonaws.com`: URL prefixes, each
    /// normalised to end in `/` so a prefix cannot match a longer host name or port.
    /// For tests and local set-ups that sign their own messages; empty in production.
    pub cert_url_prefixes: Vec<String>,
    /// `QUOTIDIAN_SNS_TOPIC_ARNS`: the SNS topics `/webhooks/ses` accepts messages
    /// from; empty refuses every message (the webhook fails closed).
    pub topic_arns: Vec<String>,
}

impl SnsConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            cert_url_prefixes: r.or(
                "QUOTIDIAN_SNS_CERT_URL_PREFIXES",
                d.cert_url_prefixes,
                |v| list(v, parse_url_prefix),
            ),
            topic_arns: r.or("QUOTIDIAN_SNS_TOPIC_ARNS", d.topic_arns, |v| {
                list(v, |arn| {
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
            }),
        }
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
