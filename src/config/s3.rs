//! The S3 audit trail (the AWS SDK reads the standard `AWS_*` variables itself).

use super::reader::Reader;

#[derive(Debug, Clone)]
pub struct S3Config {
    /// `QUOTIDIAN_S3_BUCKET`: where audit records are written, once each.
    pub bucket: String,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: "quotidian-audit".to_owned(),
        }
    }
}

impl S3Config {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            bucket: r.or("QUOTIDIAN_S3_BUCKET", d.bucket, |v| {
                let ok = (3..=63).contains(&v.len())
                    && v.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    });
                if ok {
                    Ok(v.to_owned())
                } else {
                    Err(
                        "must be an S3 bucket name: 3-63 lower-case letters, digits, '-' or '.'"
                            .into(),
                    )
                }
            }),
        }
    }
}
