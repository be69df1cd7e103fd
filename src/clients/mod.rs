//! The external boundaries, each a trait with one production implementation. Tests
//! use the same implementations against local emulators; the traits give fast
//! in-process fakes a seam where that is all a test needs.

pub mod audit;
pub mod finnhub;
pub mod mailer;
pub mod sns;
