//! `poll_oneoff`: sleeping and readiness. Clock subscriptions sleep asynchronously (a guest's sleep
//! never blocks a host thread); files and standard streams are always ready.

use std::time::Duration;

use wasmtime::{Caller, Linker};

use super::errno::Errno;
use super::memory::offset;
use super::state::Fd;
use super::{Cx, MODULE, WasiView, monotonic_now, realtime_now, with_cx};

/// Most subscriptions accepted in one call.
const MAX_SUBSCRIPTIONS: u32 = 4096;
const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const CLOCK_ABSTIME: u16 = 1;

enum Kind {
    Clock { wait: Duration },
    FdRead { fd: u32 },
    FdWrite { fd: u32 },
}

struct Subscription {
    userdata: u64,
    kind: Kind,
}

/// What the call will report, decided before any waiting.
struct Plan {
    subscriptions: Vec<Subscription>,
    /// How long to sleep first: zero when some descriptor is ready.
    sleep: Duration,
}

fn plan(cx: &mut Cx<'_>, input: u32, count: u32) -> Result<Plan, Errno> {
    if count == 0 || count > MAX_SUBSCRIPTIONS {
        return Err(Errno::Inval);
    }
    let mut subscriptions = Vec::with_capacity(count as usize);
    for i in 0..count {
        let at = input
            .checked_add(i * SUBSCRIPTION_SIZE)
            .ok_or(Errno::Fault)?;
        let userdata = cx.mem.read_u64(at)?;
        let tag = cx.mem.slice(at + 8, 1)?[0];
        let kind = match tag {
            0 => {
                let id = cx.mem.read_u32(offset(at, 16)?)?;
                let timeout = cx.mem.read_u64(offset(at, 24)?)?;
                let flags = cx.mem.read_u16(offset(at, 40)?)?;
                let now = match id {
                    0 => realtime_now(),
                    1 => monotonic_now(),
                    _ => return Err(Errno::Inval),
                };
                let wait = if flags & CLOCK_ABSTIME != 0 {
                    timeout.saturating_sub(now)
                } else {
                    timeout
                };
                Kind::Clock {
                    wait: Duration::from_nanos(wait),
                }
            }
            1 => Kind::FdRead {
                fd: cx.mem.read_u32(offset(at, 16)?)?,
            },
            2 => Kind::FdWrite {
                fd: cx.mem.read_u32(offset(at, 16)?)?,
            },
            _ => return Err(Errno::Inval),
        };
        subscriptions.push(Subscription { userdata, kind });
    }
    let any_fd = subscriptions
        .iter()
        .any(|s| matches!(s.kind, Kind::FdRead { .. } | Kind::FdWrite { .. }));
    let sleep = if any_fd {
        Duration::ZERO
    } else {
        subscriptions
            .iter()
            .filter_map(|s| match s.kind {
                Kind::Clock { wait } => Some(wait),
                _ => None,
            })
            .min()
            .unwrap_or(Duration::ZERO)
    };
    Ok(Plan {
        subscriptions,
        sleep,
    })
}

fn complete(cx: &mut Cx<'_>, plan: &Plan, output: u32, nevents: u32) -> Result<(), Errno> {
    let mut written = 0u32;
    for sub in &plan.subscriptions {
        let (ty, error, nbytes) = match sub.kind {
            Kind::Clock { wait } if wait <= plan.sleep => (0u8, 0u16, 0u64),
            Kind::Clock { .. } => continue,
            Kind::FdRead { fd } => match cx.wasi.get(fd) {
                Ok(Fd::File(file)) => {
                    let size = file.file.metadata().map(|m| m.len()).unwrap_or(0);
                    let pos = std::io::Seek::stream_position(&mut &file.file).unwrap_or(size);
                    (1, 0, size.saturating_sub(pos))
                }
                Ok(Fd::Stdin) => (1, 0, 0),
                Ok(_) => (1, Errno::Badf as u16, 0),
                Err(e) => (1, e as u16, 0),
            },
            Kind::FdWrite { fd } => match cx.wasi.get(fd) {
                Ok(Fd::File(_) | Fd::Stdout | Fd::Stderr) => (2, 0, 0),
                Ok(_) => (2, Errno::Badf as u16, 0),
                Err(e) => (2, e as u16, 0),
            },
        };
        let at = output
            .checked_add(written * EVENT_SIZE)
            .ok_or(Errno::Fault)?;
        let mut event = [0u8; EVENT_SIZE as usize];
        event[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
        event[8..10].copy_from_slice(&error.to_le_bytes());
        event[10] = ty;
        event[16..24].copy_from_slice(&nbytes.to_le_bytes());
        cx.mem.write(at, &event)?;
        written += 1;
    }
    cx.mem.write_u32(nevents, written)
}

pub(super) fn add_to_linker<T: WasiView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        MODULE,
        "poll_oneoff",
        |mut caller: Caller<'_, T>, (input, output, count, nevents): (u32, u32, u32, u32)| {
            Box::new(async move {
                let mut planned = None;
                let errno = with_cx(&mut caller, |cx| {
                    planned = Some(plan(cx, input, count)?);
                    Ok(())
                });
                let Some(plan) = planned else {
                    return errno;
                };
                if !plan.sleep.is_zero() {
                    tokio::time::sleep(plan.sleep).await;
                }
                with_cx(&mut caller, |cx| complete(cx, &plan, output, nevents))
            })
        },
    )?;
    Ok(())
}
