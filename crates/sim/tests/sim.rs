//! The simulator, the event format, the converter and the evaluator, through their public API.

use engine::Engine;
use model::kind;
use model::risk::{Tie, TieKind};
use model::{Command, CommandKind, IdentityLevel, MerchantId, UserId};
use sim::events::{self, Body, Event};
use sim::population::{Config, Mix, Simulator};

fn small(seed: u64) -> Config {
    Config { users: 600, merchants: 40, days: 20, seed, mix: Mix::default(), adversarial: false }
}

fn adversarial(seed: u64) -> Config {
    Config { adversarial: true, days: 40, ..small(seed) }
}

fn file(config: Config) -> Vec<u8> {
    let mut out = Vec::new();
    events::write_header(&mut out).unwrap();
    Simulator::new(config).run(&mut |event| events::write_event(&mut out, &event).unwrap());
    out
}

#[test]
fn the_same_seed_writes_the_same_file_and_another_seed_another() {
    for population in [small, adversarial] {
        let (first, again, other) = (file(population(7)), file(population(7)), file(population(8)));
        assert!(first.len() > 50_000, "a real population: {} bytes", first.len());
        assert_eq!(xxhash(&first), xxhash(&again), "same seed, same bytes");
        assert_ne!(xxhash(&first), xxhash(&other));
    }
    assert_ne!(xxhash(&file(small(7))), xxhash(&file(adversarial(7))), "variants change the population");
}

fn xxhash(bytes: &[u8]) -> u64 {
    // FNV-1a: enough to compare two files here.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn every_simulated_event_parses_back_and_maps_onto_commands() {
    for population in [small, adversarial] {
        every_event_parses_back_and_maps_onto_commands(population(3));
    }
}

fn every_event_parses_back_and_maps_onto_commands(config: Config) {
    let bytes = file(config);
    let mut simulated = Vec::new();
    Simulator::new(config).run(&mut |event| simulated.push(event));
    let read: Vec<Event> = events::read(&bytes[..]).map(|item| item.expect("parses").1).collect();
    assert!(read == simulated, "every event reads back equal to what was written");
    let mut count = 0;
    let mut labels = std::collections::BTreeSet::new();
    let mut last_time = 0;
    for item in events::read(&bytes[..]) {
        let (line, event) = item.unwrap_or_else(|error| panic!("{error}"));
        let mut commands = Vec::new();
        event.append_commands(line, &mut commands).expect("maps onto commands");
        assert!(!commands.is_empty());
        assert!(event.time_ms >= last_time, "events come in time order: line {line} {event:?} after {last_time}");
        last_time = event.time_ms;
        labels.extend(event.label);
        count += 1;
    }
    assert_eq!(count, bytes.iter().filter(|byte| **byte == b'\n').count() - 1, "every line but the header");
    for typology in std::iter::once("honest").chain(model::risk::Typology::SCHEMES.map(|scheme| scheme.name())) {
        assert!(labels.contains(typology), "{typology} is simulated: {labels:?}");
    }
}

