//! The event format, version 2: JSON Lines, one event per line, a header line first. Version 1
//! files are read too: version 2 only adds fields (the device of a payment, an opening balance,
//! a merchant's owner, the agent of a cash-in or cash-out, a merchant paying a merchant, an
//! attempt refused upstream).
//!
//! ```text
//! {"format":"creditline-events","version":2}
//! {"id":1,"time_ms":1767225600000,"type":"open_user","user":1,"currency":"CNY","identity":"full"}
//! {"id":2,"time_ms":1767225601000,"type":"pay","user":1,"merchant":7,"credit_minor":1500,"label":"honest"}
//! ```
//!
//! Every event has an `id` (unique, the engine's idempotency key), a `time_ms`, a `type` and the
//! type's fields; `label` (ground truth: `honest` or a typology name) is optional and never
//! reaches the engine. docs/events.md documents every type.

use model::kind;
use model::risk::{AccountAction, Label, Party, Tie, TieKind};
use model::{
    ActorId, Amount, Command, CommandId, CommandKind, Currency, Funding, IdentityLevel, Initiator, MerchantCategory,
    MerchantId, MerchantVerification, RepaySource, UserId, WithdrawalPurpose,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{BufRead, Write};

mod flat;

/// The format name in the header line.
pub const FORMAT: &str = "creditline-events";
/// The format version this build writes.
pub const VERSION: u32 = 2;
/// The format versions this build reads: every version a field was added in.
pub const VERSIONS_READ: [u32; 2] = [1, 2];
/// The label of an honest user's event; fraud events carry a [`model::risk::Typology`]'s name.
pub const HONEST: &str = "honest";

/// The first line of an event file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version.
    pub version: u32,
}

/// One event. It is written with serde; it is read by [`read`] (see `Raw`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Unique id (the engine's idempotency key; the id of a payment or hold it creates).
    pub id: u64,
    /// When it happened, ms since the Unix epoch; events come in time order.
    pub time_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub body: Body,
    /// Ground truth: `honest` or a typology (`refund_cycling`, `colluding_merchant`,
    /// `proxy_purchase`, `self_recharge`, `account_takeover`, `ring`), or `laundering`. Never read
    /// by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The id of the scheme step this one needs to have gone through: the simulator writes its
    /// schemes ahead, without seeing decisions, so an evaluator does not apply a step whose money
    /// never came (a payback after a refused payout). Never read by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// The device (token) the acting user made the event from, as a platform records it with
    /// each payment: it becomes a device link just before the event, so a payment from a device
    /// the account never used is a new device (the takeover features read it). Only on events a
    /// user makes, other than `login`, which names its device in its body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<u64>,
    /// The attempt was refused before it reached the ledger, by the log's platform or a bank:
    /// it moves no money and becomes a recorded refused attempt (which the risk features see),
    /// not its own command. Only on events a user makes that move money.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refused: bool,
}

