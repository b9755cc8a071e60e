//! The creditline server: HTTP/JSON API over the engine, on the embedded default store.
//!
//! - [`store`]: the data directory and recovery (snapshot + journal tail → engine);
//! - [`writer`]: the single writer thread — batches, applies, journals (group commit), replies;
//! - [`projector`]: the SQLite read model that tails the journal, and history queries;
//! - [`backtest`]: the journal replayed with candidate rules, decisions compared;
//! - [`access`]: who may call each endpoint, as the OpenAPI document states it;
//! - [`auth`]: API keys with roles, hashed at rest, per-key rate limits, throttled failures;
//! - [`listener`]: the connection loop, with a connection limit and a header timeout;
//! - [`wire`] and [`routes`]: request/response types, validation, handlers, OpenAPI;
//! - [`console`]: the risk analyst's console (HTML at `/console`, signed in with a key);
//! - [`product_file`]: credit product files (TOML) parsed and validated;
//! - [`metrics`]: Prometheus metric names;
//! - [`named`]: what a command names (amount, user, merchant), read from its JSON form.
//!
//! No business rule lives here: handlers validate shapes and roles, the engine decides.

#![warn(missing_docs)]

pub mod access;
pub mod auth;
pub mod backtest;
pub mod console;
pub mod error;
pub mod listener;
pub mod metrics;
pub mod named;
pub mod openapi;
pub mod product_file;
pub mod projector;
pub mod routes;
pub mod rules_file;
pub mod store;
pub mod wire;
pub mod writer;

use anyhow::Context;
use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// How to run the server.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Writer tunables.
    pub writer: writer::WriterConfig,
    /// A snapshot is written (by the projector) after this many commands.
    pub snapshot_every_commands: u64,
    /// Sustained requests per second per API key.
    pub rate_limit_per_key: f64,
    /// Failed authentications per second per client address before it is throttled.
    pub auth_failures_per_second: f64,
    /// Segment size and free-space floor of the journal.
    pub journal: journal::JournalOptions,
    /// Where the journal and snapshots live: real files, or a simulated disk in tests.
    pub storage: Arc<dyn journal::Storage>,
    /// Connection count and header timeout.
    pub connections: listener::ConnectionLimits,
}

/// Recovers the data directory and serves until `shutdown` resolves; then drains the writer,
/// writes a snapshot and lets the projector catch up.
pub async fn serve(config: ServeConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    serve_on(listener, config, shutdown).await
}

/// [`serve`] on a listener already bound (tests bind port 0 and read the address first).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let data_dir = store::DataDir::with_storage(&config.data_dir, config.storage.clone());
    let metrics = metrics::install().context("installing the metrics recorder")?;
    let recovered = store::recover(&data_dir, config.journal).map_err(|error| {
        anyhow::anyhow!("recovering the data directory {}: {}", config.data_dir.display(), error.with_hint())
    })?;
    store::check_sandbox(&data_dir, config.writer.sandbox, recovered.report.next_sequence)?;
    let report = recovered.report;
    tracing::info!(
        snapshot = ?report.snapshot_sequence,
        replayed = report.replayed_commands,
        truncated_bytes = report.truncated_bytes,
        partial_snapshots_removed = report.partial_snapshots_removed,
        next_sequence = report.next_sequence,
        "recovered"
    );
    let keys = Arc::new(
        auth::KeyRing::load(data_dir.keys(), config.rate_limit_per_key)?
            .with_failure_rate(config.auth_failures_per_second),
    );
    if keys.is_empty() {
        tracing::warn!(
            "no API keys yet: every call will get 401; create one with `creditline keys create --role admin --data-dir {}`",
            config.data_dir.display()
        );
    }
    let read_model = Arc::new(projector::ReadModel::open(&data_dir.read_model())?);
    let progress = Arc::new(writer::Progress::default());
    let (durable_sender, durable_receiver) = mpsc::channel();
    let (writer, writer_thread) = writer::spawn(recovered, config.writer, progress.clone(), durable_sender)?;
    let projector_thread =
        projector::spawn(data_dir.clone(), progress.clone(), durable_receiver, config.snapshot_every_commands)?;
    let reload = tokio::spawn(reload_keys(keys.clone()));
    let sandbox = config.writer.sandbox;
    let sessions = Arc::default();
    let state = routes::AppState {
        writer,
        keys,
        read_model,
        progress: progress.clone(),
        metrics,
        sandbox,
        sessions,
        backtests: Arc::default(),
        data_dir: data_dir.clone(),
    };
    let address = listener.local_addr()?;
    println!("creditline listening on http://{address}");
    tracing::info!(%address, data_dir = %config.data_dir.display(), "serving");
    let stopped = progress.clone();
    let shutdown = async move {
        tokio::select! {
            () = shutdown => {}
            () = stopped.writer_stopped.notified() => {}
        }
    };
    listener::serve(listener, routes::router(state), config.connections, shutdown).await?;
    reload.abort();
    tracing::info!("draining the writer");
    tokio::task::spawn_blocking(move || {
        let _ = writer_thread.join();
        let _ = projector_thread.join();
    })
    .await?;
    match progress.writer_fault() {
        Some(reason) => Err(StorageFault(reason).into()),
        None => Ok(()),
    }
}

/// The server stopped because the journal could not be written: the process should exit with
/// code 70 (EX_SOFTWARE) so that a supervisor restarts it and recovery runs.
#[derive(Debug, thiserror::Error)]
#[error("stopped on a storage fault: {0}")]
pub struct StorageFault(pub String);

async fn reload_keys(keys: Arc<auth::KeyRing>) {
    let mut interval = tokio::time::interval(Duration::from_secs(2));
    loop {
        interval.tick().await;
        if let Err(error) = keys.reload() {
            tracing::warn!(%error, "could not reload API keys; keeping the previous set");
        }
    }
}
