//! Converting a generic mobile-money log into the event format.
//!
//! The input is the common shape of such logs (as in the PaySim data set): CSV with a header
//! `step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud`
//! and optionally a last column `isFlaggedFraud` (the published Kaggle file has it), or PaySim 2's
//! raw log, the same columns as `step,action,amount,nameOrig,oldBalanceOrig,newBalanceOrig,nameDest,
//! oldBalanceDest,newBalanceDest,isFraud,isFlaggedFraud,isUnauthorizedOverdraft` (its amounts may
//! carry more decimals, rounded to the cent; its balances may be negative, overdrawn, and an
//! overdrawn account holds nothing),
//! one row per transaction, `step` in hours, amounts in major units with up to two decimals,
//! customers named `C…` and merchants `M…`. Row types: `CASH_IN` (cash handed to an agent lands in
//! the balance), `CASH_OUT` (balance paid out in cash by an agent), `DEBIT` (balance to a bank
//! account), `PAYMENT` (balance to a merchant), `TRANSFER` (balance to another customer).
//! An account whose first row states a balance existed before the log began: it opens, with that
//! balance as its opening balance, a year before the first row ([`PREEXISTING_MS`]), so features that read an
//! account's age see an old account. An account first seen empty opens at that row (the log cannot
//! tell a new account from an old empty one). The replayed balances are the ones the log states. `isFraud` becomes the label
//! (`account_takeover`, the log's fraud model, or `honest`). A row the log's platform blocked
//! (`isFlaggedFraud` 1 with the payer's balance unchanged) becomes a `refused` event, an attempt
//! that moves nothing ([`Converted::refused`]); rows moving nothing are skipped and counted by
//! reason ([`Converted::skipped`]).

use crate::events::{Body, Event, HONEST};
use crate::population::START_MS;
use model::risk::Typology;
use model::{IdentityLevel, MerchantCategory, MerchantVerification};
use std::collections::BTreeMap;
use std::io::BufRead;

/// Why a log row was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct ConvertError {
    /// 1-based line in the log.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

const COLUMNS: [&str; 10] = [
    "step",
    "type",
    "amount",
    "nameOrig",
    "oldbalanceOrg",
    "newbalanceOrig",
    "nameDest",
    "oldbalanceDest",
    "newbalanceDest",
    "isFraud",
];

/// PaySim 2's raw log header: PaySim 1's columns renamed, and `isUnauthorizedOverdraft`.
const COLUMNS_2: [&str; 12] = [
    "step",
    "action",
    "amount",
    "nameOrig",
    "oldBalanceOrig",
    "newBalanceOrig",
    "nameDest",
    "oldBalanceDest",
    "newBalanceDest",
    "isFraud",
    "isFlaggedFraud",
    "isUnauthorizedOverdraft",
];

/// Major units (`181.00`, `9839.64`, `5`, `12.345000000000001`) to minor units, rounded half up
/// to the cent.
fn minor(text: &str, line: usize) -> Result<u64, ConvertError> {
    let bad = || ConvertError { line, message: format!("not a non-negative amount in major units: {text:?}") };
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let cents: u64 = format!("{:0<2}", &fraction[..fraction.len().min(2)]).parse().map_err(|_| bad())?;
    let round_up = u64::from(fraction.as_bytes().get(2).is_some_and(|digit| *digit >= b'5'));
    whole.checked_mul(100).and_then(|value| value.checked_add(cents + round_up)).ok_or_else(bad)
}

/// A stated balance in minor units: an overdrawn (negative) one holds nothing.
fn balance_minor(text: &str, line: usize) -> Result<u64, ConvertError> {
    match text.trim().strip_prefix('-') {
        Some(overdrawn) => minor(overdrawn, line).map(|_| 0),
        None => minor(text, line),
    }
}

/// How long before the log's first row an account that already held money opens.
pub const PREEXISTING_MS: u64 = 365 * 24 * 3_600_000;

/// A converted log: the events, and the rows left out by reason.
#[derive(Debug, Default)]
pub struct Converted {
    /// The events, in the log's order after the openings of accounts that existed before it.
    pub events: Vec<Event>,
    /// Rows not converted, by reason: they moved no money.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Rows the log's platform blocked (`isFlaggedFraud` 1, the payer's balance unchanged):
    /// converted as `refused` events, attempts that move nothing.
    pub refused: u64,
}

/// The reason a row of amount zero is skipped.
pub const ZERO_AMOUNT: &str = "amount zero";

/// Accounts opened so far: names to ids; and the openings of accounts that existed before the
/// log, which go first.
#[derive(Default)]
struct Accounts {
    users: BTreeMap<String, u64>,
    merchants: BTreeMap<String, u64>,
    preexisting: Vec<Body>,
}

