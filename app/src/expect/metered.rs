//! The iterating builtins, re-implemented to charge the evaluation [`budget`].
//!
//! These are the only builtins whose work is not linear in the size of their arguments: a
//! predicate runs once per element and may itself iterate, and `reduce`, `map` and friends build
//! new values. Behaviour and error messages follow the `expr-lang` crate's own versions; the
//! difference is the accounting, and that `#` is bound by reference instead of cloning each
//! element.

use std::cmp::Ordering;

use expr::{Context, ContextProvider, Environment, Program, Value};

use super::budget;

type Result<T> = expr::Result<T>;

fn fail<T>(message: String) -> Result<T> {
    Err(expr::Error::ExprError(message))
}

/// The predicate's view: `#`, `#acc` and `#index` over the caller's names.
struct Scope<'a> {
    parent: &'a dyn ContextProvider,
    item: &'a Value,
    index: Option<Value>,
    acc: Option<Value>,
}

impl ContextProvider for Scope<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        match key {
            "#" => Some(self.item),
            "#index" if self.index.is_some() => self.index.as_ref(),
            "#acc" if self.acc.is_some() => self.acc.as_ref(),
            _ => self.parent.get(key),
        }
    }

    fn to_context(&self) -> Context {
        let mut context = self.parent.to_context();
        context.insert("#", self.item.clone());
        if let Some(index) = &self.index {
            context.insert("#index", index.clone());
        }
        if let Some(acc) = &self.acc {
            context.insert("#acc", acc.clone());
        }
        context
    }

    fn environment(&self) -> Context {
        self.parent.environment()
    }
}

/// The parts of a builtin's call that running its predicate needs (the crate does not export the
/// call's type, so it cannot be named in a signature).
macro_rules! call {
    ($c:expr) => {
        Call {
            env: $c.env,
            ctx: $c.ctx,
            predicate: $c.predicate,
        }
    };
}

/// The parts of a call every predicate builtin needs.
struct Call<'a, 'b> {
    env: &'a Environment<'b>,
    ctx: &'a dyn ContextProvider,
    predicate: Option<&'a Program>,
}

impl Call<'_, '_> {
    /// Runs the predicate on one element, charging a step.
    fn run(&self, item: &Value, index: Option<usize>, acc: Option<Value>) -> Result<Value> {
        budget::steps(1)?;
        let predicate = self.predicate.expect("callers check the predicate");
        let scope = Scope {
            parent: self.ctx,
            item,
            index: index.map(|i| Value::Integer(i as i64)),
            acc,
        };
        self.env.run(predicate, &scope)
    }

    fn test(&self, item: &Value) -> Result<Option<bool>> {
        Ok(match self.run(item, None, None)? {
            Value::Bool(b) => Some(b),
            _ => None,
        })
    }
}

/// The array argument and predicate of `name(array, predicate)`.
fn array<'v>(name: &str, args: &'v [Value], has_predicate: bool) -> Result<&'v [Value]> {
    if args.len() != 1 {
        return fail(format!(
            "{name}() takes exactly one argument and a predicate"
        ));
    }
    match (&args[0], has_predicate) {
        (Value::Array(items), true) => Ok(items),
        _ => fail(format!("{name}() takes an array as the first argument")),
    }
}

/// Replaces the crate's iterating builtins with metered ones.
pub(crate) fn add(env: &mut Environment<'_>) {
    add_tests(env);
    add_searches(env);
    add_builders(env);
    add_aggregates(env);
}

/// `all`, `any`, `one`, `none`.
fn add_tests(env: &mut Environment<'_>) {
    env.add_function("all", |c| {
        let call = call!(c);
        for item in array("all", &c.args, c.predicate.is_some())? {
            if call.test(item)? == Some(false) {
                return Ok(false.into());
            }
        }
        Ok(true.into())
    });
    env.add_function("any", |c| {
        let call = call!(c);
        for item in array("any", &c.args, c.predicate.is_some())? {
            if call.test(item)? == Some(true) {
                return Ok(true.into());
            }
        }
        Ok(false.into())
    });
    env.add_function("one", |c| {
        let call = call!(c);
        let mut found = false;
        for item in array("one", &c.args, c.predicate.is_some())? {
            if call.test(item)? == Some(true) {
                if found {
                    return Ok(false.into());
                }
                found = true;
            }
        }
        Ok(found.into())
    });
    env.add_function("none", |c| {
        let call = call!(c);
        for item in array("none", &c.args, c.predicate.is_some())? {
            if call.test(item)? == Some(true) {
                return Ok(false.into());
            }
        }
        Ok(true.into())
    });
}

