//! The stored form of a cached value: a format version byte, a codec byte, then the JSON of
//! the value, compressed with lz4 when it is at least the threshold long. Anything that does
//! not decode (another version, an unknown codec, corrupt bytes, a tombstone) is a miss.

use serde::{Serialize, de::DeserializeOwned};

/// The layout of the bytes after the header; bump it when a value's shape changes.
pub const VERSION: u8 = 1;
/// Codec byte: the JSON as is.
pub const RAW: u8 = 0;
/// Codec byte: lz4 block with its uncompressed length in front (`lz4_flex::compress_prepend_size`).
pub const LZ4: u8 = 1;
/// Codec byte of a tombstone: an invalidated key that refuses refills for a while.
pub const TOMBSTONE: u8 = 0xFF;

/// A value ready for Redis, and its size before compression.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub raw_len: usize,
}

/// Encodes `value`; `None` only if it does not serialise (it is then not cached).
pub fn encode<V: Serialize>(value: &V, compress_min_bytes: usize) -> Option<Encoded> {
    let json = serde_json::to_vec(value).ok()?;
    let raw_len = json.len();
    let mut bytes = Vec::with_capacity(2 + raw_len);
    bytes.push(VERSION);
    if raw_len >= compress_min_bytes {
        bytes.push(LZ4);
        bytes.extend_from_slice(&lz4_flex::compress_prepend_size(&json));
    } else {
        bytes.push(RAW);
        bytes.extend_from_slice(&json);
    }
    Some(Encoded { bytes, raw_len })
}

/// The tombstone's bytes.
pub fn tombstone() -> Vec<u8> {
    vec![VERSION, TOMBSTONE]
}

/// Decodes a stored value; `None` for anything that is not a current, intact value.
pub fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Option<V> {
    match bytes {
        [VERSION, RAW, json @ ..] => serde_json::from_slice(json).ok(),
        [VERSION, LZ4, packed @ ..] => {
            let json = lz4_flex::decompress_size_prepended(packed).ok()?;
            serde_json::from_slice(&json).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_on_both_sides_of_the_threshold() {
        let small = vec![1_i64, 2, 3];
        let big: Vec<String> = (0..200).map(|i| format!("sensor-{i}")).collect();
        let s = encode(&small, 1024).expect("encode");
        assert_eq!(s.bytes[1], RAW);
        assert_eq!(decode::<Vec<i64>>(&s.bytes), Some(small));
        let b = encode(&big, 1024).expect("encode");
        assert_eq!(b.bytes[1], LZ4);
        assert!(b.bytes.len() < b.raw_len, "compressed is smaller");
        assert_eq!(decode::<Vec<String>>(&b.bytes), Some(big));
    }

    #[test]
    fn anything_else_is_a_miss() {
        let mut good = encode(&vec!["x".repeat(2000)], 1024).expect("encode").bytes;
        assert!(decode::<Vec<String>>(&tombstone()).is_none());
        assert!(decode::<Vec<String>>(&[]).is_none());
        assert!(
            decode::<Vec<String>>(&[9, RAW, b'1']).is_none(),
            "other version"
        );
        assert!(
            decode::<Vec<String>>(&[VERSION, 7, b'1']).is_none(),
            "unknown codec"
        );
        assert!(decode::<Vec<String>>(b"\x01\x00{not json").is_none());
        let last = good.len() - 1;
        good.truncate(last / 2);
        assert!(decode::<Vec<String>>(&good).is_none(), "truncated lz4");
    }
}
