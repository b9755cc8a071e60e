//! The journal payload codec: a batch of commands in postcard's stable, compact encoding.
//!
//! Pure functions over bytes; the journal stores the result without interpreting it.

use crate::command::Command;
use serde::Serialize;

/// Appends the encoding of `commands` to `out`.
pub fn encode_batch(commands: &[Command], out: &mut Vec<u8>) {
    encode_into(commands, out);
}

/// Decodes a batch; the error says why the bytes are not a batch.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Command>, String> {
    postcard::from_bytes(bytes).map_err(|error| error.to_string())
}

/// Appends the postcard encoding of `value` to `out` (any serde value: the engine fingerprints
/// commands with it, in the journal's encoding).
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Pushing to a vector cannot fail short of allocation failure, which aborts before this.
    postcard::serialize_with_flavor(value, VecSink(out)).expect("encoding into a vector cannot fail");
}

/// A postcard output that pushes byte by byte: command encodings are runs of short varints,
/// for which postcard's own vector output spends more time calling `memcpy` than copying.
struct VecSink<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for VecSink<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        for byte in data {
            self.0.push(*byte);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{CommandId, CommandKind, Funding, IdentityLevel, MerchantId, UserId, kind};
    use crate::money::{Amount, Currency};
    use crate::risk::{Party, Tie, TieKind};

    /// The journal encodes a command kind by its variant's position: a journal written before a
    /// kind was added decodes only if every kind keeps its place, so new kinds go at the end. This
    /// pins the places of the first, some common and the latest kinds.
    #[test]
    fn command_kinds_keep_their_place_in_the_journal() {
        let (user, merchant, amount) = (UserId(1), MerchantId(2), Amount::new(3).expect("an amount"));
        let funding = Funding { credit_minor: 3, balance_minor: 0 };
        let tie = Tie { kind: TieKind::Device, token: 4 };
        let kinds = [
            (0, CommandKind::OpenUser(kind::OpenUser { user, currency: Currency::CNY, identity: IdentityLevel::Full })),
            (4, CommandKind::TopUp(kind::TopUp { user, amount })),
            (5, CommandKind::Pay(kind::Pay { user, merchant, funding })),
            (10, CommandKind::Transfer(kind::Transfer { from: user, to: UserId(5), amount })),
            (11, CommandKind::WithdrawToBank(kind::WithdrawToBank { user, amount })),
            (14, CommandKind::Tick),
            (25, CommandKind::PayFor(kind::PayFor { user, merchant, funding, beneficiary: tie })),
            (26, CommandKind::LinkTie(kind::LinkTie { party: Party::User(user), tie })),
            (34, CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant, to: user, amount })),
            (35, CommandKind::AgentCashOut(kind::AgentCashOut { user, agent: merchant, amount })),
            (36, CommandKind::MerchantToMerchant(kind::MerchantToMerchant { merchant, to: MerchantId(6), amount })),
            (37, CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user, amount })),
            (39, CommandKind::ApproveRules(kind::ApproveRules { proposal: CommandId(7) })),
        ];
        for (place, kind) in kinds {
            let mut bytes = Vec::new();
            encode_into(&kind, &mut bytes);
            assert_eq!(bytes[0], place, "{}", kind.name());
            let decoded: CommandKind = postcard::from_bytes(&bytes).expect("decodes");
            assert_eq!(decoded, kind);
        }
    }
}