fn default_currency() -> String {
    "CNY".to_owned()
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// What an event does, by `type`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// A user opens (credit line and balance at zero), with the identifiers it is tied by.
    OpenUser {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// Currency code (default CNY).
        #[serde(default = "default_currency")]
        currency: String,
        /// `unverified`, `basic` or `full`.
        identity: IdentityLevel,
        /// Device, phone, identity, bank card, payout account.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ties: Vec<Tie>,
        /// The balance the account held when the log began (minor units): a top-up at its
        /// opening. 0 for none.
        #[serde(default, skip_serializing_if = "is_zero")]
        balance_minor: u64,
    },
    /// A merchant opens.
    OpenMerchant {
        /// The merchant it acts on, by the id of its `open_merchant` event.
        merchant: u64,
        /// Currency code (default CNY).
        #[serde(default = "default_currency")]
        currency: String,
        /// What it sells.
        category: MerchantCategory,
        /// `certified` or `uncertified`.
        verification: MerchantVerification,
        /// A platform partner.
        #[serde(default)]
        partner: bool,
        /// Its payout account, owner's phone and identity, ….
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ties: Vec<Tie>,
        /// The user who owns it, if the platform knows: an `owner` tie on both, so the owner's
        /// own credit spent there is spent at a tied merchant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<u64>,
    },
    /// A credit line is granted or changed.
    SetCreditLimit {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// The new limit, minor units.
        limit_minor: u64,
    },
    /// Money arrives in the balance: a top-up from the bank, or cash-in at an agent.
    TopUp {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// Minor units.
        amount_minor: u64,
        /// The agent (a merchant) the cash was handed to, if any: its settlement account pays
        /// the user's balance (a merchant transfer), as the agent's float does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<u64>,
    },
    /// A purchase from credit, balance or both; `beneficiary` when it is for someone else.
    Pay {
        /// The payer.
        user: u64,
        /// The merchant it acts on, by the id of its `open_merchant` event.
        merchant: u64,
        /// From the credit line.
        #[serde(default)]
        credit_minor: u64,
        /// From the balance.
        #[serde(default)]
        balance_minor: u64,
        /// Who the order or recharge is for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beneficiary: Option<Tie>,
    },
    /// Funds held for a merchant.
    Authorize {
        /// The payer.
        user: u64,
        /// The merchant it acts on, by the id of its `open_merchant` event.
        merchant: u64,
        /// From the credit line.
        #[serde(default)]
        credit_minor: u64,
        /// From the balance.
        #[serde(default)]
        balance_minor: u64,
        /// How long the hold lasts.
        hold_ms: u64,
    },
    /// A hold captured.
    Capture {
        /// The hold (the id of the authorize event).
        authorization: u64,
        /// Its merchant.
        merchant: u64,
        /// Minor units captured.
        amount_minor: u64,
    },
    /// A hold released.
    Release {
        /// The hold.
        authorization: u64,
        /// Its merchant.
        merchant: u64,
    },
    /// A refund of a payment (credit part first, back to the line).
    Refund {
        /// The payment (the id of the pay or authorize event).
        payment: u64,
        /// Its merchant.
        merchant: u64,
        /// Minor units.
        amount_minor: u64,
    },
    /// Balance moved between users (P2P).
    Transfer {
        /// The payer.
        from: u64,
        /// The payee.
        to: u64,
        /// Minor units.
        amount_minor: u64,
    },
    /// Balance leaving the platform: withdrawal to a bank, or cash-out at an agent.
    CashOut {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// Minor units.
        amount_minor: u64,
        /// The agent (a merchant) that paid the cash, if any: the balance moves to its
        /// settlement account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<u64>,
    },
    /// A merchant's settlement paid out to its bank.
    Payout {
        /// The merchant it acts on, by the id of its `open_merchant` event.
        merchant: u64,
        /// Minor units.
        amount_minor: u64,
    },
    /// A merchant paying a user's balance from its settlement (cashback, a disbursement).
    MerchantTransfer {
        /// The merchant paying.
        merchant: u64,
        /// The user paid.
        to: u64,
        /// Minor units.
        amount_minor: u64,
    },
    /// A merchant paying another merchant's settlement account (a supplier, a head office),
    /// written as a `merchant_transfer` with `to_merchant` instead of `to`.
    #[serde(rename = "merchant_transfer")]
    MerchantToMerchant {
        /// The merchant paying.
        merchant: u64,
        /// The merchant paid.
        to_merchant: u64,
        /// Minor units.
        amount_minor: u64,
    },
    /// An official credit withdrawal request (取现) to the balance.
    CreditWithdrawal {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// Minor units landing in the balance.
        amount_minor: u64,
        /// The declared purpose.
        purpose: WithdrawalPurpose,
    },
    /// A step-up verification passed: completes a challenged withdrawal or risk challenge.
    Verify {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// The challenged event's id.
        challenge: u64,
    },
    /// A repayment of used credit.
    Repay {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// Minor units.
        amount_minor: u64,
        /// `balance` or `bank`.
        source: RepaySource,
    },
    /// The bill paid: all billed (`in_full`) or the rest of the minimum.
    RepayStatement {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// `balance` or `bank`.
        source: RepaySource,
        /// Everything billed, or the minimum.
        in_full: bool,
    },
    /// A login from a device (a new one is a binding change).
    Login {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// The device token.
        device: u64,
    },
    /// A binding added or changed: phone, identity, bank card, payout account, device.
    Bind {
        /// The user (or give `merchant`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<u64>,
        /// The merchant it acts on, by the id of its `open_merchant` event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merchant: Option<u64>,
        /// The identifier.
        tie: Tie,
    },
    /// An analyst decides a case: approve lets the held funds through, reject releases them.
    DecideCase {
        /// The case (the id of the event that was held).
        case: u64,
        /// True to approve.
        approve: bool,
        /// `"not_fraud"` or `{"fraud": typology}` (named so as not to clash with the event's
        /// ground-truth `label`).
        verdict: Label,
    },
    /// The platform lifts a risk action (support confirmed the owner, an appeal succeeded).
    LiftAction {
        /// The user it acts on, by the id of their `open_user` event.
        user: u64,
        /// `freeze_credit`, `cut_line`, `lower_score` or `watch_list`.
        action: AccountAction,
    },
    /// Time passes: holds lapse, statements close, penalties accrue.
    Tick,
}

