//! The built-in functions of the subset, each deciding only what jsonata-core would answer the
//! same way, and the number and string helpers they share with the evaluator.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::compile::{Builtin, Node};
use super::eval::{Run, View};
use super::{plain_array, sequence, Model, Out, Stop, Text, Val, MAX_DATA_DEPTH};

impl<'a, 'p, M: Model> Run<'a, 'p, M> {
    pub(super) fn call(
        &mut self,
        builtin: Builtin,
        args: &'p [Node],
        input: &Val<'p, M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(a, input)?);
        }
        let arg = &values[0];
        match builtin {
            Builtin::Exists => return Ok(Val::Bool(!matches!(arg, Val::Undefined))),
            Builtin::Append => return self.append(arg, &values[1]),
            Builtin::Keys => return self.keys(arg),
            Builtin::Count => {
                self.check_whole(arg)?;
                return Ok(Val::Num(match self.items(arg)? {
                    Some(items) => items.len() as f64,
                    None if matches!(arg, Val::Undefined) => 0.0,
                    None => 1.0,
                }));
            }
            _ => {}
        }
        if matches!(arg, Val::Undefined) {
            // jsonata-core checks the other arguments' types first.
            if values.len() > 1 {
                return Err(Stop::Fallback);
            }
            return Ok(Val::Undefined);
        }
        match builtin {
            Builtin::Sum | Builtin::Max | Builtin::Min | Builtin::Average => {
                let numbers = self.numbers(arg)?;
                let x = match builtin {
                    Builtin::Sum => numbers.iter().sum::<f64>(),
                    _ if numbers.is_empty() => return Ok(Val::Undefined),
                    Builtin::Max => numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    Builtin::Min => numbers.iter().copied().fold(f64::INFINITY, f64::min),
                    _ => numbers.iter().sum::<f64>() / numbers.len() as f64,
                };
                if x.is_finite() {
                    Ok(Val::Num(x))
                } else {
                    Err(Stop::Fallback)
                }
            }
            Builtin::String => match self.view(arg) {
                View::Str(_) => Ok(arg.clone()),
                View::Arr | View::Obj(_) => {
                    let mut text = String::new();
                    self.json_text(arg, &mut text, 0)?;
                    Ok(Val::Str(Text::Made(text.into())))
                }
                _ => {
                    let mut text = String::new();
                    self.append_text(arg, &mut text)?;
                    Ok(Val::Str(Text::Made(text.into())))
                }
            },
            Builtin::Uppercase | Builtin::Lowercase | Builtin::Length => {
                let View::Str(s) = self.view(arg) else {
                    return Err(Stop::Fallback);
                };
                if !s.is_ascii() {
                    return Err(Stop::Fallback);
                }
                Ok(match builtin {
                    Builtin::Uppercase => Val::Str(Text::Made(s.to_ascii_uppercase().into())),
                    Builtin::Lowercase => Val::Str(Text::Made(s.to_ascii_lowercase().into())),
                    _ => Val::Num(s.len() as f64),
                })
            }
            Builtin::Join => {
                let separator = match values.get(1) {
                    None => String::new(),
                    Some(sep) => match self.view(sep) {
                        View::Str(s) => s.to_string(),
                        _ => return Err(Stop::Fallback),
                    },
                };
                let parts = self.items(arg)?.unwrap_or_else(|| vec![arg.clone()]);
                let mut text = String::new();
                for (i, part) in parts.iter().enumerate() {
                    let View::Str(s) = self.view(part) else {
                        return Err(Stop::Fallback);
                    };
                    if i > 0 {
                        text.push_str(&separator);
                    }
                    text.push_str(s);
                }
                Ok(Val::Str(Text::Made(text.into())))
            }
            Builtin::Round | Builtin::Floor | Builtin::Ceil | Builtin::Abs => {
                let View::Num(n) = self.view(arg) else {
                    return Err(Stop::Fallback);
                };
                let x = match builtin {
                    Builtin::Floor => n.floor(),
                    Builtin::Ceil => n.ceil(),
                    Builtin::Abs => n.abs(),
                    _ => {
                        let precision = match values.get(1) {
                            None => 0,
                            Some(p) => match self.view(p) {
                                View::Num(p) if p.fract() == 0.0 && p.abs() <= 15.0 => p as i32,
                                _ => return Err(Stop::Fallback),
                            },
                        };
                        // jsonata-core's own rounding, so that both roads agree.
                        match jsonata_core::functions::numeric::round(n, Some(precision)) {
                            Ok(jsonata_core::value::JValue::Number(x)) if x.is_finite() => x,
                            _ => return Err(Stop::Fallback),
                        }
                    }
                };
                Ok(Val::Num(if x == 0.0 { 0.0 } else { x }))
            }
            Builtin::Boolean => Ok(Val::Bool(self.truthy(arg)?)),
            Builtin::Not => Ok(Val::Bool(!self.truthy(arg)?)),
            Builtin::Merge => self.merge(arg),
            Builtin::Contains => {
                let (View::Str(s), Some(View::Str(token))) =
                    (self.view(arg), values.get(1).map(|t| self.view(t)))
                else {
                    return Err(Stop::Fallback);
                };
                Ok(Val::Bool(s.contains(token)))
            }
            Builtin::Substring => {
                let View::Str(s) = self.view(arg) else {
                    return Err(Stop::Fallback);
                };
                let integer = |v: Option<&Val<'p, M::Item>>| match v.map(|v| self.view(v)) {
                    Some(View::Num(n)) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(Some(n as i64)),
                    None => Ok(None),
                    _ => Err(Stop::Fallback),
                };
                let start = integer(values.get(1))?.ok_or(Stop::Fallback)?;
                let length = integer(values.get(2))?;
                Ok(Val::Str(Text::Made(substring(s, start, length).into())))
            }
            Builtin::Number => match self.view(arg) {
                View::Num(n) => Ok(Val::Num(n)),
                View::Bool(b) => Ok(Val::Num(if b { 1.0 } else { 0.0 })),
                View::Str(s) if is_decimal(s) => match s.parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Val::Num(x)),
                    _ => Err(Stop::Fallback),
                },
                _ => Err(Stop::Fallback),
            },
            Builtin::Split => {
                let (View::Str(s), Some(View::Str(separator))) =
                    (self.view(arg), values.get(1).map(|t| self.view(t)))
                else {
                    return Err(Stop::Fallback);
                };
                // An empty separator splits into UTF-16 units in JavaScript: not decided here.
                if separator.is_empty() {
                    return Err(Stop::Fallback);
                }
                let limit = match values.get(2).map(|l| self.view(l)) {
                    None => usize::MAX,
                    Some(View::Num(n)) if n >= 0.0 && n.fract() == 0.0 => n as usize,
                    _ => return Err(Stop::Fallback),
                };
                Ok(plain_array(
                    s.split(separator)
                        .take(limit)
                        .map(|part| Val::Str(Text::Made(part.into())))
                        .collect(),
                ))
            }
            Builtin::Exists | Builtin::Count | Builtin::Append | Builtin::Keys => {
                Err(Stop::Fallback)
            }
        }
    }

    /// `$string` of an array or object: JSON text without spaces, its numbers as `$string`
    /// writes them.
    fn json_text(&self, v: &Val<'p, M::Item>, out: &mut String, depth: usize) -> Out<()> {
        if depth > MAX_DATA_DEPTH {
            return Err(Stop::Fallback);
        }
        self.spend(1)?;
        match self.view(v) {
            View::Null | View::Bool(_) | View::Num(_) => self.append_text(v, out)?,
            View::Str(s) => {
                out.push_str(&serde_json::to_string(s).map_err(|_| Stop::Fallback)?);
            }
            View::Arr => {
                out.push('[');
                for (i, item) in self.items(v)?.unwrap_or_default().iter().enumerate() {
                    if matches!(item, Val::Undefined) {
                        return Err(Stop::Fallback);
                    }
                    if i > 0 {
                        out.push(',');
                    }
                    self.json_text(item, out, depth + 1)?;
                }
                out.push(']');
            }
            View::Obj(_) => {
                out.push('{');
                for (i, (k, x)) in self.object_fields(v)?.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(&**k).map_err(|_| Stop::Fallback)?);
                    out.push(':');
                    self.json_text(x, out, depth + 1)?;
                }
                out.push('}');
            }
            View::Undefined | View::Other => return Err(Stop::Fallback),
        }
        Ok(())
    }

    /// `$append`: the two as one array (either alone when the other is undefined).
    fn append(&self, a: &Val<'p, M::Item>, b: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        // (jsonata-core converts an object of the data given to `$append` itself, not lazily:
        // what it makes of one is not decided here.)
        for v in [a, b] {
            if matches!(v, Val::Data(_)) && matches!(self.view(v), View::Obj(_)) {
                return Err(Stop::Fallback);
            }
        }
        match (a, b) {
            (Val::Undefined, _) => return Ok(b.clone()),
            (_, Val::Undefined) => return Ok(a.clone()),
            _ => {}
        }
        let mut items = self.items(a)?.unwrap_or_else(|| vec![a.clone()]);
        items.extend(self.items(b)?.unwrap_or_else(|| vec![b.clone()]));
        Ok(plain_array(items))
    }

    /// An object's fields (made or the data's), refusing keys JavaScript would reorder.
    fn object_fields(&self, v: &Val<'p, M::Item>) -> Out<Vec<(Text<'p>, Val<'p, M::Item>)>> {
        let fields: Vec<(Text<'p>, Val<'p, M::Item>)> = match v {
            Val::Obj(fields) => fields.iter().cloned().collect(),
            Val::Data(item) => {
                self.model.check_whole(item)?;
                self.model
                    .fields(item)?
                    .into_iter()
                    .map(|(k, x)| (Text::Made(k), Val::Data(x)))
                    .collect()
            }
            _ => return Err(Stop::Fallback),
        };
        self.spend(u32::try_from(fields.len() / 16).unwrap_or(u32::MAX))?;
        if fields.iter().any(|(k, _)| is_index_key(k)) {
            return Err(Stop::Fallback);
        }
        Ok(fields)
    }

    /// `$merge`: the fields of an array of objects in one object, later ones winning.
    fn merge(&self, arg: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let objects = self.items(arg)?.unwrap_or_else(|| vec![arg.clone()]);
        let mut merged: Vec<(Text<'p>, Val<'p, M::Item>)> = Vec::new();
        let mut at: HashMap<Text<'p>, usize> = HashMap::new();
        for object in &objects {
            if !matches!(self.view(object), View::Obj(_)) {
                return Err(Stop::Fallback);
            }
            for (k, x) in self.object_fields(object)? {
                match at.get(&k) {
                    Some(&i) => merged[i].1 = x,
                    None => {
                        at.insert(k.clone(), merged.len());
                        merged.push((k, x));
                    }
                }
            }
        }
        Ok(Val::Obj(Rc::new(merged)))
    }

    /// `$keys`: an object's keys, or the keys of every object in an array (each once).
    fn keys(&self, arg: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let objects = match self.view(arg) {
            View::Undefined => return Ok(Val::Undefined),
            View::Obj(_) => vec![arg.clone()],
            View::Arr => self.items(arg)?.unwrap_or_default(),
            _ => return Err(Stop::Fallback),
        };
        let mut keys: Vec<Text<'p>> = Vec::new();
        let mut seen: HashSet<Text<'p>> = HashSet::new();
        for object in &objects {
            if !matches!(self.view(object), View::Obj(_)) {
                return Err(Stop::Fallback);
            }
            for (k, _) in self.object_fields(object)? {
                if seen.insert(k.clone()) {
                    keys.push(k);
                }
            }
        }
        Ok(sequence(keys.into_iter().map(Val::Str).collect()))
    }

    /// The numbers of a `$sum`-style argument (a number alone counts as an array of one).
    fn numbers(&self, v: &Val<'p, M::Item>) -> Out<Vec<f64>> {
        let items = self.items(v)?.unwrap_or_else(|| vec![v.clone()]);
        items
            .iter()
            .map(|item| match self.view(item) {
                View::Num(n) => Ok(n),
                _ => Err(Stop::Fallback),
            })
            .collect()
    }
}

