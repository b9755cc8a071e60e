//! The read model: a projector that tails the journal and writes postings, balances and
//! command outcomes into SQLite, and the queries the API runs on it.
//!
//! The projector replays the journal through its own engine (the engine is deterministic, so it
//! reproduces exactly the outcomes and postings the writer produced) and never blocks the
//! writer. Delete `read.sqlite` and it is rebuilt from the journal on the next start.

use crate::metrics as names;
use crate::store::{self, DataDir, ReplayedBatch, StoreError};
use crate::writer::Progress;
use engine::Engine;
use journal::RecordReader;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};

/// Why the read model failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadModelError {
    /// SQLite failed.
    #[error("read model database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The journal could not be replayed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    sequence INTEGER PRIMARY KEY, command_id INTEGER NOT NULL, kind TEXT NOT NULL,
    time_ms INTEGER NOT NULL, result TEXT NOT NULL, body TEXT NOT NULL, key_id TEXT);
CREATE INDEX IF NOT EXISTS commands_by_id ON commands (command_id);
CREATE INDEX IF NOT EXISTS commands_by_kind ON commands (kind, sequence);
CREATE TABLE IF NOT EXISTS postings (
    id INTEGER PRIMARY KEY, sequence INTEGER NOT NULL, account TEXT NOT NULL,
    currency TEXT NOT NULL, amount_minor INTEGER NOT NULL, time_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS postings_by_account ON postings (account, time_ms, id);
CREATE TABLE IF NOT EXISTS balances (
    account TEXT PRIMARY KEY, currency TEXT NOT NULL, balance_minor INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    sequence INTEGER PRIMARY KEY, command_id INTEGER NOT NULL, kind TEXT NOT NULL, time_ms INTEGER NOT NULL,
    decision TEXT NOT NULL, score INTEGER NOT NULL, rules_version INTEGER NOT NULL, evidence TEXT NOT NULL,
    user_id INTEGER, merchant_id INTEGER);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (time_ms, sequence);
CREATE INDEX IF NOT EXISTS decisions_by_decision ON decisions (decision, sequence);
CREATE INDEX IF NOT EXISTS decisions_by_kind ON decisions (kind, sequence);
CREATE INDEX IF NOT EXISTS decisions_by_user ON decisions (user_id, sequence);
CREATE INDEX IF NOT EXISTS decisions_by_merchant ON decisions (merchant_id, sequence);
CREATE TABLE IF NOT EXISTS decision_rules (
    rule TEXT NOT NULL, sequence INTEGER NOT NULL, PRIMARY KEY (rule, sequence)) WITHOUT ROWID;
";

/// The projector's component name in health faults.
pub const PROJECTOR: &str = "projector";

/// Records projected per SQLite transaction, at most.
const RECORDS_PER_TRANSACTION: usize = 64;

/// The read model's layout version (3: decisions name their user and merchant, and each rule
/// that fired; 2: commands record the sending key's id). A read model of
/// another version is derived data of an older build: its tables are dropped and it is rebuilt
/// from the journal.
const SCHEMA_VERSION: i64 = 3;

fn open_connection(path: &Path) -> Result<Connection, ReadModelError> {
    let connection = Connection::open(path)?;
    let has_meta: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |row| row.get(0),
    )?;
    let version: Option<i64> = match has_meta {
        true => connection
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |row| row.get(0))
            .optional()?,
        false => None,
    };
    if has_meta && version != Some(SCHEMA_VERSION) {
        tracing::warn!(
            ?version,
            current = SCHEMA_VERSION,
            "the read model has another layout; rebuilding it from the journal"
        );
        connection.execute_batch(
            "DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS commands; DROP TABLE IF EXISTS postings;
             DROP TABLE IF EXISTS balances; DROP TABLE IF EXISTS decisions; DROP TABLE IF EXISTS decision_rules;",
        )?;
    }
    connection.execute_batch(SCHEMA)?;
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)", [SCHEMA_VERSION])?;
    Ok(connection)
}

fn projected_end(connection: &Connection) -> Result<u64, ReadModelError> {
    let end: Option<i64> =
        connection.query_row("SELECT value FROM meta WHERE key = 'projected_end'", [], |row| row.get(0)).optional()?;
    Ok(end.map_or(1, |end| end as u64))
}