/// Why an event line was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct EventError {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn amount(minor: u64, line: usize) -> Result<Amount, EventError> {
    Amount::new(minor)
        .ok_or_else(|| EventError { line, message: format!("amount_minor must be 1 to {}, got {minor}", Amount::MAX) })
}

fn currency(code: &str, line: usize) -> Result<Currency, EventError> {
    Currency::parse(code)
        .ok_or_else(|| EventError { line, message: format!("currency must be three capital letters, got {code:?}") })
}

impl Event {
    /// An event with no label, no `after`, no device, not refused: what the optional fields
    /// default to in a file.
    pub fn new(id: u64, time_ms: u64, body: Body) -> Event {
        Event { id, time_ms, body, label: None, after: None, device: None, refused: false }
    }

    /// Appends the engine commands this event becomes, in order, to `out`: the event's own
    /// command (with the event's id), preceded by the link of its `device` and followed by an
    /// opening's ties, opening balance and owner links, each with an id derived from the event's
    /// ([`derived_command_id`]). On an error nothing is appended. `line` places errors.
    pub fn append_commands(&self, line: usize, out: &mut Vec<Command>) -> Result<(), EventError> {
        let start = out.len();
        let appended = self.try_append_commands(line, out);
        if appended.is_err() {
            out.truncate(start);
        }
        appended
    }

    /// How many commands with derived ids the event becomes besides its own.
    fn derived_commands(&self) -> usize {
        let body = match &self.body {
            Body::OpenUser { ties, balance_minor, .. } => ties.len() + usize::from(*balance_minor > 0),
            Body::OpenMerchant { ties, owner, .. } => ties.len() + 2 * usize::from(owner.is_some()),
            _ => 0,
        };
        body + usize::from(self.device.is_some())
    }

