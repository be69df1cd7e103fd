//! Signup, confirmation, login, sessions, password reset and change, deletion.
//!
//! Enumeration safety is a property of this module: for signup, login and reset, a
//! known and an unknown address get the same answer and cost the same work (one
//! argon2 operation, emails queued rather than sent inline).

use std::net::IpAddr;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Error, Result, emails, tokens};
use crate::domain::{CurrentUser, EmailAddress, Password, TimeZone};
use crate::repositories::tokens::Purpose;
use crate::repositories::{email_outbox, preferences, sessions, users};
use crate::state::AppState;

/// At most this many reset emails per account per window, so the reset form cannot be
/// used to flood someone's inbox.
const RESET_EMAILS_PER_WINDOW: i64 = 3;
/// At most this many signup emails (a fresh confirmation, or "you already have an
/// account") per account per window, however often someone signs the address up.
const SIGNUP_EMAILS_PER_WINDOW: i64 = 3;
const EMAIL_WINDOW_SECS: i64 = 3600;

/// A session just opened; `token` goes into the cookie and nowhere else.
pub struct NewSession {
    pub token: String,
    pub user_id: Uuid,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all, fields(client = %client))]
pub async fn signup(
    state: &AppState,
    client: IpAddr,
    email: &EmailAddress,
    password: &Password,
    time_zone: TimeZone,
) -> Result<()> {
    state
        .abuse
        .signup
        .check(client)
        .map_err(|retry_after_secs| Error::TooManyAttempts { retry_after_secs })?;
    // Hash first and always: a known address must cost what an unknown one costs.
    let hash = state.hasher.hash(password).await?;
    let mut tx = state.db.begin().await?;
    match users::insert(&mut *tx, email, &hash).await? {
        Some(user_id) => {
            preferences::insert_default(&mut *tx, user_id, time_zone.name()).await?;
            let row = emails::queue(user_id, emails::CONFIRM_EMAIL, email.as_ref(), Some(&hash));
            email_outbox::enqueue(&mut *tx, &row).await?;
            tracing::info!(%user_id, "account created, confirmation queued");
        }
        None => {
            let existing = users::find_by_email(&mut *tx, email)
                .await?
                .context("address taken but no account found")?;
            // Serialise signups for one address so the per-window cap holds.
            users::lock(&mut *tx, existing.id).await?;
            let recent = email_outbox::count_recent(
                &mut *tx,
                existing.id,
                &[emails::CONFIRM_EMAIL, emails::ACCOUNT_EXISTS],
                EMAIL_WINDOW_SECS,
            )
            .await?;
            if recent >= SIGNUP_EMAILS_PER_WINDOW {
                tracing::warn!(user_id = %existing.id, "signup email cap reached; not sending another");
            } else if existing.confirmed_at.is_some() {
                let row = emails::queue(existing.id, emails::ACCOUNT_EXISTS, email.as_ref(), None);
                email_outbox::enqueue(&mut *tx, &row).await?;
            } else {
                // Never confirmed: a fresh link that carries *this* signup's password.
                // Whoever opens it proves the mailbox and so sets the password; the
                // stored one (maybe an attacker's) is never confirmed.
                let row = emails::queue(
                    existing.id,
                    emails::CONFIRM_EMAIL,
                    email.as_ref(),
                    Some(&hash),
                );
                email_outbox::enqueue(&mut *tx, &row).await?;
            }
            tracing::info!(user_id = %existing.id, "signup for an existing address");
        }
    }
    tx.commit().await?;
    state.outbox_wakeup.notify_one();
    Ok(())
}

/// Confirms the address with a link from a confirmation email. The link's password
/// becomes the account's, every session opened before ends, and every other
/// confirmation link dies. A link for an account confirmed meanwhile (through another
/// link or a reset) changes nothing.
#[tracing::instrument(skip_all, fields(client = %client))]
pub async fn confirm_email(state: &AppState, client: IpAddr, token: &str) -> Result<()> {
    state
        .abuse
        .confirm
        .check(client)
        .map_err(|retry_after_secs| Error::TooManyAttempts { retry_after_secs })?;
    if !tokens::looks_like_token(token) {
        return Err(Error::InvalidToken);
    }
    let mut tx = state.db.begin().await?;
    let consumed = crate::repositories::tokens::consume(
        &mut *tx,
        &tokens::hash_token(token),
        Purpose::ConfirmEmail,
    )
    .await?
    .ok_or(Error::InvalidToken)?;
    let user_id = consumed.user_id;
    users::lock(&mut *tx, user_id).await?;
    let user = users::find_by_id(&mut *tx, user_id)
        .await?
        .ok_or(Error::InvalidToken)?;
    if user.confirmed_at.is_some() {
        tx.commit().await?;
        tracing::info!(%user_id, "confirmation link for a confirmed address; nothing changed");
        return Ok(());
    }
    users::update_password(&mut *tx, user_id, consumed.password_hash.as_deref()).await?;
    users::mark_confirmed(&mut *tx, user_id).await?;
    crate::repositories::tokens::retire_all(&mut *tx, user_id, Purpose::ConfirmEmail).await?;
    let revoked = sessions::delete_for_user(&mut *tx, user_id, None).await?;
    super::preferences::reschedule(&mut tx, user_id).await?;
    tx.commit().await?;
    tracing::info!(%user_id, revoked, "email confirmed");
    Ok(())
}

