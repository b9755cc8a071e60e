//! A reader for the common shape of an event line, as `creditline simulate` writes it: one
//! object of integers, booleans, plain ASCII strings with no spaces and ties
//! (`{"kind":…,"token":…}`). `serde_json` spends ~4,300 instructions on such a line (44 % of a
//! replay; `simd-json` was no faster on lines this short), so this reads it in one pass. Anything
//! else — spaces, escapes, text other than ASCII, `null`, lists, a tie with its keys in another
//! order, a repeated or unknown key, a number with a sign, a fraction, an exponent, a leading zero
//! or more than 19 digits, a name no variant has — is left to `serde_json`, which reads it to the
//! same event or refuses it with its precise error. ADR 0006 says why.

use super::Raw;
use model::risk::Tie;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::Error as ValueError;
use std::borrow::Cow;

/// Reads the line into `raw` (a default one), or `None` to leave it to `serde_json`, `raw` then
/// half-filled. The reader takes only ASCII (its strings included), so a line it reads is UTF-8
/// with no check of its own. It fills the caller's `raw` in place: returned, the large struct
/// was copied once more per line.
pub(super) fn read<'a>(line: &'a [u8], raw: &mut Raw<'a>) -> Option<()> {
    let mut cursor = Cursor { line, at: 0 };
    let (mut id, mut time_ms, mut kind) = (None, None, None);
    cursor.byte(b'{')?;
    loop {
        // A jump on the key's first letter, then each candidate compared with its quotes and
        // colon in place: no scan for the closing quote, no chain of string comparisons.
        match cursor.key_letter()? {
            b'i' if cursor.key(b"id") => set(&mut id, cursor.number()?)?,
            b't' if cursor.key(b"time_ms") => set(&mut time_ms, cursor.number()?)?,
            b't' if cursor.key(b"type") => set(&mut kind, cursor.string()?)?,
            b'u' if cursor.key(b"user") => set(&mut raw.user, cursor.number()?)?,
            b'm' if cursor.key(b"merchant") => set(&mut raw.merchant, cursor.number()?)?,
            b'c' if cursor.key(b"credit_minor") => set(&mut raw.credit_minor, cursor.number()?)?,
            b'b' if cursor.key(b"balance_minor") => set(&mut raw.balance_minor, cursor.number()?)?,
            b'b' if cursor.key(b"beneficiary") => set(&mut raw.beneficiary, cursor.tie()?)?,
            b'l' if cursor.key(b"label") => set(&mut raw.label, cursor.string()?.to_owned())?,
            b'a' if cursor.key(b"amount_minor") => set(&mut raw.amount_minor, cursor.number()?)?,
            b'a' if cursor.key(b"after") => set(&mut raw.after, cursor.number()?)?,
            b'a' if cursor.key(b"agent") => set(&mut raw.agent, cursor.number()?)?,
            b'o' if cursor.key(b"owner") => set(&mut raw.owner, cursor.number()?)?,
            b't' if cursor.key(b"to_merchant") => set(&mut raw.to_merchant, cursor.number()?)?,
            b'r' if cursor.key(b"refused") => set(&mut raw.refused, cursor.boolean()?)?,
            b'p' if cursor.key(b"payment") => set(&mut raw.payment, cursor.number()?)?,
            b'f' if cursor.key(b"from") => set(&mut raw.from, cursor.number()?)?,
            b't' if cursor.key(b"to") => set(&mut raw.to, cursor.number()?)?,
            b's' if cursor.key(b"source") => set(&mut raw.source, cursor.name()?)?,
            b'i' if cursor.key(b"in_full") => set(&mut raw.in_full, cursor.boolean()?)?,
            b'c' if cursor.key(b"currency") => set(&mut raw.currency, cursor.string()?.to_owned())?,
            b'l' if cursor.key(b"limit_minor") => set(&mut raw.limit_minor, cursor.number()?)?,
            b'h' if cursor.key(b"hold_ms") => set(&mut raw.hold_ms, cursor.number()?)?,
            b'a' if cursor.key(b"authorization") => set(&mut raw.authorization, cursor.number()?)?,
            b'c' if cursor.key(b"challenge") => set(&mut raw.challenge, cursor.number()?)?,
            b'd' if cursor.key(b"device") => set(&mut raw.device, cursor.number()?)?,
            b't' if cursor.key(b"tie") => set(&mut raw.tie, cursor.tie()?)?,
            b'c' if cursor.key(b"case") => set(&mut raw.case, cursor.number()?)?,
            b'p' if cursor.key(b"partner") => set(&mut raw.partner, cursor.boolean()?)?,
            b'a' if cursor.key(b"approve") => set(&mut raw.approve, cursor.boolean()?)?,
            b'i' if cursor.key(b"identity") => set(&mut raw.identity, cursor.name()?)?,
            b'c' if cursor.key(b"category") => set(&mut raw.category, cursor.name()?)?,
            b'v' if cursor.key(b"verification") => set(&mut raw.verification, cursor.name()?)?,
            b'p' if cursor.key(b"purpose") => set(&mut raw.purpose, cursor.name()?)?,
            b'a' if cursor.key(b"action") => set(&mut raw.action, cursor.name()?)?,
            b'v' if cursor.key(b"verdict") => set(&mut raw.verdict, cursor.name()?)?,
            _ => return None,
        }
        match cursor.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    if cursor.at != line.len() {
        return None;
    }
    (raw.id, raw.time_ms, raw.kind) = (id?, time_ms?, Cow::Borrowed(kind?));
    Some(())
}

