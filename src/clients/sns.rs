//! Amazon SNS messages posted to `/webhooks/ses`: the envelope, its signature, the
//! signing certificates fetched from SNS, and the subscription confirmation call. What
//! the SES events inside mean is `services::sns`'s business.
//!
//! Anyone can POST to the endpoint, so nothing in a message is believed until its
//! signature verifies against a certificate fetched from SNS itself: an https URL on
//! `sns.<region>.amazonaws.com(.cn)`, or under a configured prefix
//! (`QUOTIDIAN_SNS_CERT_URL_PREFIXES`, for tests that sign their own messages). Every
//! check that needs no network runs first, so a forged message costs us no fetch.
//! The procedure is AWS's "Verifying the signatures of Amazon SNS messages".

use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use ring::signature::{self, VerificationAlgorithm};
use serde::Deserialize;
use tokio::sync::{RwLock, Semaphore};
use url::Url;
use utoipa::ToSchema;
use x509_cert::der::DecodePem as _;
use x509_cert::spki::ObjectIdentifier;

use crate::config::Config;

/// A message signed longer ago than this is refused: a captured message cannot be
/// replayed forever.
pub const MAX_MESSAGE_AGE: TimeDelta = TimeDelta::hours(1);
/// SNS signs with few certificates and rotates them rarely; the bound only matters if
/// something goes wrong.
const MAX_CACHED_CERTIFICATES: usize = 32;
/// An SNS certificate is about 2 KiB; anything much larger is not one.
const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Certificate fetches in flight at once, whatever arrives: a flood of forged messages
/// waits for these (at most [`FETCH_TIMEOUT`]) instead of opening a connection each.
const MAX_CONCURRENT_FETCHES: usize = 4;
/// A certificate URL that failed is not tried again for this long: a forged message
/// costs one fetch per URL per minute at most, and SNS retries a real one later.
const FAILED_FETCH_TTL: Duration = Duration::from_secs(60);
/// Failed URLs remembered at once; beyond it the oldest is forgotten.
const MAX_FAILED_FETCHES: usize = 256;
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON.
    #[error("{0}")]
    Malformed(String),
    /// JSON, but not an SNS message (or SES event) we can read.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Not shown to come from SNS, or from a topic we do not take messages from.
    #[error("{0}")]
    Untrusted(String),
    /// The certificate or the subscription URL could not be reached; SNS retries.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Unexpected(anyhow::Error::new(e).context("database query failed"))
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn untrusted(detail: &str) -> Error {
    Error::Untrusted(detail.to_owned())
}

/// An SNS message as SNS POSTs it over HTTP(S): a JSON body, sent as
/// `Content-Type: text/plain; charset=UTF-8`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = SnsMessage, example = json!({
    "Type": "Notification",
    "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:quotidian-ses-events",
    "Message": "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bounceSubType\":\"General\",\"bouncedRecipients\":[{\"emailAddress\":\"ada@example.com\"}]},\"mail\":{\"messageId\":\"0100018c-example\"}}",
    "Timestamp": "2026-11-21T12:00:00.000Z",
    "SignatureVersion": "2",
    "Signature": "EXAMPLEpH+...",
    "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=..."
}))]
pub struct Envelope {
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    #[serde(rename = "Type")]
    #[schema(schema_with = message_type_schema)]
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    /// Notifications only, when the publisher gave one.
    #[serde(default)]
    pub subject: Option<String>,
    /// For an SES event, the event as a JSON string.
    pub message: String,
    /// ISO 8601; kept as the exact text that was signed.
    pub timestamp: String,
    /// `1` (SHA1withRSA) or `2` (SHA256withRSA).
    pub signature_version: String,
    /// Base64.
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// Subscription and unsubscribe confirmations only.
    #[serde(rename = "SubscribeURL", default)]
    pub subscribe_url: Option<String>,
    /// Subscription and unsubscribe confirmations only.
    #[serde(default)]
    pub token: Option<String>,
    /// Notifications only.
    #[serde(rename = "UnsubscribeURL", default)]
    pub unsubscribe_url: Option<String>,
}