    fn try_append_commands(&self, line: usize, out: &mut Vec<Command>) -> Result<(), EventError> {
        // An event file carries no keys: its commands are recorded as the server's own.
        let command = |kind| Command {
            id: CommandId(self.id),
            time_ms: self.time_ms,
            actor: ActorId::SERVER,
            initiator: Initiator::Platform,
            kind,
        };
        let mut derived = 0;
        let mut push_derived = |out: &mut Vec<Command>, kind| {
            out.push(Command { id: CommandId(derived_command_id(self.id, derived)), ..command(kind) });
            derived += 1;
        };
        let funding = |credit_minor: u64, balance_minor: u64| {
            let total = credit_minor.checked_add(balance_minor).filter(|total| (1..=Amount::MAX).contains(total));
            match total {
                Some(_) => Ok(Funding { credit_minor, balance_minor }),
                None => Err(EventError { line, message: "credit_minor + balance_minor must be 1 to 2^63-1".into() }),
            }
        };
        let derived_commands = self.derived_commands();
        if derived_commands > DERIVED_MAX {
            let message = format!("an event becomes at most {DERIVED_MAX} commands besides its own (ties, …)");
            return Err(EventError { line, message });
        }
        if self.id >= DERIVED_ID_LIMIT && derived_commands > 0 {
            let message = format!(
                "an event with ties, an opening balance, an owner or a device has an id below {DERIVED_ID_LIMIT} \
                 (2^48), got {}",
                self.id
            );
            return Err(EventError { line, message });
        }
        if let Some(device) = self.device {
            let user = self.device_user().ok_or_else(|| EventError {
                line,
                message: "`device` is for an event a user makes (top_up, pay, authorize, transfer, cash_out, \
                          credit_withdrawal, verify, repay, repay_statement); a login names its own"
                    .into(),
            })?;
            let tie = Tie { kind: TieKind::Device, token: device };
            push_derived(out, CommandKind::LinkTie(kind::LinkTie { party: Party::User(UserId(user)), tie }));
        }
        if self.refused {
            let user = self.device_user().filter(|_| self.amount_minor() > 0).ok_or_else(|| EventError {
                line,
                message: "`refused` is for an event a user makes that moves money (top_up, pay, authorize, \
                          transfer, cash_out, credit_withdrawal, repay)"
                    .into(),
            })?;
            let kind = CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt {
                user: UserId(user),
                amount: amount(self.amount_minor(), line)?,
            });
            out.push(command(kind));
            return Ok(());
        }
        let kind = match &self.body {
            Body::OpenUser { user, currency: code, identity, ties, balance_minor } => {
                let opening = CommandKind::OpenUser(kind::OpenUser {
                    user: UserId(*user),
                    currency: currency(code, line)?,
                    identity: *identity,
                });
                out.push(command(opening));
                for tie in ties {
                    push_derived(
                        out,
                        CommandKind::LinkTie(kind::LinkTie { party: Party::User(UserId(*user)), tie: *tie }),
                    );
                }
                if *balance_minor > 0 {
                    push_derived(
                        out,
                        CommandKind::TopUp(kind::TopUp { user: UserId(*user), amount: amount(*balance_minor, line)? }),
                    );
                }
                return Ok(());
            }
            Body::OpenMerchant { merchant, currency: code, category, verification, partner, ties, owner } => {
                let opening = CommandKind::OpenMerchant(kind::OpenMerchant {
                    merchant: MerchantId(*merchant),
                    currency: currency(code, line)?,
                    category: *category,
                    verification: *verification,
                    partner: *partner,
                });
                out.push(command(opening));
                let party = Party::Merchant(MerchantId(*merchant));
                for tie in ties {
                    push_derived(out, CommandKind::LinkTie(kind::LinkTie { party, tie: *tie }));
                }
                if let Some(owner) = owner {
                    let tie = Tie { kind: TieKind::Owner, token: *owner };
                    for party in [party, Party::User(UserId(*owner))] {
                        push_derived(out, CommandKind::LinkTie(kind::LinkTie { party, tie }));
                    }
                }
                return Ok(());
            }
            Body::SetCreditLimit { user, limit_minor } => {
                CommandKind::SetCreditLimit(kind::SetCreditLimit { user: UserId(*user), limit_minor: *limit_minor })
            }
            Body::TopUp { user, amount_minor, agent: None } => {
                CommandKind::TopUp(kind::TopUp { user: UserId(*user), amount: amount(*amount_minor, line)? })
            }
            Body::TopUp { user, amount_minor, agent: Some(agent) } => {
                CommandKind::MerchantTransfer(kind::MerchantTransfer {
                    merchant: MerchantId(*agent),
                    to: UserId(*user),
                    amount: amount(*amount_minor, line)?,
                })
            }
            Body::Pay { user, merchant, credit_minor, balance_minor, beneficiary } => {
                let (user, merchant, funding) =
                    (UserId(*user), MerchantId(*merchant), funding(*credit_minor, *balance_minor)?);
                match beneficiary {
                    Some(tie) => CommandKind::PayFor(kind::PayFor { user, merchant, funding, beneficiary: *tie }),
                    None => CommandKind::Pay(kind::Pay { user, merchant, funding }),
                }
            }
            Body::Authorize { user, merchant, credit_minor, balance_minor, hold_ms } => {
                CommandKind::Authorize(kind::Authorize {
                    user: UserId(*user),
                    merchant: MerchantId(*merchant),
                    funding: funding(*credit_minor, *balance_minor)?,
                    hold_ms: *hold_ms,
                })
            }
            Body::Capture { authorization, merchant, amount_minor } => CommandKind::Capture(kind::Capture {
                authorization: CommandId(*authorization),
                merchant: MerchantId(*merchant),
                amount: amount(*amount_minor, line)?,
            }),
            Body::Release { authorization, merchant } => CommandKind::Release(kind::Release {
                authorization: CommandId(*authorization),
                merchant: MerchantId(*merchant),
            }),
            Body::Refund { payment, merchant, amount_minor } => CommandKind::Refund(kind::Refund {
                payment: CommandId(*payment),
                merchant: MerchantId(*merchant),
                amount: amount(*amount_minor, line)?,
            }),
            Body::Transfer { from, to, amount_minor } => CommandKind::Transfer(kind::Transfer {
                from: UserId(*from),
                to: UserId(*to),
                amount: amount(*amount_minor, line)?,
            }),
            Body::CashOut { user, amount_minor, agent: None } => CommandKind::WithdrawToBank(kind::WithdrawToBank {
                user: UserId(*user),
                amount: amount(*amount_minor, line)?,
            }),
            Body::CashOut { user, amount_minor, agent: Some(agent) } => CommandKind::AgentCashOut(kind::AgentCashOut {
                user: UserId(*user),
                agent: MerchantId(*agent),
                amount: amount(*amount_minor, line)?,
            }),
            Body::Payout { merchant, amount_minor } => CommandKind::PayoutMerchant(kind::PayoutMerchant {
                merchant: MerchantId(*merchant),
                amount: amount(*amount_minor, line)?,
            }),
            Body::MerchantTransfer { merchant, to, amount_minor } => {
                CommandKind::MerchantTransfer(kind::MerchantTransfer {
                    merchant: MerchantId(*merchant),
                    to: UserId(*to),
                    amount: amount(*amount_minor, line)?,
                })
            }
            Body::MerchantToMerchant { merchant, to_merchant, amount_minor } => {
                CommandKind::MerchantToMerchant(kind::MerchantToMerchant {
                    merchant: MerchantId(*merchant),
                    to: MerchantId(*to_merchant),
                    amount: amount(*amount_minor, line)?,
                })
            }
            Body::CreditWithdrawal { user, amount_minor, purpose } => {
                CommandKind::RequestWithdrawal(kind::RequestWithdrawal {
                    user: UserId(*user),
                    amount: amount(*amount_minor, line)?,
                    purpose: *purpose,
                })
            }
            Body::Verify { user, challenge } => CommandKind::VerifyChallenge(kind::VerifyChallenge {
                user: UserId(*user),
                challenge: CommandId(*challenge),
            }),
            Body::Repay { user, amount_minor, source } => CommandKind::Repay(kind::Repay {
                user: UserId(*user),
                amount: amount(*amount_minor, line)?,
                source: *source,
            }),
            Body::RepayStatement { user, source, in_full } => CommandKind::RepayStatement(kind::RepayStatement {
                user: UserId(*user),
                source: *source,
                in_full: *in_full,
            }),
            Body::Login { user, device } => CommandKind::LinkTie(kind::LinkTie {
                party: Party::User(UserId(*user)),
                tie: Tie { kind: TieKind::Device, token: *device },
            }),
            Body::Bind { user, merchant, tie } => {
                let party = match (user, merchant) {
                    (Some(user), None) => Party::User(UserId(*user)),
                    (None, Some(merchant)) => Party::Merchant(MerchantId(*merchant)),
                    _ => {
                        return Err(EventError { line, message: "bind needs exactly one of user and merchant".into() });
                    }
                };
                CommandKind::LinkTie(kind::LinkTie { party, tie: *tie })
            }
            Body::LiftAction { user, action } => {
                CommandKind::LiftAction(kind::LiftAction { user: UserId(*user), action: *action })
            }
            Body::DecideCase { case, approve, verdict } => {
                CommandKind::DecideCase(kind::DecideCase { case: CommandId(*case), approve: *approve, label: *verdict })
            }
            Body::Tick => CommandKind::Tick,
        };
        out.push(command(kind));
        Ok(())
    }

    /// The user whose behaviour this event is (the payer, the sender), if any.
    pub fn actor(&self) -> Option<u64> {
        match &self.body {
            Body::OpenUser { user, .. }
            | Body::SetCreditLimit { user, .. }
            | Body::TopUp { user, .. }
            | Body::Pay { user, .. }
            | Body::Authorize { user, .. }
            | Body::CashOut { user, .. }
            | Body::CreditWithdrawal { user, .. }
            | Body::Verify { user, .. }
            | Body::Repay { user, .. }
            | Body::RepayStatement { user, .. }
            | Body::Login { user, .. } => Some(*user),
            Body::Transfer { from, .. } => Some(*from),
            Body::Bind { user, .. } => *user,
            _ => None,
        }
    }

    /// The user whose device a `device` field names, and whose attempt a `refused` event was: the
    /// actor of an event a user makes.
    pub fn device_user(&self) -> Option<u64> {
        match &self.body {
            Body::TopUp { .. }
            | Body::Pay { .. }
            | Body::Authorize { .. }
            | Body::Transfer { .. }
            | Body::CashOut { .. }
            | Body::CreditWithdrawal { .. }
            | Body::Verify { .. }
            | Body::Repay { .. }
            | Body::RepayStatement { .. } => self.actor(),
            _ => None,
        }
    }

    /// The account that acts: the user of [`Event::actor`], or the merchant of a payout, capture,
    /// release or refund.
    pub fn party(&self) -> Option<Party> {
        match &self.body {
            Body::Payout { merchant, .. }
            | Body::MerchantTransfer { merchant, .. }
            | Body::MerchantToMerchant { merchant, .. }
            | Body::Capture { merchant, .. }
            | Body::Release { merchant, .. }
            | Body::Refund { merchant, .. } => Some(Party::Merchant(MerchantId(*merchant))),
            _ => self.actor().map(|user| Party::User(UserId(user))),
        }
    }

    /// The money the event would move, in minor units (0 for events that move none).
    pub fn amount_minor(&self) -> u64 {
        match &self.body {
            Body::Pay { credit_minor, balance_minor, .. } | Body::Authorize { credit_minor, balance_minor, .. } => {
                credit_minor.saturating_add(*balance_minor)
            }
            Body::TopUp { amount_minor, .. }
            | Body::Capture { amount_minor, .. }
            | Body::Refund { amount_minor, .. }
            | Body::Transfer { amount_minor, .. }
            | Body::CashOut { amount_minor, .. }
            | Body::Payout { amount_minor, .. }
            | Body::MerchantTransfer { amount_minor, .. }
            | Body::MerchantToMerchant { amount_minor, .. }
            | Body::CreditWithdrawal { amount_minor, .. }
            | Body::Repay { amount_minor, .. } => *amount_minor,
            _ => 0,
        }
    }
}

