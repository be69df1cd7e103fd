//! SNS as the tests play it: one RSA key and self-signed certificate, and messages
//! signed with them exactly as SNS signs its own (AWS's "Verifying the signatures of
//! Amazon SNS messages"), built here rather than with the code under test. The test
//! serves the certificate under a `QUOTIDIAN_SNS_CERT_URL_PREFIXES` prefix at
//! `CERT_PATH`. Shared by the API tests and the multi-process tests.
#![allow(dead_code)] // each test binary uses a part

use std::sync::LazyLock;

use base64::Engine as _;
use chrono::Utc;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::{Value, json};

/// The topic the tests' SES events come from.
pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:quotidian-ses-events";
/// Shaped like SNS's own certificate paths, which the URL rule insists on even under a
/// configured prefix.
pub const CERT_PATH: &str = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";

struct Signer {
    key: rsa::RsaPrivateKey,
    cert_pem: String,
}

/// One RSA key and certificate for the whole test binary: generating them is the slow
/// part.
static SIGNER: LazyLock<Signer> = LazyLock::new(|| {
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let cert = rcgen::CertificateParams::new(vec!["sns.quotidian.test".to_owned()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    Signer {
        key: rsa::RsaPrivateKey::from_pkcs8_der(&key_pair.serialize_der()).unwrap(),
        cert_pem: cert.pem(),
    }
});

/// The certificate (PEM) to serve at `CERT_PATH`.
pub fn cert_pem() -> String {
    SIGNER.cert_pem.clone()
}

/// The string SNS signs.
pub fn string_to_sign(m: &Value) -> String {
    let names: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    names
        .iter()
        .filter_map(|name| m[*name].as_str().map(|v| format!("{name}\n{v}\n")))
        .collect()
}

/// Signs `m` in place with its SignatureVersion.
pub fn sign(m: &mut Value) {
    let text = string_to_sign(m);
    let key = SIGNER.key.clone();
    let signature = match m["SignatureVersion"].as_str().unwrap() {
        "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        "2" => rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        other => panic!("no SignatureVersion {other}"),
    };
    m["Signature"] = base64::engine::general_purpose::STANDARD
        .encode(signature)
        .into();
}

pub fn sns_timestamp(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A signed notification from `TOPIC` carrying `event` (an SES event) as its Message,
/// with the certificate at `aws_base` + `CERT_PATH`.
pub fn notification(aws_base: &str, event: &Value, version: &str) -> Value {
    let mut m = json!({
        "Type": "Notification",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "TopicArn": TOPIC,
        "Message": event.to_string(),
        "Timestamp": sns_timestamp(Utc::now()),
        "SignatureVersion": version,
        "SigningCertURL": format!("{aws_base}{CERT_PATH}"),
        "UnsubscribeURL": format!("{aws_base}/?Action=Unsubscribe"),
    });
    sign(&mut m);
    m
}

/// An SES event as event publishing through a configuration set shapes it: `kind`
/// (`Send`, `Delivery`, `Reject` ...) about message `mail_id` to `to`, carrying `tags`
/// (each tag a list of values, as SES writes them) beside SES's own.
pub fn ses_event(kind: &str, mail_id: &str, to: &str, tags: &[(&str, &str)]) -> Value {
    let now = sns_timestamp(Utc::now());
    let mut all_tags = json!({
        "ses:configuration-set": ["quotidian-events"],
        "ses:source-ip": ["192.0.2.10"],
        "ses:from-domain": ["quotidian.test"],
        "ses:caller-identity": ["quotidian"],
    });
    for (name, value) in tags {
        all_tags[*name] = json!([value]);
    }
    let mut event = json!({
        "eventType": kind,
        "mail": {
            "timestamp": now,
            "source": "digest@quotidian.test",
            "sendingAccountId": "123456789012",
            "messageId": mail_id,
            "destination": [to],
            "headersTruncated": false,
            "tags": all_tags,
        },
    });
    match kind {
        "Send" => event["send"] = json!({}),
        "Delivery" => {
            event["delivery"] = json!({
                "timestamp": now,
                "processingTimeMillis": 546,
                "recipients": [to],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
            })
        }
        "Reject" => event["reject"] = json!({"reason": "Bad content"}),
        "Rendering Failure" => {
            event["failure"] =
                json!({"errorMessage": "Attribute 'name' is not present", "templateName": "digest"})
        }
        "Bounce" => {
            event["bounce"] = json!({
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": now,
                "feedbackId": "0100019a-feedback",
            })
        }
        _ => {}
    }
    event
}