#[tracing::instrument(skip_all, fields(client = %client))]
pub async fn login(
    state: &AppState,
    raw_email: &str,
    password: &Password,
    client: IpAddr,
    user_agent: Option<&str>,
) -> Result<NewSession> {
    let too_many = |retry_after_secs| Error::TooManyAttempts { retry_after_secs };
    state
        .login_throttle
        .check_client(client)
        .map_err(too_many)?;
    let email = EmailAddress::parse(raw_email)?;
    state
        .login_throttle
        .check_account(&email)
        .map_err(too_many)?;
    let user = users::find_by_email(&state.db, &email).await?;
    let matched = state
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let user = match user {
        Some(user) if matched => user,
        _ => {
            tracing::info!("login refused");
            return Err(Error::InvalidCredentials);
        }
    };
    if user.confirmed_at.is_none() {
        return Err(Error::EmailNotConfirmed);
    }
    let token = tokens::random_token();
    let ttl = i64::from(state.config.accounts.session_ttl_hours) * 3600;
    let user_agent = user_agent.map(|ua| ua.chars().take(256).collect::<String>());
    let expires_at = sessions::insert(
        &state.db,
        &tokens::hash_token(&token),
        user.id,
        ttl,
        user_agent.as_deref(),
        // The version whose hash was just verified: if a reset or change committed
        // meanwhile, this session is born dead.
        user.credential_version,
    )
    .await?;
    tracing::info!(user_id = %user.id, "logged in");
    Ok(NewSession {
        token,
        user_id: user.id,
        email: user.email,
        expires_at,
    })
}

/// The user behind a session cookie's token, if the session is live.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Option<CurrentUser>> {
    if !tokens::looks_like_token(token) {
        return Ok(None);
    }
    let hash = tokens::hash_token(token);
    let found = sessions::find_live(&state.db, &hash).await?;
    Ok(found.map(|s| CurrentUser {
        user_id: s.user_id,
        email: s.email,
        session_hash: hash,
    }))
}

pub async fn logout(state: &AppState, user: &CurrentUser) -> Result<()> {
    sessions::delete(&state.db, &user.session_hash).await?;
    Ok(())
}

/// Revokes every session of the user, this one included.
pub async fn logout_everywhere(state: &AppState, user: &CurrentUser) -> Result<u64> {
    Ok(sessions::delete_for_user(&state.db, user.user_id, None).await?)
}

/// Queues a reset email if the address has an account. The caller answers the same
/// either way; the lookup runs detached so the answer's timing says nothing either.
/// The detached work is bounded: when that many lookups are already in flight (a
/// flood that got past the rate limits), the request is dropped and logged.
pub fn request_password_reset(state: &AppState, client: IpAddr, email: EmailAddress) -> Result<()> {
    state
        .abuse
        .reset
        .check(client)
        .map_err(|retry_after_secs| Error::TooManyAttempts { retry_after_secs })?;
    let Ok(permit) = state.abuse.reset_work.clone().try_acquire_owned() else {
        tracing::warn!("too many password reset lookups in flight; this request is dropped");
        return Ok(());
    };
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = queue_password_reset(&state, &email).await {
            tracing::error!(error = ?error, "could not queue a password reset email");
        }
        drop(permit);
    });
    Ok(())
}

