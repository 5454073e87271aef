//! The Reglet compliance checker: the application layer over the plugin runtime.
//!
//! The application talks to plugins only through `reglet-ports`; the wasmtime runtime is wired in
//! by the binary's composition root, never named here. This keeps every use case testable with the
//! ports' mocks.

#![deny(missing_docs)]

pub mod check;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod expect;
pub mod grants;
pub mod preflight;
pub mod printable;
pub mod profile;
pub mod report;
pub mod secrets;
pub mod suggest;
pub mod system_config;
pub mod yaml;
