//! A guest buffer as both Reglet ABI generations pass it: `(ptr << 32) | len` in one `i64`.

/// Splits a packed word into `(ptr, len)`.
pub(crate) fn unpack(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}

/// Packs `(ptr, len)` into one word.
pub(crate) fn pack(ptr: u32, len: u32) -> u64 {
    (u64::from(ptr) << 32) | u64::from(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(unpack(pack(0xdead_beef, 7)), (0xdead_beef, 7));
        assert_eq!(pack(1, 2), (1 << 32) | 2);
    }
}