/// The bound on the id of an event that becomes several commands (an opening's ties, balance
/// and owner, the device of a payment): their ids are derived from its low 48 bits.
pub const DERIVED_ID_LIMIT: u64 = 1 << 48;
/// The most commands an event becomes besides its own: the index bits of [`derived_command_id`].
pub const DERIVED_MAX: usize = 1 << 14;

/// The id of the `index`-th command an event becomes besides its own: the event id with bit 62
/// set and the index in the bits above 48, so it collides with no event id below 2^48 and stays
/// an int64, as the API takes ids (ADR 0008).
pub fn derived_command_id(event_id: u64, index: usize) -> u64 {
    let id = (1 << 62) | ((index as u64 & (DERIVED_MAX as u64 - 1)) << 48) | (event_id & 0xffff_ffff_ffff);
    debug_assert!(id <= i64::MAX as u64);
    id
}

/// Writes the header line.
pub fn write_header(out: &mut impl Write) -> std::io::Result<()> {
    let header = Header { format: FORMAT.into(), version: VERSION };
    serde_json::to_writer(&mut *out, &header)?;
    out.write_all(b"\n")
}

/// Writes one event as a line.
pub fn write_event(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")
}

/// Reads an event file: the header, then one event per line (blank lines skipped). Each item is
/// the event with its line number, or the error of that line. A line is read in place from the
/// reader's buffer; one that spans two fills of it is gathered in one reused buffer.
pub fn read(mut input: impl BufRead) -> impl Iterator<Item = Result<(usize, Event), EventError>> {
    let (mut spanning, mut number, mut header_seen) = (Vec::new(), 0, false);
    std::iter::from_fn(move || {
        loop {
            number += 1;
            // The line's event or error, or `None` for a line that holds none (a blank, the header).
            let read = with_next_line(&mut input, &mut spanning, |bytes| -> Option<Result<Event, String>> {
                let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
                // An event line opens with its brace: only other lines are looked at for blanks.
                if bytes.first() != Some(&b'{') && utf8(bytes).is_ok_and(|line| line.trim().is_empty()) {
                    return None;
                }
                if !header_seen {
                    header_seen = true;
                    return utf8(bytes).and_then(check_header).err().map(Err);
                }
                Some(parse_bytes(bytes))
            });
            let parsed = match read {
                Ok(None) => return None,
                Ok(Some(parsed)) => parsed,
                Err(error) => Some(Err(error.to_string())),
            };
            if let Some(parsed) = parsed {
                return Some(
                    parsed.map(|event| (number, event)).map_err(|message| EventError { line: number, message }),
                );
            }
        }
    })
}

