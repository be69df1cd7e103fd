//! Structured logs. JSON by default: one object per line, with every enclosing span
//! under `spans` (outermost first). The request span carries `request_id`, method and
//! route, so every line logged while serving a request, however deeply nested, can be
//! found by its id.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub fn init(json: bool) {
    init_with_writer(json, std::io::stdout);
}

/// Like `init`, writing somewhere else (tests capture the lines).
pub fn init_with_writer<W>(json: bool, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn,tower_http=info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(writer);
    // `try_init` so tests that build several apps in one process do not panic.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
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
