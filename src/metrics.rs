//! Placeholder until the Prometheus metrics land (same signatures).
pub fn digest_finished(_outcome: &'static str) {}
pub fn ses_send(_latency: std::time::Duration, _result: &'static str) {}
pub fn outbox_backlog(_kind: &'static str, _pending: i64) {}
