//! Adapters that implement the ports of `reglet-ports` against the real world.
//!
//! This crate is where wasmtime, the network, processes and the redaction engine live; the domain
//! and the application only ever see them through the port traits.

#![deny(missing_docs)]

pub mod host;
pub mod net;
pub mod redaction;
pub mod runtime;
mod wasi;

pub use host::{HostLimits, HostServices, HostServicesBuilder};
pub use runtime::{CompilationCache, Plugin, Runtime, RuntimeError, RuntimeOptions};
