//! Who is asking: the account behind a live session, as the router found it.

use uuid::Uuid;

/// The account behind a live session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub email: String,
    pub session_hash: Vec<u8>,
}
