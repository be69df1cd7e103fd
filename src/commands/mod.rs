//! Foreground commands run from the terminal (`quotidian etl`, ...).

pub mod digests;
pub mod etl;