/// Adversarial schemes move money through accounts opened days ahead, relays and twins: every
/// account an event names is open by then, and nearly every scheme move finds the money it sends
/// (a refund may still name a payment the ledger refused, as in any population).
#[test]
fn adversarial_schemes_name_only_open_accounts_and_mostly_funded_moves() {
    let mut simulated = Vec::new();
    Simulator::new(Config { users: 2_000, ..adversarial(11) }).run(&mut |event| simulated.push(event));
    let mut engine = Engine::default();
    let product = toml::from_str(include_str!("../../../products/huabei.toml")).unwrap();
    let install = Command {
        id: model::CommandId(u64::MAX),
        time_ms: simulated[0].time_ms,
        actor: model::ActorId::SERVER,
        initiator: model::Initiator::Platform,
        kind: CommandKind::InstallProduct(kind::InstallProduct { product: Box::new(product), effective_at_ms: None }),
    };
    engine.apply(&install, 0, &mut Vec::new()).unwrap();
    let (mut moved, mut unfunded) = (0u64, 0u64);
    for (index, event) in simulated.iter().enumerate() {
        let mut commands = Vec::new();
        event.append_commands(index + 2, &mut commands).unwrap();
        let outcomes: Vec<_> = commands.iter().map(|command| engine.apply(command, 0, &mut Vec::new())).collect();
        let outcome = outcomes[0];
        let named_unknown = matches!(outcome, Err(model::Rejection::UnknownUser | model::Rejection::UnknownMerchant));
        assert!(!named_unknown, "line {}: {event:?}: {outcome:?}", index + 2);
        let scheme = event.label.as_deref().is_some_and(|label| label != events::HONEST);
        let moves = matches!(
            event.body,
            Body::Payout { .. } | Body::MerchantTransfer { .. } | Body::CashOut { .. } | Body::Transfer { .. }
        );
        if scheme && moves {
            moved += 1;
            unfunded += u64::from(outcome.is_err());
        }
    }
    engine.check_invariants().unwrap();
    assert!(moved > 200, "schemes move money: {moved}");
    // A leg whose draw the ledger refused (the line was used up) still runs: the schemes are open-loop.
    assert!(unfunded * 8 < moved, "{unfunded} of {moved} scheme moves found no money");
}

/// Lines read in place from the reader's buffer and lines that span two fills of it read alike,
/// whatever the buffer's size; a last line without its end is read; a line that is not UTF-8 is
/// refused with its number.
#[test]
fn lines_read_alike_in_place_or_spanning_the_buffer() {
    let bytes = file(small(5));
    let in_place: Vec<_> = events::read(&bytes[..]).map(|item| item.expect("parses")).collect();
    for capacity in [1, 7, 64, 150, 4_096] {
        let small_buffer = std::io::BufReader::with_capacity(capacity, &bytes[..]);
        let spanning: Vec<_> = events::read(small_buffer).map(|item| item.expect("parses")).collect();
        assert!(spanning == in_place, "a {capacity}-byte buffer reads the same events");
    }
    let unterminated = &bytes[..bytes.len() - 1];
    assert_eq!(events::read(unterminated).count(), in_place.len(), "the last line needs no end");
    let mut broken = b"{\"format\":\"creditline-events\",\"version\":1}\n".to_vec();
    broken.extend_from_slice(b"{\"id\":1,\"time_ms\":5,\"type\":\"t\xffck\"}\n");
    let error = events::read(&broken[..]).next().expect("a line").expect_err("not UTF-8");
    assert!(error.line == 2 && error.message.contains("UTF-8"), "{error}");
}

