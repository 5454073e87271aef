//! Expectations: the boolean expressions (`expect:`) that judge an observation's evidence.
//!
//! They are written in expr, the language of Go's `expr-lang/expr` that Reglet uses, and run on
//! the Rust `expr-lang` crate. Every expectation is compiled when the profile loads, so a typo
//! fails the load with the file and line instead of failing a control at run time.
//!
//! The crate is close to Go's expr but not identical, and it has no bound on the work an
//! expression may do. This module closes both gaps:
//!
//! - **Spellings** (`rewrite`): the predicate shorthand `.field` and the negated word operators
//!   `not contains`, `not matches`, `not startsWith`, `not endsWith` are rewritten into forms the
//!   crate parses.
//! - **Names** (`check`): as in Reglet, only `data`, `status`, `timestamp` and `error` are
//!   defined; any other free name, or an unknown function, is a compile error with a suggestion
//!   (`stdout` → "did you mean `data.stdout`?").
//! - **Work** (`check`, `budget`, `metered`): expressions are at most 1000 characters and 32
//!   brackets deep; `let` and ranges with non-literal bounds are refused; the iterating builtins
//!   are replaced by versions that charge a step and memory budget; a clock stops anything else.
//!   Evidence handed to expressions is capped too. See [`Limits`].
//! - **Helpers** (`helpers`): `isIPv4` (as Reglet), `isIPv6`, `cidrContains(cidr, ip)` and
//!   `semver(v)`, whose results compare with `<`, `>=`, `==` in semantic-version order.

mod budget;
mod check;
mod helpers;
mod input;
mod lexer;
mod metered;
mod rewrite;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use expr::{Environment, Program, Value};

pub use budget::{Exceeded, Limits};
pub use check::{MAX_LEN, ROOTS};
pub use input::EvalInput;

/// The language's builtins with the metered ones and the helpers in place; built once.
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    metered::add(&mut env);
    helpers::add(&mut env);
    env
});

/// A compiled expectation: the expression as written and its program.
#[derive(Debug, Clone)]
pub struct Expectation {
    source: String,
    program: Program,
}

/// An expression that does not compile; the message says why and where in the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    message: String,
}

impl CompileError {
    /// Why the expression was refused.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// An expectation that could not be evaluated to a boolean. Reglet reports such an observation
/// as `error`, never as `fail`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The expression failed while running (a missing field used as a map, a type mismatch).
    #[error("{0}")]
    Runtime(String),
    /// The expression evaluated to something other than a boolean.
    #[error("the expression evaluated to {0}, not to true or false")]
    NotBoolean(String),
    /// The expression ran into a work limit.
    #[error("the expression did too much work: {}", describe(.0))]
    Budget(Exceeded),
    /// The evidence is larger than expressions are given.
    #[error("the evidence is larger than the {limit} bytes expectations may read")]
    InputTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
}

fn describe(e: &Exceeded) -> String {
    match e {
        Exceeded::Steps(n) => format!("more than {n} iteration steps"),
        Exceeded::Bytes(n) => format!("built more than {n} bytes of values"),
        Exceeded::Time(t) => format!("ran longer than {t:?}"),
    }
}

impl Expectation {
    /// Compiles `source`.
    ///
    /// # Errors
    /// A syntax error, an unknown name or function, or an expression over the limits; the
    /// message is one line.
    pub fn compile(source: &str) -> Result<Self, CompileError> {
        let rewritten = rewrite::rewrite(source);
        check::check(&rewritten).map_err(|message| CompileError { message })?;
        let program = match parse(&rewritten) {
            Ok(program) => program,
            // The rewrite can shift columns; the original's error points at what the user wrote.
            Err(e) if rewritten != source => return Err(parse(source).err().unwrap_or(e)),
            Err(e) => return Err(e),
        };
        Ok(Expectation {
            source: source.trim().to_owned(),
            program,
        })
    }

    /// The expression as written, without surrounding whitespace.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expectation against an observation's input.
    ///
    /// # Errors
    /// See [`EvalError`].
    pub fn evaluate(&self, input: &EvalInput) -> Result<bool, EvalError> {
        let (result, exceeded) = budget::run(input.limits(), || {
            catch_unwind(AssertUnwindSafe(|| {
                ENVIRONMENT.run(&self.program, input.context())
            }))
        });
        if let Some(exceeded) = exceeded {
            return Err(EvalError::Budget(exceeded));
        }
        match result {
            Ok(Ok(Value::Bool(b))) => Ok(b),
            Ok(Ok(other)) => Err(EvalError::NotBoolean(type_and_value(&other))),
            Ok(Err(e)) => Err(EvalError::Runtime(e.to_string())),
            Err(_) => Err(EvalError::Runtime(
                "the expression engine failed internally".into(),
            )),
        }
    }
}

/// Compiles `source`; see [`Expectation::compile`].
///
/// # Errors
/// See [`Expectation::compile`].
pub fn compile(source: &str) -> Result<Expectation, CompileError> {
    Expectation::compile(source)
}

/// Evaluates `expectation` against `input`; see [`Expectation::evaluate`].
///
/// # Errors
/// See [`EvalError`].
pub fn evaluate(expectation: &Expectation, input: &EvalInput) -> Result<bool, EvalError> {
    expectation.evaluate(input)
}

fn parse(source: &str) -> Result<Program, CompileError> {
    match catch_unwind(|| expr::compile(source)) {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(e)) => Err(CompileError {
            message: one_line(&e.to_string()),
        }),
        Err(_) => Err(CompileError {
            message: "the expression engine failed to parse this expression".into(),
        }),
    }
}

/// Folds pest's multi-line error (` --> 1:16`, a caret drawing, `= expected expr`) into
/// "at column 16: expected expr".
fn one_line(message: &str) -> String {
    let position = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .and_then(|p| p.split_once(':'));
    let reason = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .map(str::trim);
    match (position, reason) {
        (Some(("1", column)), Some(reason)) => {
            format!("syntax error at column {column}: {reason}")
        }
        (Some((line, column)), Some(reason)) => {
            format!("syntax error at line {line}, column {column}: {reason}")
        }
        _ => message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn type_and_value(value: &Value) -> String {
    let shown = value.to_string();
    let shown = if shown.chars().count() > 40 {
        format!("{}…", shown.chars().take(40).collect::<String>())
    } else {
        shown
    };
    let kind = match value {
        Value::Nil => return "nil".into(),
        Value::Integer(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) | Value::Bytes(_) => "a list",
        Value::Map(_) | Value::KeyedMap(_) => "a map",
        _ => "a value",
    };
    format!("{kind} ({shown})")
}

#[cfg(test)]
mod tests;