/// `find`, `findIndex`, `findLast`, `findLastIndex`.
fn add_searches(env: &mut Environment<'_>) {
    fn search(
        call: &Call<'_, '_>,
        args: &[Value],
        name: &str,
        from_end: bool,
        want_index: bool,
    ) -> Result<Value> {
        let items = array(name, args, call.predicate.is_some())?;
        let mut order: Box<dyn Iterator<Item = (usize, &Value)>> = if from_end {
            Box::new(items.iter().enumerate().rev())
        } else {
            Box::new(items.iter().enumerate())
        };
        let hit = order.find_map(|(i, item)| match call.test(item) {
            Ok(Some(true)) => Some(Ok((i, item))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        });
        match (hit.transpose()?, want_index) {
            (Some((i, _)), true) => Ok(Value::Integer(i as i64)),
            (Some((_, item)), false) => Ok(item.clone()),
            (None, true) => Ok(Value::Integer(-1)),
            (None, false) => Ok(Value::Nil),
        }
    }
    env.add_function("find", |c| search(&call!(c), &c.args, "find", false, false));
    env.add_function("findIndex", |c| {
        search(&call!(c), &c.args, "findIndex", false, true)
    });
    env.add_function("findLast", |c| {
        search(&call!(c), &c.args, "findLast", true, false)
    });
    env.add_function("findLastIndex", |c| {
        search(&call!(c), &c.args, "findLastIndex", true, true)
    });
}

/// `map`, `filter`, `groupBy`, `sortBy`, `uniq`, `repeat`: the builtins that build values.
fn add_builders(env: &mut Environment<'_>) {
    env.add_function("map", |c| {
        let call = call!(c);
        let items = array("map", &c.args, c.predicate.is_some())?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let value = call.run(item, Some(i), None)?;
            budget::bytes(&value)?;
            out.push(value);
        }
        Ok(out.into())
    });
    env.add_function("filter", |c| {
        let call = call!(c);
        let mut out = Vec::new();
        for item in array("filter", &c.args, c.predicate.is_some())? {
            if call.test(item)? == Some(true) {
                budget::bytes(item)?;
                out.push(item.clone());
            }
        }
        Ok(out.into())
    });
    env.add_function("groupBy", |c| {
        let call = call!(c);
        let Ok(items) = array("groupBy", &c.args, c.predicate.is_some()) else {
            return fail("groupBy() takes an array as the first argument and a predicate as the second argument".into());
        };
        let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
        for item in items {
            let key = call.run(item, None, None)?;
            if matches!(key, Value::Array(_) | Value::Bytes(_) | Value::Map(_) | Value::KeyedMap(_)) {
                return fail("groupBy() predicate returned a non-comparable key".into());
            }
            budget::steps(groups.len() as u64)?;
            budget::bytes(item)?;
            let same = |k: &Value| std::mem::discriminant(k) == std::mem::discriminant(&key) && *k == key;
            match groups.iter_mut().find(|(k, _)| same(k)) {
                Some((_, group)) => group.push(item.clone()),
                None => groups.push((key, vec![item.clone()])),
            }
        }
        Ok(Value::KeyedMap(
            groups.into_iter().map(|(k, g)| (k, Value::Array(g))).collect(),
        ))
    });
    env.add_function("sortBy", |c| {
        let call = call!(c);
        if c.args.is_empty() || c.args.len() > 2 {
            return fail("sortBy() takes one or two arguments and a predicate".into());
        }
        let Value::Array(items) = &c.args[0] else {
            return fail("sortBy() takes an array as the first argument".into());
        };
        if c.predicate.is_none() {
            return fail("sortBy() requires a predicate".into());
        }
        let desc = match c.args.get(1) {
            None => false,
            Some(Value::String(s)) if s == "asc" => false,
            Some(Value::String(s)) if s == "desc" => true,
            Some(_) => return fail("sortBy() second argument must be \"asc\" or \"desc\"".into()),
        };
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let key = call.run(item, None, None)?;
            budget::bytes(item)?;
            keyed.push((key, item.clone()));
        }
        validate_sort_keys(keyed.iter().map(|(k, _)| k))
            .or_else(|e| fail(format!("sortBy() {e}")))?;
        budget::steps(keyed.len() as u64 * (u64::from(keyed.len().max(1).ilog2()) + 1))?;
        keyed.sort_by(|(a, _), (b, _)| {
            let order = compare_sort_keys(a, b);
            if desc { order.reverse() } else { order }
        });
        Ok(keyed.into_iter().map(|(_, v)| v).collect::<Vec<_>>().into())
    });
    env.add_function("uniq", |c| {
        let [Value::Array(items)] = c.args.as_slice() else {
            return fail(if c.args.len() == 1 {
                "uniq() takes an array as the argument".into()
            } else {
                "uniq() takes exactly one argument".into()
            });
        };
        let mut out: Vec<Value> = Vec::new();
        for item in items {
            budget::steps(out.len() as u64 + 1)?;
            if !out.iter().any(|seen| values_equal(seen, item)) {
                budget::bytes(item)?;
                out.push(item.clone());
            }
        }
        Ok(Value::Array(out))
    });
    env.add_function("repeat", |c| {
        let [Value::String(s), Value::Integer(count)] = c.args.as_slice() else {
            return fail(if c.args.len() == 2 {
                "repeat() takes a string and an integer".into()
            } else {
                "repeat() takes exactly two arguments".into()
            });
        };
        let Ok(count) = usize::try_from(*count) else {
            return fail("repeat() count cannot be negative".into());
        };
        let size = s.len().saturating_mul(count);
        if size > 1024 * 1024 {
            return fail("repeat() would build more than 1 MiB".into());
        }
        let value = Value::String(s.repeat(count));
        budget::bytes(&value)?;
        Ok(value)
    });
}

