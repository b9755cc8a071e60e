//! Mandates (免密支付): a user's standing permission for one merchant to charge them without
//! asking each time, with caps per payment and per calendar month. A command a merchant sends on
//! its own ([`Initiator::Merchant`]) that spends a user's money — a payment or a hold — passes
//! only under one; what the platform sends for the user needs none.

use crate::apply::Engine;
use model::Rejection;
use model::{CommandKind, Initiator, MerchantId, UserId};
use serde::{Deserialize, Serialize};

/// A mandate in force, with what it has let through this month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    /// Most a single payment or hold may be, in minor units.
    pub per_payment_max_minor: u64,
    /// Most a month's payments and holds may total, in minor units.
    pub per_month_max_minor: u64,
    /// The month `spent_minor` counts (the product calendar's month key).
    pub month: i64,
    /// Charged under it in `month`, in minor units.
    pub spent_minor: u64,
}

impl Engine {
    /// Checks a merchant-initiated charge against its mandate; returns what to count on it once
    /// the charge goes through (`None` when no mandate is involved).
    pub(crate) fn check_mandate(
        &self,
        initiator: Initiator,
        kind: &CommandKind,
    ) -> Result<Option<(UserId, MerchantId, u64)>, Rejection> {
        let (Initiator::Merchant, Some((user, merchant, funding))) = (initiator, crate::kinds::charge(kind)) else {
            return Ok(None);
        };
        let mandate = self.mandates.get(&(user, merchant)).ok_or(Rejection::NoMandate)?;
        let amount = funding.credit_minor.checked_add(funding.balance_minor).ok_or(Rejection::InvalidAmount)?;
        let (_, month) = self.local_today();
        let spent = if mandate.month == month { mandate.spent_minor } else { 0 };
        let within = amount <= mandate.per_payment_max_minor
            && spent.checked_add(amount).is_some_and(|total| total <= mandate.per_month_max_minor);
        match within {
            true => Ok(Some((user, merchant, amount))),
            false => Err(Rejection::MandateCapExceeded),
        }
    }

    /// Counts a charge that went through on its mandate's month.
    pub(crate) fn count_on_mandate(&mut self, user: UserId, merchant: MerchantId, amount: u64) {
        let (_, month) = self.local_today();
        let mandate = self.mandates.get_mut(&(user, merchant)).expect("checked before the charge ran");
        if mandate.month != month {
            (mandate.month, mandate.spent_minor) = (month, 0);
        }
        mandate.spent_minor = mandate.spent_minor.saturating_add(amount);
        debug_assert!(mandate.spent_minor <= mandate.per_month_max_minor, "checked before the charge ran");
    }
}
