//! Locks that survive a panic elsewhere. Every critical section here pushes, pops or replaces a
//! whole value, so a poisoned lock's data is still consistent: recover it rather than spread one
//! observation's panic to every later one.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex::lock`] that recovers a poisoned lock.
pub(crate) trait MutexExt<T> {
    /// Locks, recovering the data of a lock a panicking thread held.
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T> MutexExt<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// [`RwLock::read`] and [`RwLock::write`] that recover a poisoned lock.
pub(crate) trait RwLockExt<T> {
    /// Read-locks, recovering the data of a lock a panicking thread held.
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T>;
    /// Write-locks, recovering the data of a lock a panicking thread held.
    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T> RwLockExt<T> for RwLock<T> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let lock = std::sync::Arc::new(Mutex::new(vec![1]));
        let held = lock.clone();
        let _ = std::thread::spawn(move || {
            let _guard = held.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(lock.is_poisoned());
        lock.lock_or_recover().push(2);
        assert_eq!(*lock.lock_or_recover(), [1, 2]);
    }
}
