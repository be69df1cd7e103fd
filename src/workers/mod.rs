//! Background loops that run inside `serve` (and later `worker`).

pub mod digests;
pub mod email_outbox;
pub mod maintenance;
