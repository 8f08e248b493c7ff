//! The intrinsic functions (`States.Format(...)` and the other 17), parsed once when the
//! definition is compiled and evaluated against a state's input and the context object.

use crate::errors::{Failure, INTRINSIC_FAILURE};
use crate::path::Path;
use crate::rng::Rng;
use crate::value::{as_integer, is_integral_number, json_equal, number_from_f64, to_text, Value};
use base64::Engine;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "States.Format" => Func::Format,
            "States.StringToJson" => Func::StringToJson,
            "States.JsonToString" => Func::JsonToString,
            "States.Array" => Func::Array,
            "States.ArrayPartition" => Func::ArrayPartition,
            "States.ArrayContains" => Func::ArrayContains,
            "States.ArrayRange" => Func::ArrayRange,
            "States.ArrayGetItem" => Func::ArrayGetItem,
            "States.ArrayLength" => Func::ArrayLength,
            "States.ArrayUnique" => Func::ArrayUnique,
            "States.Base64Encode" => Func::Base64Encode,
            "States.Base64Decode" => Func::Base64Decode,
            "States.Hash" => Func::Hash,
            "States.JsonMerge" => Func::JsonMerge,
            "States.MathRandom" => Func::MathRandom,
            "States.MathAdd" => Func::MathAdd,
            "States.StringSplit" => Func::StringSplit,
            "States.UUID" => Func::Uuid,
            _ => return None,
        })
    }

    /// The allowed number of arguments: (min, max); None for no upper bound.
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::Format => (1, None),
            Func::Array => (0, None),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, Some(1)),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::Hash
            | Func::MathAdd
            | Func::StringSplit => (2, Some(2)),
            Func::ArrayRange | Func::JsonMerge => (3, Some(3)),
            Func::MathRandom => (2, Some(3)),
            Func::Uuid => (0, Some(0)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A quoted string; `raw` keeps the escapes, which States.Format needs to tell `\{` from `{`.
    Str {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub func: Func,
    pub name: String,
    pub args: Vec<Arg>,
    pub text: String,
}

/// True when the string looks like an intrinsic function call (so a `.$` field is one).
pub fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

/// Parses an intrinsic function call, e.g. `States.Format('x {}', $.a)`.
pub fn parse(text: &str) -> Result<Call, String> {
    let mut p = Parser { s: text, pos: 0 };
    p.ws();
    let call = p.call()?;
    p.ws();
    if p.pos != text.len() {
        return Err(format!(
            "Unexpected text after the function call at position {}",
            p.pos
        ));
    }
    Ok(call)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn ws(&mut self) {
        while self.rest().starts_with([' ', '\t', '\n', '\r']) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        let start = self.pos;
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(self.rest().len());
        let name = self.rest()[..name_len].to_string();
        let func =
            Func::from_name(&name).ok_or_else(|| format!("Unknown intrinsic function '{name}'"))?;
        self.pos += name_len;
        self.ws();
        if !self.rest().starts_with('(') {
            return Err(format!("Expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.ws();
        if self.rest().starts_with(')') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg()?);
                self.ws();
                if self.rest().starts_with(',') {
                    self.pos += 1;
                } else if self.rest().starts_with(')') {
                    self.pos += 1;
                    break;
                } else {
                    return Err(format!("Expected ',' or ')' in the arguments of {name}"));
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            return Err(format!(
                "{name} takes {}, not {} arguments",
                match max {
                    Some(m) if m == min => format!("{min}"),
                    Some(m) => format!("{min} to {m}"),
                    None => format!("at least {min}"),
                },
                args.len()
            ));
        }
        Ok(Call {
            func,
            name,
            args,
            text: self.s[start..self.pos].to_string(),
        })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let r = self.rest();
        if r.starts_with('\'') {
            return self.string();
        }
        if r.starts_with("States.") {
            return Ok(Arg::Call(Box::new(self.call()?)));
        }
        if r.starts_with('$') {
            return self.path();
        }
        let end = r.find([',', ')']).unwrap_or(r.len());
        let word = r[..end].trim_end();
        let v = match word {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            _ => match serde_json::from_str::<Value>(word) {
                Ok(v @ Value::Number(_)) => v,
                _ => return Err(format!("Invalid argument '{word}'")),
            },
        };
        self.pos += end;
        Ok(Arg::Literal(v))
    }

    fn string(&mut self) -> Result<Arg, String> {
        let start = self.pos + 1;
        let mut value = String::new();
        let mut chars = self.s[start..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, n)) => value.push(n),
                    None => break,
                },
                '\'' => {
                    let raw = self.s[start..start + i].to_string();
                    self.pos = start + i + 1;
                    return Ok(Arg::Str { value, raw });
                }
                _ => value.push(c),
            }
        }
        Err("Unterminated string literal".to_string())
    }

    fn path(&mut self) -> Result<Arg, String> {
        // A path runs to the ',' or ')' that ends the argument, skipping those inside brackets
        // and quotes (filters and quoted names may contain them).
        let r = self.rest();
        let (mut depth, mut quote, mut end) = (0i32, None::<char>, r.len());
        for (i, c) in r.char_indices() {
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth -= 1,
                (None, ')') if depth > 0 => depth -= 1,
                (None, ',' | ')') if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let text = r[..end].trim_end();
        let path = Path::parse(text)?;
        self.pos += end;
        Ok(Arg::Path(path))
    }
}

