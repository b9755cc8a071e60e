//! Recovery through the real journal files: whatever the batch sizes, snapshot points and torn
//! tails, snapshot + journal tail rebuilds the state the writer had, bit for bit.

mod common;

use engine::Engine;
use journal::{Journal, JournalOptions};
use model::kind;
use model::{
    Amount, Command, CommandId, CommandKind, Currency, Funding, IdentityLevel, MerchantCategory, MerchantId,
    MerchantVerification, UserId, codec,
};
use proptest::prelude::*;
use server::store::{self, DataDir};

fn small_segments() -> JournalOptions {
    JournalOptions { segment_max_bytes: 2_048, ..JournalOptions::default() }
}

fn setup() -> Vec<CommandKind> {
    let mut kinds: Vec<CommandKind> = (0..4)
        .map(|user| {
            CommandKind::OpenUser(kind::OpenUser {
                user: UserId(user),
                currency: Currency::CNY,
                identity: IdentityLevel::Basic,
            })
        })
        .collect();
    kinds.push(CommandKind::OpenMerchant(kind::OpenMerchant {
        merchant: MerchantId(0),
        currency: Currency::CNY,
        category: MerchantCategory::Recharge,
        verification: MerchantVerification::Uncertified,
        partner: false,
    }));
    kinds.extend(
        (0..4)
            .map(|user| CommandKind::SetCreditLimit(kind::SetCreditLimit { user: UserId(user), limit_minor: 50_000 })),
    );
    kinds
}

/// A command over four users and one merchant: spending, refunds of earlier ids, transfers.
fn kind_strategy() -> impl Strategy<Value = CommandKind> {
    let amount = (1u64..3_000).prop_map(|minor| Amount::new(minor).expect("positive"));
    let user = (0u64..4).prop_map(UserId);
    prop_oneof![
        (user.clone(), amount.clone()).prop_map(|(user, amount)| CommandKind::TopUp(kind::TopUp { user, amount })),
        (user.clone(), 0u64..3_000, 0u64..1_000).prop_map(|(user, credit_minor, balance_minor)| CommandKind::Pay(
            kind::Pay { user, merchant: MerchantId(0), funding: Funding { credit_minor, balance_minor } }
        )),
        (0u64..200, amount.clone()).prop_map(|(payment, amount)| CommandKind::Refund(kind::Refund {
            payment: CommandId(payment),
            merchant: MerchantId(0),
            amount
        })),
        (user.clone(), user, amount).prop_map(|(from, to, amount)| CommandKind::Transfer(kind::Transfer {
            from,
            to,
            amount
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn snapshot_plus_journal_tail_rebuilds_the_live_state(
        kinds in proptest::collection::vec(kind_strategy(), 1..200),
        batch_sizes in proptest::collection::vec(1usize..40, 1..20),
        snapshot_after_batch in 0usize..20,
        torn_bytes in 0usize..30,
        retry_ids in proptest::collection::vec(0u64..200, 0..10),
    ) {
        let directory = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::new(directory.path());
        let (mut journal, _) = Journal::open(data_dir.storage(), &data_dir.journal(), small_segments(), &[]).expect("opens");
        let snapshots = data_dir.snapshot_store().expect("opens");
        let mut commands: Vec<Command> = setup().into_iter().chain(kinds).enumerate()
            .map(|(index, kind)| Command { actor: model::ActorId::SERVER, initiator: model::Initiator::Platform, id: CommandId(index as u64), time_ms: 1_000 + index as u64, kind })
            .collect();
        // Retries of earlier ids, with the same body, mixed in at the end.
        let retries: Vec<Command> = retry_ids.iter().filter_map(|id| commands.get(*id as usize).cloned()).collect();
        commands.extend(retries);

        let mut live = Engine::default();
        let mut rest = commands.as_slice();
        for (batch_index, size) in batch_sizes.iter().cycle().enumerate() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*size).min(rest.len()));
            rest = tail;
            live.apply_batch(batch, &mut Vec::new(), &mut Vec::new());
            let mut payload = Vec::new();
            codec::encode_batch(batch, &mut payload);
            journal.append(&payload, batch.len() as u32).expect("appends");
            if batch_index == snapshot_after_batch {
                snapshots.save(journal.next_sequence(), &live.snapshot()).expect("snapshot saved");
            }
        }
        live.check_invariants().map_err(TestCaseError::fail)?;
        let end = journal.next_sequence();
        drop(journal);

        // A torn write after the last acknowledged record must not change anything.
        if torn_bytes > 0 {
            let last = std::fs::read_dir(data_dir.journal()).expect("lists").map(|entry| entry.expect("entry").path())
                .filter(|path| path.extension().is_some_and(|extension| extension == "log")).max().expect("a segment");
            let mut file = std::fs::OpenOptions::new().append(true).open(last).expect("opens");
            std::io::Write::write_all(&mut file, &b"CLJ1\xff\xff\x00\x00garbage-tail-bytes-here"[..torn_bytes.min(27)]).expect("writes");
        }
        let recovered = store::recover(&data_dir, small_segments()).expect("recovers");
        prop_assert_eq!(recovered.report.next_sequence, end);
        prop_assert_eq!(recovered.engine.state_hash(), live.state_hash());
        let (from_scratch, _, _) = store::rebuild(&data_dir, 0, end, true, &mut |_| {}).expect("replays");
        prop_assert_eq!(from_scratch.state_hash(), live.state_hash());
    }
}

/// A snapshot written by another build's format (an upgrade) is passed over: recovery replays the
/// whole journal and reaches the same state.
#[test]
fn a_snapshot_of_another_format_version_is_replayed_past() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::new(directory.path());
    let (mut journal, _) =
        Journal::open(data_dir.storage(), &data_dir.journal(), JournalOptions::default(), &[]).expect("opens");
    let commands: Vec<Command> = setup()
        .into_iter()
        .enumerate()
        .map(|(index, kind)| Command {
            actor: model::ActorId::SERVER,
            initiator: model::Initiator::Platform,
            id: CommandId(index as u64),
            time_ms: 1_000 + index as u64,
            kind,
        })
        .collect();
    let mut live = Engine::default();
    live.apply_batch(&commands, &mut Vec::new(), &mut Vec::new());
    let mut payload = Vec::new();
    codec::encode_batch(&commands, &mut payload);
    journal.append(&payload, commands.len() as u32).expect("appends");
    let end = journal.next_sequence();
    drop(journal);
    // The version is the snapshot's first field, one varint byte.
    let mut snapshot = live.snapshot();
    assert_eq!(u32::from(snapshot[0]), engine::SNAPSHOT_VERSION);
    snapshot[0] -= 1;
    data_dir.snapshot_store().expect("opens").save(end, &snapshot).expect("saved");

    let recovered = store::recover(&data_dir, JournalOptions::default()).expect("recovers");
    assert_eq!(recovered.report.snapshot_sequence, None, "the old snapshot is not used");
    assert_eq!(recovered.report.replayed_commands, end - 1);
    assert_eq!(recovered.engine.state_hash(), live.state_hash());
}