#[test]
fn bad_lines_are_refused_with_their_number() {
    let text = "{\"format\":\"creditline-events\",\"version\":1}\n{\"id\":1,\"time_ms\":5,\"type\":\"tick\"}\n{\"id\":2,\"time_ms\":6,\"type\":\"pay\",\"user\":1}\n";
    let results: Vec<_> = events::read(text.as_bytes()).collect();
    assert!(results[0].is_ok());
    let error = results[1].as_ref().expect_err("a pay without a merchant");
    assert_eq!(error.line, 3);
    assert!(error.message.contains("merchant"), "{error}");
    // Windows line ends and blank lines are read the same; numbers count every line.
    let crlf = text.replace('\n', "\r\n\r\n");
    let results: Vec<_> = events::read(crlf.as_bytes()).collect();
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert_eq!(results[1].as_ref().expect_err("the same bad pay").line, 5);
    let wrong = events::read("{\"format\":\"other\",\"version\":9}\n".as_bytes()).next().unwrap();
    assert!(wrong.expect_err("another format").message.contains("creditline-events version 1"));
    let body = Body::TopUp { user: 1, amount_minor: 0, agent: None };
    let zero = Event::new(1, 1, body);
    let mut commands = Vec::new();
    let error = zero.append_commands(4, &mut commands).expect_err("zero amount");
    assert!(error.to_string().starts_with("line 4: amount_minor") && commands.is_empty(), "{error}");
    // An opening's ties take command ids derived from its low 48 bits: a larger id is refused
    // rather than colliding, and every derived id is an int64 the API takes.
    let tie = Tie { kind: TieKind::Phone, token: 7 };
    let opening = |id| {
        let ties = vec![tie];
        Event::new(
            id,
            1,
            Body::OpenUser { user: 1, currency: "CNY".into(), identity: IdentityLevel::Full, ties, balance_minor: 0 },
        )
    };
    let error = opening(1 << 48).append_commands(5, &mut commands).expect_err("too large for ties");
    assert!(error.to_string().contains("below 281474976710656") && commands.is_empty(), "{error}");
    opening((1 << 48) - 1).append_commands(6, &mut commands).expect("fits");
    assert!(commands.iter().all(|command| command.id.0 <= i64::MAX as u64) && commands.len() == 2);
    // A merchant's transfer to a user reads and becomes its command.
    let line = r#"{"id":5,"time_ms":9,"type":"merchant_transfer","merchant":3,"to":4,"amount_minor":250}"#;
    let event = events::parse_line(line).expect("a merchant transfer");
    assert_eq!(event.body, Body::MerchantTransfer { merchant: 3, to: 4, amount_minor: 250 });
    // A scheme step names the step it needs, on the fast path and the general one alike.
    let line = r#"{"id":6,"time_ms":9,"type":"cash_out","user":4,"amount_minor":250,"after":5}"#;
    let step = events::parse_line(line).expect("a step with `after`");
    assert_eq!(step.after, Some(5));
    let general = line.replace('}', r#","label":"诚实"}"#);
    assert_eq!(events::parse_line(&general).expect("read by serde_json").after, Some(5));
    assert!(serde_json::to_string(&step).expect("writes").contains(r#""after":5"#));
    let mut commands = Vec::new();
    event.append_commands(7, &mut commands).expect("maps");
    assert!(
        matches!(
            commands[..],
            [Command {
                kind: CommandKind::MerchantTransfer(kind::MerchantTransfer {
                    merchant: MerchantId(3),
                    to: UserId(4),
                    ..
                }),
                ..
            }]
        ),
        "{commands:?}"
    );
    // A type spelt with an escape reads like any other.
    let escaped =
        "{\"format\":\"creditline-events\",\"version\":1}\n{\"id\":1,\"time_ms\":5,\"type\":\"ti\\u0063k\"}\n";
    let (_, tick) = events::read(escaped.as_bytes()).next().expect("a line").expect("parses");
    assert_eq!(tick.body, Body::Tick);
}

#[test]
fn a_converted_wallet_log_replays_with_the_balances_it_states() {
    let log = include_str!("fixtures/wallet.csv");
    let converted = sim::convert::wallet_csv(log.as_bytes()).expect("the fixture converts").events;
    let mut engine = Engine::default();
    let mut names = std::collections::BTreeMap::new();
    for (index, event) in converted.iter().enumerate() {
        let mut commands = Vec::new();
        event.append_commands(index + 1, &mut commands).unwrap();
        for command in commands {
            let outcome = engine.apply(&command, 0, &mut Vec::new());
            assert!(outcome.is_ok(), "{event:?}: {outcome:?}");
        }
    }
    // Users are numbered in order of first appearance, as the converter opens them.
    for line in log.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        for name in [fields[3]].into_iter().chain((fields[1] == "TRANSFER").then_some(fields[6])) {
            let next = names.len() as u64 + 1;
            names.entry(name.to_owned()).or_insert(next);
        }
    }
    let stated = sim::convert::stated_balances(log.as_bytes()).unwrap();
    assert_eq!(stated.len(), 5, "C1231006815, C1666544295, C1305486145, C553264065, C712410124");
    // An account whose first row states a balance existed before the log: it is a year old at
    // the first row; one first seen empty (the transfer's payee) opens at its row.
    let opened = |name: &str| engine.user(UserId(names[name])).expect("opened").account.opened_at_ms;
    assert_eq!(opened("C1231006815"), sim::population::START_MS - sim::convert::PREEXISTING_MS);
    assert!(opened("C553264065") > sim::population::START_MS);
    let ids: Vec<u64> = converted.iter().map(|event| event.id).collect();
    assert!(ids.windows(2).all(|pair| pair[1] == pair[0] + 1) && ids[0] == 1, "ids stay 1, 2, 3…");
    assert!(converted.windows(2).all(|pair| pair[0].time_ms <= pair[1].time_ms), "events stay in time order");
    for (name, balance_minor) in stated {
        let user = engine.user(UserId(names[&name])).expect("opened");
        assert_eq!(user.account.balance_minor, balance_minor, "{name}");
    }
    engine.check_invariants().unwrap();
    // The published Kaggle file has a last column, isFlaggedFraud: a row the log's platform
    // blocked (the payer's balance unchanged) moved nothing and becomes a refused attempt; a row
    // of amount zero is skipped, counted.
    let kaggle = format!(
        "{},isFlaggedFraud\n{}\n{}\n{}\n{}\n",
        log.lines().next().unwrap(),
        "1,TRANSFER,250000.00,C9,250000.00,250000.00,C10,0.00,0.00,1,1",
        "1,PAYMENT,0.00,C11,5.00,5.00,M1,0.00,0.00,0,0",
        "1,TRANSFER,0.00,C11,5.00,5.00,C10,0.00,0.00,0,1",
        "2,TRANSFER,40.00,C12,100.00,60.00,C13,0.00,40.00,0,0",
    );
    let converted = sim::convert::wallet_csv(kaggle.as_bytes()).expect("the Kaggle shape converts");
    let skipped: Vec<_> = converted.skipped.iter().map(|(reason, rows)| (*reason, *rows)).collect();
    // A flagged row of amount zero is skipped, not also counted as an attempt.
    assert_eq!((skipped, converted.refused), (vec![(sim::convert::ZERO_AMOUNT, 2)], 1));
    let transfers: Vec<bool> = converted
        .events
        .iter()
        .filter(|event| matches!(event.body, Body::Transfer { .. }))
        .map(|event| event.refused)
        .collect();
    assert_eq!(transfers, [true, false], "the blocked transfer is an attempt, the other executed");
    let mut engine = Engine::default();
    for event in &converted.events {
        let mut commands = Vec::new();
        event.append_commands(1, &mut commands).unwrap();
        for command in &commands {
            engine.apply(command, 0, &mut Vec::new()).expect("applies");
        }
    }
    let blocked_payer = engine.user(UserId(names_of(&converted.events)[0])).expect("C9 opened");
    assert_eq!(blocked_payer.account.balance_minor, 25_000_000, "the blocked transfer moved nothing");
    assert!(blocked_payer.risk.refused_at_ms.is_some(), "but the attempt is on record");
    // PaySim 2's raw log: renamed columns, amounts with more decimals (rounded to the cent) and
    // overdrawn (negative) balances, which hold nothing.
    let paysim2 = "step,action,amount,nameOrig,oldBalanceOrig,newBalanceOrig,nameDest,oldBalanceDest,\
                   newBalanceDest,isFraud,isFlaggedFraud,isUnauthorizedOverdraft\n\
                   0,CASH_IN,100.005,C1,0.0,100.005,M1,0.0,0.0,0,0,0\n\
                   1,TRANSFER,12.345000000000001,C2,-3.5,-15.845,C1,100.005,112.35,0,0,1\n";
    let converted = sim::convert::wallet_csv(paysim2.as_bytes()).expect("the PaySim 2 shape converts");
    let amounts: Vec<u64> = converted.events.iter().map(Event::amount_minor).filter(|minor| *minor > 0).collect();
    assert_eq!(amounts, [10_001, 1_235], "100.005 and 12.345… rounded half up; C2 overdrawn opens empty");
    let bad = "step,type\n1,PAYMENT\n";
    assert_eq!(sim::convert::wallet_csv(bad.as_bytes()).unwrap_err().line, 1);
    let header = log.lines().next().unwrap();
    let unknown = format!("{header}\n1,REFUND,1.00,C1,5.00,4.00,M1,0,0,0\n");
    assert!(sim::convert::wallet_csv(unknown.as_bytes()).unwrap_err().message.contains("unknown type"));
}

#[test]
fn the_evaluation_scores_labels_and_is_reproducible() {
    let rules = toml::from_str(include_str!("../../../rules/default.toml")).unwrap();
    let product = toml::from_str(include_str!("../../../products/huabei.toml")).unwrap();
    let run = || {
        let mut collected = Vec::new();
        Simulator::new(small(5)).run(&mut |event| collected.push(event));
        let items = collected.into_iter().enumerate().map(|(index, event)| Ok((index + 2, event)));
        sim::evaluate::evaluate(items, Clone::clone(&product), Clone::clone(&rules), &mut |_| {}).unwrap()
    };
    let (first, second) = (run(), run());
    assert_eq!((first.overall.clone(), first.labels.clone()), (second.overall.clone(), second.labels.clone()));
    assert!(first.overall.tp > 0 && first.honest_users > 400);
    for (label, score) in &first.labels {
        assert!(score.tp + score.fn_ > 0, "{label} has positives");
        let within = |rate: Option<f64>| rate.is_none_or(|rate| (0.0..=1.0).contains(&rate));
        assert!(within(score.recall) && within(score.precision));
    }
    for (label, accounts) in &first.accounts {
        assert!(accounts.accounts > 0 && accounts.caught <= accounts.accounts, "{label}: {accounts:?}");
        assert_eq!(accounts.median_time_to_catch_ms.is_some(), accounts.caught > 0, "{label}");
    }
    assert!(first.victims > 0, "takeover victims are honest users too");
    // Nothing flagged: precision is undefined, not 1, and recall is 0.
    let mut off: model::risk::RuleSet = Clone::clone(&rules);
    off.rules.iter_mut().for_each(|rule| rule.status = model::risk::RuleStatus::Off);
    let mut collected = Vec::new();
    Simulator::new(small(5)).run(&mut |event| collected.push(event));
    let items = collected.into_iter().enumerate().map(|(index, event)| Ok((index + 2, event)));
    let quiet = sim::evaluate::evaluate(items, Clone::clone(&product), off, &mut |_| {}).unwrap();
    assert_eq!((quiet.overall.precision, quiet.overall.recall, quiet.overall.f1), (None, Some(0.0), None));
    let html = sim::report::html(&first, "test <run>");
    assert!(html.contains("test &lt;run>") && html.contains("\"overall\""));
    assert_eq!(html.matches("</script>").count(), 2, "the data cannot close its script early");
}

/// Labels, reports and `--abuse-mix` use `Typology::name`; case labels are serde's spelling of
/// the same enum: the two agree, and a mix naming no scheme is refused with the names.
#[test]
fn typology_names_agree_with_their_json_spelling() {
    use model::risk::Typology;
    for typology in Typology::SCHEMES.into_iter().chain([Typology::Other]) {
        assert_eq!(serde_json::to_value(typology).unwrap(), typology.name());
    }
    assert_eq!(Mix::parse("ring=0.02").unwrap().ring, 0.02);
    let refused = Mix::parse("rings=0.02").expect_err("not a scheme");
    assert!(refused.contains("expected one of refund_cycling, colluding_merchant"), "{refused}");
}

/// A recharge whose value the recharge merchant credits to the payer's twin account hours later
/// is caught (`b_merchant_transfer_of_payers_credit`, whatever the merchant's other sales); the
/// same merchant's 3 % cashback to a customer passes; and a scheme payment the ledger refuses on
/// its own (far past the limit) is neither caught nor missed.
#[test]
fn a_recharge_credited_to_the_payers_twin_is_caught_and_cashback_passes() {
    let rules = toml::from_str(include_str!("../../../rules/default.toml")).unwrap();
    let product = toml::from_str(include_str!("../../../products/huabei.toml")).unwrap();
    let start = sim::population::START_MS;
    let tie = |kind, token| Tie { kind, token };
    let mut bodies = vec![Body::OpenMerchant {
        merchant: 1,
        currency: "CNY".into(),
        category: model::MerchantCategory::Recharge,
        verification: model::MerchantVerification::Certified,
        partner: false,
        ties: Vec::new(),
        owner: None,
    }];
    for user in 1..=7u64 {
        // Users 1 and 2 are one person's two accounts, on one device.
        let device = if user == 2 { 1 } else { user };
        let ties = vec![tie(TieKind::Device, 100 + device), tie(TieKind::Identity, 200 + user)];
        bodies.push(Body::OpenUser {
            user,
            currency: "CNY".into(),
            identity: IdentityLevel::Full,
            ties,
            balance_minor: 0,
        });
        bodies.push(Body::SetCreditLimit { user, limit_minor: 1_000_000 });
    }
    let mut events: Vec<Event> = bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| Event::new(index as u64 + 1, start - 40 * 86_400_000, body))
        .collect();
    let mut at = |hours: u64, body: Body, label: &str, after: Option<u64>| {
        let id = events.len() as u64 + 1;
        let time_ms = start + hours * 3_600_000;
        events.push(Event { label: Some(label.to_owned()), after, ..Event::new(id, time_ms, body) });
        id
    };
    for user in [1, 3, 4, 5, 6] {
        let pay = Body::Pay { user, merchant: 1, credit_minor: 50_000, balance_minor: 0, beneficiary: None };
        at(user, pay, if user == 1 { "self_recharge" } else { "honest" }, None);
    }
    at(9, Body::MerchantTransfer { merchant: 1, to: 3, amount_minor: 1_500 }, "honest", None);
    let credited = at(10, Body::MerchantTransfer { merchant: 1, to: 2, amount_minor: 50_000 }, "self_recharge", None);
    let far_past_the_limit =
        Body::Pay { user: 7, merchant: 1, credit_minor: 90_000_000, balance_minor: 0, beneficiary: None };
    let refused = at(11, far_past_the_limit, "ring", None);
    // Steps written ahead that need those: the twin cashing out what was never credited, and a
    // payout of what was never paid. The money never came, so neither is applied; the first was
    // stopped by the risk engine, the second by the ledger alone.
    at(12, Body::CashOut { user: 2, amount_minor: 50_000, agent: None }, "self_recharge", Some(credited));
    at(13, Body::Payout { merchant: 1, amount_minor: 1_000 }, "ring", Some(refused));
    let items = events.into_iter().enumerate().map(|(index, event)| Ok((index + 2, event)));
    let evaluation = sim::evaluate::evaluate(items, product, rules, &mut |_| {}).unwrap();
    let fired = |rule: &str| evaluation.rules.iter().find(|hits| hits.rule == rule).map_or(0, |hits| hits.hits);
    assert_eq!(fired("b_merchant_transfer_of_payers_credit"), 1, "{:?}", evaluation.rules);
    let caught = &evaluation.labels["self_recharge"];
    assert_eq!((caught.tp, caught.fn_), (2, 1), "the twin's credit, then its cash-out, are caught: {caught:?}");
    assert_eq!(evaluation.overall.fp, 0, "neither the honest recharges nor the cashback: {:?}", evaluation.rules);
    assert_eq!((evaluation.refused_positives, evaluation.stopped_upstream), (2, 2));
    assert!(!evaluation.labels.contains_key("ring"), "a refused step is not scored: {:?}", evaluation.labels);
}

/// The kinds of the commands a line becomes, with their ids.
fn commands_of(line: &str) -> Vec<(u64, CommandKind)> {
    let event = events::parse_line(line).unwrap_or_else(|error| panic!("{line}: {error}"));
    let general = events::parse_line(&line.replacen('{', "{ ", 1)).expect("read by serde_json");
    assert_eq!(general, event, "the fast and the general reader agree on {line}");
    let mut commands = Vec::new();
    event.append_commands(1, &mut commands).expect("maps");
    commands.into_iter().map(|command| (command.id.0, command.kind)).collect()
}

/// Version 2 adds what platforms record: the device of a payment (linked just before it), an
/// opening balance, a merchant's owner, an agent's cash-in and cash-out, a merchant paying a
/// merchant, an attempt refused upstream. Version 1 files are still read.
#[test]
fn version_2_fields_become_their_commands_and_version_1_files_still_read() {
    for version in [1, 2] {
        let text = format!(
            "{{\"format\":\"creditline-events\",\"version\":{version}}}\n{{\"id\":1,\"time_ms\":5,\"type\":\"tick\"}}\n"
        );
        assert!(events::read(text.as_bytes()).all(|line| line.is_ok()), "version {version}");
    }
    let three = events::read("{\"format\":\"creditline-events\",\"version\":3}\n".as_bytes()).next().unwrap();
    assert!(three.expect_err("a later version").message.contains("version 3 is not"));
    let mut header = Vec::new();
    events::write_header(&mut header).unwrap();
    assert_eq!(header, b"{\"format\":\"creditline-events\",\"version\":2}\n");

    let device = Tie { kind: TieKind::Device, token: 77 };
    let commands =
        commands_of(r#"{"id":9,"time_ms":5,"type":"pay","user":3,"merchant":4,"credit_minor":100,"device":77}"#);
    let link = CommandKind::LinkTie(kind::LinkTie { party: model::risk::Party::User(UserId(3)), tie: device });
    assert_eq!(commands[0], (events::derived_command_id(9, 0), link), "the device links first");
    assert!(matches!(commands[1], (9, CommandKind::Pay(kind::Pay { user: UserId(3), .. }))) && commands.len() == 2);

    let commands =
        commands_of(r#"{"id":10,"time_ms":5,"type":"open_user","user":3,"identity":"basic","balance_minor":5000}"#);
    assert!(matches!(commands[0], (10, CommandKind::OpenUser(kind::OpenUser { .. }))));
    assert!(
        matches!(commands[1], (_, CommandKind::TopUp(kind::TopUp { user: UserId(3), amount })) if amount.minor() == 5_000)
    );

    let commands = commands_of(
        r#"{"id":11,"time_ms":5,"type":"open_merchant","merchant":4,"category":"other","verification":"uncertified","owner":3}"#,
    );
    let owner = Tie { kind: TieKind::Owner, token: 3 };
    let links: Vec<_> = commands[1..].iter().map(|(_, kind)| kind.clone()).collect();
    assert_eq!(
        links,
        [
            CommandKind::LinkTie(kind::LinkTie { party: model::risk::Party::Merchant(MerchantId(4)), tie: owner }),
            CommandKind::LinkTie(kind::LinkTie { party: model::risk::Party::User(UserId(3)), tie: owner }),
        ]
    );
    let ids: std::collections::BTreeSet<u64> = commands.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), commands.len(), "every command an event becomes has its own id");

    let commands = commands_of(r#"{"id":12,"time_ms":5,"type":"top_up","user":3,"amount_minor":800,"agent":4}"#);
    assert!(matches!(
        commands[..],
        [(12, CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant: MerchantId(4), to: UserId(3), .. }))]
    ));

    let commands = commands_of(r#"{"id":15,"time_ms":5,"type":"cash_out","user":3,"amount_minor":800,"agent":4}"#);
    assert!(matches!(
        commands[..],
        [(15, CommandKind::AgentCashOut(kind::AgentCashOut { user: UserId(3), agent: MerchantId(4), .. }))]
    ));
    let commands = commands_of(
        r#"{"id":16,"time_ms":5,"type":"merchant_transfer","merchant":4,"to_merchant":6,"amount_minor":800}"#,
    );
    assert!(matches!(
        commands[..],
        [(
            16,
            CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
                merchant: MerchantId(4),
                to: MerchantId(6),
                ..
            })
        )]
    ));
    let neither =
        events::parse_line(r#"{"id":17,"time_ms":5,"type":"merchant_transfer","merchant":4,"amount_minor":8}"#);
    assert!(neither.expect_err("no payee").contains("exactly one of `to` and `to_merchant`"));
    // An attempt refused upstream moves nothing: a recorded refused attempt, after its device.
    let commands = commands_of(
        r#"{"id":18,"time_ms":5,"type":"transfer","from":3,"to":5,"amount_minor":800,"device":77,"refused":true}"#,
    );
    assert!(matches!(
        commands[..],
        [(_, CommandKind::LinkTie(kind::LinkTie { .. })), (18, CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user: UserId(3), amount }))]
            if amount.minor() == 800
    ));
    // A device names the acting user's device: an event no user makes has none, and an event
    // whose id leaves no room for derived ids is refused rather than colliding.
    for line in [
        r#"{"id":13,"time_ms":5,"type":"payout","merchant":4,"amount_minor":800,"device":77}"#,
        r#"{"id":281474976710656,"time_ms":5,"type":"cash_out","user":3,"amount_minor":800,"device":77}"#,
        r#"{"id":19,"time_ms":5,"type":"payout","merchant":4,"amount_minor":800,"refused":true}"#,
        r#"{"id":20,"time_ms":5,"type":"verify","user":3,"challenge":9,"refused":true}"#,
    ] {
        let event = events::parse_line(line).expect("reads");
        let mut commands = Vec::new();
        assert!(event.append_commands(1, &mut commands).is_err() && commands.is_empty(), "{line}");
    }
    // Written back, the fields read to the same event.
    for line in [
        r#"{"id":14,"time_ms":5,"type":"transfer","from":3,"to":5,"amount_minor":800,"device":77,"refused":true}"#,
        r#"{"id":16,"time_ms":5,"type":"merchant_transfer","merchant":4,"to_merchant":6,"amount_minor":800}"#,
        r#"{"id":15,"time_ms":5,"type":"cash_out","user":3,"amount_minor":800,"agent":4}"#,
    ] {
        let event = events::parse_line(line).unwrap();
        assert_eq!(events::parse_line(&serde_json::to_string(&event).unwrap()).unwrap(), event, "{line}");
    }
}