/// `count`, `sum`, `reduce`.
fn add_aggregates(env: &mut Environment<'_>) {
    env.add_function("count", |c| {
        let call = call!(c);
        if c.args.len() != 1 {
            return fail("count() takes exactly one array argument".into());
        }
        let Value::Array(items) = &c.args[0] else {
            return fail("count() takes an array as the first argument".into());
        };
        let mut count = 0i64;
        for item in items {
            let verdict = if c.predicate.is_some() {
                call.test(item)?
            } else {
                budget::steps(1)?;
                match item {
                    Value::Bool(b) => Some(*b),
                    _ => None,
                }
            };
            match verdict {
                Some(true) => count += 1,
                Some(false) => {}
                None if c.predicate.is_some() => {
                    return fail("count() predicate must return a boolean".into());
                }
                None => return fail("count() without a predicate requires booleans".into()),
            }
        }
        Ok(Value::Integer(count))
    });
    env.add_function("sum", |c| {
        let call = call!(c);
        if c.args.len() != 1 {
            return fail("sum() takes exactly one array argument".into());
        }
        let Value::Array(items) = &c.args[0] else {
            return fail("sum() takes an array as the first argument".into());
        };
        let mut total = Value::Integer(0);
        for item in items {
            let value = if c.predicate.is_some() {
                call.run(item, None, None)?
            } else {
                budget::steps(1)?;
                item.clone()
            };
            total = match (total, value) {
                (Value::Integer(t), Value::Integer(v)) => Value::Integer(t.wrapping_add(v)),
                (Value::Integer(t), Value::Float(v)) => Value::Float(t as f64 + v),
                (Value::Float(t), Value::Integer(v)) => Value::Float(t + v as f64),
                (Value::Float(t), Value::Float(v)) => Value::Float(t + v),
                _ => return fail("sum() values must be numbers".into()),
            };
        }
        Ok(total)
    });
    env.add_function("reduce", |c| {
        let call = call!(c);
        if c.args.is_empty() || c.args.len() > 2 {
            return fail("reduce() takes an array and optional initial value".into());
        }
        let Value::Array(items) = &c.args[0] else {
            return fail("reduce() takes an array as the first argument".into());
        };
        if c.predicate.is_none() {
            return fail("reduce() requires a predicate".into());
        }
        let (mut acc, start) = match (c.args.get(1), items.first()) {
            (Some(initial), _) => (initial.clone(), 0),
            (None, Some(first)) => (first.clone(), 1),
            (None, None) => {
                return fail("reduce() of an empty array requires an initial value".into());
            }
        };
        for (i, item) in items.iter().enumerate().skip(start) {
            acc = call.run(item, Some(i), Some(acc))?;
            // Charged every step: `#acc + #acc` doubles the accumulator each time.
            budget::bytes(&acc)?;
        }
        Ok(acc)
    });
}

fn validate_sort_keys<'a>(
    keys: impl Iterator<Item = &'a Value>,
) -> std::result::Result<(), String> {
    let mut kind = None;
    for key in keys {
        let k = match key {
            Value::Float(f) if f.is_nan() => return Err("cannot compare NaN values".into()),
            Value::Integer(_) | Value::Float(_) => 0,
            Value::String(_) => 1,
            _ => return Err("values must all be numbers or all be strings".into()),
        };
        if kind.is_some_and(|kind| kind != k) {
            return Err("values must all be numbers or all be strings".into());
        }
        kind = Some(k);
    }
    Ok(())
}

fn compare_sort_keys(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ => number(a).partial_cmp(&number(b)).unwrap_or(Ordering::Equal),
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// Equality as the language's `==` defines it: numbers compare across int and float, and
/// collections element by element.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(_) | Value::Float(_), Value::Integer(_) | Value::Float(_)) => {
            match (a, b) {
                (Value::Integer(x), Value::Integer(y)) => x == y,
                _ => number(a) == number(b),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| values_equal(x, y))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}