fn write_batch(transaction: &rusqlite::Transaction<'_>, batch: &ReplayedBatch<'_>) -> rusqlite::Result<()> {
    let mut insert_command = transaction.prepare_cached(
        "INSERT INTO commands (sequence, command_id, kind, time_ms, result, body, key_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (index, (command, outcome)) in batch.commands.iter().zip(batch.outcomes).enumerate() {
        let result = match outcome {
            Ok(_) => "accepted",
            Err(rejection) => rejection.code(),
        };
        let body = serde_json::to_string(&command.kind).expect("commands serialize to JSON");
        let sequence = (batch.first_sequence + index as u64) as i64;
        insert_command.execute(params![
            sequence,
            command.id.0 as i64,
            command.kind.name(),
            command.time_ms as i64,
            result,
            body,
            crate::auth::key_id_of(command.actor)
        ])?;
    }
    let mut insert_posting = transaction.prepare_cached(
        "INSERT INTO postings (sequence, account, currency, amount_minor, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut update_balance = transaction.prepare_cached(
        "INSERT INTO balances (account, currency, balance_minor) VALUES (?1, ?2, ?3)
         ON CONFLICT (account) DO UPDATE SET balance_minor = balance_minor + excluded.balance_minor",
    )?;
    let mut insert_decision = transaction.prepare_cached(
        "INSERT INTO decisions
         (sequence, command_id, kind, time_ms, decision, score, rules_version, evidence, user_id, merchant_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut insert_rule =
        transaction.prepare_cached("INSERT OR IGNORE INTO decision_rules (rule, sequence) VALUES (?1, ?2)")?;
    for (index, decision) in batch.decisions {
        let command = &batch.commands[*index as usize];
        let sequence = (batch.first_sequence + u64::from(*index)) as i64;
        let evidence = serde_json::to_string(decision).expect("decisions serialize to JSON");
        let (user, merchant) = crate::named::parties(&command.kind);
        insert_decision.execute(params![
            sequence,
            command.id.0 as i64,
            command.kind.name(),
            command.time_ms as i64,
            decision.kind.name(),
            decision.score,
            decision.rules_version,
            evidence,
            user.map(|id| id as i64),
            merchant.map(|id| id as i64)
        ])?;
        for fired in &decision.fired {
            insert_rule.execute(params![fired.rule, sequence])?;
        }
    }
    for posting in batch.postings {
        let index = posting.command_index as usize;
        let sequence = (batch.first_sequence + index as u64) as i64;
        let address = posting.account.address();
        let currency = posting.account.currency.as_str();
        let time_ms = batch.commands[index].time_ms as i64;
        insert_posting.execute(params![sequence, address, currency, posting.amount_minor, time_ms])?;
        update_balance.execute(params![address, currency, posting.amount_minor])?;
    }
    Ok(())
}

/// Projects journal records below `durable_end`, a bounded number per transaction; returns the
/// new projected end.
fn project(
    connection: &mut Connection,
    engine: &mut Engine,
    reader: &mut RecordReader,
    durable_end: u64,
) -> Result<u64, ReadModelError> {
    let transaction = connection.transaction()?;
    let mut failure = None;
    for _ in 0..RECORDS_PER_TRANSACTION {
        let Some(record) = reader.next_before(durable_end).map_err(StoreError::from)? else { break };
        store::apply_record(engine, &record, &mut |batch| {
            if failure.is_none() {
                failure = write_batch(&transaction, &batch).err();
            }
        })?;
        if let Some(error) = failure.take() {
            return Err(error.into());
        }
    }
    let end = reader.next_sequence();
    transaction.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('projected_end', ?1)", [end as i64])?;
    transaction.commit()?;
    Ok(end)
}

/// The read model's projected end, read-only: `None` if there is no read model yet. A witness
/// of the journal's durable end, since only durable records are projected.
pub fn read_model_position(path: &Path) -> Result<Option<u64>, rusqlite::Error> {
    if !path.exists() {
        return Ok(None);
    }
    let connection = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_meta: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |row| row.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    let end: Option<i64> =
        connection.query_row("SELECT value FROM meta WHERE key = 'projected_end'", [], |row| row.get(0)).optional()?;
    Ok(end.map(|end| end as u64))
}

/// Brings the read model up to `durable_end` and returns what it needs to continue.
fn catch_up(data_dir: &DataDir) -> Result<(Connection, Engine, RecordReader), ReadModelError> {
    let connection = open_connection(&data_dir.read_model())?;
    let start = projected_end(&connection)?;
    let (engine, reader, _) = store::rebuild(data_dir, start, start, false, &mut |_| {})?;
    Ok((connection, engine, reader))
}

/// Projects everything durable now and returns the projected end (`creditline` tools use this
/// to rebuild the read model offline).
pub fn project_all(data_dir: &DataDir, durable_end: u64) -> Result<u64, ReadModelError> {
    let (mut connection, mut engine, mut reader) = catch_up(data_dir)?;
    let mut end = reader.next_sequence();
    while end < durable_end {
        end = project(&mut connection, &mut engine, &mut reader, durable_end)?;
    }
    Ok(end)
}

/// Starts the projector thread. It follows `progress.durable_end`, woken by `durable`, and
/// exits when the writer's sender is dropped and everything durable is projected. Its engine
/// replica also writes the periodic snapshots (every `snapshot_every_commands`), off the
/// writer's path.
pub fn spawn(
    data_dir: DataDir,
    progress: Arc<Progress>,
    durable: mpsc::Receiver<u64>,
    snapshot_every_commands: u64,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("projector".into()).spawn(move || {
        if let Err(error) = follow(&data_dir, &progress, &durable, snapshot_every_commands) {
            tracing::error!(%error, "the read model projector stopped; history queries and snapshots lag until restart");
            progress.set_fault(PROJECTOR, Some(format!("stopped: {error}; history and snapshots lag until restart")));
        }
    })
}

fn follow(
    data_dir: &DataDir,
    progress: &Progress,
    durable: &mpsc::Receiver<u64>,
    snapshot_every_commands: u64,
) -> Result<(), ReadModelError> {
    let (mut connection, mut engine, mut reader) = catch_up(data_dir)?;
    let snapshots = data_dir.snapshot_store().map_err(StoreError::from)?;
    let mut snapshot_end = reader.next_sequence();
    loop {
        let durable_end = progress.durable_end.load(Ordering::Acquire);
        let mut end = reader.next_sequence();
        if end < durable_end {
            end = project(&mut connection, &mut engine, &mut reader, durable_end)?;
        }
        if end - snapshot_end >= snapshot_every_commands {
            progress.set_fault(store::SNAPSHOTS, store::save_snapshot(&snapshots, end, &engine).err());
            snapshot_end = end;
        }
        progress.projected_end.store(end, Ordering::Release);
        metrics::gauge!(names::PROJECTOR_LAG_COMMANDS).set(durable_end.saturating_sub(end) as f64);
        if end >= durable_end && durable.recv().is_err() && end >= progress.durable_end.load(Ordering::Acquire) {
            return Ok(());
        }
    }
}

/// One posting as the history API returns it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// Cursor: pass as `after_id` to get the next page.
    pub id: i64,
    /// Journal sequence of the command that made the posting.
    pub sequence: i64,
    /// Signed amount in minor units (debit positive, credit negative).
    pub amount_minor: i64,
    /// Currency code.
    pub currency: String,
    /// Command time, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Command kind that made the posting.
    pub kind: String,
    /// Id of that command.
    pub command_id: u64,
    /// The key id that sent it (absent for the server's own, such as a tick).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// A page query over one account's entries.
#[derive(Clone, Debug)]
pub struct EntryQuery {
    /// The account address, e.g. `user:42:credit`.
    pub account: String,
    /// Inclusive lower time bound.
    pub from_ms: i64,
    /// Exclusive upper time bound.
    pub to_ms: i64,
    /// Only entries with a larger id.
    pub after_id: i64,
    /// Page size.
    pub limit: u32,
}

/// Read-only access to the read model for queries.
pub struct ReadModel {
    connection: Mutex<Connection>,
}

impl ReadModel {
    /// Opens (creating the schema if needed) the read model.
    pub fn open(path: &Path) -> Result<ReadModel, ReadModelError> {
        Ok(ReadModel { connection: Mutex::new(open_connection(path)?) })
    }

    /// One page of an account's entries, oldest first.
    pub fn entries(&self, query: &EntryQuery) -> Result<Vec<Entry>, ReadModelError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection.prepare_cached(
            "SELECT p.id, p.sequence, p.amount_minor, p.currency, p.time_ms, c.kind, c.command_id, c.key_id
             FROM postings p JOIN commands c ON c.sequence = p.sequence
             WHERE p.account = ?1 AND p.time_ms >= ?2 AND p.time_ms < ?3 AND p.id > ?4
             ORDER BY p.id LIMIT ?5",
        )?;
        let rows = statement.query_map(
            params![query.account, query.from_ms, query.to_ms, query.after_id, query.limit],
            |row| {
                Ok(Entry {
                    id: row.get(0)?,
                    sequence: row.get(1)?,
                    amount_minor: row.get(2)?,
                    currency: row.get(3)?,
                    time_ms: row.get(4)?,
                    kind: row.get(5)?,
                    command_id: row.get::<_, i64>(6)? as u64,
                    key_id: row.get(7)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One page of notable risk decisions, oldest first.
    pub fn decisions(&self, query: &DecisionQuery) -> Result<Vec<DecisionEntry>, ReadModelError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection.prepare_cached(
            "SELECT d.sequence, d.command_id, d.kind, d.time_ms, d.decision, d.score, d.rules_version, d.evidence,
                    c.key_id
             FROM decisions d JOIN commands c ON c.sequence = d.sequence
             WHERE d.time_ms >= ?1 AND d.time_ms < ?2 AND d.sequence > ?3 AND (?4 IS NULL OR d.decision = ?4)
             ORDER BY d.sequence LIMIT ?5",
        )?;
        let rows = statement.query_map(
            params![query.from_ms, query.to_ms, query.after_sequence, query.decision, query.limit],
            decision_entry,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

impl ReadModel {
    /// The newest rules installs, proposals and approvals, newest first: accepted or refused,
    /// with their version (or the proposal approved) and key.
    pub fn rules_history(&self, limit: u32) -> Result<Vec<RulesInstall>, ReadModelError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection.prepare_cached(
            "SELECT sequence, time_ms, result, key_id, kind,
                    coalesce(json_extract(body, '$.InstallRules.rules.version'),
                             json_extract(body, '$.ProposeRules.rules.version')),
                    CASE kind WHEN 'approve_rules' THEN body END
             FROM commands WHERE kind IN ('install_rules', 'propose_rules', 'approve_rules')
             ORDER BY sequence DESC LIMIT ?1",
        )?;
        let rows = statement.query_map(params![limit], |row| {
            Ok(RulesInstall {
                sequence: row.get(0)?,
                time_ms: row.get(1)?,
                result: row.get(2)?,
                key_id: row.get(3)?,
                kind: row.get(4)?,
                version: row.get(5)?,
                // Ids are u64: read from the JSON text, not through SQLite's JSON numbers (i64 or real).
                proposal: row.get::<_, Option<String>>(6)?.and_then(|body| {
                    serde_json::from_str::<serde_json::Value>(&body).ok()?["ApproveRules"]["proposal"].as_u64()
                }),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Filters of the decisions explorer; every one present must hold.
#[derive(Clone, Debug, Default)]
pub struct ExploreQuery {
    /// `allow`, `challenge`, `review` or `deny`.
    pub decision: Option<String>,
    /// The command kind (`pay`, `transfer`, ...).
    pub kind: Option<String>,
    /// A rule that fired (active or shadow).
    pub rule: Option<String>,
    /// The user the command names.
    pub user: Option<u64>,
    /// The merchant the command names.
    pub merchant: Option<u64>,
    /// Only sequences below this (the previous page's last); none for the newest.
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

impl ReadModel {
    /// One page of notable decisions, newest first. The query is walked along the index of its
    /// most selective filter (a rule's, a user's, a merchant's, a kind's or a decision's, by
    /// sequence), so a page costs the rows it reads, not the table.
    pub fn explore(&self, query: &ExploreQuery) -> Result<Vec<DecisionEntry>, ReadModelError> {
        use rusqlite::types::Value as Sql;
        let mut sql = String::from(
            "SELECT d.sequence, d.command_id, d.kind, d.time_ms, d.decision, d.score, d.rules_version, d.evidence,
                    c.key_id
             FROM decisions d JOIN commands c ON c.sequence = d.sequence",
        );
        // With a rule, the walk goes down that rule's (rule, sequence) index, else down the
        // decisions' own.
        let order = if query.rule.is_some() { "r.sequence" } else { "d.sequence" };
        let mut conditions = vec![format!("{order} < ?")];
        let mut values = vec![Sql::Integer(query.before.unwrap_or(i64::MAX))];
        if let Some(rule) = &query.rule {
            sql.push_str(" JOIN decision_rules r ON r.sequence = d.sequence");
            conditions.push("r.rule = ?".to_owned());
            values.push(Sql::Text(rule.clone()));
        }
        let mut filter = |column: &str, value: Option<Sql>| {
            if let Some(value) = value {
                conditions.push(format!("d.{column} = ?"));
                values.push(value);
            }
        };
        filter("decision", query.decision.clone().map(Sql::Text));
        filter("kind", query.kind.clone().map(Sql::Text));
        filter("user_id", query.user.map(|id| Sql::Integer(id as i64)));
        filter("merchant_id", query.merchant.map(|id| Sql::Integer(id as i64)));
        sql.push_str(&format!(" WHERE {} ORDER BY {order} DESC LIMIT {}", conditions.join(" AND "), query.limit));
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), decision_entry)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The notable decision on the command at `sequence`.
    pub fn decision_at(&self, sequence: i64) -> Result<Option<DecisionEntry>, ReadModelError> {
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection.prepare_cached(
            "SELECT d.sequence, d.command_id, d.kind, d.time_ms, d.decision, d.score, d.rules_version, d.evidence,
                    c.key_id
             FROM decisions d JOIN commands c ON c.sequence = d.sequence WHERE d.sequence = ?1",
        )?;
        Ok(statement.query_row(params![sequence], decision_entry).optional()?)
    }
}

/// A decision row (`sequence, command_id, kind, time_ms, decision, score, rules_version,
/// evidence, key_id`) as an entry.
fn decision_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionEntry> {
    let evidence: String = row.get(7)?;
    Ok(DecisionEntry {
        sequence: row.get(0)?,
        command_id: row.get::<_, i64>(1)? as u64,
        kind: row.get(2)?,
        time_ms: row.get(3)?,
        decision: row.get(4)?,
        score: row.get(5)?,
        rules_version: row.get(6)?,
        evidence: serde_json::from_str(&evidence).unwrap_or(serde_json::Value::String(evidence)),
        key_id: row.get(8)?,
    })
}

/// One rules install, proposal or approval in the journal, as the read model holds it.
#[derive(Clone, Debug)]
pub struct RulesInstall {
    /// Its journal sequence.
    pub sequence: i64,
    /// When it was applied, ms since the epoch.
    pub time_ms: i64,
    /// `accepted`, or the refusal's code.
    pub result: String,
    /// The key that sent it.
    pub key_id: Option<String>,
    /// `install_rules`, `propose_rules` or `approve_rules`.
    pub kind: String,
    /// The file's version (an install's or a proposal's).
    pub version: Option<i64>,
    /// The proposal an approval approves.
    pub proposal: Option<u64>,
}

/// A query for notable risk decisions.
#[derive(Clone, Debug)]
pub struct DecisionQuery {
    /// Inclusive lower time bound, ms.
    pub from_ms: i64,
    /// Exclusive upper time bound, ms.
    pub to_ms: i64,
    /// Only decisions with a larger journal sequence.
    pub after_sequence: i64,
    /// Only this decision (`allow`, `challenge`, `review`, `deny`).
    pub decision: Option<String>,
    /// Page size.
    pub limit: u32,
}

/// A notable risk decision from the read model.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DecisionEntry {
    /// Journal sequence of the scored command.
    pub sequence: i64,
    /// Its command id.
    pub command_id: u64,
    /// Its kind (`pay`, `transfer`, ...).
    pub kind: String,
    /// When it was applied, ms since the epoch.
    pub time_ms: i64,
    /// `allow`, `challenge`, `review` or `deny`.
    pub decision: String,
    /// Score of the active rules that fired.
    pub score: i64,
    /// Rules version in force.
    pub rules_version: i64,
    /// The whole decision: reasons, fired rules (active and shadow), feature readings, actions.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// The key id that sent the scored command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}
