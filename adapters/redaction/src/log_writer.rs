//! Host logs through redaction: a `tracing-subscriber` writer that redacts each formatted event
//! before it reaches stderr.

use std::io::{self, Write};
use std::sync::Arc;

use reglet_ports::Redactor;
use tracing_subscriber::fmt::MakeWriter;

/// Makes writers that redact every log event and write it to stderr. The formatter writes one
/// whole event per call, so no secret is split across writes.
#[derive(Clone)]
pub struct RedactingStderr {
    redactor: Arc<dyn Redactor>,
}

impl RedactingStderr {
    /// Redacts with `redactor`.
    pub fn new(redactor: Arc<dyn Redactor>) -> Self {
        RedactingStderr { redactor }
    }
}

/// One event's writer.
pub struct RedactingWriter {
    redactor: Arc<dyn Redactor>,
}

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let clean = self.redactor.redact_bytes(buf);
        io::stderr()
            .lock()
            .write_all(clean.as_deref().unwrap_or(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            redactor: self.redactor.clone(),
        }
    }
}
