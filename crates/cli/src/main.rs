//! `creditline`: the one binary. `serve` runs the ledger on the embedded default store; `keys`
//! manages API keys; `check` verifies a data directory; `bench` measures the engine and journal;
//! `openapi` prints the API document.

mod allocator;
mod bench;
mod check;
mod client;
mod rules;
mod simulate;
mod statement;
mod workload;

use clap::{Parser, Subcommand};
use server::auth::{self, Role};
use server::store::DataDir;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The shipped default rule pack.
const DEFAULT_RULES: &str = include_str!("../../../rules/default.toml");

#[derive(Parser)]
#[command(name = "creditline", version, about = "A consumer credit-line ledger with its risk engine inside")]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the HTTP API on the embedded store (journal, snapshots and SQLite in --data-dir).
    Serve {
        /// Data directory (created if missing).
        #[arg(long, env = "CREDITLINE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, env = "CREDITLINE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Most commands per journal write (one fsync each).
        #[arg(long, default_value_t = 8_192, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))]
        batch_max_commands: usize,
        /// Write a snapshot after this many commands.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        snapshot_every_commands: u64,
        /// Sustained requests per second allowed per API key (bursts of two seconds' worth).
        #[arg(long, default_value_t = 5_000.0, value_parser = positive_rate)]
        rate_limit_per_key: f64,
        /// Refuse to start with less free disk space than this, in bytes (default 64 MiB: a
        /// server started on a full disk would only fail its first write).
        #[arg(long, default_value_t = 64 << 20)]
        free_bytes_min: u64,
        /// Failed authentications a second each client address may make (bursts of twice it)
        /// before it gets 429 for a while.
        #[arg(long, default_value_t = server::auth::FAILURES_PER_SECOND, value_parser = positive_rate)]
        auth_failures_per_second: f64,
        /// Open connections at most; more clients wait to be accepted.
        #[arg(long, default_value_t = 4_096, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        connections_max: usize,
        /// Close a connection whose request headers take longer than this (a half-sent request
        /// or an idle keep-alive connection), in seconds.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        header_timeout_secs: u64,
        /// Run a sandbox: test data whose clock an admin can move (`creditline sandbox advance`,
        /// `POST /v1/sandbox/clock-advances`). Only on a new data directory or a sandbox's;
        /// `/healthz` says `"sandbox": true`.
        #[arg(long)]
        sandbox: bool,
    },
    /// Work with a sandbox server (`serve --sandbox`).
    Sandbox {
        #[command(subcommand)]
        action: SandboxAction,
    },
    /// After `serve` or `check` refused a damaged or shortened journal: move the damage (the
    /// first bad record and everything after it) into journal/quarantine/, accept that those
    /// commands are gone, and set aside snapshots and a read model that are ahead of the journal.
    /// Nothing is deleted. Stop the server first.
    Repair {
        /// Data directory.
        #[arg(long, env = "CREDITLINE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Create, list or revoke API keys (stored hashed in DATA_DIR/keys.json).
    Keys {
        /// Data directory.
        #[arg(long, global = true, env = "CREDITLINE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Verify every journal record, replay from scratch (and from the latest snapshot) and check
    /// the ledger invariants. Exits non-zero, naming the problem, if anything is wrong.
    Check {
        /// Data directory.
        #[arg(long, env = "CREDITLINE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Check the invariants after every journal record, not only at the end.
        #[arg(long)]
        thorough: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Measure the engine alone and engine + journal (fsync per batch) on a seeded mix.
    Bench {
        /// Users in the population.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        users: u64,
        /// Merchants.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
        merchants: u64,
        /// Mixed events to measure.
        #[arg(long, default_value_t = 2_000_000)]
        events: u64,
        /// Commands per batch (one fsync per batch in the durable run).
        #[arg(long, default_value_t = 8_192, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536))]
        batch_size: usize,
        /// Rounds of the engine alone, each a rules-off then a rules-on pass; the figures are the
        /// rounds' medians, and each pass is listed too.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
        passes: u16,
        /// Seed of the workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How user, merchant and command ids are numbered: `sequential` (0, 1, 2, …) or
        /// `sparse` (scattered over 64 bits, as a platform's are; the same events otherwise).
        #[arg(long, value_enum, default_value_t = workload::IdShape::Sequential)]
        id_shape: workload::IdShape,
        /// Directory for the durable run's journal (default: a fresh one under the temp dir, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The rules of the rules-on passes (default: the shipped rules/default.toml).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a user's statements (账单) from a data directory (read-only; works while serving).
    Statement {
        /// Data directory.
        #[arg(long, env = "CREDITLINE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The user whose statements to print, by id.
        user: u64,
        /// Only this statement number (1 is the first); default: all.
        #[arg(long)]
        cycle: Option<u32>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Convert a mobile-money transaction log (CSV: step,type,amount,nameOrig,oldbalanceOrg,
    /// newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud, optionally isFlaggedFraud;
    /// or PaySim 2's raw log) into an event file.
    Convert {
        /// The log.
        input: PathBuf,
        /// The event file to write (docs/events.md).
        #[arg(long)]
        out: PathBuf,
    },
    /// Simulate a labelled population (honest users, merchants, abusers of every cash-out
    /// typology) in virtual time: write the events (`--out`), send them to a server
    /// (`--target`), or run them in process and score the decisions (default, or `--evaluate`).
    Simulate {
        /// Users, abusers included (at least 20).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(20..))]
        users: u64,
        /// Ordinary merchants (at least 10).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..))]
        merchants: u64,
        /// Days of virtual time.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3_650))]
        days: u32,
        /// The seed: same seed, same events.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of users per scheme, e.g. `ring=0.02,proxy_purchase=0.01` (others keep the default).
        #[arg(long, default_value = "")]
        abuse_mix: String,
        /// Write the events to this file (JSON Lines, docs/events.md).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Send the events to a running server (`/v1/batch`) instead.
        #[arg(long)]
        target: Option<String>,
        /// API key for `--target` (admin: the population includes merchants and limits).
        #[arg(long, env = "CREDITLINE_KEY")]
        key: Option<String>,
        /// Also evaluate in process (with `--out`); the default when there is no `--out` or `--target`.
        #[arg(long)]
        evaluate: bool,
        /// The rules to evaluate with (default: rules/default.toml).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Write an HTML report (index.html) into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Abusers vary every parameter of their scheme (amounts anywhere in the line, legs
        /// delayed minutes to weeks, one to three intermediate accounts, beneficiaries shown only
        /// by later flows, mules opened days ahead, ordinary spending mixed in), laundering cells
        /// move money through fan-in, layers, cycles and fan-out, and honest look-alikes of each
        /// scheme live among them.
        #[arg(long)]
        adversarial: bool,
        /// Evaluate N populations (seeds `--seed` to `--seed + N − 1`), each scheme's share of
        /// users drawn from 0.2–2 % (rings 0.5–3 %), and print the spread: each figure's worst,
        /// median and best. Add `--adversarial` to sweep adversarial populations.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        sweep: Option<u32>,
    },
    /// Work with credit product files (TOML; see docs/products.md).
    Product {
        #[command(subcommand)]
        action: ProductAction,
    },
    /// Work with risk rules files (CEL rules in TOML; see docs/rules.md).
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Replay an event file (docs/events.md) through a fresh engine and score the decisions
    /// against its labels (`--input`); or backtest a data directory's journal with another rules
    /// file and print how the decisions change (without `--input`). Both only read their input.
    Replay {
        /// An event file (JSON Lines) to evaluate.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Data directory whose journal to backtest (without `--input`).
        #[arg(long, env = "CREDITLINE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The rules file (default with `--input`: the shipped rules/default.toml; required for a backtest).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// With `--input`: write an HTML report (index.html) into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Most changed events to list.
        #[arg(long, default_value_t = 20)]
        changes_max: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// Validate a rules file: syntax, unknown features, type errors, with the line (exit 2 if bad).
    Check {
        /// The rules file, e.g. rules/default.toml.
        file: PathBuf,
    },
    /// Install a rules file on a running server (POST /v1/rules with an admin key); a bad file is
    /// refused and the rules in force keep running.
    Install(InstallArgs),
    /// Print the features rules can read, as a Markdown table.
    Features,
}

#[derive(Subcommand)]
enum ProductAction {
    /// Parse and validate a product file; print it back as JSON, or say where it is wrong.
    Check {
        /// The product file, e.g. products/huabei.toml.
        file: PathBuf,
    },
    /// Install a product file on a running server (POST /v1/products with an admin key); a bad
    /// file is refused (exit 2) and the products in force stay.
    Install(InstallArgs),
}

/// A running server, and an admin key to call it with.
#[derive(clap::Args)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "CREDITLINE_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin API key.
    #[arg(long, env = "CREDITLINE_KEY")]
    key: String,
}

/// A file to install on a running server.
#[derive(clap::Args)]
struct InstallArgs {
    /// The TOML file (a rules file for `rules install`, a product file for `product install`).
    file: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
    /// The command id (idempotency key) of the install.
    #[arg(long)]
    command_id: u64,
}

#[derive(Subcommand)]
enum SandboxAction {
    /// Move a sandbox's clock forward and run what would have happened by then (holds lapse,
    /// days end, statements close, penalties accrue); prints the new time.
    Advance {
        /// Days to move.
        #[arg(long, default_value_t = 0)]
        days: u64,
        /// Hours to move, besides the days.
        #[arg(long, default_value_t = 0)]
        hours: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
enum KeyAction {
    /// Create a key and print it once.
    Create {
        /// admin, platform, merchant or analyst.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// For merchant keys: the merchant it may act for.
        #[arg(long)]
        merchant_id: Option<u64>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key id (the part after `clk_`).
        id: String,
    },
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| format!("unknown role {name:?}; use admin, platform, merchant or analyst"))
}

/// A per-second rate flag: a finite number above zero (clap has no range check for floats).
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("`{text}` is not a positive number of events a second")),
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match json {
        true => builder.json().init(),
        false => builder.init(),
    }
}

fn main() -> ExitCode {
    allocator::configure();
    // Journals, snapshots, the read model and keys are every customer's data: owner-only.
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            match error.downcast_ref::<server::StorageFault>() {
                Some(_) => ExitCode::from(70),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn run(command: Commands) -> anyhow::Result<ExitCode> {
    match command {
        Commands::Serve {
            data_dir,
            listen,
            batch_max_commands,
            snapshot_every_commands,
            rate_limit_per_key,
            free_bytes_min,
            auth_failures_per_second,
            connections_max,
            header_timeout_secs,
            sandbox,
        } => {
            let writer = server::writer::WriterConfig { batch_max_commands, sandbox, ..Default::default() };
            let journal = journal::JournalOptions { free_bytes_min, ..Default::default() };
            let config = server::ServeConfig {
                data_dir,
                listen,
                writer,
                snapshot_every_commands,
                rate_limit_per_key,
                auth_failures_per_second,
                journal,
                storage: journal::FileStorage::shared(),
                connections: server::listener::ConnectionLimits {
                    connections_max,
                    header_read_timeout: std::time::Duration::from_secs(header_timeout_secs),
                },
            };
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(server::serve(config, shutdown_signal()))?;
            Ok(ExitCode::SUCCESS)
        }
        Commands::Keys { data_dir, action } => keys(&DataDir::new(data_dir), action),
        Commands::Check { data_dir, thorough, json } => check::run(&DataDir::new(data_dir), thorough, json),
        Commands::Repair { data_dir } => check::repair(&DataDir::new(data_dir)),
        Commands::Bench { users, merchants, events, batch_size, passes, seed, id_shape, dir, rules, json } => {
            let population = workload::Population { users, merchants, seed, id_shape };
            let rules = match rules {
                Some(file) => server::rules_file::load(&file)?,
                None => server::rules_file::parse(DEFAULT_RULES, "rules/default.toml")?,
            };
            let passes = usize::from(passes);
            let config = bench::BenchConfig { population, rules, events, batch_size, passes, progress: !json };
            let (journal_dir, remove) = match dir {
                Some(dir) => (dir, false),
                None => (std::env::temp_dir().join(format!("creditline-bench-{}", std::process::id())), true),
            };
            let report = bench::run(&config, &journal_dir.join("journal"));
            if remove {
                let _ = std::fs::remove_dir_all(&journal_dir);
            }
            let report = report?;
            match json {
                true => println!("{}", serde_json::to_string(&report)?),
                false => println!("{}", serde_json::to_string_pretty(&report)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Commands::Product { action: ProductAction::Check { file } } => {
            let product = server::product_file::load(&file)?;
            println!("{}", serde_json::to_string_pretty(&product)?);
            eprintln!("ok: {} version {} is valid", product.name, product.version);
            Ok(ExitCode::SUCCESS)
        }
        Commands::Product { action: ProductAction::Install(InstallArgs { file, server: target, command_id }) } => {
            let product = server::product_file::load(&file)?;
            let text = std::fs::read_to_string(&file)?;
            let what = format!("product {} version {}", product.name, product.version);
            client::install(&target.url, &target.key, "/v1/products", command_id, &text, &what)
        }
        Commands::Sandbox { action: SandboxAction::Advance { days, hours, server: ServerArgs { url, key } } } => {
            let advance_ms = days.saturating_mul(86_400_000).saturating_add(hours.saturating_mul(3_600_000));
            anyhow::ensure!(advance_ms > 0, "say how far to move the clock: --days N and/or --hours N");
            let (status, reply) = client::post(
                &url,
                "/v1/sandbox/clock-advances",
                &key,
                &serde_json::json!({ "advance_ms": advance_ms }),
            )?;
            if status != 200 {
                eprintln!("error: the server refused to move its clock (HTTP {status}): {reply}");
                return Ok(ExitCode::from(2));
            }
            println!("{reply}");
            Ok(ExitCode::SUCCESS)
        }
        Commands::Rules { action: RulesAction::Check { file } } => rules::check(&file),
        Commands::Rules { action: RulesAction::Install(InstallArgs { file, server: target, command_id }) } => {
            rules::install(&file, &target.url, &target.key, command_id)
        }
        Commands::Rules { action: RulesAction::Features } => {
            print!("{}", rules::features_table());
            Ok(ExitCode::SUCCESS)
        }
        Commands::Replay { input: Some(input), rules, report, json, .. } => {
            let rules = load_rules(rules.as_deref())?;
            let evaluation = simulate::replay_file(&input, rules, !json)?;
            simulate::print(&evaluation, json, report.as_deref(), &format!("replay {}", input.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Commands::Replay { input: None, data_dir, rules, changes_max, json, .. } => {
            let rules = rules
                .ok_or_else(|| anyhow::anyhow!("a backtest needs --rules CANDIDATE.toml (or give --input FILE)"))?;
            let candidate = server::rules_file::load(&rules)?;
            let data_dir = DataDir::new(data_dir);
            let (_, end) = server::store::verify(&data_dir)?;
            let bar = if json { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(end - 1) };
            let style = indicatif::ProgressStyle::with_template("replay [{bar:40}] {pos}/{len} {per_sec}")?;
            bar.set_style(style.progress_chars("=> "));
            let report =
                server::backtest::run(&data_dir, end, candidate, changes_max, &|done, _| bar.set_position(done))?;
            bar.finish_and_clear();
            match json {
                true => println!("{}", serde_json::to_string(&report)?),
                false => println!("{}", serde_json::to_string_pretty(&report)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Commands::Statement { data_dir, user, cycle, json } => {
            statement::print(&DataDir::new(data_dir), user, cycle, json)
        }
        Commands::Simulate {
            users,
            merchants,
            days,
            seed,
            abuse_mix,
            out,
            target,
            key,
            evaluate,
            rules,
            report,
            json,
            adversarial,
            sweep,
        } => {
            let mix =
                sim::population::Mix::parse(&abuse_mix).map_err(|error| anyhow::anyhow!("--abuse-mix: {error}"))?;
            let config = sim::population::Config { users, merchants, days, seed, mix, adversarial };
            if let Some(runs) = sweep {
                anyhow::ensure!(
                    out.is_none() && target.is_none(),
                    "--sweep evaluates in process: no --out or --target"
                );
                let spread = simulate::sweep(config, runs, load_rules(rules.as_deref())?, !json)?;
                println!("{}", serde_json::to_string_pretty(&spread)?);
                return Ok(ExitCode::SUCCESS);
            }
            let variants = if adversarial { " --adversarial" } else { "" };
            let title =
                format!("simulate --users {users} --merchants {merchants} --days {days} --seed {seed}{variants}");
            if let Some(url) = target {
                let key = key.ok_or_else(|| anyhow::anyhow!("--target needs --key (or CREDITLINE_KEY)"))?;
                let (sent, rejected) = simulate::drive(config, &url, &key, 2_000, !json)?;
                println!("{}", serde_json::json!({"sent": sent, "rejected": rejected}));
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(path) = &out {
                let count = simulate::write(config, path, !json)?;
                eprintln!("wrote {count} events to {}", path.display());
                if !evaluate {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            let evaluation = simulate::simulate_and_evaluate(config, load_rules(rules.as_deref())?, !json)?;
            simulate::print(&evaluation, json, report.as_deref(), &title)?;
            Ok(ExitCode::SUCCESS)
        }
        Commands::Convert { input, out } => {
            let log = std::fs::File::open(&input)
                .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", input.display()))?;
            let converted = sim::convert::wallet_csv(std::io::BufReader::new(log))
                .map_err(|error| anyhow::anyhow!("{}: {error}", input.display()))?;
            let events = converted.events;
            let mut writer = std::io::BufWriter::new(std::fs::File::create(&out)?);
            sim::events::write_header(&mut writer)?;
            for event in &events {
                sim::events::write_event(&mut writer, event)?;
            }
            std::io::Write::flush(&mut writer)?;
            eprintln!("wrote {} events to {}", events.len(), out.display());
            if converted.refused > 0 {
                let rows = converted.refused;
                eprintln!("{rows} rows the log's platform blocked: written as refused attempts, moving nothing");
            }
            for (reason, rows) in &converted.skipped {
                eprintln!("skipped {rows} rows: {reason}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Commands::Openapi => {
            println!("{}", serde_json::to_string_pretty(server::openapi::document())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The rules file given, or the shipped default.
fn load_rules(file: Option<&std::path::Path>) -> anyhow::Result<model::risk::RuleSet> {
    Ok(match file {
        Some(file) => server::rules_file::load(file)?,
        None => server::rules_file::parse(DEFAULT_RULES, "rules/default.toml")?,
    })
}

fn keys(data_dir: &DataDir, action: KeyAction) -> anyhow::Result<ExitCode> {
    let path = data_dir.keys();
    match action {
        KeyAction::Create { role, merchant_id } => {
            let (key, record) = auth::create_key(&path, role, merchant_id)?;
            eprintln!("created key {} ({:?}); it is shown once — store it now", record.id, record.role);
            println!("{key}");
        }
        KeyAction::List => {
            for record in auth::list_keys(&path)? {
                let merchant = record.merchant_id.map(|id| format!(" merchant={id}")).unwrap_or_default();
                let state = if record.revoked { " revoked" } else { "" };
                println!("{} {:?}{merchant}{state} created_at_ms={}", record.id, record.role, record.created_at_ms);
            }
        }
        KeyAction::Revoke { id } => {
            auth::revoke_key(&path, &id)?;
            eprintln!("revoked key {id}; a running server stops accepting it within two seconds");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler succeeds on Unix");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing requests in flight");
}