/// Bug: a full disk made the writer exit the process at once: the requests in flight got no
/// reply at all. Now they get 503 (nothing acknowledged), the server stops with a storage fault
/// (the binary exits 70), and recovery holds exactly what was acknowledged.
#[test]
fn a_full_disk_answers_503_in_flight_and_stops_with_a_storage_fault() {
    use journal::{Fault, MemoryStorage};
    let directory = tempfile::tempdir().expect("temp dir");
    let storage = MemoryStorage::new();
    let (key, _) =
        server::auth::create_key(&directory.path().join("keys.json"), server::auth::Role::Admin, None).expect("a key");
    let journal = JournalOptions { free_bytes_min: 0, ..JournalOptions::default() };
    let config = common::serve_config(directory.path(), storage.clone(), journal);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let served = runtime.spawn(server::serve_on(listener, config, std::future::pending()));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let post = |path: &str, body: serde_json::Value| {
        let mut response = agent
            .post(&format!("{base}{path}"))
            .header("authorization", &format!("Bearer {key}"))
            .header("content-type", "application/json")
            .send(body.to_string())
            .expect("the server answers");
        let text = response.body_mut().read_to_string().expect("a body");
        (response.status().as_u16(), text)
    };
    let user = serde_json::json!({"command_id": 1, "user_id": 1, "currency": "CNY", "identity": "full"});
    assert_eq!(post("/v1/users", user).0, 200);
    storage.inject(Fault::DiskFull(storage.used_bytes()));
    let top_up = serde_json::json!({"command_id": 2, "user_id": 1, "amount_minor": 500});
    let (status, body) = post("/v1/top-ups", top_up);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("nothing in this request was acknowledged"), "{body}");
    let stopped = runtime.block_on(served).expect("the server task ends");
    let error = stopped.expect_err("the server stops on the fault");
    assert!(error.downcast_ref::<server::StorageFault>().is_some(), "{error:#}");
    assert!(format!("{error:#}").contains("No space left"), "{error:#}");

    storage.clear_faults();
    storage.crash(|_, _| 0);
    let data_dir = DataDir::with_storage(directory.path(), storage.clone());
    let recovered =
        store::recover(&data_dir, JournalOptions { free_bytes_min: 0, ..JournalOptions::default() }).expect("recovers");
    assert_eq!(recovered.report.next_sequence, 2, "the user is durable, the refused top-up is not");
}
