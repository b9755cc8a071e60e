//! `creditline simulate` and `creditline replay --input`: the population simulator and the
//! evaluator, with a progress bar, an optional HTML report, and a driver for a running server.

use indicatif::{ProgressBar, ProgressStyle};
use model::risk::RuleSet;
use serde_json::{Value, json};
use sim::evaluate::{self, Evaluation, Evaluator};
use sim::events::{self, Body, Event};
use sim::population::{Config, Simulator};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

/// The default product, installed by the evaluator before the first event.
pub fn default_product() -> anyhow::Result<model::product::Product> {
    Ok(server::product_file::parse(include_str!("../../../products/huabei.toml"), "products/huabei.toml")?)
}

fn spinner(enabled: bool, what: &'static str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{prefix} {pos} events {per_sec} {elapsed}").expect("valid template"));
    bar.set_prefix(what);
    bar
}

/// Writes the simulated events to `path`; returns how many.
pub fn write(config: Config, path: &Path, progress: bool) -> anyhow::Result<u64> {
    let file =
        std::fs::File::create(path).map_err(|error| anyhow::anyhow!("cannot create {}: {error}", path.display()))?;
    let mut out = BufWriter::new(file);
    events::write_header(&mut out)?;
    let bar = spinner(progress, "simulate");
    let (mut count, mut failure) = (0u64, None);
    Simulator::new(config).run(&mut |event| {
        if failure.is_none() {
            failure = events::write_event(&mut out, &event).err();
        }
        count += 1;
        if count.is_multiple_of(65_536) {
            bar.set_position(count);
        }
    });
    bar.finish_and_clear();
    if let Some(error) = failure {
        return Err(error.into());
    }
    out.flush()?;
    Ok(count)
}

/// Simulates and evaluates in process, each event scored as the simulator emits it.
pub fn simulate_and_evaluate(config: Config, rules: RuleSet, progress: bool) -> anyhow::Result<Evaluation> {
    let bar = spinner(progress, "evaluate");
    let mut evaluator = Evaluator::new(default_product()?, rules);
    let mut failure = None;
    Simulator::new(config).run(&mut |event| {
        // Line numbers as in the written file: the header is line 1.
        let line = evaluator.events() as usize + 2;
        if failure.is_none() {
            failure = evaluator.feed(line, event).err();
        }
        if evaluator.events().is_multiple_of(65_536) {
            bar.set_position(evaluator.events());
        }
    });
    bar.finish_and_clear();
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(evaluator.finish()?),
    }
}

/// Evaluates an event file.
pub fn replay_file(input: &Path, rules: RuleSet, progress: bool) -> anyhow::Result<Evaluation> {
    let file =
        std::fs::File::open(input).map_err(|error| anyhow::anyhow!("cannot open {}: {error}", input.display()))?;
    let bar = spinner(progress, "replay");
    let origin = input.display().to_string();
    let events = events::read(BufReader::with_capacity(1 << 20, file));
    let evaluation = evaluate::evaluate(events, default_product()?, rules, &mut |done| bar.set_position(done))
        .map_err(|error| anyhow::anyhow!("{origin}: {error}"))?;
    bar.finish_and_clear();
    Ok(evaluation)
}

