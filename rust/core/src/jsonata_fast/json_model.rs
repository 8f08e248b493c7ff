//! The engine's data as a [`Model`]: serde_json values, `$states` made of parts that are not
//! copied into one object, and the workflow variables.

use std::cell::Cell;
use std::rc::Rc;

use super::{Kind, Model, Out, Stop, Val, MAX_DATA_DEPTH};

/// `$states` as the engine has it: its parts, not copied into one object.
pub struct StatesParts<'a> {
    pub input: &'a serde_json::Value,
    pub result: Option<&'a serde_json::Value>,
    pub error_output: Option<&'a serde_json::Value>,
    pub context: Option<&'a serde_json::Value>,
}

impl<'a> StatesParts<'a> {
    /// The parts that are there, by the names `$states` gives them, in `$states`'s order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &'a serde_json::Value)> {
        [
            ("input", Some(self.input)),
            ("result", self.result),
            ("errorOutput", self.error_output),
            ("context", self.context),
        ]
        .into_iter()
        .filter_map(|(name, part)| Some((name, part?)))
    }
}

/// A value of the engine's data.
#[derive(Clone, Copy)]
pub enum JsonItem<'a> {
    Value(&'a serde_json::Value),
    States(&'a StatesParts<'a>),
}

/// The engine's data: serde_json values, `$states` and the workflow variables.
pub struct JsonModel<'a> {
    states: Option<&'a StatesParts<'a>>,
    vars: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Clock checks left before the evaluation is handed to jsonata-core, which keeps the time
    /// limit (the engine has no clock of its own): a few million steps.
    checks: Cell<u32>,
}

/// How many of [`Model::out_of_time`]'s checks an engine evaluation is given.
const ENGINE_CHECKS: u32 = 4096;

impl<'a> JsonModel<'a> {
    pub fn new(
        states: Option<&'a StatesParts<'a>>,
        vars: Option<&'a serde_json::Map<String, serde_json::Value>>,
    ) -> JsonModel<'a> {
        JsonModel {
            states,
            vars,
            checks: Cell::new(ENGINE_CHECKS),
        }
    }
}

impl<'a> Model for JsonModel<'a> {
    type Item = JsonItem<'a>;

    fn kind<'i>(&self, item: &'i Self::Item) -> Kind<'i> {
        use serde_json::Value;
        match item {
            JsonItem::States(parts) => Kind::Obj(parts.fields().count()),
            JsonItem::Value(v) => match v {
                Value::Null => Kind::Null,
                Value::Bool(b) => Kind::Bool(*b),
                Value::Number(n) => match json_number(n) {
                    Some(x) => Kind::Num(x),
                    None => Kind::Other,
                },
                Value::String(s) => Kind::Str(s),
                Value::Array(a) => Kind::Arr(a.len()),
                Value::Object(o) => Kind::Obj(o.len()),
            },
        }
    }

    fn field(&self, item: &Self::Item, name: &str, _slot: usize) -> Out<Option<Self::Item>> {
        Ok(match item {
            JsonItem::States(parts) => parts
                .fields()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| JsonItem::Value(v)),
            JsonItem::Value(v) => v.as_object().and_then(|o| o.get(name)).map(JsonItem::Value),
        })
    }

    fn at(&self, item: &Self::Item, index: usize) -> Out<Self::Item> {
        match item {
            JsonItem::Value(v) => v
                .as_array()
                .and_then(|a| a.get(index))
                .map(JsonItem::Value)
                .ok_or(Stop::Fallback),
            JsonItem::States(_) => Err(Stop::Fallback),
        }
    }

    fn fields(&self, item: &Self::Item) -> Out<Vec<(Rc<str>, Self::Item)>> {
        match item {
            JsonItem::States(parts) => Ok(parts
                .fields()
                .map(|(k, v)| (Rc::from(k), JsonItem::Value(v)))
                .collect()),
            JsonItem::Value(v) => Ok(v
                .as_object()
                .ok_or(Stop::Fallback)?
                .iter()
                .map(|(k, v)| (Rc::from(k.as_str()), JsonItem::Value(v)))
                .collect()),
        }
    }

    fn out_of_time(&self) -> bool {
        let left = self.checks.get().saturating_sub(1);
        self.checks.set(left);
        left == 0
    }

    fn variable(&self, name: &str) -> Option<Self::Item> {
        // (A workflow variable comes after `$states`, as jsonata-core binds them.)
        if let Some(v) = self.vars.and_then(|vars| vars.get(name)) {
            return Some(JsonItem::Value(v));
        }
        (name == "states").then_some(self.states.map(JsonItem::States))?
    }

    fn binds(&self, name: &str) -> bool {
        (name == "states" && self.states.is_some())
            || self.vars.is_some_and(|v| v.contains_key(name))
    }
}

