//! The console's read paths at platform size: the review queue over an engine holding 100,000
//! open cases, and the decisions explorer over a read model of 10,000,000 notable decisions.
//! Prints p50 / p99 / max per query shape, server-side (no HTTP), one core.
//!
//! `cargo bench -p server --bench console` (sizes: `CONSOLE_BENCH_CASES`,
//! `CONSOLE_BENCH_DECISIONS`). Target (issue 18): p99 ≤ 100 ms for every shape.

use engine::Engine;
use model::risk::RuleSet;
use model::{Command, CommandId, CommandKind, Currency, Funding, IdentityLevel, MerchantId, UserId, kind};
use server::console::{ExplorerQuery, QueueQuery, read_queue};
use server::projector::ReadModel;
use std::time::{Duration, Instant};

const RULES: &str = r#"
version = 1
[decision]
challenge_at = 50
review_at = 50
deny_at = 1000
challenge_ttl_ms = 600000

[[rules]]
id = "every_credit_purchase"
description = "Holds every credit purchase for review, to fill the queue."
applies_to = ["pay"]
expression = "event.credit_minor > 0"
score = 60
reason = "review_all"
status = "active"
"#;

/// A sparse 64-bit id for `n`, as a platform's are.
fn sparse(n: u64) -> u64 {
    (n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1) | 1
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// p50, p99 and max of `runs` calls of `query`, and what the last returned.
fn measure<T>(runs: usize, mut query: impl FnMut(usize) -> T) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for run in 0..runs {
        let started = Instant::now();
        last = Some(std::hint::black_box(query(run)));
        times.push(started.elapsed());
    }
    times.sort();
    let at = |share: f64| times[((times.len() - 1) as f64 * share) as usize];
    (at(0.5), at(0.99), *times.last().expect("runs"), last.expect("runs"))
}

fn report(shape: &str, (p50, p99, max, rows): (Duration, Duration, Duration, usize)) {
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!("{shape:<48} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  ({rows} rows)", ms(p50), ms(p99), ms(max));
}

/// An engine with `cases` open cases: that many users, each with one credit purchase held.
fn engine_with_cases(cases: u64) -> Engine {
    let mut engine = Engine::default();
    let (mut next_id, mut time_ms) = (0u64, 1_767_196_800_000u64);
    let mut command = |kind: CommandKind| {
        next_id += 1;
        time_ms += 1;
        Command {
            id: CommandId(sparse(next_id)),
            time_ms,
            actor: model::ActorId(1),
            initiator: model::Initiator::Platform,
            kind,
        }
    };
    let rules: RuleSet = toml::from_str(RULES).expect("the bench rules parse");
    let mut setup = vec![command(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules) }))];
    for merchant in 0..1_000 {
        setup.push(command(CommandKind::OpenMerchant(kind::OpenMerchant {
            merchant: MerchantId(sparse(merchant)),
            currency: Currency::CNY,
            category: model::MerchantCategory::PhysicalGoods,
            verification: model::MerchantVerification::Certified,
            partner: false,
        })));
    }
    engine.apply_batch(&setup, &mut Vec::new(), &mut Vec::new());
    for chunk in (0..cases).collect::<Vec<_>>().chunks(8_192) {
        let mut batch = Vec::with_capacity(chunk.len() * 3);
        for &user in chunk {
            let id = UserId(sparse(1_000_000 + user));
            let open = kind::OpenUser { user: id, currency: Currency::CNY, identity: IdentityLevel::Full };
            batch.push(command(CommandKind::OpenUser(open)));
            batch.push(command(CommandKind::SetCreditLimit(kind::SetCreditLimit { user: id, limit_minor: 1_000_000 })));
            let funding = Funding { credit_minor: 1_000 + user % 90_000, balance_minor: 0 };
            let merchant = MerchantId(sparse(user % 1_000));
            batch.push(command(CommandKind::Pay(kind::Pay { user: id, merchant, funding })));
        }
        engine.apply_batch(&batch, &mut Vec::new(), &mut Vec::new());
    }
    engine
}