/// The documented `Type` values. The field stays text, so that a message of another
/// kind is refused naming the kind, after the checks that it comes from SNS.
fn message_type_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([
            "Notification",
            "SubscriptionConfirmation",
            "UnsubscribeConfirmation",
        ]))
        .description(Some(
            "`Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.",
        ))
        .build()
}

impl Envelope {
    /// Reads a request body. Not JSON is [`Error::Malformed`]; JSON of the wrong shape
    /// (a missing field, a number for a string) is [`Error::Invalid`].
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                let message = e.to_string();
                Error::Invalid {
                    field: crate::error::field_from_serde_message(&message)
                        .unwrap_or_else(|| "body".into()),
                    message,
                }
            }
            _ => Error::Malformed(format!("The body is not valid JSON: {e}")),
        })
    }

    /// The bytes SNS signed: for each field in the documented order, "Name\nValue\n".
    /// `Subject` takes part only when present; confirmations sign `SubscribeURL` and
    /// `Token` instead.
    pub fn string_to_sign(&self) -> Result<String, Error> {
        let mut fields: Vec<(&str, &str)> = Vec::with_capacity(7);
        match self.kind.as_str() {
            "Notification" => {
                fields.push(("Message", &self.message));
                fields.push(("MessageId", &self.message_id));
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", subject));
                }
                fields.push(("Timestamp", &self.timestamp));
                fields.push(("TopicArn", &self.topic_arn));
                fields.push(("Type", &self.kind));
            }
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
                let subscribe_url = self
                    .subscribe_url
                    .as_deref()
                    .ok_or_else(|| invalid("SubscribeURL", "is required for a confirmation"))?;
                let token = self
                    .token
                    .as_deref()
                    .ok_or_else(|| invalid("Token", "is required for a confirmation"))?;
                fields.extend([
                    ("Message", self.message.as_str()),
                    ("MessageId", &self.message_id),
                    ("SubscribeURL", subscribe_url),
                    ("Timestamp", &self.timestamp),
                    ("Token", token),
                    ("TopicArn", &self.topic_arn),
                    ("Type", &self.kind),
                ]);
            }
            other => {
                return Err(invalid(
                    "Type",
                    format!(
                        "'{other}' is not Notification, SubscriptionConfirmation or UnsubscribeConfirmation"
                    ),
                ));
            }
        }
        Ok(fields
            .iter()
            .map(|(name, value)| format!("{name}\n{value}\n"))
            .collect())
    }
}

/// An AWS region name: `us-east-1`, `eu-central-2`, `cn-north-1`, `us-gov-west-1`,
/// `ap-southeast-7`. The shape is what matters: two letters, optionally `gov`, a
/// direction, a number. `s3`, `s3-website` or `evil` are not regions, and a host such as
/// `sns.s3.amazonaws.com` is an S3 bucket anyone can create and fill.
fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let (area, direction, number) = match parts.as_slice() {
        [area, direction, number] => (area, direction, number),
        [area, "gov", direction, number] => (area, direction, number),
        _ => return false,
    };
    let letters = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase());
    area.len() == 2
        && letters(area)
        && direction.len() >= 4
        && letters(direction)
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `sns.<region>.amazonaws.com`, or `sns.<region>.amazonaws.com.cn` for the China
/// regions (`cn-...`, which are only there): the hosts SNS serves signing certificates
/// and confirmations from.
pub fn is_sns_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("sns.") else {
        return false;
    };
    if let Some(region) = rest.strip_suffix(".amazonaws.com.cn") {
        region.starts_with("cn-") && is_region(region)
    } else if let Some(region) = rest.strip_suffix(".amazonaws.com") {
        !region.starts_with("cn-") && is_region(region)
    } else {
        false
    }
}