/// A JSON number as JSONata reads it; `None` for an integer a double does not hold exactly.
fn json_number(n: &serde_json::Number) -> Option<f64> {
    use crate::jsonata::EXACT_INTEGER;
    if let Some(i) = n.as_i64() {
        return (i.unsigned_abs() <= EXACT_INTEGER).then_some(i as f64);
    }
    if let Some(u) = n.as_u64() {
        return (u <= EXACT_INTEGER).then_some(u as f64);
    }
    n.as_f64().filter(|x| x.is_finite())
}

/// A result as the engine's value, as the jsonata-core road makes it (numbers through a
/// double: whole ones within 2^53 as integers); `Ok(None)` for undefined.
pub fn to_json(v: &Val<'_, JsonItem<'_>>) -> Out<Option<serde_json::Value>> {
    to_json_at(v, 0)
}

fn to_json_at(v: &Val<'_, JsonItem<'_>>, depth: usize) -> Out<Option<serde_json::Value>> {
    use serde_json::Value;
    if depth > MAX_DATA_DEPTH {
        return Err(Stop::Fallback);
    }
    Ok(Some(match v {
        Val::Undefined => return Ok(None),
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => number_value(*n)?,
        Val::Str(s) => Value::String(s.to_string()),
        Val::Data(JsonItem::Value(v)) => json_copy(v, depth)?,
        Val::Data(JsonItem::States(parts)) => Value::Object(
            parts
                .fields()
                .map(|(name, part)| Ok((name.to_string(), json_copy(part, depth + 1)?)))
                .collect::<Out<_>>()?,
        ),
        Val::Arr(a) => Value::Array(
            a.items
                .iter()
                .filter_map(|x| to_json_at(x, depth + 1).transpose())
                .collect::<Out<_>>()?,
        ),
        Val::Obj(fields) => Value::Object(
            fields
                .iter()
                .filter_map(|(k, x)| {
                    to_json_at(x, depth + 1)
                        .map(|x| x.map(|x| (k.to_string(), x)))
                        .transpose()
                })
                .collect::<Out<_>>()?,
        ),
    }))
}

/// A copy of the data's own value, its numbers as a double holds them.
fn json_copy(v: &serde_json::Value, depth: usize) -> Out<serde_json::Value> {
    // Cloned whole (a map's clone copies its table, where rebuilding it hashes every key
    // again), then the numbers that read differently through a double are rewritten in place.
    let mut copy = v.clone();
    normalize(&mut copy, depth)?;
    Ok(copy)
}

/// Rewrites the numbers of `v` as a double holds them (`2.0` is `2`, `-0.0` is `0`); an integer
/// a double does not hold falls back.
fn normalize(v: &mut serde_json::Value, depth: usize) -> Out<()> {
    use serde_json::Value;
    if depth > MAX_DATA_DEPTH {
        return Err(Stop::Fallback);
    }
    match v {
        Value::Number(n) => {
            let x = json_number(n).ok_or(Stop::Fallback)?;
            if n.is_f64() && x.fract() == 0.0 {
                *v = number_value(x)?;
            }
        }
        Value::Array(a) => {
            for x in a {
                normalize(x, depth + 1)?;
            }
        }
        Value::Object(o) => {
            for x in o.values_mut() {
                normalize(x, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn number_value(n: f64) -> Out<serde_json::Value> {
    crate::jsonata::number(n).map_err(|_| Stop::Fallback)
}
