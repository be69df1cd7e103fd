//! Deterministic randomness: every made-up value is a pure function of a label.

use sha2::{Digest, Sha256};

/// SHA-256 of a label: the only source of "randomness" here, so every value is a pure
/// function of its label and identical across runs and machines.
pub(super) fn digest(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// The `lane`-th (0..4) 64-bit lane of a digest as a number in `[0, 1)`.
pub(super) fn unit(bytes: &[u8; 32], lane: usize) -> f64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[lane * 8..lane * 8 + 8]);
    // The top 53 bits fill an f64 mantissa exactly, so the result is exact and < 1.
    (u64::from_be_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// The `lane`-th 64-bit lane of a digest, for picking among a few choices.
pub(super) fn pick(bytes: &[u8; 32], lane: usize, choices: usize) -> usize {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[lane * 8..lane * 8 + 8]);
    (u64::from_be_bytes(word) % choices.max(1) as u64) as usize
}
