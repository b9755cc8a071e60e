//! What the server's integration tests share.

/// A server configuration for tests: an ephemeral port, generous rate limits, no snapshots.
pub fn serve_config(
    data_dir: &std::path::Path,
    storage: std::sync::Arc<dyn journal::Storage>,
    journal: journal::JournalOptions,
) -> server::ServeConfig {
    server::ServeConfig {
        data_dir: data_dir.to_owned(),
        listen: "127.0.0.1:0".parse().expect("an address"),
        writer: Default::default(),
        snapshot_every_commands: 1_000_000,
        rate_limit_per_key: 1_000.0,
        auth_failures_per_second: server::auth::FAILURES_PER_SECOND,
        journal,
        storage,
        connections: Default::default(),
    }
}
