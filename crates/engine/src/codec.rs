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

/// Appends the postcard encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
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
