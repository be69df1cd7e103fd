//! Structured logs. JSON by default: one object per line, with the fields of the
//! current span (the request span carries `request_id`, method and route) flattened
//! in, so every line of a request can be found by its id.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn,tower_http=info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    // `try_init` so tests that build several apps in one process do not panic.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The log format asked for, read before the rest of the configuration so that
/// configuration problems are themselves logged in the right format.
pub fn json_requested() -> bool {
    std::env::var("QUOTIDIAN_LOG_FORMAT").map_or(true, |v| v.trim() != "pretty")
}
