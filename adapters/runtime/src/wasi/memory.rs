//! Bounds-checked access to a guest's linear memory. Every pointer and length a guest passes is
//! hostile until checked here; nothing is ever indexed unchecked.

use super::errno::Errno;

/// Most iovecs accepted in one call (Linux's `IOV_MAX`).
const MAX_IOVS: u32 = 1024;

/// `ptr + offset` as a guest address; a sum past 4 GiB is a fault, never a wrap.
pub(crate) fn offset(ptr: u32, offset: u32) -> Result<u32, Errno> {
    ptr.checked_add(offset).ok_or(Errno::Fault)
}

/// A guest's memory for the duration of one host call.
pub(crate) struct GuestMemory<'a>(pub(crate) &'a mut [u8]);

impl GuestMemory<'_> {
    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.0.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    pub(crate) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.0[range])
    }

    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.0[range])
    }

    pub(crate) fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    pub(crate) fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        let bytes = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub(crate) fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        let bytes = self.slice(ptr, 8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    pub(crate) fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        let bytes = self.slice(ptr, 2)?;
        Ok(u16::from_le_bytes(bytes.try_into().expect("2 bytes")))
    }

    pub(crate) fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn write_u8(&mut self, ptr: u32, value: u8) -> Result<(), Errno> {
        self.write(ptr, &[value])
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.write(ptr, &value.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Reads an array of `(buf, buf_len)` iovecs, each checked against memory.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        if count > MAX_IOVS {
            return Err(Errno::Inval);
        }
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = ptr
                .checked_add(i.checked_mul(8).ok_or(Errno::Fault)?)
                .ok_or(Errno::Fault)?;
            let buf = self.read_u32(at)?;
            let len = self.read_u32(at.checked_add(4).ok_or(Errno::Fault)?)?;
            self.range(buf, len)?;
            out.push((buf, len));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_a_fault_never_a_panic() {
        let mut backing = vec![0u8; 64];
        let mut mem = GuestMemory(&mut backing);
        assert_eq!(mem.slice(60, 8), Err(Errno::Fault));
        assert_eq!(mem.slice(u32::MAX, 2), Err(Errno::Fault));
        assert_eq!(mem.write_u64(60, 1), Err(Errno::Fault));
        assert!(mem.write_u32(60, 7).is_ok());
        assert_eq!(mem.read_u32(60), Ok(7));
        // An iovec pointing outside memory is refused as a whole.
        mem.write_u32(0, 32).unwrap();
        mem.write_u32(4, 64).unwrap();
        assert_eq!(mem.iovecs(0, 1), Err(Errno::Fault));
        assert_eq!(mem.iovecs(0, MAX_IOVS + 1), Err(Errno::Inval));
        assert_eq!(mem.iovecs(u32::MAX - 3, 1), Err(Errno::Fault));
    }
}
