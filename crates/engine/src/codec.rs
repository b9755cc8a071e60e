//! The journal payload codec: a batch of commands in postcard's stable, compact encoding.
//!
//! Pure functions over bytes; the journal stores the result without interpreting it.

use crate::command::Command;

/// Appends the encoding of `commands` to `out`.
pub fn encode_batch(commands: &[Command], out: &mut Vec<u8>) {
    let encoded = postcard::to_extend(commands, std::mem::take(out));
    // Extending a vector fails only on allocation failure, which aborts before this.
    *out = encoded.expect("encoding into a vector cannot fail");
}

/// Decodes a batch; the error says why the bytes are not a batch.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Command>, String> {
    postcard::from_bytes(bytes).map_err(|error| error.to_string())
}