/// Calls `each` with the next line of `input`, without its `\n`: in place in the reader's buffer,
/// or gathered in `spanning` when it spans two fills. `None` at the end of the input.
fn with_next_line<T>(
    input: &mut impl BufRead,
    spanning: &mut Vec<u8>,
    each: impl FnOnce(&[u8]) -> T,
) -> std::io::Result<Option<T>> {
    spanning.clear();
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((!spanning.is_empty()).then(|| each(spanning)));
        }
        let Some(end) = memchr::memchr(b'\n', available) else {
            spanning.extend_from_slice(available);
            let length = available.len();
            input.consume(length);
            continue;
        };
        let value = match spanning.is_empty() {
            true => each(&available[..end]),
            false => {
                spanning.extend_from_slice(&available[..end]);
                each(spanning)
            }
        };
        input.consume(end + 1);
        return Ok(Some(value));
    }
}

/// Checks the header line names this format and a version this build reads.
fn check_header(line: &str) -> Result<(), String> {
    match serde_json::from_str::<Header>(line) {
        Ok(header) if header.format == FORMAT && VERSIONS_READ.contains(&header.version) => Ok(()),
        Ok(header) => {
            let read: Vec<String> = VERSIONS_READ.iter().map(u32::to_string).collect();
            let read = read.join(" or ");
            Err(format!("format {} version {} is not {FORMAT} version {read}", header.format, header.version))
        }
        Err(_) => Err(format!("the first line must be {{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}")),
    }
}