#[tracing::instrument(skip_all)]
async fn queue_password_reset(state: &AppState, email: &EmailAddress) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let Some(user) = users::find_by_email(&mut *tx, email).await? else {
        return Ok(());
    };
    // Serialise concurrent requests for one account so the per-window cap holds.
    users::lock(&mut *tx, user.id).await?;
    let recent = email_outbox::count_recent(
        &mut *tx,
        user.id,
        &[emails::RESET_PASSWORD],
        EMAIL_WINDOW_SECS,
    )
    .await?;
    if recent >= RESET_EMAILS_PER_WINDOW {
        tracing::warn!(user_id = %user.id, "password reset email cap reached; not sending another");
        return Ok(());
    }
    let row = emails::queue(user.id, emails::RESET_PASSWORD, email.as_ref(), None);
    email_outbox::enqueue(&mut *tx, &row).await?;
    tx.commit().await?;
    state.outbox_wakeup.notify_one();
    tracing::info!(user_id = %user.id, "password reset email queued");
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn reset_password(state: &AppState, token: &str, new_password: &str) -> Result<()> {
    if !tokens::looks_like_token(token) {
        return Err(Error::InvalidToken);
    }
    let hash = tokens::hash_token(token);
    // Check the link before spending an argon2 hash on it.
    let user_id = crate::repositories::tokens::peek(&state.db, &hash, Purpose::ResetPassword)
        .await?
        .ok_or(Error::InvalidToken)?;
    let user = users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(Error::InvalidToken)?;
    let password = Password::parse_new(new_password, &[&user.email])
        .map_err(|e| e.for_field("new_password"))?;
    let password_hash = state.hasher.hash(&password).await?;

    let mut tx = state.db.begin().await?;
    let consumed = crate::repositories::tokens::consume(&mut *tx, &hash, Purpose::ResetPassword)
        .await?
        .ok_or(Error::InvalidToken)?
        .user_id;
    users::update_password(&mut *tx, consumed, Some(&password_hash)).await?;
    crate::repositories::tokens::retire_all(&mut *tx, consumed, Purpose::ResetPassword).await?;
    // The link arrived by email, which proves the address as well as a confirmation;
    // an older confirmation link (whose password may be someone else's) dies with it.
    crate::repositories::tokens::retire_all(&mut *tx, consumed, Purpose::ConfirmEmail).await?;
    users::mark_confirmed(&mut *tx, consumed).await?;
    super::preferences::reschedule(&mut tx, consumed).await?;
    let revoked = sessions::delete_for_user(&mut *tx, consumed, None).await?;
    tx.commit().await?;
    tracing::info!(user_id = %consumed, revoked, "password reset; sessions revoked");
    Ok(())
}

/// Checks the logged-in person's password again before a sensitive change; a wrong one
/// is a field error on `field`, not a 401 (the session itself is fine).
async fn reauthenticate(
    state: &AppState,
    user: &CurrentUser,
    password: &Password,
    field: &'static str,
) -> Result<()> {
    let row = users::find_by_id(&state.db, user.user_id)
        .await?
        .context("session user vanished")?;
    if state
        .hasher
        .verify(password, Some(&row.password_hash))
        .await?
    {
        Ok(())
    } else {
        Err(Error::Invalid(vec![crate::domain::DomainError::new(
            field,
            "is not your current password",
        )]))
    }
}

#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    current: &Password,
    new_password: &str,
) -> Result<()> {
    let new_password = Password::parse_new(new_password, &[&user.email])
        .map_err(|e| e.for_field("new_password"))?;
    reauthenticate(state, user, current, "current_password").await?;
    let password_hash = state.hasher.hash(&new_password).await?;
    let mut tx = state.db.begin().await?;
    let version = users::update_password(&mut *tx, user.user_id, Some(&password_hash)).await?;
    // Anyone else holding a session (a stolen cookie, another device, a login that
    // checked the old password while this committed) is logged out; this one moves to
    // the new version. A pending reset link dies too.
    sessions::delete_for_user(&mut *tx, user.user_id, Some(&user.session_hash)).await?;
    sessions::set_credential_version(&mut *tx, &user.session_hash, version).await?;
    crate::repositories::tokens::retire_all(&mut *tx, user.user_id, Purpose::ResetPassword).await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
pub async fn delete_account(
    state: &AppState,
    user: &CurrentUser,
    password: &Password,
) -> Result<()> {
    reauthenticate(state, user, password, "password").await?;
    let mut tx = state.db.begin().await?;
    // Digests still on their way keep their delivery records (the audit trail is not
    // the account's data: it is what we did, and S3 keeps it immutable).
    let unfinished =
        super::digest::delivery::record_unfinished_on_deletion(&mut tx, user.user_id).await?;
    users::delete(&mut *tx, user.user_id).await?;
    tx.commit().await?;
    if unfinished > 0 {
        state.audit_wakeup.notify_waiters();
    }
    tracing::info!(unfinished, "account deleted with all its data");
    Ok(())
}

pub struct Profile {
    pub user_id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

pub async fn profile(state: &AppState, user: &CurrentUser) -> Result<Profile> {
    let row = users::find_by_id(&state.db, user.user_id)
        .await?
        .context("session user vanished")?;
    Ok(Profile {
        user_id: row.id,
        email: row.email,
        created_at: row.created_at,
        confirmed_at: row.confirmed_at,
    })
}
