//! Reading variables: each read either yields a value or records one line saying
//! what is wrong, so every bad variable is reported in the same run.

use std::collections::HashMap;
use std::num::NonZeroU32;

pub(super) struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(vars: &'a HashMap<String, String>) -> Self {
        Self {
            vars,
            errors: Vec::new(),
        }
    }

    /// Every problem found so far, in the order the variables were read.
    pub(super) fn into_errors(self) -> Vec<String> {
        self.errors
    }

    /// Records a problem that concerns no single parse (e.g. two variables that
    /// contradict each other).
    pub(super) fn report(&mut self, line: String) {
        self.errors.push(line);
    }

    /// The trimmed value, when set and not blank.
    fn value(&self, name: &str) -> Option<&'a str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn check<T>(
        &mut self,
        name: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(raw) {
            Ok(v) => Some(v),
            Err(why) => {
                // Never echo a value that may be a secret.
                let shown =
                    if name.contains("KEY") || name.contains("SECRET") || name == "DATABASE_URL" {
                        String::new()
                    } else {
                        format!(" (got '{raw}')")
                    };
                self.errors.push(format!("{name}: {why}{shown}"));
                None
            }
        }
    }

    /// The parsed value; `None` (and a line) when unset or invalid.
    pub(super) fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.value(name) {
            Some(raw) => self.check(name, raw, parse),
            None => {
                self.errors.push(format!("{name}: is required but not set"));
                None
            }
        }
    }

    /// The parsed value, or `default` when unset. An invalid value is recorded and
    /// `default` returned in its place; the caller never sees it, because a
    /// configuration with any problem is refused as a whole.
    pub(super) fn or<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.value(name) {
            Some(raw) => self.check(name, raw, parse).unwrap_or(default),
            None => default,
        }
    }

    /// The parsed value, or `None` when unset (or invalid, which is recorded).
    pub(super) fn maybe<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.value(name)?;
        self.check(name, raw, parse)
    }
}

pub(super) fn positive_u32(v: &str) -> Result<NonZeroU32, String> {
    v.parse::<NonZeroU32>()
        .map_err(|_| "must be a whole number greater than 0".into())
}

/// Milliseconds, at least `min`.
pub(super) fn millis(min: u32) -> impl Fn(&str) -> Result<u64, String> {
    move |v| {
        let n = positive_u32(v)?.get();
        if n < min {
            return Err(format!("must be at least {min}"));
        }
        Ok(u64::from(n))
    }
}

/// A comma-separated list; blank entries are skipped, the first bad one is reported.
pub(super) fn list<T>(
    v: &str,
    item: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(item)
        .collect()
}