/// An event line as read: every field any type has, each optional. Reading into this flat shape
/// is direct (an internally tagged, flattened enum buffers each line first, at twice the cost);
/// [`Raw::into_event`] then checks the type's fields are there.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw<'a> {
    id: u64,
    time_ms: u64,
    /// Borrowed from the line unless it has escapes: no allocation per event for its type.
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    label: Option<String>,
    after: Option<u64>,
    owner: Option<u64>,
    agent: Option<u64>,
    to_merchant: Option<u64>,
    refused: Option<bool>,
    user: Option<u64>,
    merchant: Option<u64>,
    currency: Option<String>,
    identity: Option<IdentityLevel>,
    ties: Option<Vec<Tie>>,
    category: Option<MerchantCategory>,
    verification: Option<MerchantVerification>,
    partner: Option<bool>,
    limit_minor: Option<u64>,
    amount_minor: Option<u64>,
    credit_minor: Option<u64>,
    balance_minor: Option<u64>,
    beneficiary: Option<Tie>,
    hold_ms: Option<u64>,
    authorization: Option<u64>,
    payment: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
    purpose: Option<WithdrawalPurpose>,
    challenge: Option<u64>,
    source: Option<RepaySource>,
    in_full: Option<bool>,
    device: Option<u64>,
    tie: Option<Tie>,
    action: Option<AccountAction>,
    case: Option<u64>,
    approve: Option<bool>,
    verdict: Option<Label>,
}

/// A required field of the line's type.
fn need<T>(value: Option<T>, kind: &str, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("a `{kind}` event needs `{field}`"))
}

