use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use quotidian::clients::mailer::SesMailer;
use quotidian::config::Config;
use quotidian::{startup, telemetry};

/// Quotidian: a personalized daily market digest.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and web page, and run the background workers.
    Serve,
    /// Run the scheduler, delivery and audit workers only (to scale out).
    Worker,
    /// One digest run now, in the foreground: schedule whoever is due, extract, compose,
    /// send and audit, with a progress bar and a summary.
    Run,
    /// Create the S3 audit bucket, optionally with Object Lock and a lifecycle rule.
    SetupAudit {
        /// Keep every record undeletable for this many days (Object Lock, governance
        /// mode; only possible when the bucket is created).
        #[arg(long)]
        object_lock_days: Option<u32>,
        /// Move records to Glacier after this many days.
        #[arg(long)]
        glacier_after_days: Option<u32>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Extract market data for every watched symbol now, with a progress bar and a
    /// summary (the same service the scheduler uses).
    Etl {
        /// Rebuild the typed market-data tables from the stored raw responses instead,
        /// without calling Finnhub.
        #[arg(long)]
        rebuild: bool,
    },
    /// Print the OpenAPI document as JSON and exit.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        let doc = quotidian::routers::openapi();
        println!(
            "{}",
            doc.to_pretty_json()
                .expect("the OpenAPI document serialises")
        );
        return ExitCode::SUCCESS;
    }
    // Foreground commands print their own output on stdout; their logs go to stderr.
    if matches!(
        cli.command,
        Command::Etl { .. } | Command::Run | Command::SetupAudit { .. }
    ) {
        telemetry::init_with_writer(telemetry::json_requested(), std::io::stderr);
    } else {
        telemetry::init(telemetry::json_requested());
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Worker => quotidian::commands::digests::worker(config, shutdown_signal()).await,
        Command::Run => match quotidian::commands::digests::run(config, shutdown_signal()).await {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::SetupAudit {
            object_lock_days,
            glacier_after_days,
        } => {
            quotidian::commands::digests::setup_audit(config, object_lock_days, glacier_after_days)
                .await
        }
        Command::Etl { rebuild } => match quotidian::commands::etl::run(config, rebuild).await {
            Ok(quotidian::commands::etl::Ended::Ok) => Ok(()),
            Ok(quotidian::commands::etl::Ended::Failed) => return ExitCode::FAILURE,
            Ok(quotidian::commands::etl::Ended::Busy) => return ExitCode::from(3),
            Err(e) => Err(e),
        },
        Command::Openapi => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = ?error, "quotidian stopped with an error");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.server.public_url.is_none() && config.server.bind.ip().is_unspecified() {
        tracing::warn!(
            bind = %config.server.bind,
            "QUOTIDIAN_PUBLIC_URL is not set and the bind address is unspecified; links in emails will not work"
        );
    }
    let mailer = Arc::new(SesMailer::from_env(config.ses.configuration_set.clone()).await);
    let app = startup::Application::build(config, mailer).await?;
    let base = app.state().config.server.public_base();
    tracing::info!(url = %base, docs = %format!("{base}/docs"), "quotidian is serving");
    app.run_until_stopped(shutdown_signal()).await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = startup::connect_database(&config).await?;
    startup::migrate(&db).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
