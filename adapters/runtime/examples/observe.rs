//! Loads a Reglet plugin, prints its description and schema, runs one observation, and prints one
//! JSON object on stdout.
//!
//! ```sh
//! cargo run -p reglet-runtime --example observe -- \
//!     adapters/examples/plugins/file_exists.wat '{"path":"/etc/hostname"}' \
//!     --grant fs:read:/etc/hostname
//! ```
//!
//! Output: `{"info":…,"schema":…,"evidence":…}` after an observation, whatever its status (exit
//! 0), or `{"error":{"code":…,"message":…}}` when the plugin could not be run (exit 1). Usage
//! errors exit 2. Logs go to stderr, redacted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use reglet_domain::{Config, GrantSet, PluginError};
use reglet_ports::Redactor;
use reglet_redaction::{HmacKey, RedactingStderr, Redaction, RedactionConfig, Replacement};
use reglet_runtime::{Runtime, RuntimeOptions};
use serde_json::json;

/// Run one observation of a Reglet plugin.
#[derive(Parser)]
#[command(name = "observe")]
struct Args {
    /// The plugin: a `.wasm` file, or a `.wat` file compiled on the fly.
    plugin: PathBuf,
    /// The observation's config, a JSON object.
    config: String,
    /// A capability to grant, in Reglet's string form (repeatable), e.g. `fs:read:/etc/**`.
    #[arg(long = "grant", value_name = "CAPABILITY")]
    grants: Vec<String>,
    /// The observation's deadline, e.g. `30s`, `500ms`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// A secret to redact from everything the plugin emits (repeatable).
    #[arg(long = "secret", value_name = "VALUE")]
    secrets: Vec<String>,
    /// A file with an HMAC key of at least 32 bytes: redacted values become `[hmac:…]` tokens.
    #[arg(long, value_name = "PATH")]
    hmac_key_file: Option<PathBuf>,
    /// Memory limit per instance in MiB (0: default 256, -1: unlimited).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    memory_limit_mib: i64,
    /// The name to load the plugin under (default: the file name without extension).
    #[arg(long)]
    name: Option<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |i| text.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration {text:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let replacement = match &args.hmac_key_file {
        Some(path) => match HmacKey::from_file(path) {
            Ok(key) => Replacement::Hmac(key),
            Err(e) => return usage(e),
        },
        None => Replacement::Fixed,
    };
    let redaction = match Redaction::new(RedactionConfig {
        replacement,
        ..RedactionConfig::default()
    }) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let secrets: Vec<&str> = args.secrets.iter().map(String::as_str).collect();
    if let Err(e) = redaction.register_secrets(&secrets) {
        return usage(e);
    }
    let redactor: Arc<dyn Redactor> = Arc::new(redaction);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(RedactingStderr::new(redactor.clone()))
        .init();

    let grants = match GrantSet::parse_all(&args.grants) {
        Ok(g) => g,
        Err(e) => return usage(e),
    };
    let config = match serde_json::from_str(&args.config)
        .map_err(|e| e.to_string())
        .and_then(|v| Config::from_value(v).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => return usage(format!("config: {e}")),
    };
    let bytes = match std::fs::read(&args.plugin) {
        Ok(b) => b,
        Err(e) => return usage(format!("cannot read {}: {e}", args.plugin.display())),
    };
    let wasm = if args.plugin.extension().is_some_and(|e| e == "wat") {
        match wat::parse_bytes(&bytes) {
            Ok(w) => w.into_owned(),
            Err(e) => return usage(format!("{}: {e}", args.plugin.display())),
        }
    } else {
        bytes
    };
    let name = args.name.clone().unwrap_or_else(|| {
        args.plugin
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into())
    });

    let options = RuntimeOptions::new(redactor)
        .grant(&name, grants)
        .memory_limit_mib(args.memory_limit_mib);
    let runtime = match Runtime::new(options) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    match run(&runtime, &name, &wasm, &config, args.timeout).await {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "{}",
                json!({"error": {"code": e.code(), "message": e.message()}})
            );
            ExitCode::from(1)
        }
    }
}

async fn run(
    runtime: &Runtime,
    name: &str,
    wasm: &[u8],
    config: &Config,
    timeout: Duration,
) -> Result<serde_json::Value, PluginError> {
    let name =
        reglet_domain::PluginName::new(name).map_err(|e| PluginError::load(e.to_string()))?;
    let plugin = runtime.load_plugin(&name, wasm).await?;
    let info = plugin.describe().await?;
    let schema = plugin.schema().await?;
    let evidence = plugin
        .observe_until(config, Instant::now() + timeout)
        .await?;
    Ok(json!({
        "info": info,
        "schema": schema.map(|s| s.raw().clone()),
        "evidence": evidence,
    }))
}
