//! The account emails: what is queued, and what is sent. Each is an HTML and a
//! plain-text part built from a fixed text and a link we generated, so there is no
//! user-controlled markup to escape beyond the address, which `EmailAddress` has
//! already restricted.
//!
//! A request queues only the kind of email and its recipient (`queue`). The outbox
//! worker calls [`prepare`] just before sending: it mints the single-use link then,
//! so no link exists anywhere but in the email itself (ADR 0008).

use uuid::Uuid;

use super::tokens;
use crate::clients::mailer::OutgoingEmail;
use crate::repositories::tokens::Purpose;
use crate::repositories::{email_outbox, suppressions};
use crate::state::AppState;

pub const CONFIRM_EMAIL: &str = "confirm_email";
pub const ACCOUNT_EXISTS: &str = "account_exists";
pub const RESET_PASSWORD: &str = "reset_password";

pub const CONFIRM_TTL_SECS: i64 = 24 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;

/// The row that queues an email of `kind` to `recipient`.
pub fn queue<'a>(
    user_id: Uuid,
    kind: &'a str,
    recipient: &'a str,
    password_hash: Option<&'a str>,
) -> email_outbox::NewEmail<'a> {
    let subject = match kind {
        CONFIRM_EMAIL => "Confirm your Quotidian email address",
        RESET_PASSWORD => "Reset your Quotidian password",
        _ => "Your Quotidian account",
    };
    email_outbox::NewEmail {
        user_id,
        kind,
        recipient,
        subject,
        password_hash,
    }
}