/// Sets a field read for the first time; `None` (leave the line to `serde_json`) on a repeat.
fn set<T>(field: &mut Option<T>, value: T) -> Option<()> {
    match field {
        Some(_) => None,
        None => {
            *field = Some(value);
            Some(())
        }
    }
}

/// A position in the line.
struct Cursor<'a> {
    line: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<u8> {
        let byte = *self.line.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn byte(&mut self, expected: u8) -> Option<()> {
        (self.next()? == expected).then_some(())
    }

    /// The first letter of the key at the cursor (the byte after its opening quote).
    fn key_letter(&self) -> Option<u8> {
        self.line.get(self.at + 1).copied()
    }

    /// Whether the key at the cursor is `name`, written `"name":`; if so, moves past it.
    fn key(&mut self, name: &[u8]) -> bool {
        let rest = &self.line[self.at..];
        let found = rest.len() > name.len() + 2
            && rest[0] == b'"'
            && &rest[1..=name.len()] == name
            && rest[name.len() + 1..name.len() + 3] == *b"\":";
        if found {
            self.at += name.len() + 3;
        }
        found
    }

    /// An ASCII string without escapes or control characters (any other is left to `serde_json`).
    fn string(&mut self) -> Option<&'a str> {
        self.byte(b'"')?;
        let rest = &self.line[self.at..];
        let length = rest.iter().position(|byte| matches!(byte, b'"' | b'\\' | 0..0x20 | 0x80..))?;
        if rest[length] != b'"' {
            return None;
        }
        // SAFETY: every byte before `length` is below 0x80: ASCII, so UTF-8.
        let text = unsafe { std::str::from_utf8_unchecked(&rest[..length]) };
        self.at += length + 1;
        Some(text)
    }

    /// An unsigned integer of at most 19 digits (so it cannot overflow), without a leading zero.
    fn number(&mut self) -> Option<u64> {
        let rest = &self.line[self.at..];
        let (mut value, mut digits) = (0u64, 0);
        // Wrapping: more than 19 digits are refused below, whatever the value came to.
        while let Some(digit) = rest.get(digits).map(|byte| byte.wrapping_sub(b'0')).filter(|digit| *digit < 10) {
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
            digits += 1;
        }
        if digits == 0 || digits > 19 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        self.at += digits;
        Some(value)
    }

    fn boolean(&mut self) -> Option<bool> {
        let rest = &self.line[self.at..];
        let (value, length) = match () {
            _ if rest.starts_with(b"true") => (true, 4),
            _ if rest.starts_with(b"false") => (false, 5),
            _ => return None,
        };
        self.at += length;
        Some(value)
    }

    /// A tie as `simulate` writes it, `{"kind":NAME,"token":N}`: its two keys in that order.
    fn tie(&mut self) -> Option<Tie> {
        self.byte(b'{')?;
        self.key(b"kind").then_some(())?;
        let kind = self.name()?;
        self.byte(b',')?;
        self.key(b"token").then_some(())?;
        let token = self.number()?;
        self.byte(b'}')?;
        Some(Tie { kind, token })
    }

    /// A name of a unit variant, as serde spells it.
    fn name<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let text = self.string()?;
        T::deserialize(IntoDeserializer::<ValueError>::into_deserializer(text)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Raw, parse_general as general, parse_line, write_event};
    use crate::population::{Config, Mix, Simulator};
    use proptest::prelude::*;

    /// The line as the flat reader reads it.
    fn flat(line: &str) -> Option<Raw<'_>> {
        let mut raw = Raw::default();
        super::read(line.as_bytes(), &mut raw).map(|()| raw)
    }

    proptest! {
        /// A number reads as the digits that open the text say, whatever its length and what
        /// follows it: `None` for no digits, a leading zero or more than 19 digits.
        #[test]
        fn numbers_read_as_their_digits(digits in "[0-9]{0,22}", after in "[,}\"a-z0-9:]{0,12}") {
            let line = format!("{digits}{after}");
            let mut cursor = super::Cursor { line: line.as_bytes(), at: 0 };
            let run = line.bytes().take_while(u8::is_ascii_digit).count();
            let expected = match run {
                0 | 20.. => None,
                _ if run > 1 && line.starts_with('0') => None,
                _ => Some(line[..run].parse::<u64>().expect("19 digits fit")),
            };
            prop_assert_eq!(cursor.number(), expected);
            if expected.is_some() {
                prop_assert_eq!(cursor.at, run);
            }
        }
    }

    #[test]
    fn reads_every_simulated_line_as_the_general_parser_does() {
        let config = Config { users: 400, merchants: 30, days: 15, seed: 7, mix: Mix::default(), adversarial: false };
        let (mut flat_lines, mut fast, mut for_others) = (0, 0, 0);
        Simulator::new(config).run(&mut |event| {
            let mut out = Vec::new();
            write_event(&mut out, &event).expect("writes");
            let line = std::str::from_utf8(&out).expect("utf-8").trim_end();
            let expected = general(line).expect("the general parser reads it");
            assert_eq!(expected, event);
            // Flat but for ties (the ties of an opening are a list; a verdict may be an object).
            let ties = line.matches(r#"{"kind":"#).count();
            flat_lines += usize::from(!line.contains('[') && line.matches('{').count() == 1 + ties);
            if let Some(raw) = flat(line) {
                fast += 1;
                for_others += usize::from(raw.beneficiary.is_some());
                assert_eq!(raw.into_event().as_ref(), Ok(&expected), "{line}");
            }
        });
        assert_eq!(fast, flat_lines, "every line without nested values reads flat");
        assert!(fast > 5_000, "{fast}");
        assert!(for_others > 0, "the population has orders for others");
    }

    #[test]
    fn leaves_every_other_shape_to_the_general_parser() {
        let pay = r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300,"label":"honest"}"#;
        assert_eq!(flat(pay).map(Raw::into_event), Some(general(pay)));
        // Flat, so read flat, though the event is refused later (a payment of nothing).
        let nothing = r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2}"#;
        assert_eq!(flat(nothing).map(Raw::into_event), Some(general(nothing)));
        for line in [
            r#"{"id":5, "time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"p\u0061y","user":1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"user":3,"merchant":2,"credit_minor":300}"#,
            r#"{"id":05,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":-1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1.0,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1e2,"merchant":2,"credit_minor":300}"#,
            r#"{"id":18446744073709551615,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3}"#,
            r#"{"id":18446744073709551616,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300,"label":null}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300,"colour":"red"}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user_id":1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","u":1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300,"":1}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3,"beneficiary":{"token":7,"kind":"phone"}}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3,"beneficiary":{"kind":"phone"}}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3,"beneficiary":{"kind":"fax","token":7}}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3,"beneficiary":{"kind":"phone","token":7,"x":1}}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3,"beneficiary":null}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300} x"#,
            r#"{"id":5,"time_ms":9,"type":"open_merchant","merchant":2,"category":"shoes","verification":"certified"}"#,
            r#"{"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300"#,
            r#"{}"#,
            r#"{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":300,"label":"诚实"}"#,
        ] {
            assert!(flat(line).is_none(), "the flat reader must leave this line alone: {line}");
        }
        // The general parser reads what is valid (a `null` label, text other than ASCII, a
        // 20-digit id) and refuses the rest with its own error.
        let null_label = parse_line(r#"{"id":5,"time_ms":9,"type":"tick","label":null}"#);
        assert_eq!(null_label.expect("a null label is read").label, None);
        let chinese = parse_line(r#"{"id":5,"time_ms":9,"type":"tick","label":"诚实"}"#);
        assert_eq!(chinese.expect("UTF-8 text is read").label.as_deref(), Some("诚实"));
        let twenty_digits = r#"{"id":18446744073709551615,"time_ms":9,"type":"tick"}"#;
        assert_eq!(parse_line(twenty_digits).map(|event| event.id), Ok(u64::MAX));
        let order = |tie| {
            format!(r#"{{"id":5,"time_ms":9,"type":"pay","user":1,"merchant":2,"credit_minor":3,"beneficiary":{tie}}}"#)
        };
        let usual = order(r#"{"kind":"phone","token":7}"#);
        let flat = flat(&usual).expect("a tie in its usual order reads flat");
        assert_eq!(parse_line(&order(r#"{"token":7,"kind":"phone"}"#)), flat.into_event());
        let duplicate = parse_line(r#"{"id":5,"id":6,"time_ms":9,"type":"tick"}"#);
        assert!(duplicate.expect_err("a repeated key").contains("duplicate field"));
    }
}
