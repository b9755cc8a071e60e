//! The record layout: a 24-byte header, then the payload.
//!
//! | bytes | field                                                      |
//! |-------|------------------------------------------------------------|
//! | 0..4  | magic `CLJ1`                                               |
//! | 4..8  | payload length, u32 little-endian                          |
//! | 8..16 | first command sequence, u64 little-endian                  |
//! | 16..20| command count, u32 little-endian                           |
//! | 20..24| CRC-32C over bytes 4..20 and the payload, little-endian     |

/// Bytes in a record header.
pub const HEADER_BYTES: usize = 24;
/// The largest payload one record may carry (64 MiB).
pub const RECORD_PAYLOAD_MAX_BYTES: usize = 64 << 20;
const MAGIC: [u8; 4] = *b"CLJ1";

/// One journal record: a batch of `count` commands numbered from `first_sequence`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Sequence number of the first command in the batch (sequences start at 1).
    pub first_sequence: u64,
    /// Number of commands in the batch.
    pub count: u32,
    /// The encoded batch.
    pub payload: Vec<u8>,
}

impl Record {
    /// The sequence after the last command of this record.
    pub fn end_sequence(&self) -> u64 {
        self.first_sequence + u64::from(self.count)
    }
}

fn checksum(header: &[u8; HEADER_BYTES], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[4..20]), payload)
}

/// Writes a header for `payload` into `out`.
pub(crate) fn encode_header(first_sequence: u64, count: u32, payload: &[u8]) -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[0..4].copy_from_slice(&MAGIC);
    // Callers check the payload against RECORD_PAYLOAD_MAX_BYTES, which fits u32.
    header[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[8..16].copy_from_slice(&first_sequence.to_le_bytes());
    header[16..20].copy_from_slice(&count.to_le_bytes());
    let crc = checksum(&header, payload);
    header[20..24].copy_from_slice(&crc.to_le_bytes());
    header
}

/// What a header says before its payload is read.
pub(crate) struct Header {
    pub(crate) payload_bytes: usize,
    pub(crate) first_sequence: u64,
    pub(crate) count: u32,
    raw: [u8; HEADER_BYTES],
}

/// Parses a header; `Err` names what is wrong.
pub(crate) fn decode_header(raw: [u8; HEADER_BYTES]) -> Result<Header, String> {
    if raw[0..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &raw[0..4]));
    }
    let field = |range: std::ops::Range<usize>| raw[range].iter().rev().fold(0u64, |acc, byte| acc << 8 | *byte as u64);
    let payload_bytes = field(4..8) as usize;
    if payload_bytes > RECORD_PAYLOAD_MAX_BYTES {
        return Err(format!("payload length {payload_bytes} exceeds the maximum"));
    }
    Ok(Header { payload_bytes, first_sequence: field(8..16), count: field(16..20) as u32, raw })
}

impl Header {
    /// Verifies the checksum against the payload.
    pub(crate) fn verify(&self, payload: &[u8]) -> Result<(), String> {
        let stored = u32::from_le_bytes([self.raw[20], self.raw[21], self.raw[22], self.raw[23]]);
        let computed = checksum(&self.raw, payload);
        match stored == computed {
            true => Ok(()),
            false => Err(format!("checksum mismatch: stored {stored:08x}, computed {computed:08x}")),
        }
    }
}