impl Raw<'_> {
    fn into_event(mut self) -> Result<Event, String> {
        let kind = &*self.kind;
        let user = |value| need(value, kind, "user");
        let merchant = |value| need(value, kind, "merchant");
        let amount = |value| need(value, kind, "amount_minor");
        let currency = || self.currency.clone().unwrap_or_else(default_currency);
        let body = match kind {
            "open_user" => Body::OpenUser {
                user: user(self.user)?,
                currency: currency(),
                identity: need(self.identity, kind, "identity")?,
                ties: self.ties.unwrap_or_default(),
                balance_minor: self.balance_minor.unwrap_or(0),
            },
            "open_merchant" => Body::OpenMerchant {
                merchant: merchant(self.merchant)?,
                currency: currency(),
                category: need(self.category, kind, "category")?,
                verification: need(self.verification, kind, "verification")?,
                partner: self.partner.unwrap_or(false),
                ties: self.ties.unwrap_or_default(),
                owner: self.owner,
            },
            "set_credit_limit" => Body::SetCreditLimit {
                user: user(self.user)?,
                limit_minor: need(self.limit_minor, kind, "limit_minor")?,
            },
            "top_up" => {
                Body::TopUp { user: user(self.user)?, amount_minor: amount(self.amount_minor)?, agent: self.agent }
            }
            "pay" => Body::Pay {
                user: user(self.user)?,
                merchant: merchant(self.merchant)?,
                credit_minor: self.credit_minor.unwrap_or(0),
                balance_minor: self.balance_minor.unwrap_or(0),
                beneficiary: self.beneficiary,
            },
            "authorize" => Body::Authorize {
                user: user(self.user)?,
                merchant: merchant(self.merchant)?,
                credit_minor: self.credit_minor.unwrap_or(0),
                balance_minor: self.balance_minor.unwrap_or(0),
                hold_ms: need(self.hold_ms, kind, "hold_ms")?,
            },
            "capture" => Body::Capture {
                authorization: need(self.authorization, kind, "authorization")?,
                merchant: merchant(self.merchant)?,
                amount_minor: amount(self.amount_minor)?,
            },
            "release" => Body::Release {
                authorization: need(self.authorization, kind, "authorization")?,
                merchant: merchant(self.merchant)?,
            },
            "refund" => Body::Refund {
                payment: need(self.payment, kind, "payment")?,
                merchant: merchant(self.merchant)?,
                amount_minor: amount(self.amount_minor)?,
            },
            "transfer" => Body::Transfer {
                from: need(self.from, kind, "from")?,
                to: need(self.to, kind, "to")?,
                amount_minor: amount(self.amount_minor)?,
            },
            "cash_out" => {
                Body::CashOut { user: user(self.user)?, amount_minor: amount(self.amount_minor)?, agent: self.agent }
            }
            "payout" => Body::Payout { merchant: merchant(self.merchant)?, amount_minor: amount(self.amount_minor)? },
            "merchant_transfer" => match (self.to, self.to_merchant) {
                (Some(to), None) => Body::MerchantTransfer {
                    merchant: merchant(self.merchant)?,
                    to,
                    amount_minor: amount(self.amount_minor)?,
                },
                (None, Some(to_merchant)) => Body::MerchantToMerchant {
                    merchant: merchant(self.merchant)?,
                    to_merchant,
                    amount_minor: amount(self.amount_minor)?,
                },
                _ => return Err("a `merchant_transfer` event needs exactly one of `to` and `to_merchant`".into()),
            },
            "credit_withdrawal" => Body::CreditWithdrawal {
                user: user(self.user)?,
                amount_minor: amount(self.amount_minor)?,
                purpose: need(self.purpose, kind, "purpose")?,
            },
            "verify" => Body::Verify { user: user(self.user)?, challenge: need(self.challenge, kind, "challenge")? },
            "repay" => Body::Repay {
                user: user(self.user)?,
                amount_minor: amount(self.amount_minor)?,
                source: need(self.source, kind, "source")?,
            },
            "repay_statement" => Body::RepayStatement {
                user: user(self.user)?,
                source: need(self.source, kind, "source")?,
                in_full: need(self.in_full, kind, "in_full")?,
            },
            "login" => Body::Login { user: user(self.user)?, device: need(self.device.take(), kind, "device")? },
            "bind" => Body::Bind { user: self.user, merchant: self.merchant, tie: need(self.tie, kind, "tie")? },
            "decide_case" => Body::DecideCase {
                case: need(self.case, kind, "case")?,
                approve: need(self.approve, kind, "approve")?,
                verdict: need(self.verdict, kind, "verdict")?,
            },
            "lift_action" => Body::LiftAction { user: user(self.user)?, action: need(self.action, kind, "action")? },
            "tick" => Body::Tick,
            other => return Err(format!("unknown event type {other:?}; docs/events.md lists them")),
        };
        Ok(Event {
            id: self.id,
            time_ms: self.time_ms,
            body,
            label: self.label,
            after: self.after,
            device: self.device,
            refused: self.refused.unwrap_or(false),
        })
    }
}

/// Parses one event line, as [`read`] does: by the flat reader when the line has the common
/// shape (ADR 0006), else by `serde_json`.
pub fn parse_line(line: &str) -> Result<Event, String> {
    parse_bytes(line.as_bytes())
}

/// Parses one event line from its bytes: the flat reader takes only ASCII, so only a line left
/// to `serde_json` is checked to be UTF-8 first.
fn parse_bytes(line: &[u8]) -> Result<Event, String> {
    let mut raw = Raw::default();
    match flat::read(line, &mut raw) {
        Some(()) => raw.into_event(),
        None => parse_general(utf8(line)?),
    }
}

/// The line as text, or the error that says it is not.
fn utf8(line: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(line).map_err(|error| format!("the line is not UTF-8 text ({error})"))
}

/// Parses one event line with `serde_json`, whatever its shape.
fn parse_general(line: &str) -> Result<Event, String> {
    serde_json::from_str::<Raw>(line).map_err(|error| error.to_string())?.into_event()
}