/// `SimpleNotificationService-<hex>.pem`, the name of every SNS signing certificate.
fn is_certificate_name(name: &str) -> bool {
    name.strip_prefix("SimpleNotificationService-")
        .and_then(|rest| rest.strip_suffix(".pem"))
        .is_some_and(|hex| {
            (1..=128).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Where a URL may be fetched from: an SNS host, or a configured prefix.
enum Origin<'a> {
    /// https on an SNS host at the default port, no credentials; the path follows.
    Sns,
    /// Under a prefix of `QUOTIDIAN_SNS_CERT_URL_PREFIXES` (for tests); the rest of
    /// the URL after the prefix follows.
    Prefix(&'a str),
}

/// Where `url` is from, if it is an SNS host or under one of `prefixes` (normalised by
/// the configuration to end in `/`, and compared with the normalised URL).
fn origin<'u>(url: &'u Url, prefixes: &[String]) -> Option<Origin<'u>> {
    let on_sns = url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && matches!(url.host(), Some(url::Host::Domain(host)) if is_sns_host(host));
    if on_sns {
        return Some(Origin::Sns);
    }
    prefixes
        .iter()
        .find_map(|p| url.as_str().strip_prefix(p.as_str()))
        .map(Origin::Prefix)
}

/// The `SigningCertURL`, if we may fetch it: on an SNS host (or under a configured
/// prefix), naming a `SimpleNotificationService-<hex>.pem` file, with no query or
/// fragment. SNS's own look like
/// `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem`.
pub fn trusted_cert_url(raw: &str, prefixes: &[String]) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    if url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    let named_right = match origin(&url, prefixes)? {
        Origin::Sns => url
            .path()
            .strip_prefix('/')
            .is_some_and(is_certificate_name),
        Origin::Prefix(rest) => is_certificate_name(rest),
    };
    named_right.then_some(url)
}

/// The `SubscribeURL` of a confirmation, if we may visit it: on an SNS host (at `/`),
/// or under a configured prefix, asking to confirm a subscription to `topic_arn` (the
/// topic the signed message is about, which the caller has checked is ours).
pub fn trusted_subscribe_url(raw: &str, topic_arn: &str, prefixes: &[String]) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    let placed_right = match origin(&url, prefixes)? {
        Origin::Sns => url.path() == "/",
        Origin::Prefix(_) => true,
    };
    let param = |name: &str| {
        let mut values = url.query_pairs().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next();
        // Repeated parameters would leave SNS to choose which one counts.
        first.filter(|_| values.next().is_none())
    };
    let confirms_ours = param("Action").as_deref() == Some("ConfirmSubscription")
        && param("TopicArn").as_deref() == Some(topic_arn)
        && url.fragment().is_none();
    (placed_right && confirms_ours).then_some(url)
}

/// What a message passed to [`Verifier::verify`] looked like before any network use.
struct Checked {
    to_sign: String,
    algorithm: &'static dyn VerificationAlgorithm,
    signature: Vec<u8>,
    cert_url: Url,
}

/// The checks that need no network, cheapest and most telling first.
fn check(envelope: &Envelope, config: &Config, now: DateTime<Utc>) -> Result<Checked, Error> {
    if config.sns.topic_arns.is_empty() {
        // Any AWS account can subscribe us to its own topic and publish correctly
        // signed messages; without a list of our topics nothing is ours.
        static REFUSING: Once = Once::new();
        REFUSING.call_once(|| {
            tracing::error!(
                "QUOTIDIAN_SNS_TOPIC_ARNS is not set: /webhooks/ses refuses every SNS message, \
                 and confirms no subscription, until it names the topics SES publishes \
                 bounces and complaints to"
            );
        });
        return Err(untrusted(
            "No SNS topic is accepted here: the service names none (QUOTIDIAN_SNS_TOPIC_ARNS).",
        ));
    }
    let to_sign = envelope.string_to_sign()?;
    let algorithm: &'static dyn VerificationAlgorithm = match envelope.signature_version.as_str() {
        "1" => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "2" => &signature::RSA_PKCS1_2048_8192_SHA256,
        _ => return Err(untrusted("The SignatureVersion is not 1 or 2.")),
    };
    let signed_at = DateTime::parse_from_rfc3339(&envelope.timestamp)
        .map_err(|_| invalid("Timestamp", "is not an ISO 8601 date and time"))?;
    if now.signed_duration_since(signed_at) > MAX_MESSAGE_AGE {
        return Err(untrusted(
            "The message was signed more than an hour ago; it is not accepted again.",
        ));
    }
    if !config.sns.topic_arns.contains(&envelope.topic_arn) {
        return Err(untrusted("Messages from this topic are not accepted."));
    }
    let cert_url = trusted_cert_url(&envelope.signing_cert_url, &config.sns.cert_url_prefixes)
        .ok_or_else(|| untrusted("The SigningCertURL is not an SNS certificate URL."))?;
    if let Some(subscribe_url) = envelope
        .subscribe_url
        .as_deref()
        .filter(|_| envelope.kind == "SubscriptionConfirmation")
        && trusted_subscribe_url(
            subscribe_url,
            &envelope.topic_arn,
            &config.sns.cert_url_prefixes,
        )
        .is_none()
    {
        return Err(untrusted(
            "The SubscribeURL is not an SNS URL confirming this topic.",
        ));
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(envelope.signature.trim())
        .map_err(|_| untrusted("The message signature does not verify."))?;
    Ok(Checked {
        to_sign,
        algorithm,
        signature,
        cert_url,
    })
}