/// A read model with `decisions` notable decisions over 1,000,000 users, 20,000 merchants, 40
/// rules and five kinds.
fn read_model_with_decisions(path: &std::path::Path, decisions: u64) -> ReadModel {
    drop(ReadModel::open(path).expect("creates the read model"));
    let mut connection = rusqlite::Connection::open(path).expect("opens it");
    connection.execute_batch("PRAGMA synchronous = OFF;").expect("pragma");
    let kinds = ["pay", "authorize", "transfer", "withdraw_to_bank", "request_withdrawal"];
    let verdicts = ["challenge", "review", "deny", "allow", "allow"];
    let transaction = connection.transaction().expect("a transaction");
    {
        let mut command = transaction
            .prepare("INSERT INTO commands (sequence, command_id, kind, time_ms, result, body, key_id) VALUES (?1, ?2, ?3, ?4, 'accepted', '{}', NULL)")
            .expect("prepares");
        let mut decision = transaction
            .prepare("INSERT INTO decisions (sequence, command_id, kind, time_ms, decision, score, rules_version, evidence, user_id, merchant_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9)")
            .expect("prepares");
        let mut fired =
            transaction.prepare("INSERT INTO decision_rules (rule, sequence) VALUES (?1, ?2)").expect("prepares");
        for sequence in 1..=decisions as i64 {
            let n = sequence as u64;
            let kind = kinds[(n % 5) as usize];
            let time_ms = 1_767_196_800_000 + sequence * 10;
            command.execute(rusqlite::params![sequence, sparse(n) as i64, kind, time_ms]).expect("inserts");
            let rule = format!("rule_{}", n.wrapping_mul(7) % 40);
            let evidence = format!(
                r#"{{"kind":"review","score":60,"fired":[{{"rule":"{rule}","reason":"r","score":60,"shadow":false}}]}}"#
            );
            let (user, merchant) = (sparse(n % 1_000_000) as i64, sparse(n % 20_000) as i64);
            let verdict = verdicts[(sparse(n) % 5) as usize];
            decision
                .execute(rusqlite::params![
                    sequence,
                    sparse(n) as i64,
                    kind,
                    time_ms,
                    verdict,
                    60,
                    evidence,
                    user,
                    merchant
                ])
                .expect("inserts");
            fired.execute(rusqlite::params![rule, sequence]).expect("inserts");
        }
    }
    transaction.commit().expect("commits");
    drop(connection);
    ReadModel::open(path).expect("reopens the read model")
}

fn main() {
    let (cases, decisions) = (env("CONSOLE_BENCH_CASES", 100_000), env("CONSOLE_BENCH_DECISIONS", 10_000_000));
    let runs = 200;

    let started = Instant::now();
    let engine = engine_with_cases(cases);
    let open = engine.cases_after(CommandId(0)).count();
    println!("engine: {open} open cases, built in {:.1} s", started.elapsed().as_secs_f64());
    let middle = engine.cases_after(CommandId(0)).nth(open / 2).map_or(0, |(id, _)| id.0);
    let shapes: [(&str, QueueQuery); 6] = [
        ("queue: open cases, first page", QueueQuery::default()),
        ("queue: reason filter", QueueQuery { reason: Some("review_all".into()), ..QueueQuery::default() }),
        ("queue: one merchant of 1,000", QueueQuery { merchant: Some(sparse(7).to_string()), ..QueueQuery::default() }),
        ("queue: least amount 90,000 (rare)", QueueQuery { min_amount: Some("90500".into()), ..QueueQuery::default() }),
        (
            "queue: unassigned, a page from the middle",
            QueueQuery { assignee: Some("none".into()), after: Some(middle.to_string()), ..QueueQuery::default() },
        ),
        (
            "queue: rule that never fired (scans a window)",
            QueueQuery { rule: Some("no_such_rule".into()), ..QueueQuery::default() },
        ),
    ];
    for (shape, query) in shapes {
        let filters = query.parse(model::ActorId(1)).expect("valid filters");
        report(shape, measure(runs, |_| read_queue(&engine, &filters).len()));
    }

    let directory = tempfile::tempdir().expect("a temporary directory");
    let started = Instant::now();
    let read_model = read_model_with_decisions(&directory.path().join("read.sqlite"), decisions);
    println!("read model: {decisions} decisions, built in {:.1} s", started.elapsed().as_secs_f64());
    let deep = (decisions / 2).to_string();
    let shapes: [(&str, ExplorerQuery); 7] = [
        ("explorer: newest", ExplorerQuery::default()),
        ("explorer: decision = deny", ExplorerQuery { decision: Some("deny".into()), ..ExplorerQuery::default() }),
        (
            "explorer: kind = transfer, a page from the middle",
            ExplorerQuery { kind: Some("transfer".into()), before: Some(deep.clone()), ..ExplorerQuery::default() },
        ),
        ("explorer: rule = rule_3", ExplorerQuery { rule: Some("rule_3".into()), ..ExplorerQuery::default() }),
        (
            "explorer: rule + decision, from the middle",
            ExplorerQuery {
                rule: Some("rule_5".into()),
                decision: Some("review".into()),
                before: Some(deep),
                ..ExplorerQuery::default()
            },
        ),
        (
            "explorer: one user of 1,000,000",
            ExplorerQuery { user: Some(sparse(4_242).to_string()), ..ExplorerQuery::default() },
        ),
        (
            "explorer: one merchant of 20,000",
            ExplorerQuery { merchant: Some(sparse(77).to_string()), ..ExplorerQuery::default() },
        ),
    ];
    for (shape, query) in shapes {
        let query = query.parse().expect("valid filters");
        report(shape, measure(runs, |_| read_model.explore(&query).expect("a page").len()));
    }
}
