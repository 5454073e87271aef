//! Moving host-function requests and responses across the guest boundary.
//!
//! A request is a packed `(ptr << 32) | len` pointing at JSON in guest memory; it is copied out
//! once (never re-read) and capped at 1 MiB. A response is written into memory the guest's own
//! `allocate` hands out, called re-entrantly while the guest waits in the import; the guest frees
//! it after decoding.

use wasmtime::Caller;

use super::HostView;
use crate::guest_word::{pack, unpack};

/// Largest request accepted from a guest.
pub(crate) const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Copies the request a guest passed, or says why it cannot be read.
pub(crate) fn read_request<T: HostView>(
    caller: &mut Caller<'_, T>,
    packed: u64,
) -> Result<Vec<u8>, String> {
    let (ptr, len) = unpack(packed);
    if len as usize > MAX_REQUEST_BYTES {
        return Err(format!(
            "request of {len} bytes exceeds the {MAX_REQUEST_BYTES}-byte limit"
        ));
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    let memory = caller
        .data()
        .guest_memory()
        .ok_or_else(|| "the plugin has no memory".to_owned())?;
    let data = memory.data(&*caller);
    let start = ptr as usize;
    let end = start + len as usize;
    data.get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format!("request at {ptr:#x} ({len} bytes) is outside the plugin's memory"))
}

/// Writes `body` into guest memory obtained from the guest's `allocate`; returns the packed
/// location, or 0 when the guest could not provide room (it then sees an empty response).
/// A trap inside `allocate` is returned as an error: the instance cannot continue.
pub(crate) async fn write_response<T: HostView>(
    caller: &mut Caller<'_, T>,
    body: &[u8],
) -> wasmtime::Result<u64> {
    let Ok(len) = u32::try_from(body.len()) else {
        return Ok(0);
    };
    let Some(allocate) = caller.data().guest_allocate() else {
        return Ok(0);
    };
    let ptr = allocate.call_async(&mut *caller, len).await?;
    if ptr == 0 {
        return Ok(0);
    }
    let Some(memory) = caller.data().guest_memory() else {
        return Ok(0);
    };
    if memory.write(&mut *caller, ptr as usize, body).is_err() {
        return Ok(0);
    }
    Ok(pack(ptr, len))
}