/// Whether JavaScript would order this object key first, as an array index.
pub(super) fn is_index_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit())
}

/// `$substring` on code points, as JavaScript's `slice` takes its bounds.
fn substring(s: &str, start: i64, length: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let start = if len + start < 0 { 0 } else { start };
    let end = match length {
        Some(l) if l <= 0 => return String::new(),
        Some(l) if start >= 0 => start + l,
        Some(l) => len + start + l,
        None => len,
    };
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let (from, to) = (clamp(start), clamp(end));
    if to <= from {
        return String::new();
    }
    chars[from as usize..to as usize].iter().collect()
}

/// Whether `$number` reads this text as a decimal number (`-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?`).
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// The decimal digits and exponent of the shortest text that reads back as `x` (`x` finite,
/// not zero): `x` = 0.d1d2d3... × 10^exponent.
fn shortest_digits(x: f64) -> (String, i32) {
    let text = format!("{:e}", x.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exponent.parse::<i32>().unwrap_or(0) + 1)
}

/// A number as JSONata's `$string` writes it (JavaScript's text of the number rounded to 15
/// significant digits); `None` when that rounding would change the number (left to
/// jsonata-core, which does it).
pub(super) fn number_text(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some("0".to_string());
    }
    let (digits, n) = shortest_digits(x);
    if digits.len() > 15 {
        return None;
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let k = digits.len() as i32;
    // ECMAScript's Number::toString.
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    Some(format!("{sign}{body}"))
}
