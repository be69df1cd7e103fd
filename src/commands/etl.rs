//! `quotidian etl`: one extraction now, with a progress bar and a summary table;
//! `quotidian etl --rebuild`: typed tables again from the raw responses.

use std::time::{Duration, Instant};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::domain::EtlTrigger;
use crate::domain::market::Endpoint;
use crate::services::etl::{self, Progress, RunOptions, RunOutcome};
use crate::startup;

/// How the command ended, for the process exit code.
pub enum Ended {
    Ok,
    /// The run failed as a whole (e.g. the API key was refused).
    Failed,
    /// Another instance was extracting.
    Busy,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn started(&self, symbols: usize, calls: usize) {
        self.0.set_length(calls as u64);
        self.0.set_message(format!("{symbols} symbols"));
    }

    fn call_done(&self, endpoint: Endpoint, symbol: Option<&str>, ok: bool) {
        if !ok {
            self.0.println(format!(
                "  ! {} {}: not loaded (see the summary)",
                symbol.unwrap_or("market"),
                endpoint.as_str()
            ));
        }
        self.0.inc(1);
    }
}

pub async fn run(config: Config, rebuild: bool) -> anyhow::Result<Ended> {
    let state = startup::headless_state(config).await?;

    if rebuild {
        let started = Instant::now();
        let Some(report) = etl::rebuild(&state).await? else {
            println!("An extraction is running right now; rebuild when it has finished.");
            return Ok(Ended::Busy);
        };
        println!(
            "Rebuilt the typed tables from {} raw responses in {:.1} s: {} typed rows deleted, {} responses loaded, {} without data, {} unreadable.",
            report.raw_rows,
            started.elapsed().as_secs_f64(),
            report.typed_deleted,
            report.typed_loaded,
            report.no_data,
            report.bad_data
        );
        return Ok(Ended::Ok);
    }

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} extracting {msg} [{bar:40}] {pos}/{len} calls, {elapsed}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    if state.market_source.is_sample() {
        bar.println("Using the built-in SAMPLE market data (no FINNHUB_API_KEY set): prices and news are not real.");
    }
    let started = Instant::now();
    let outcome = etl::run(
        &state,
        RunOptions {
            trigger: EtlTrigger::Cli,
            symbols: None,
        },
        &Bar(bar.clone()),
    )
    .await;
    bar.finish_and_clear();
    let report = match outcome? {
        RunOutcome::Busy => {
            println!(
                "Another instance is extracting market data right now; try again when it has finished."
            );
            return Ok(Ended::Busy);
        }
        RunOutcome::Completed(report) => report,
    };

    let run = &report.run;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "endpoint",
        "planned",
        "loaded",
        "not loaded",
    ]);
    for endpoint in Endpoint::ALL {
        let planned = report.planned.get(&endpoint).copied().unwrap_or(0);
        let loaded = report.loaded.get(&endpoint).copied().unwrap_or(0);
        table.add_row(vec![
            endpoint.as_str().to_owned(),
            planned.to_string(),
            loaded.to_string(),
            (planned - loaded).to_string(),
        ]);
    }
    println!(
        "Extraction run {} ({}) {} in {:.1} s{}",
        run.id,
        run.source,
        run.status,
        started.elapsed().as_secs_f64(),
        if state.market_source.is_sample() {
            " — SAMPLE DATA"
        } else {
            ""
        }
    );
    println!("{table}");
    println!(
        "symbols {} · quotes reused {} · HTTP calls {} · retries {} · 429s {} · failures {} · raw rows purged {}",
        run.symbols,
        report.quotes_reused,
        run.calls,
        run.retries,
        run.rate_limited,
        run.failures,
        report.raw_purged
    );
    if !report.failures.is_empty() {
        let mut failures = Table::new();
        failures
            .load_preset(UTF8_FULL_CONDENSED)
            .set_header(vec!["symbol", "endpoint", "outcome", "reason"]);
        for f in report.failures.iter().take(25) {
            failures.add_row(vec![
                f.symbol.clone(),
                f.endpoint.clone(),
                f.outcome.to_string(),
                f.reason.clone(),
            ]);
        }
        println!("{failures}");
        if report.failures.len() > 25 {
            println!(
                "… and {} more (GET /api/v1/operator/etl-runs/{})",
                report.failures.len() - 25,
                run.id
            );
        }
    }
    if let Some(error) = &run.error {
        println!("The run stopped: {error}");
        return Ok(Ended::Failed);
    }
    Ok(Ended::Ok)
}
