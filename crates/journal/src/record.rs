//! The record layout: a 28-byte header with a checksum of its own, then the payload.
//!
//! | bytes | field                                                      |
//! |-------|------------------------------------------------------------|
//! | 0..4  | magic `CLJ2`                                               |
//! | 4..8  | payload length, u32 little-endian                          |
//! | 8..16 | first command sequence, u64 little-endian                  |
//! | 16..20| command count, u32 little-endian                           |
//! | 20..24| CRC-32C of the payload, little-endian                      |
//! | 24..28| CRC-32C of bytes 0..24, little-endian                      |
//!
//! The header's own checksum is what lets recovery trust a length: a record whose header
//! verifies but whose payload runs past the end of the file is a torn write, while a complete
//! record that fails its payload checksum is corruption.

/// Bytes in a record header.
pub const HEADER_BYTES: usize = 28;
/// The largest payload one record may carry (64 MiB).
pub const RECORD_PAYLOAD_MAX_BYTES: usize = 64 << 20;
const MAGIC: [u8; 4] = *b"CLJ2";
/// The first format's magic: named so that a journal written by an older build is refused with
/// a message saying so, not reported as damage.
const MAGIC_VERSION_1: [u8; 4] = *b"CLJ1";

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

fn read_u32(raw: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(raw[at..at + 4].try_into().expect("four bytes"))
}

/// The header for `payload`. Callers check the payload against [`RECORD_PAYLOAD_MAX_BYTES`].
pub(crate) fn encode_header(first_sequence: u64, count: u32, payload: &[u8]) -> [u8; HEADER_BYTES] {
    assert!(payload.len() <= RECORD_PAYLOAD_MAX_BYTES, "payload checked by the caller");
    let mut header = [0u8; HEADER_BYTES];
    header[0..4].copy_from_slice(&MAGIC);
    header[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[8..16].copy_from_slice(&first_sequence.to_le_bytes());
    header[16..20].copy_from_slice(&count.to_le_bytes());
    header[20..24].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    let header_crc = crc32c::crc32c(&header[0..24]);
    header[24..28].copy_from_slice(&header_crc.to_le_bytes());
    header
}

/// A header whose own checksum verified: its length and sequence can be trusted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) payload_bytes: usize,
    pub(crate) first_sequence: u64,
    pub(crate) count: u32,
    payload_crc: u32,
}

impl Header {
    /// Bytes of the whole record, header included.
    pub(crate) fn record_bytes(&self) -> usize {
        HEADER_BYTES + self.payload_bytes
    }

    /// Verifies the payload against the header's payload checksum.
    pub(crate) fn verify(&self, payload: &[u8]) -> Result<(), String> {
        let computed = crc32c::crc32c(payload);
        match computed == self.payload_crc {
            true => Ok(()),
            false => {
                Err(format!("payload checksum mismatch: stored {:08x}, computed {computed:08x}", self.payload_crc))
            }
        }
    }
}

/// Parses and verifies a header; `Err` names what is wrong.
pub(crate) fn decode_header(raw: &[u8; HEADER_BYTES]) -> Result<Header, String> {
    if raw[0..4] == MAGIC_VERSION_1 {
        return Err("a record of journal format 1, written by an older build: this build reads format 2 only".into());
    }
    if raw[0..4] != MAGIC {
        return Err(format!("bad magic {:02x?}", &raw[0..4]));
    }
    let stored = read_u32(raw, 24);
    let computed = crc32c::crc32c(&raw[0..24]);
    if stored != computed {
        return Err(format!("header checksum mismatch: stored {stored:08x}, computed {computed:08x}"));
    }
    let payload_bytes = read_u32(raw, 4) as usize;
    if payload_bytes > RECORD_PAYLOAD_MAX_BYTES {
        return Err(format!("payload length {payload_bytes} exceeds the maximum"));
    }
    let first_sequence = u64::from_le_bytes(raw[8..16].try_into().expect("eight bytes"));
    Ok(Header { payload_bytes, first_sequence, count: read_u32(raw, 16), payload_crc: read_u32(raw, 20) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_bit_flip_in_a_header_is_caught_by_its_checksum() {
        let header = encode_header(7, 3, b"payload");
        assert!(decode_header(&header).is_ok());
        for bit in 0..HEADER_BYTES * 8 {
            let mut flipped = header;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_header(&flipped).is_err(), "bit {bit} flipped unnoticed");
        }
    }
}
