//! Suppressed addresses: SES's permanent bounces and complaints add them
//! (`services::sns`); an operator lifts one, and email to it goes out again.

use crate::domain::{CurrentUser, EmailAddress};
use crate::repositories::suppressions;
use crate::state::AppState;

/// Lifts the suppression of `email`; false when it was not suppressed.
pub async fn lift(
    state: &AppState,
    operator: &CurrentUser,
    email: &EmailAddress,
) -> anyhow::Result<bool> {
    let Some(reason) = suppressions::lift(&state.db, email.as_ref()).await? else {
        return Ok(false);
    };
    tracing::info!(operator = %operator.user_id, reason = reason.as_str(), "suppression lifted");
    Ok(true)
}
