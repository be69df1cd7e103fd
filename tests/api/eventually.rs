//! Waiting for something to become true, without fixed sleeps or hand-written loops.
//! Shared by every test binary that waits (`#[path]`-included), so it depends on
//! nothing but tokio.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often `eventually` looks again.
const POLL: Duration = Duration::from_millis(50);

/// Runs `check` until it returns `Ok`, looking again every 50 ms, and returns the
/// value. After `timeout` it panics with the last `Err`, which should say what was
/// still missing (e.g. "2 audit records never reached S3").
///
/// `check` is an async closure (`async || { ... }` or `|| async { ... }`); it may
/// borrow from the test and hold state between looks.
pub async fn eventually<T, E: Display>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(why) if Instant::now() >= deadline => {
                panic!("{why} (still so after {timeout:?})")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}
