//! The command line: `sightline [serve]`, `sightline seed-demo`, `sightline agent` and their flags. Later subcommands hang off [`Command`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

/// Sightline: a self-hosted performance, cost and budget monitor for AI applications.
///
/// Every flag can also be set by its SIGHTLINE_* environment variable (shown in brackets) or
/// in the TOML file given by --config. The admin password comes only from
/// SIGHTLINE_ADMIN_PASSWORD (or the file); without it one is generated and printed once.
#[derive(Parser, Debug)]
#[command(name = "sightline", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
// Parsed once at start: the size of the serve settings does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the web UI and the API (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Fill a running server with realistic synthetic LLM calls, for demos and benchmarks.
    SeedDemo(crate::seed_demo::SeedArgs),
    /// Run only the system collector and push its samples to a Sightline server.
    Agent(crate::agent::AgentArgs),
    /// Download a report (aggregates or calls, CSV or JSON) from a running server.
    Export(crate::export::ExportArgs),
    /// Benchmark models on the same prompts on a running server: live progress bars, then
    /// a table of speed, cost and quality per model.
    Bench(crate::bench_cli::BenchArgs),
}

/// Where the client commands (`export`, `bench`) reach a running server, and as whom.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// The Sightline server.
    #[arg(
        long,
        env = "SIGHTLINE_SERVER",
        value_name = "URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub server: url::Url,
    /// An API key (Settings → API keys): `export` needs the read scope, `bench` read and
    /// ingest.
    #[arg(
        long,
        env = "SIGHTLINE_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: String,
}

/// Parses arguments, runs the chosen command and maps failures to a one-line message and a
/// non-zero exit code.
pub async fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's first line names the flag and the reason; keep the error to one line.
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("sightline: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::SeedDemo(args)) => {
            return match crate::seed_demo::run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sightline seed-demo: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Agent(args)) => {
            crate::startup::init_tracing(
                &std::env::var("SIGHTLINE_LOG").unwrap_or_else(|_| "info".into()),
            );
            return match crate::agent::run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sightline agent: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Export(args)) => {
            return match crate::export::run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sightline export: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Bench(args)) => {
            return match crate::bench_cli::run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sightline bench: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        None => cli.serve,
    };
    let config = match args.resolve(
        std::env::var("SIGHTLINE_ADMIN_PASSWORD").ok(),
        std::env::var("LEPTOS_SITE_ROOT").ok(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sightline: {e}");
            return ExitCode::from(2);
        }
    };
    crate::startup::init_tracing(&config.log);
    match crate::startup::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("sightline: {e:#}");
            ExitCode::FAILURE
        }
    }
}