/// A takeover made from the thief's phone shows on the payment itself when the platform records
/// the device of each payment: the drain from a device the account never used is caught, and
/// the owner's own purchase of the same size, from the device she always uses, passes. The
/// evaluator scores the payment, not the device link before it.
#[test]
fn a_payment_from_a_device_the_account_never_used_is_a_takeover_and_the_owners_passes() {
    let rules = toml::from_str(include_str!("../../../rules/default.toml")).unwrap();
    let product = toml::from_str(include_str!("../../../products/huabei.toml")).unwrap();
    let start = sim::population::START_MS;
    let opened = start - 60 * 86_400_000;
    let shop = Body::OpenMerchant {
        merchant: 1,
        currency: "CNY".into(),
        category: model::MerchantCategory::VirtualGoods,
        verification: model::MerchantVerification::Certified,
        partner: false,
        ties: Vec::new(),
        owner: None,
    };
    let mut events = vec![Event::new(1, opened, shop)];
    let mut push = |time_ms: u64, body: Body, label: Option<&str>, device: Option<u64>| {
        let id = events.len() as u64 + 1;
        events.push(Event { label: label.map(str::to_owned), device, ..Event::new(id, time_ms, body) });
    };
    for user in [1, 2] {
        let ties = vec![Tie { kind: TieKind::Device, token: 100 + user }];
        let currency = "CNY".into();
        push(
            opened,
            Body::OpenUser { user, currency, identity: IdentityLevel::Full, ties, balance_minor: 0 },
            None,
            None,
        );
        push(opened, Body::SetCreditLimit { user, limit_minor: 500_000 }, None, None);
    }
    let pay = |user| Body::Pay { user, merchant: 1, credit_minor: 450_000, balance_minor: 0, beneficiary: None };
    push(start, pay(1), Some("honest"), Some(101));
    push(start + 3_600_000, pay(2), Some("account_takeover"), Some(999));
    let items = events.into_iter().enumerate().map(|(index, event)| Ok((index + 2, event)));
    let evaluation = sim::evaluate::evaluate(items, product, rules, &mut |_| {}).unwrap();
    let takeover = &evaluation.labels["account_takeover"];
    assert_eq!((takeover.tp, takeover.fn_), (1, 0), "the thief's payment is caught: {:?}", evaluation.rules);
    assert_eq!(evaluation.overall.fp, 0, "the owner's purchase passes: {:?}", evaluation.rules);
    assert_eq!(evaluation.events, 7, "each event counts once, its device link not apart");
}

/// The users the events open, in order.
fn names_of(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|event| match event.body {
            Body::OpenUser { user, .. } => Some(user),
            _ => None,
        })
        .collect()
}