/// Converts a log; events come out in the log's order, ids from 1.
pub fn wallet_csv(input: impl BufRead) -> Result<Converted, ConvertError> {
    let mut lines = input.lines().enumerate();
    let header = match lines.next() {
        Some((_, Ok(header))) => header,
        _ => return Err(ConvertError { line: 1, message: "empty log: expected a header".into() }),
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    // The Kaggle file and PaySim 2 have `isFlaggedFraud` (column 10): blocked rows are known.
    let kaggle = matches!(names.split_last(), Some((&"isFlaggedFraud", rest)) if rest == COLUMNS);
    let flagged = kaggle || names == COLUMNS_2;
    if names != COLUMNS && !flagged {
        let message = format!(
            "the header must be {}[,isFlaggedFraud] (PaySim 1) or {} (PaySim 2)",
            COLUMNS.join(","),
            COLUMNS_2.join(",")
        );
        return Err(ConvertError { line: 1, message });
    }
    let (mut events, mut accounts, mut skipped) = (Vec::new(), Accounts::default(), BTreeMap::new());
    let mut refused = 0;
    for (index, row) in lines {
        let line = index + 1;
        let row = row.map_err(|error| ConvertError { line, message: error.to_string() })?;
        if row.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            return Err(ConvertError {
                line,
                message: format!("expected {} fields, got {}", names.len(), fields.len()),
            });
        }
        let unchanged = balance_minor(fields[4], line)? == balance_minor(fields[5], line)?;
        let blocked = flagged && fields[10] == "1" && unchanged;
        match minor(fields[2], line)? {
            0 => *skipped.entry(ZERO_AMOUNT).or_default() += 1,
            _ => {
                convert_row(&fields, line, blocked, &mut accounts, &mut events)?;
                refused += u64::from(blocked);
            }
        }
    }
    // The accounts that existed before the log open first, a year ahead; every id moves up.
    let opened_ms = START_MS - PREEXISTING_MS;
    let ahead = accounts.preexisting.len() as u64;
    let prelude = accounts.preexisting.into_iter().enumerate();
    let prelude = prelude.map(|(index, body)| Event::new(index as u64 + 1, opened_ms, body));
    let rest = events.into_iter().map(|event| Event { id: event.id + ahead, ..event });
    Ok(Converted { events: prelude.chain(rest).collect(), skipped, refused })
}

fn convert_row(
    fields: &[&str],
    line: usize,
    refused: bool,
    accounts: &mut Accounts,
    events: &mut Vec<Event>,
) -> Result<(), ConvertError> {
    let step: u64 =
        fields[0].parse().map_err(|_| ConvertError { line, message: format!("bad step {:?}", fields[0]) })?;
    let time_ms = START_MS + step * 3_600_000 + line as u64;
    let amount_minor = minor(fields[2], line)?;
    let label = Some(if fields[9] == "1" { Typology::AccountTakeover.name() } else { HONEST }.to_owned());
    let push = |events: &mut Vec<Event>, body, label| {
        let id = events.len() as u64 + 1;
        events.push(Event { label, refused, ..Event::new(id, time_ms, body) });
    };
    let origin = open_user(accounts, events, fields[3], balance_minor(fields[4], line)?, time_ms, line)?;
    let body = match fields[1] {
        "CASH_IN" => Body::TopUp { user: origin, amount_minor, agent: None },
        "CASH_OUT" | "DEBIT" => Body::CashOut { user: origin, amount_minor, agent: None },
        "PAYMENT" => {
            let merchant = open_merchant(accounts, events, fields[6], time_ms);
            Body::Pay { user: origin, merchant, credit_minor: 0, balance_minor: amount_minor, beneficiary: None }
        }
        "TRANSFER" => {
            let to = open_user(accounts, events, fields[6], balance_minor(fields[7], line)?, time_ms, line)?;
            Body::Transfer { from: origin, to, amount_minor }
        }
        other => return Err(ConvertError { line, message: format!("unknown type {other:?}") }),
    };
    push(events, body, label);
    Ok(())
}

fn open_user(
    accounts: &mut Accounts,
    events: &mut Vec<Event>,
    name: &str,
    opening_minor: u64,
    time_ms: u64,
    line: usize,
) -> Result<u64, ConvertError> {
    if !name.starts_with('C') {
        return Err(ConvertError { line, message: format!("a customer's name starts with C, got {name:?}") });
    }
    if let Some(id) = accounts.users.get(name) {
        return Ok(*id);
    }
    let user = accounts.users.len() as u64 + 1;
    accounts.users.insert(name.to_owned(), user);
    let currency = "CNY".into();
    let opening = Body::OpenUser {
        user,
        currency,
        identity: IdentityLevel::Basic,
        ties: Vec::new(),
        balance_minor: opening_minor,
    };
    match opening_minor {
        0 => events.push(Event::new(events.len() as u64 + 1, time_ms, opening)),
        _ => accounts.preexisting.push(opening),
    }
    Ok(user)
}

fn open_merchant(accounts: &mut Accounts, events: &mut Vec<Event>, name: &str, time_ms: u64) -> u64 {
    if let Some(id) = accounts.merchants.get(name) {
        return *id;
    }
    let merchant = accounts.merchants.len() as u64 + 1;
    accounts.merchants.insert(name.to_owned(), merchant);
    let body = Body::OpenMerchant {
        merchant,
        currency: "CNY".into(),
        category: MerchantCategory::Other,
        verification: MerchantVerification::Uncertified,
        partner: false,
        ties: Vec::new(),
        owner: None,
    };
    events.push(Event::new(events.len() as u64 + 1, time_ms, body));
    merchant
}

/// The balances the log states at its end: each customer's last stated new balance (as payer,
/// or as payee of a transfer), by name.
pub fn stated_balances(input: impl BufRead) -> Result<BTreeMap<String, u64>, ConvertError> {
    let mut balances = BTreeMap::new();
    for (index, row) in input.lines().enumerate().skip(1) {
        let line = index + 1;
        let row = row.map_err(|error| ConvertError { line, message: error.to_string() })?;
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if fields.len() < COLUMNS.len() {
            continue;
        }
        balances.insert(fields[3].to_owned(), balance_minor(fields[5], line)?);
        if fields[1] == "TRANSFER" {
            balances.insert(fields[6].to_owned(), balance_minor(fields[8], line)?);
        }
    }
    Ok(balances)
}