/// Evaluates `runs` populations like `config` (seeds from `config.seed`, each scheme's share
/// drawn from a wide range by a generator seeded with the run's seed) and returns each run's
/// mix and figures and, per figure, the worst, median and best over the runs.
pub fn sweep(config: Config, runs: u32, rules: RuleSet, progress: bool) -> anyhow::Result<Value> {
    let bar = match progress {
        true => ProgressBar::new(u64::from(runs)).with_style(
            ProgressStyle::with_template("sweep {pos}/{len} populations {elapsed} (eta {eta})")
                .expect("valid template"),
        ),
        false => ProgressBar::hidden(),
    };
    let mut rows = Vec::new();
    let mut figures: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
    for run in 0..u64::from(runs) {
        let seed = config.seed + run;
        let mut draw = fastrand::Rng::with_seed(seed);
        let mut share = |low: f64, high: f64| low + (high - low) * draw.f64();
        let mix = sim::population::Mix {
            refund_cycling: share(0.002, 0.02),
            colluding_merchant: share(0.002, 0.02),
            proxy_purchase: share(0.002, 0.02),
            self_recharge: share(0.002, 0.02),
            account_takeover: share(0.002, 0.02),
            ring: share(0.005, 0.03),
        };
        let evaluation = simulate_and_evaluate(Config { seed, mix, ..config }, rules.clone(), false)?;
        let mut keep = |name: String, value: Option<f64>| {
            if let Some(value) = value {
                figures.entry(name).or_default().push(value);
            }
        };
        keep("overall.precision".into(), evaluation.overall.precision);
        keep("overall.recall".into(), evaluation.overall.recall);
        keep("pure_honest_friction_share".into(), Some(evaluation.pure_honest_friction_share));
        keep("victim_friction_share".into(), Some(evaluation.victim_friction_share));
        for (label, score) in &evaluation.labels {
            keep(format!("{label}.recall"), score.recall);
            keep(format!("{label}.precision"), score.precision);
        }
        rows.push(json!({
            "seed": seed,
            "mix": {
                "refund_cycling": mix.refund_cycling,
                "colluding_merchant": mix.colluding_merchant,
                "proxy_purchase": mix.proxy_purchase,
                "self_recharge": mix.self_recharge,
                "account_takeover": mix.account_takeover,
                "ring": mix.ring,
            },
            "events": evaluation.events,
            "overall": evaluation.overall,
            "pure_honest_friction_share": evaluation.pure_honest_friction_share,
            "victim_friction_share": evaluation.victim_friction_share,
            "refused_positives": evaluation.refused_positives,
            "stopped_upstream": evaluation.stopped_upstream,
            "refused_attempts": evaluation.refused_attempts,
            "labels": evaluation.labels,
            "accounts": evaluation.accounts,
        }));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let spread: serde_json::Map<String, Value> = figures
        .into_iter()
        .map(|(name, mut values)| {
            values.sort_by(f64::total_cmp);
            // Rates are better high, friction better low: "worst" is the side a target bounds.
            let (worst, best) = match name.ends_with("friction_share") {
                true => (values[values.len() - 1], values[0]),
                false => (values[0], values[values.len() - 1]),
            };
            let summary = json!({"worst": worst, "median": values[values.len() / 2], "best": best});
            (name, summary)
        })
        .collect();
    Ok(json!({"runs": rows, "spread": spread}))
}

/// Prints the evaluation (JSON or text) and writes the HTML report if asked.
pub fn print(evaluation: &Evaluation, json: bool, report: Option<&Path>, title: &str) -> anyhow::Result<()> {
    if let Some(directory) = report {
        std::fs::create_dir_all(directory)?;
        let path = directory.join("index.html");
        std::fs::write(&path, sim::report::html(evaluation, title))?;
        eprintln!("report: {}", path.display());
    }
    let summary = json!({
        "events": evaluation.events,
        "events_per_sec": evaluation.events_per_sec,
        "decisions": evaluation.decisions,
        "overall": evaluation.overall,
        "honest_friction_share": evaluation.honest_friction_share,
        "pure_honest_friction_share": evaluation.pure_honest_friction_share,
        "victim_friction_share": evaluation.victim_friction_share,
        "victims": evaluation.victims,
        "accounts": evaluation.accounts,
        "labels": evaluation.labels,
        "caught_minor": evaluation.caught_minor,
        "positive_minor": evaluation.positive_minor,
        "refused_positives": evaluation.refused_positives,
        "stopped_upstream": evaluation.stopped_upstream,
        "refused_attempts": evaluation.refused_attempts,
        "rules": evaluation.rules,
        "state_hash": evaluation.state_hash,
    });
    match json {
        true => println!("{summary}"),
        false => println!("{}", serde_json::to_string_pretty(&summary)?),
    }
    Ok(())
}

/// Command ids sent to a server are the event ids plus this, so a simulation does not collide
/// with the few ids an operator used by hand (a product, a rules file) on the same server.
const HTTP_ID_BASE: u64 = 1 << 40;

/// The API requests (`/v1/batch` commands) for an event, in the order of
/// [`Event::append_commands`]; ticks have none (the server ticks). Event ids, and references to
/// them, are moved up by [`HTTP_ID_BASE`].
fn request(event: &Event) -> Vec<Value> {
    let id = HTTP_ID_BASE + event.id;
    let reference = |event_id: &u64| HTTP_ID_BASE + *event_id;
    let mut derived = Vec::new();
    let mut push_derived = |mut request: Value| {
        request["command_id"] = json!(events::derived_command_id(id, derived.len()));
        derived.push(request);
    };
    if let (Some(device), Some(user)) = (event.device, event.device_user()) {
        push_derived(json!({"type": "link_tie", "user_id": user, "tie": {"kind": "device", "token": device}}));
    }
    let mut main = match &event.body {
        _ if event.refused => json!({"type": "record_refused_attempt", "user_id": event.actor(),
            "amount_minor": event.amount_minor()}),
        Body::OpenUser { user, currency, identity, ties, balance_minor } => {
            let opening = json!({"type": "open_user", "user_id": user, "currency": currency, "identity": identity});
            for tie in ties {
                push_derived(json!({"type": "link_tie", "user_id": user, "tie": tie}));
            }
            if *balance_minor > 0 {
                push_derived(json!({"type": "top_up", "user_id": user, "amount_minor": balance_minor}));
            }
            opening
        }
        Body::OpenMerchant { merchant, currency, category, verification, partner, ties, owner } => {
            let opening = json!({"type": "open_merchant", "merchant_id": merchant, "currency": currency,
                "category": category, "verification": verification, "partner": partner});
            for tie in ties {
                push_derived(json!({"type": "link_tie", "merchant_id": merchant, "tie": tie}));
            }
            if let Some(owner) = owner {
                let tie = json!({"kind": "owner", "token": owner});
                push_derived(json!({"type": "link_tie", "merchant_id": merchant, "tie": tie}));
                push_derived(json!({"type": "link_tie", "user_id": owner, "tie": tie}));
            }
            opening
        }
        Body::SetCreditLimit { user, limit_minor } => {
            json!({"type": "set_credit_limit", "user_id": user, "limit_minor": limit_minor})
        }
        Body::TopUp { user, amount_minor, agent: None } => {
            json!({"type": "top_up", "user_id": user, "amount_minor": amount_minor})
        }
        Body::TopUp { user, amount_minor, agent: Some(agent) } => json!({"type": "merchant_transfer",
            "merchant_id": agent, "to_user_id": user, "amount_minor": amount_minor}),
        Body::Pay { user, merchant, credit_minor, balance_minor, beneficiary } => json!({"type": "pay",
            "user_id": user, "merchant_id": merchant, "credit_minor": credit_minor, "balance_minor": balance_minor,
            "beneficiary": beneficiary}),
        Body::Authorize { user, merchant, credit_minor, balance_minor, hold_ms } => json!({"type": "authorize",
            "user_id": user, "merchant_id": merchant, "credit_minor": credit_minor, "balance_minor": balance_minor,
            "hold_ms": hold_ms}),
        Body::Capture { authorization, merchant, amount_minor } => json!({"type": "capture",
            "authorization_id": reference(authorization), "merchant_id": merchant, "amount_minor": amount_minor}),
        Body::Release { authorization, merchant } => {
            json!({"type": "release", "authorization_id": reference(authorization), "merchant_id": merchant})
        }
        Body::Refund { payment, merchant, amount_minor } => {
            json!({"type": "refund", "payment_id": reference(payment),
            "merchant_id": merchant, "amount_minor": amount_minor})
        }
        Body::Transfer { from, to, amount_minor } => json!({"type": "transfer", "from_user_id": from,
            "to_user_id": to, "amount_minor": amount_minor}),
        Body::CashOut { user, amount_minor, agent: None } => {
            json!({"type": "withdraw_to_bank", "user_id": user, "amount_minor": amount_minor})
        }
        Body::CashOut { user, amount_minor, agent: Some(agent) } => {
            json!({"type": "agent_cash_out", "user_id": user, "agent_id": agent, "amount_minor": amount_minor})
        }
        Body::Payout { merchant, amount_minor } => {
            json!({"type": "payout_merchant", "merchant_id": merchant, "amount_minor": amount_minor})
        }
        Body::MerchantTransfer { merchant, to, amount_minor } => json!({"type": "merchant_transfer",
            "merchant_id": merchant, "to_user_id": to, "amount_minor": amount_minor}),
        Body::MerchantToMerchant { merchant, to_merchant, amount_minor } => json!({"type": "merchant_transfer",
            "merchant_id": merchant, "to_merchant_id": to_merchant, "amount_minor": amount_minor}),
        Body::CreditWithdrawal { user, amount_minor, purpose } => json!({"type": "request_withdrawal",
            "user_id": user, "amount_minor": amount_minor, "purpose": purpose}),
        Body::Verify { user, challenge } => {
            json!({"type": "verify_challenge", "user_id": user, "challenge_id": reference(challenge)})
        }
        Body::Repay { user, amount_minor, source } => {
            json!({"type": "repay", "user_id": user, "amount_minor": amount_minor, "source": source})
        }
        Body::RepayStatement { user, source, in_full } => {
            json!({"type": "repay_statement", "user_id": user, "source": source, "in_full": in_full})
        }
        Body::Login { user, device } => json!({"type": "link_tie", "user_id": user,
            "tie": {"kind": "device", "token": device}}),
        Body::Bind { user, merchant, tie } => {
            let mut request = json!({"type": "link_tie", "tie": tie});
            match (user, merchant) {
                (Some(user), _) => request["user_id"] = json!(user),
                (_, Some(merchant)) => request["merchant_id"] = json!(merchant),
                _ => {}
            }
            request
        }
        Body::LiftAction { user, action } => {
            json!({"type": "lift_action", "user_id": user, "action": action})
        }
        Body::DecideCase { case, approve, verdict } => {
            json!({"type": "decide_case", "case_id": reference(case), "approve": approve, "label": verdict})
        }
        Body::Tick => return Vec::new(),
    };
    main["command_id"] = json!(id);
    // The device link comes before the event's own command, an opening's links after it.
    let before = usize::from(event.device.is_some());
    let mut requests = derived;
    requests.insert(before, main);
    requests
}

/// Sends the simulated events to a running server through `/v1/batch`, in order, `batch` at a
/// time. The server stamps its own clock: virtual days pass in seconds, so time windows shrink.
pub fn drive(config: Config, url: &str, key: &str, batch: usize, progress: bool) -> anyhow::Result<(u64, u64)> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let endpoint = format!("{}/v1/batch", url.trim_end_matches('/'));
    let bar = spinner(progress, "simulate →");
    let (mut sent, mut rejected, mut pending, mut failure) = (0u64, 0u64, Vec::new(), None::<anyhow::Error>);
    let flush = |pending: &mut Vec<Value>, sent: &mut u64, rejected: &mut u64| -> anyhow::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let body = json!({"commands": pending}).to_string();
        let mut response = agent
            .post(&endpoint)
            .header("authorization", &format!("Bearer {key}"))
            .header("content-type", "application/json")
            .send(body.as_str())?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        anyhow::ensure!(status == 200, "the server answered {status}: {text}");
        let reply: Value = serde_json::from_str(&text)?;
        let results = reply["results"].as_array().map_or(&[][..], Vec::as_slice);
        *rejected += results.iter().filter(|result| result["status"] == "rejected").count() as u64;
        *sent += pending.len() as u64;
        pending.clear();
        Ok(())
    };
    Simulator::new(config).run(&mut |event| {
        if failure.is_some() {
            return;
        }
        pending.extend(request(&event));
        if pending.len() >= batch {
            failure = flush(&mut pending, &mut sent, &mut rejected).err();
            bar.set_position(sent);
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    flush(&mut pending, &mut sent, &mut rejected)?;
    bar.finish_and_clear();
    Ok((sent, rejected))
}