/// What an intrinsic call can see: the input of its field, the context object and randomness.
pub struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub vars: &'a crate::payload::Vars,
    pub rng: &'a mut Rng,
}

fn fail(call: &Call, why: impl std::fmt::Display) -> Failure {
    Failure::in_state(
        INTRINSIC_FAILURE,
        format!("Invalid arguments in {}: {why}", call.name),
    )
}

/// Evaluates a call. Path arguments that find nothing fail with States.Runtime, in the words
/// AWS uses for a payload field.
pub fn eval(call: &Call, env: &mut Env, field: &str) -> Result<Value, Failure> {
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(match a {
            Arg::Str { value, .. } => Value::String(value.clone()),
            Arg::Literal(v) => v.clone(),
            Arg::Path(p) => {
                crate::payload::query_field(p, env.input, env.context, env.vars, field)?
            }
            Arg::Call(c) => eval(c, env, field)?,
        });
    }
    apply(call, args, env.rng)
}

fn string_arg<'v>(call: &Call, v: &'v Value, what: &str) -> Result<&'v str, Failure> {
    v.as_str().ok_or_else(|| {
        fail(
            call,
            format!("the {what} must be a string, not {}", to_text(v)),
        )
    })
}

fn array_arg<'v>(call: &Call, v: &'v Value, what: &str) -> Result<&'v Vec<Value>, Failure> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(fail(
            call,
            format!("the {what} must be an array, not {}", to_text(v)),
        )),
    }
}

fn int_arg(call: &Call, v: &Value, what: &str) -> Result<i64, Failure> {
    match v {
        Value::Number(_) if is_integral_number(v) => {
            as_integer(v).ok_or_else(|| fail(call, "integer out of range"))
        }
        _ => Err(fail(
            call,
            format!("the {what} must be an integer, not {}", to_text(v)),
        )),
    }
}

/// A number argument as an integer, a fraction rounded off to the nearest (as AWS does for
/// MathRandom's bounds, and as MathAdd rounds its terms).
fn rounded_int_arg(call: &Call, v: &Value, what: &str) -> Result<i64, Failure> {
    match v {
        Value::Number(n) if !is_integral_number(v) => {
            let x = n.as_f64().unwrap_or_default();
            if x.abs() >= i64::MAX as f64 {
                return Err(fail(call, "integer out of range"));
            }
            Ok(java_round(x))
        }
        _ => int_arg(call, v, what),
    }
}

