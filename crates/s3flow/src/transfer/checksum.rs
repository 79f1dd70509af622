//! CRC32 checksums of uploaded and downloaded bodies.
//!
//! CRC32 (not CRC32C) because it is the `x-amz-checksum-*` header every store we test stores
//! and echoes (scripts/BACKENDS.md, "x-amz-checksum-crc32 header"). We compute it ourselves and
//! send it as a header, so the SDK never switches to an aws-chunked body with a trailer
//! (which Garage rejects over http). Part checksums combine into the whole object's checksum
//! without a second pass over the data.

use base64::Engine;
use crc_fast::CrcAlgorithm;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The algorithm name as S3 spells it.
pub const ALGORITHM: &str = "CRC32";
const CRC: CrcAlgorithm = CrcAlgorithm::Crc32IsoHdlc;

/// A checksum as reported in outputs: `{"algorithm":"CRC32","value":"<base64>"}`. The value
/// covers the whole object, in S3's encoding (base64 of the big-endian CRC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Checksum {
    pub algorithm: String,
    pub value: String,
}

impl Checksum {
    pub fn crc32(crc: u32) -> Self {
        Checksum { algorithm: ALGORITHM.to_owned(), value: encode(crc) }
    }
}

/// The CRC32 of one buffer.
pub fn crc32(data: &[u8]) -> u32 {
    crc_fast::checksum(CRC, data) as u32
}

/// The CRC32 of `a ++ b` from the CRC32 of `a`, the CRC32 of `b` and the length of `b`.
pub fn combine(a: u32, b: u32, b_len: u64) -> u32 {
    if b_len == 0 {
        return a;
    }
    crc_fast::checksum_combine(CRC, u64::from(a), u64::from(b), b_len) as u32
}

/// S3's header encoding: base64 of the 4 big-endian bytes.
pub fn encode(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// Parses S3's encoding; `None` for composite checksums (`…-N`, a checksum of part checksums)
/// and anything else that is not one whole-object CRC32.
pub fn decode(value: &str) -> Option<u32> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// A running CRC32 over a body read in order: bytes stream through one digest, pieces whose
/// CRC is already known are combined in (combining is far dearer than hashing a small chunk,
/// so it is kept for whole parts and ranges).
#[derive(Clone)]
pub struct Running {
    /// CRC and length of everything before `tail`.
    crc: u32,
    len: u64,
    tail: crc_fast::Digest,
    tail_len: u64,
}

impl Default for Running {
    fn default() -> Self {
        Running { crc: 0, len: 0, tail: crc_fast::Digest::new(CRC), tail_len: 0 }
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("crc", &self.crc()).field("len", &self.len()).finish()
    }
}

impl Running {
    pub fn update(&mut self, data: &[u8]) {
        self.tail.update(data);
        self.tail_len += data.len() as u64;
    }

    /// Appends a piece whose CRC is already known.
    pub fn push(&mut self, crc: u32, len: u64) {
        (self.crc, self.len) = (self.crc(), self.len());
        self.tail.reset();
        self.tail_len = 0;
        self.crc = if self.len == 0 { crc } else { combine(self.crc, crc, len) };
        self.len += len;
    }

    pub fn crc(&self) -> u32 {
        match (self.len, self.tail_len) {
            (_, 0) => self.crc,
            (0, _) => self.tail.finalize() as u32,
            (_, tail_len) => combine(self.crc, self.tail.finalize() as u32, tail_len),
        }
    }

    pub fn len(&self) -> u64 {
        self.len + self.tail_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value_and_encoding() {
        // The CRC32 check value (ISO-HDLC) of "123456789".
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(decode(&encode(0xcbf4_3926)), Some(0xcbf4_3926));
        assert_eq!(decode("AAAAAA==-3"), None);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn pieces_combine_into_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut running = Running::default();
        for chunk in data.chunks(7_777) {
            running.update(chunk);
        }
        assert_eq!(running.crc(), crc32(&data));
        assert_eq!(running.len(), data.len() as u64);
        // Streamed bytes and known pieces mix in any order.
        let mut mixed = Running::default();
        let (a, rest) = data.split_at(10_000);
        let (b, c) = rest.split_at(50_000);
        mixed.update(&a[..4_000]);
        mixed.update(&a[4_000..]);
        mixed.push(crc32(b), b.len() as u64);
        mixed.update(c);
        assert_eq!((mixed.crc(), mixed.len()), (crc32(&data), data.len() as u64));
        let (a, b) = data.split_at(12_345);
        assert_eq!(combine(crc32(a), crc32(b), b.len() as u64), crc32(&data));
    }
}
