//! The guest half of the packed-pointer ABI: an allocator the host can call and the raw
//! `reglet_host` imports.
//!
//! Every buffer crossing the boundary is a boxed slice kept in a table keyed by its address, so
//! `deallocate` frees exactly what `allocate` gave out, ignores addresses it never gave (Reglet's
//! Go SDK tolerates both), and taking a buffer back needs no raw-pointer reads.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Most bytes outstanding at once, as Reglet's allocator.
const MAX_TOTAL: usize = 100 << 20;

struct Table {
    live: BTreeMap<u32, Box<[u8]>>,
    total: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    live: BTreeMap::new(),
    total: 0,
});

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The address of a buffer in the guest's memory. Only meaningful on wasm32, where addresses are
/// 32-bit; natively (tests) the table key is the truncated address, which stays unique enough for
/// the few buffers a test holds.
fn address(buf: &[u8]) -> u32 {
    buf.as_ptr() as usize as u32
}

/// Hands out `size` zeroed bytes for the host to fill; 0 for size 0 or past the cap.
pub(crate) fn allocate(size: u32) -> u32 {
    if size == 0 {
        return 0;
    }
    let mut table = table();
    if table.total + size as usize > MAX_TOTAL {
        return 0;
    }
    let buf = vec![0u8; size as usize].into_boxed_slice();
    let ptr = address(&buf);
    table.total += buf.len();
    table.live.insert(ptr, buf);
    ptr
}

/// Frees a buffer from [`allocate`] or [`give`]; unknown addresses are ignored.
pub(crate) fn deallocate(ptr: u32, _size: u32) {
    let mut table = table();
    if let Some(buf) = table.live.remove(&ptr) {
        table.total -= buf.len();
    }
}

/// Keeps `bytes` alive for the host and returns them packed; the host frees them.
pub(crate) fn give(bytes: Vec<u8>) -> u64 {
    if bytes.is_empty() {
        return 0;
    }
    let buf = bytes.into_boxed_slice();
    let packed = pack(address(&buf), buf.len() as u32);
    let mut table = table();
    table.total += buf.len();
    table.live.insert(address(&buf), buf);
    packed
}

/// Takes back the first `len` bytes of a buffer the host filled, freeing it; `None` when the
/// address is not one this allocator gave out.
pub(crate) fn take(ptr: u32, len: u32) -> Option<Vec<u8>> {
    if ptr == 0 {
        return (len == 0).then(Vec::new);
    }
    let mut table = table();
    let buf = table.live.remove(&ptr)?;
    table.total -= buf.len();
    let mut bytes = buf.into_vec();
    bytes.truncate(len as usize);
    Some(bytes)
}

/// `(ptr << 32) | len`.
pub(crate) fn pack(ptr: u32, len: u32) -> u64 {
    (u64::from(ptr) << 32) | u64::from(len)
}

/// The inverse of [`pack`].
pub(crate) fn unpack(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}

#[cfg(target_arch = "wasm32")]
mod exports {
    /// The guest allocator the host calls for config and responses.
    #[unsafe(no_mangle)]
    pub extern "C" fn allocate(size: u32) -> u32 {
        super::allocate(size)
    }

    /// Frees what [`allocate`] handed out or a result the plugin returned.
    #[unsafe(no_mangle)]
    pub extern "C" fn deallocate(ptr: u32, size: u32) {
        super::deallocate(ptr, size)
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) mod imports {
    #[link(wasm_import_module = "reglet_host")]
    unsafe extern "C" {
        pub(crate) fn dns_lookup(packed: u64) -> u64;
        pub(crate) fn http_request(packed: u64) -> u64;
        pub(crate) fn tcp_connect(packed: u64) -> u64;
        pub(crate) fn smtp_connect(packed: u64) -> u64;
        pub(crate) fn exec_command(packed: u64) -> u64;
        pub(crate) fn file_stat(packed: u64) -> u64;
        pub(crate) fn log_message(packed: u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_round_trip_and_free_once() {
        let ptr = allocate(8);
        assert_ne!(ptr, 0);
        assert_eq!(take(ptr, 3).unwrap(), vec![0, 0, 0]);
        assert!(take(ptr, 3).is_none(), "a buffer is taken once");
        deallocate(ptr, 8); // already gone: ignored
        let (p, l) = unpack(give(b"hello".to_vec()));
        assert_eq!(l, 5);
        assert_eq!(take(p, l).unwrap(), b"hello");
        assert_eq!(allocate(0), 0);
        assert_eq!(take(0, 0).unwrap(), Vec::<u8>::new());
    }
}