/// What the worker does with a claimed row.
pub enum Prepared {
    Send(OutgoingEmail),
    /// Not sent, on purpose, for this reason.
    Skip(&'static str),
}

/// Renders a claimed outbox row, minting its link. A row whose address is suppressed,
/// or whose confirmation is no longer needed, is skipped.
pub async fn prepare(
    state: &AppState,
    row: &email_outbox::OutboxEmail,
) -> anyhow::Result<Prepared> {
    if suppressions::is_suppressed(&state.db, &row.recipient).await? {
        return Ok(Prepared::Skip(
            "address suppressed after a bounce or complaint reported by SES; not sent",
        ));
    }
    let Some(user_id) = row.user_id else {
        return Ok(Prepared::Skip("the account no longer exists; not sent"));
    };
    let base = state.config.server.public_base();
    let composed = match row.kind.as_str() {
        CONFIRM_EMAIL => {
            let Some(token) = mint(
                state,
                user_id,
                Purpose::ConfirmEmail,
                CONFIRM_TTL_SECS,
                row.password_hash.as_deref(),
            )
            .await?
            else {
                return Ok(Prepared::Skip(
                    "the address was confirmed meanwhile; not sent",
                ));
            };
            confirm_email(
                &format!("{base}/confirm?token={token}"),
                CONFIRM_TTL_SECS / 3600,
            )
        }
        RESET_PASSWORD => {
            let Some(token) =
                mint(state, user_id, Purpose::ResetPassword, RESET_TTL_SECS, None).await?
            else {
                return Ok(Prepared::Skip("the account no longer exists; not sent"));
            };
            reset_password(
                &format!("{base}/reset-password?token={token}"),
                RESET_TTL_SECS / 60,
            )
        }
        ACCOUNT_EXISTS => {
            account_exists(&format!("{base}/login"), &format!("{base}/forgot-password"))
        }
        other => anyhow::bail!("unknown outbox email kind {other:?}"),
    };
    Ok(Prepared::Send(OutgoingEmail {
        from: state.config.ses.sender.clone(),
        to: row.recipient.clone(),
        subject: composed.subject,
        html: composed.html,
        text: composed.text,
        headers: Vec::new(),
        tags: Vec::new(),
    }))
}

/// A fresh single-use link of `purpose`; only its hash is stored.
async fn mint(
    state: &AppState,
    user_id: Uuid,
    purpose: Purpose,
    ttl_secs: i64,
    password_hash: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let token = tokens::random_token();
    let minted = crate::repositories::tokens::insert(
        &state.db,
        &tokens::hash_token(&token),
        user_id,
        purpose,
        ttl_secs,
        password_hash,
    )
    .await?;
    Ok(minted.then_some(token))
}

pub struct Composed {
    pub kind: &'static str,
    pub subject: String,
    pub html: String,
    pub text: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html_page(title: &str, paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>\n", escape(p)));
    }
    if let Some((label, url)) = link {
        let url = escape(url);
        body.push_str(&format!(
            "<p><a href=\"{url}\" style=\"display:inline-block;padding:10px 16px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px\">{}</a></p>\n<p style=\"color:#555555;font-size:13px\">Or paste this link into your browser: {url}</p>\n",
            escape(label)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:Arial,Helvetica,sans-serif;color:#111111;max-width:560px\">\n<h1 style=\"font-size:20px\">{}</h1>\n{body}<p style=\"color:#555555;font-size:13px\">Quotidian, your daily market digest.</p>\n</body></html>\n",
        escape(title),
        escape(title)
    )
}

fn text_page(paragraphs: &[String], link: Option<&str>) -> String {
    let mut text = paragraphs.join("\n\n");
    if let Some(url) = link {
        text.push_str("\n\n");
        text.push_str(url);
    }
    text.push_str("\n\n-- \nQuotidian, your daily market digest.\n");
    text
}

pub fn confirm_email(link: &str, hours_valid: i64) -> Composed {
    let title = "Confirm your email address";
    let paragraphs = vec![
        "Welcome to Quotidian. Confirm your email address to start receiving your daily market digest.".to_string(),
        format!("The link works once and expires in {hours_valid} hours. If you did not sign up, ignore this email: nothing will be sent to you."),
    ];
    Composed {
        kind: CONFIRM_EMAIL,
        subject: "Confirm your Quotidian email address".into(),
        html: html_page(title, &paragraphs, Some(("Confirm my email address", link))),
        text: text_page(&paragraphs, Some(link)),
    }
}

pub fn account_exists(login_link: &str, reset_link: &str) -> Composed {
    let title = "You already have an account";
    let paragraphs = vec![
        "Someone (probably you) tried to sign up for Quotidian with this email address, which already has an account.".to_string(),
        format!("Log in at {login_link}. Forgot your password? Reset it at {reset_link}."),
        "If this was not you, you can ignore this email; your account has not changed.".to_string(),
    ];
    Composed {
        kind: ACCOUNT_EXISTS,
        subject: "Your Quotidian account".into(),
        html: html_page(title, &paragraphs, Some(("Log in", login_link))),
        text: text_page(&paragraphs, None),
    }
}

pub fn reset_password(link: &str, minutes_valid: i64) -> Composed {
    let title = "Reset your password";
    let paragraphs = vec![
        "We received a request to reset the password of your Quotidian account.".to_string(),
        format!(
            "The link works once and expires in {minutes_valid} minutes. If you did not ask for it, ignore this email: your password stays as it is."
        ),
    ];
    Composed {
        kind: RESET_PASSWORD,
        subject: "Reset your Quotidian password".into(),
        html: html_page(title, &paragraphs, Some(("Choose a new password", link))),
        text: text_page(&paragraphs, Some(link)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_link() {
        let link = "https://q.example/confirm?token=abc_DEF-123";
        let email = confirm_email(link, 24);
        assert!(email.html.contains(link));
        assert!(email.text.contains(link));
        assert!(email.text.contains("24 hours"));
    }

    #[test]
    fn markup_is_escaped() {
        let email = reset_password("https://q.example/r?a=1&b=<2>", 60);
        assert!(email.html.contains("a=1&amp;b=&lt;2&gt;"));
        assert!(!email.html.contains("<2>"));
    }
}
