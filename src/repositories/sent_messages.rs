//! What SES accepted from us, by the message id it gave: transactional emails
//! (`email_outbox`) and digests (`digest_jobs`). Both record the id when SES accepts
//! the message; the index of `20261201000101_ses_message_id_lookup` serves the lookup.

use sqlx::PgExecutor;

/// The recipients (normalised addresses) of the message SES knows as
/// `ses_message_id`; empty when we have no record of sending it. We send one
/// recipient per message, so this is one address, or none.
pub async fn recipients_of(
    db: impl PgExecutor<'_>,
    ses_message_id: &str,
) -> sqlx::Result<Vec<String>> {
    // sqlx cannot tell whether a union's column may be null; neither side is here.
    sqlx::query_scalar!(
        r#"select recipient as "recipient!" from email_outbox where ses_message_id = $1
         union
         select recipient from digest_jobs where ses_message_id = $1 and recipient is not null"#,
        ses_message_id,
    )
    .fetch_all(db)
    .await
}