/// Java's Math.round: halves round up (towards positive infinity).
fn java_round(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

const MAX_STRING: usize = 10_000;

fn apply(call: &Call, args: Vec<Value>, rng: &mut Rng) -> Result<Value, Failure> {
    Ok(match call.func {
        Func::Format => {
            let template = match call.args.first() {
                Some(Arg::Str { raw, .. }) => raw.clone(),
                _ => string_arg(call, &args[0], "template")?.to_string(),
            };
            format(call, &template, &args[1..])?
        }
        Func::StringToJson => {
            let s = string_arg(call, &args[0], "argument")?;
            if s.trim().is_empty() {
                return Err(fail(call, "the argument is an empty string"));
            }
            crate::value::parse(s)
                .map_err(|e| fail(call, format!("the argument is not JSON text: {e}")))?
        }
        Func::JsonToString => Value::String(to_text(&args[0])),
        Func::Array => Value::Array(args),
        Func::ArrayPartition => {
            let a = array_arg(call, &args[0], "first argument")?;
            let size = int_arg(call, &args[1], "chunk size")?;
            if size <= 0 {
                return Err(fail(call, "the chunk size must be greater than 0"));
            }
            Value::Array(
                a.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            )
        }
        Func::ArrayContains => {
            let a = array_arg(call, &args[0], "first argument")?;
            Value::Bool(a.iter().any(|x| json_equal(x, &args[1])))
        }
        Func::ArrayRange => {
            let (start, end, step) = (
                int_arg(call, &args[0], "start")?,
                int_arg(call, &args[1], "end")?,
                int_arg(call, &args[2], "step")?,
            );
            if step == 0 {
                return Err(fail(call, "the step cannot be 0"));
            }
            let count = if (step > 0 && start > end) || (step < 0 && start < end) {
                0
            } else {
                (end as i128 - start as i128) / step as i128 + 1
            };
            if count > 1000 {
                return Err(fail(call, "the array cannot have more than 1000 items"));
            }
            Value::Array(
                (0..count as i64)
                    .map(|i| Value::from(start + i * step))
                    .collect(),
            )
        }
        Func::ArrayGetItem => {
            let a = array_arg(call, &args[0], "first argument")?;
            let i = int_arg(call, &args[1], "index")?;
            if i < 0 || i as usize >= a.len() {
                return Err(fail(call, format!("the index {i} is out of bounds")));
            }
            a[i as usize].clone()
        }
        Func::ArrayLength => Value::from(array_arg(call, &args[0], "argument")?.len()),
        Func::ArrayUnique => {
            let a = array_arg(call, &args[0], "argument")?;
            let mut out: Vec<Value> = Vec::new();
            for x in a {
                if !out.iter().any(|y| json_equal(x, y)) {
                    out.push(x.clone());
                }
            }
            Value::Array(out)
        }
        Func::Base64Encode => {
            let s = string_arg(call, &args[0], "argument")?;
            if s.chars().count() > MAX_STRING {
                return Err(fail(call, "the input is longer than 10000 characters"));
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(s))
        }
        Func::Base64Decode => {
            let s = string_arg(call, &args[0], "argument")?;
            if s.chars().count() > MAX_STRING {
                return Err(fail(call, "the input is longer than 10000 characters"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| fail(call, format!("the argument is not base64: {e}")))?;
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        }
        Func::Hash => {
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => to_text(other),
            };
            if data.chars().count() > MAX_STRING {
                return Err(fail(call, "the input is longer than 10000 characters"));
            }
            let alg = string_arg(call, &args[1], "algorithm")?;
            Value::String(hash(alg, data.as_bytes()).ok_or_else(|| {
                fail(
                    call,
                    format!(
                        "the algorithm '{alg}' is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
                    ),
                )
            })?)
        }
        Func::JsonMerge => {
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err(fail(call, "the first two arguments must be JSON objects"));
            };
            if args[2] != Value::Bool(false) {
                return Err(fail(call, "only a shallow merge (false) is supported"));
            }
            let mut merged = a.clone();
            for (k, v) in b {
                merged.insert(k.clone(), v.clone());
            }
            Value::Object(merged)
        }
        Func::MathRandom => {
            let lo = rounded_int_arg(call, &args[0], "start")?;
            let hi = rounded_int_arg(call, &args[1], "end")?;
            if hi <= lo {
                return Err(fail(call, "the end must be greater than the start"));
            }
            let mut seeded;
            let r = match args.get(2) {
                Some(seed) => {
                    seeded = Rng::new(rounded_int_arg(call, seed, "seed")? as u64);
                    &mut seeded
                }
                None => rng,
            };
            Value::from(r.range_inclusive(lo, hi - 1))
        }
        Func::MathAdd => {
            let mut sum: i64 = 0;
            for a in &args {
                let n = match a {
                    Value::Number(n) if is_integral_number(a) => as_integer(a).unwrap_or_default(),
                    Value::Number(n) => java_round(n.as_f64().unwrap_or_default()),
                    _ => {
                        return Err(fail(
                            call,
                            format!("the arguments must be numbers, not {}", to_text(a)),
                        ))
                    }
                };
                sum = sum
                    .checked_add(n)
                    .ok_or_else(|| fail(call, "the sum is out of range"))?;
            }
            if sum.abs() > i32::MAX as i64 {
                return Err(fail(call, "the sum is out of the integer range"));
            }
            number_from_f64(sum as f64)
        }
        Func::StringSplit => {
            let s = string_arg(call, &args[0], "first argument")?;
            let delims: Vec<char> = string_arg(call, &args[1], "delimiter")?.chars().collect();
            Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            )
        }
        Func::Uuid => Value::String(rng.uuid_v4()),
    })
}

fn format(call: &Call, template: &str, args: &[Value]) -> Result<Value, Failure> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = args.get(next).ok_or_else(|| {
                    fail(call, "the template has more placeholders than arguments")
                })?;
                match arg {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&to_text(other)),
                }
                next += 1;
            }
            _ => out.push(c),
        }
    }
    if next != args.len() {
        return Err(fail(
            call,
            "the number of arguments does not match the placeholders",
        ));
    }
    Ok(Value::String(out))
}