/// The public key of a signing certificate.
struct SigningKey {
    /// `RSAPublicKey` (PKCS #1) DER, the form ring verifies with.
    rsa_public_key: Vec<u8>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl SigningKey {
    fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let unusable = || untrusted("The signing certificate is not a usable RSA certificate.");
        let cert = x509_cert::Certificate::from_pem(pem).map_err(|_| unusable())?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(unusable());
        }
        let key = spki.subject_public_key.as_bytes().ok_or_else(unusable)?;
        Ok(Self {
            rsa_public_key: key.to_vec(),
            not_before: tbs.validity.not_before.to_system_time(),
            not_after: tbs.validity.not_after.to_system_time(),
        })
    }
}

/// Why fetching a certificate URL failed, remembered for [`FAILED_FETCH_TTL`] so the
/// same answer is given again without a fetch.
#[derive(Clone)]
struct Failure {
    at: Instant,
    /// [`Error::Unavailable`] (SNS retries) rather than [`Error::Untrusted`].
    unavailable: bool,
    detail: String,
}

impl Failure {
    fn of(error: &Error, at: Instant) -> Option<Self> {
        let (unavailable, detail) = match error {
            Error::Unavailable(d) => (true, d),
            Error::Untrusted(d) => (false, d),
            _ => return None,
        };
        Some(Self {
            at,
            unavailable,
            detail: detail.clone(),
        })
    }

    fn to_error(&self) -> Error {
        if self.unavailable {
            Error::Unavailable(self.detail.clone())
        } else {
            Error::Untrusted(self.detail.clone())
        }
    }
}

/// Certificate URLs that failed recently: bounded, each entry expiring.
#[derive(Default)]
struct FailedFetches {
    entries: HashMap<String, Failure>,
}

impl FailedFetches {
    fn get(&mut self, url: &str, now: Instant) -> Option<Failure> {
        let failure = self.entries.get(url)?;
        if now.duration_since(failure.at) < FAILED_FETCH_TTL {
            return Some(failure.clone());
        }
        self.entries.remove(url);
        None
    }

    fn insert(&mut self, url: &str, failure: Failure) {
        if self.entries.len() >= MAX_FAILED_FETCHES && !self.entries.contains_key(url) {
            let now = failure.at;
            self.entries
                .retain(|_, f| now.duration_since(f.at) < FAILED_FETCH_TTL);
            if self.entries.len() >= MAX_FAILED_FETCHES
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, f)| f.at)
                    .map(|(u, _)| u.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(url.to_owned(), failure);
    }
}

