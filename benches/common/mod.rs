//! What the benchmarks share: a throwaway database and readings of this process's
//! memory from /proc. Included by each bench with `#[path = "common/mod.rs"] mod common;`.

use sqlx::{Connection as _, PgConnection};

/// A fresh database in the cluster `TEST_DATABASE_URL` points at (scripts/bench sets
/// it), dropped by `drop`.
pub struct BenchDb {
    admin: PgConnection,
    name: String,
    pub url: String,
}

impl BenchDb {
    pub async fn create() -> Self {
        let admin_url = std::env::var("TEST_DATABASE_URL").expect("run through scripts/bench");
        let name = format!("quotidian_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(&format!(r#"create database "{name}""#))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        Self {
            admin,
            name,
            url: url.to_string(),
        }
    }

    pub async fn drop(mut self) {
        let _ = sqlx::query(&format!(
            r#"drop database if exists "{}" with (force)"#,
            self.name
        ))
        .execute(&mut self.admin)
        .await;
    }
}

/// A memory figure of this process from /proc/self/status (`VmRSS:`, `VmHWM:` for the
/// peak), in MiB; 0 where /proc is missing.
pub fn proc_status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