/// The hex digest of `data` by one of the algorithm names AWS accepts (`MD5`, `SHA-1`,
/// `SHA-256`, `SHA-384`, `SHA-512`), for States.Hash and JSONata's `$hash`.
pub(crate) fn hash(alg: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    let bytes: Vec<u8> = match alg {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, input: Value) -> Result<Value, Failure> {
        let call = parse(expr).unwrap();
        let ctx = json!({"Execution": {"Id": "x"}});
        let mut rng = Rng::new(3);
        let mut env = Env {
            input: &input,
            context: &ctx,
            vars: &crate::payload::Vars::new(),
            rng: &mut rng,
        };
        eval(&call, &mut env, "f.$")
    }

    #[test]
    fn format_and_escapes() {
        assert_eq!(
            run(
                "States.Format('a {} b {}', $.x, $.y)",
                json!({"x": "s", "y": [1]})
            )
            .unwrap(),
            json!("a s b [1]")
        );
        assert_eq!(
            run(r"States.Format('\{\} {}', 1)", json!({})).unwrap(),
            json!("{} 1")
        );
        assert_eq!(
            run(r"States.Format('it\'s {}', 2.5)", json!({})).unwrap(),
            json!("it's 2.5")
        );
        assert!(run("States.Format('{} {}', 1)", json!({})).is_err());
    }

    #[test]
    fn arrays() {
        assert_eq!(
            run(
                "States.ArrayPartition(States.Array(1,2,3,4,5), 2)",
                json!({})
            )
            .unwrap(),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run("States.ArrayRange(5, 1, -2)", json!({})).unwrap(),
            json!([5, 3, 1])
        );
        assert_eq!(
            run("States.ArrayGetItem($.a, 1)", json!({"a": [7, 8]})).unwrap(),
            json!(8)
        );
        assert_eq!(
            run("States.ArrayLength($.a)", json!({"a": [7, 8]})).unwrap(),
            json!(2)
        );
        assert_eq!(
            run(
                "States.ArrayUnique($.a)",
                json!({"a": [1, 1.0, {"a": 1}, {"a": 1}, null]})
            )
            .unwrap(),
            json!([1, {"a": 1}, null])
        );
        assert_eq!(
            run("States.ArrayContains($.a, 2)", json!({"a": [1, 2]})).unwrap(),
            json!(true)
        );
        assert!(run("States.ArrayGetItem($.a, 5)", json!({"a": [1]})).is_err());
        assert!(run("States.ArrayRange(0, 2000, 1)", json!({})).is_err());
    }

    #[test]
    fn math_rounds_like_java() {
        assert_eq!(
            run("States.MathAdd(-1.5, 0)", json!({})).unwrap(),
            json!(-1)
        );
        assert_eq!(run("States.MathAdd(2.5, 0)", json!({})).unwrap(), json!(3));
        assert_eq!(
            run("States.MathAdd(-1.49, -1.5)", json!({})).unwrap(),
            json!(-2)
        );
        assert_eq!(
            run("States.MathAdd($.a, -1)", json!({"a": 10})).unwrap(),
            json!(9)
        );
        let r = run("States.MathRandom(1, 3)", json!({})).unwrap();
        assert!(r == json!(1) || r == json!(2));
        // Fractional bounds are rounded off to the nearest integer: [1, 2) here.
        for _ in 0..20 {
            assert_eq!(
                run("States.MathRandom(1.4, 2.4)", json!({})).unwrap(),
                json!(1)
            );
            let r = run("States.MathRandom(12.50, 44.51, 7.2)", json!({})).unwrap();
            assert!((13..=44).contains(&r.as_i64().unwrap_or(0)), "{r}");
        }
    }

    #[test]
    fn strings_json_and_hashes() {
        assert_eq!(
            run("States.StringSplit($.s, ',')", json!({"s": "a,,b,"})).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            run("States.Base64Encode('hi')", json!({})).unwrap(),
            json!("aGk=")
        );
        assert_eq!(
            run("States.Base64Decode('aGk=')", json!({})).unwrap(),
            json!("hi")
        );
        assert_eq!(
            run("States.Hash('input data', 'MD5')", json!({})).unwrap(),
            json!("812f45842bc6d66ee14572ce20db8e86")
        );
        assert_eq!(
            run("States.StringToJson($.s)", json!({"s": "[1]"})).unwrap(),
            json!([1])
        );
        assert_eq!(
            run("States.JsonToString($.o)", json!({"o": {"a": [1]}})).unwrap(),
            json!("{\"a\":[1]}")
        );
        assert_eq!(
            run(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": 1, "y": 1}, "b": {"y": 2}})
            )
            .unwrap(),
            json!({"x": 1, "y": 2})
        );
        assert_eq!(
            run("States.UUID()", json!({}))
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            36
        );
    }

    #[test]
    fn parse_errors() {
        assert!(parse("States.Nope(1)").is_err());
        assert!(parse("States.UUID(1)").is_err());
        assert!(parse("States.Format('x'").is_err());
        assert!(parse("States.ArrayLength($.a) extra").is_err());
        assert!(parse("States.Array(foo)").is_err());
    }

    #[test]
    fn missing_path_is_a_runtime_error() {
        let e = run("States.ArrayLength($.nope)", json!({})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
    }
}