/// Fetches and caches SNS signing certificates, verifies messages with them, and
/// confirms subscriptions. One per process, in `AppState`.
pub struct Verifier {
    http: reqwest::Client,
    keys: RwLock<HashMap<String, Arc<SigningKey>>>,
    failed: std::sync::Mutex<FailedFetches>,
    fetches: Semaphore,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // A redirect could lead off the hosts the URL was checked against.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client's TLS backend initialises");
        Self {
            http,
            keys: RwLock::new(HashMap::new()),
            failed: std::sync::Mutex::new(FailedFetches::default()),
            fetches: Semaphore::new(MAX_CONCURRENT_FETCHES),
        }
    }

    /// Verifies that SNS sent this message, from an accepted topic, within the hour.
    #[tracing::instrument(skip_all, fields(message_id = %envelope.message_id))]
    pub async fn verify(
        &self,
        envelope: &Envelope,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let checked = check(envelope, config, now)?;
        let key = self.key(&checked.cert_url).await?;
        let now = SystemTime::from(now);
        if now < key.not_before || now > key.not_after {
            return Err(untrusted("The signing certificate is not valid now."));
        }
        signature::UnparsedPublicKey::new(checked.algorithm, &key.rsa_public_key)
            .verify(checked.to_sign.as_bytes(), &checked.signature)
            .map_err(|_| untrusted("The message signature does not verify."))
    }

    /// A key already fetched, or the failure of a recent attempt.
    async fn known(&self, url: &Url) -> Option<Result<Arc<SigningKey>, Error>> {
        if let Some(key) = self.keys.read().await.get(url.as_str()) {
            return Some(Ok(key.clone()));
        }
        let failure = self
            .failed
            .lock()
            .expect("no panic while holding the lock")
            .get(url.as_str(), Instant::now())?;
        tracing::debug!(%url, "the SNS signing certificate failed recently; not fetched again");
        Some(Err(failure.to_error()))
    }

    async fn key(&self, url: &Url) -> Result<Arc<SigningKey>, Error> {
        if let Some(known) = self.known(url).await {
            return known;
        }
        let _permit = tokio::time::timeout(FETCH_TIMEOUT, self.fetches.acquire())
            .await
            .map_err(|_| {
                tracing::warn!("too many SNS signing certificate fetches at once; refused one");
                Error::Unavailable(
                    "The signing certificate could not be fetched; try again later.".into(),
                )
            })?
            .expect("the semaphore is never closed");
        // While this request waited, another may have fetched the same URL, or failed.
        if let Some(known) = self.known(url).await {
            return known;
        }
        let fetched = match self.fetch_certificate(url).await {
            Ok(pem) => SigningKey::from_pem(&pem),
            Err(e) => Err(e),
        };
        let key = match fetched {
            Ok(key) => Arc::new(key),
            Err(e) => {
                if let Some(failure) = Failure::of(&e, Instant::now()) {
                    self.failed
                        .lock()
                        .expect("no panic while holding the lock")
                        .insert(url.as_str(), failure);
                }
                return Err(e);
            }
        };
        let mut keys = self.keys.write().await;
        if keys.len() >= MAX_CACHED_CERTIFICATES {
            keys.clear();
        }
        keys.insert(url.as_str().to_owned(), key.clone());
        Ok(key)
    }

    async fn fetch_certificate(&self, url: &Url) -> Result<Vec<u8>, Error> {
        let unreachable = |error: &dyn std::fmt::Display| {
            tracing::warn!(%url, error = %error, "fetching the SNS signing certificate failed");
            Error::Unavailable(
                "The signing certificate could not be fetched; try again later.".into(),
            )
        };
        let mut response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(unreachable(&status));
        }
        if !status.is_success() {
            // A wrong path on an SNS host (404) or a redirect: the sender's doing.
            return Err(Error::Untrusted(format!(
                "The SigningCertURL answered {status}, not a certificate."
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            if body.len() + chunk.len() > MAX_CERTIFICATE_BYTES {
                return Err(untrusted("The SigningCertURL does not hold a certificate."));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Visits the SubscribeURL, which is how SNS learns that we want its messages.
    pub async fn confirm_subscription(&self, url: Url) -> Result<(), Error> {
        let response = self.http.get(url).send().await.map_err(|error| {
            tracing::warn!(error = %error, "confirming the SNS subscription failed");
            Error::Unavailable("SNS could not be reached to confirm the subscription.".into())
        })?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(%status, "SNS refused the subscription confirmation");
            return Err(Error::Unavailable(format!(
                "SNS answered {status} to the subscription confirmation."
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn notification() -> Envelope {
        Envelope {
            kind: "Notification".into(),
            message_id: "id-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:ses".into(),
            subject: None,
            message: "{\"a\":1}".into(),
            timestamp: "2026-11-21T12:00:00.000Z".into(),
            signature_version: "2".into(),
            signature: "c2ln".into(),
            signing_cert_url:
                "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcdef.pem"
                    .into(),
            subscribe_url: None,
            token: None,
            unsubscribe_url: Some("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe".into()),
        }
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut vars: HashMap<String, String> =
            HashMap::from([("DATABASE_URL".into(), "postgres://u@localhost/db".into())]);
        for (k, v) in pairs {
            vars.insert((*k).into(), (*v).into());
        }
        Config::from_vars(&vars).unwrap()
    }

    fn at(ts: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(ts).unwrap().into()
    }

    #[test]
    fn notification_string_to_sign_follows_the_documented_order() {
        let mut n = notification();
        assert_eq!(
            n.string_to_sign().unwrap(),
            "Message\n{\"a\":1}\nMessageId\nid-1\nTimestamp\n2026-11-21T12:00:00.000Z\n\
             TopicArn\narn:aws:sns:us-east-1:123456789012:ses\nType\nNotification\n"
        );
        n.subject = Some("Hello".into());
        assert_eq!(
            n.string_to_sign().unwrap(),
            "Message\n{\"a\":1}\nMessageId\nid-1\nSubject\nHello\n\
             Timestamp\n2026-11-21T12:00:00.000Z\n\
             TopicArn\narn:aws:sns:us-east-1:123456789012:ses\nType\nNotification\n"
        );
    }

    #[test]
    fn confirmation_string_to_sign_includes_subscribe_url_and_token() {
        let mut c = notification();
        c.kind = "SubscriptionConfirmation".into();
        c.subject = Some("ignored for confirmations".into());
        c.subscribe_url = Some("https://sns.us-east-1.amazonaws.com/?Action=Confirm".into());
        c.token = Some("tok".into());
        assert_eq!(
            c.string_to_sign().unwrap(),
            "Message\n{\"a\":1}\nMessageId\nid-1\n\
             SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=Confirm\n\
             Timestamp\n2026-11-21T12:00:00.000Z\nToken\ntok\n\
             TopicArn\narn:aws:sns:us-east-1:123456789012:ses\nType\nSubscriptionConfirmation\n"
        );
        c.token = None;
        assert!(
            matches!(c.string_to_sign(), Err(Error::Invalid { field, .. }) if field == "Token")
        );
        c.kind = "Gossip".into();
        assert!(matches!(c.string_to_sign(), Err(Error::Invalid { field, .. }) if field == "Type"));
    }

    #[test]
    fn sns_hosts_are_sns_in_a_region_of_amazonaws() {
        for good in [
            "sns.us-east-1.amazonaws.com",
            "sns.eu-west-2.amazonaws.com",
            "sns.eu-central-2.amazonaws.com",
            "sns.ap-southeast-7.amazonaws.com",
            "sns.us-gov-west-1.amazonaws.com",
            "sns.cn-north-1.amazonaws.com.cn",
            "sns.cn-northwest-1.amazonaws.com.cn",
        ] {
            assert!(is_sns_host(good), "{good}");
        }
        for bad in [
            // S3 bucket hosts: anyone can create a bucket named "sns".
            "sns.s3.amazonaws.com",
            "sns.s3-website.amazonaws.com",
            "sns.s3.us-east-1.amazonaws.com",
            "sns.s3-us-east-1.amazonaws.com",
            "sns.evil.amazonaws.com",
            "sns.a-b-1.amazonaws.com",
            "sns.us-east-1a.amazonaws.com",
            "sns.us-east-123.amazonaws.com",
            "sns.us-east-.amazonaws.com",
            "sns.us-xyz-east-1.amazonaws.com",
            "sns.cn-north-1.amazonaws.com",
            "sns.us-east-1.amazonaws.com.cn",
            "sns.amazonaws.com",
            "sns..amazonaws.com",
            "sqs.us-east-1.amazonaws.com",
            "sns.us-east-1.amazonaws.com.evil.com",
            "sns.evil.com.amazonaws.com",
            "evil-sns.us-east-1.amazonaws.com",
            "sns.us_east_1.amazonaws.com",
            "sns.US-EAST-1.amazonaws.com",
            "sns.us-east-1.amazonaws.co",
        ] {
            assert!(!is_sns_host(bad), "{bad}");
        }
    }

    const CERT: &str = "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";

    #[test]
    fn certificate_urls_are_sns_certificate_files_on_sns_hosts_or_configured_prefixes() {
        let none: &[String] = &[];
        let good = |url: &str| trusted_cert_url(url, none).is_some();
        assert!(good(&format!("https://sns.us-east-1.amazonaws.com/{CERT}")));
        assert!(good(&format!(
            "https://sns.cn-north-1.amazonaws.com.cn/{CERT}"
        )));
        // Url lower-cases the host before the rule sees it.
        assert!(good(&format!("https://SNS.us-east-1.amazonaws.com/{CERT}")));
        for bad in [
            format!("http://sns.us-east-1.amazonaws.com/{CERT}"),
            format!("https://sns.us-east-1.amazonaws.com:8443/{CERT}"),
            format!("https://user@sns.us-east-1.amazonaws.com/{CERT}"),
            format!("https://sns.us-east-1.amazonaws.com.evil.com/{CERT}"),
            format!("https://evil.com/sns.us-east-1.amazonaws.com/{CERT}"),
            format!("https://sns.s3.amazonaws.com/{CERT}"),
            format!("https://sns.us-east-1.amazonaws.com/bucket/{CERT}"),
            format!("https://sns.us-east-1.amazonaws.com/{CERT}?x=1"),
            format!("https://sns.us-east-1.amazonaws.com/{CERT}#x"),
            "https://sns.us-east-1.amazonaws.com/cert.pem".into(),
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.txt".into(),
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-.pem".into(),
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-xyz.pem".into(),
            "https://sns.us-east-1.amazonaws.com/".into(),
            "not a url".into(),
        ] {
            assert!(!good(&bad), "{bad}");
        }
        let prefixes = ["http://127.0.0.1:8000/".to_owned()];
        let under = |url: &str| trusted_cert_url(url, &prefixes).is_some();
        assert!(under(&format!("http://127.0.0.1:8000/{CERT}")));
        assert!(!under("http://127.0.0.1:8000/cert.pem"));
        assert!(!under(&format!("http://127.0.0.1:8000/x/{CERT}")));
        assert!(!under(&format!("http://127.0.0.1:80001/{CERT}")));
        assert!(!under(&format!("http://127.0.0.1:8001/{CERT}")));
    }

    #[test]
    fn subscribe_urls_confirm_the_signed_topic_on_sns() {
        let topic = "arn:aws:sns:us-east-1:123456789012:ses";
        let none: &[String] = &[];
        let good = |url: &str| trusted_subscribe_url(url, topic, none).is_some();
        assert!(good(&format!(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token=t"
        )));
        for bad in [
            format!("https://sns.s3.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}"),
            format!(
                "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}"
            ),
            format!(
                "https://sns.us-east-1.amazonaws.com/x?Action=ConfirmSubscription&TopicArn={topic}"
            ),
            format!("https://sns.us-east-1.amazonaws.com/?Action=Subscribe&TopicArn={topic}"),
            format!(
                "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}-other"
            ),
            format!(
                "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&TopicArn=arn:aws:sns:us-east-1:1:x"
            ),
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription".into(),
        ] {
            assert!(!good(&bad), "{bad}");
        }
        let prefixes = ["http://127.0.0.1:8000/".to_owned()];
        assert!(
            trusted_subscribe_url(
                &format!(
                    "http://127.0.0.1:8000/confirm?Action=ConfirmSubscription&TopicArn={topic}"
                ),
                topic,
                &prefixes
            )
            .is_some()
        );
    }

    #[test]
    fn failed_fetches_are_remembered_for_a_minute_and_bounded() {
        let t0 = Instant::now();
        let failure = |at| Failure {
            at,
            unavailable: true,
            detail: "down".into(),
        };
        let mut failed = FailedFetches::default();
        failed.insert("a", failure(t0));
        assert!(failed.get("a", t0 + Duration::from_secs(59)).is_some());
        assert!(
            matches!(failed.get("a", t0 + Duration::from_secs(59)).unwrap().to_error(), Error::Unavailable(d) if d == "down")
        );
        assert!(failed.get("b", t0).is_none());
        assert!(failed.get("a", t0 + FAILED_FETCH_TTL).is_none());
        assert!(failed.entries.is_empty(), "an expired entry is dropped");

        for i in 0..MAX_FAILED_FETCHES {
            failed.insert(
                &format!("u{i}"),
                failure(t0 + Duration::from_millis(i as u64)),
            );
        }
        let later = t0 + Duration::from_secs(1);
        failed.insert("new", failure(later));
        assert_eq!(failed.entries.len(), MAX_FAILED_FETCHES);
        assert!(failed.get("new", later).is_some());
        assert!(failed.get("u0", later).is_none(), "the oldest went");
        assert!(failed.get("u1", later).is_some());
        // Once they expire, they all make room.
        let much_later = t0 + FAILED_FETCH_TTL + Duration::from_secs(5);
        failed.insert("newest", failure(much_later));
        assert_eq!(failed.entries.len(), 1);
    }

    #[test]
    fn checks_before_any_fetch() {
        let now = at("2026-11-21T12:30:00Z");
        // Without a topic list nothing is accepted, however well signed.
        assert!(matches!(
            check(&notification(), &config(&[]), now),
            Err(Error::Untrusted(d)) if d.contains("QUOTIDIAN_SNS_TOPIC_ARNS")
        ));
        let open = config(&[(
            "QUOTIDIAN_SNS_TOPIC_ARNS",
            "arn:aws:sns:us-east-1:123456789012:ses",
        )]);
        assert!(check(&notification(), &open, now).is_ok());

        let mut n = notification();
        n.signature_version = "3".into();
        assert!(matches!(check(&n, &open, now), Err(Error::Untrusted(_))));

        let mut n = notification();
        n.timestamp = "2026-11-21T11:29:59Z".into();
        assert!(matches!(check(&n, &open, now), Err(Error::Untrusted(_))));
        n.timestamp = "yesterday".into();
        assert!(
            matches!(check(&n, &open, now), Err(Error::Invalid { field, .. }) if field == "Timestamp")
        );

        let mut n = notification();
        n.signing_cert_url = "https://evil.example.com/cert.pem".into();
        assert!(matches!(check(&n, &open, now), Err(Error::Untrusted(_))));

        let mut n = notification();
        n.signature = "not base64!".into();
        assert!(matches!(check(&n, &open, now), Err(Error::Untrusted(_))));

        let pinned = config(&[(
            "QUOTIDIAN_SNS_TOPIC_ARNS",
            "arn:aws:sns:us-east-1:123456789012:other",
        )]);
        assert!(matches!(
            check(&notification(), &pinned, now),
            Err(Error::Untrusted(_))
        ));

        let mut c = notification();
        c.kind = "SubscriptionConfirmation".into();
        c.token = Some("tok".into());
        c.subscribe_url = Some("https://evil.example.com/?Action=ConfirmSubscription".into());
        assert!(matches!(check(&c, &open, now), Err(Error::Untrusted(_))));
        c.subscribe_url = Some(format!(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={}",
            c.topic_arn
        ));
        assert!(check(&c, &open, now).is_ok());
    }
}
