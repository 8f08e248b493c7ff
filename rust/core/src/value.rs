//! JSON values as the engine uses them: serde_json values with insertion-ordered objects
//! (AWS keeps the order of keys), plus the few helpers every module needs.

pub use serde_json::{Map, Number, Value};

/// Compact JSON text, as AWS prints values inside error causes.
pub fn to_text(value: &Value) -> String {
    // Serialising a Value cannot fail: its map keys are always strings.
    serde_json::to_string(value).unwrap_or_default()
}

/// AWS's payload limit: 256 KiB of UTF-8 JSON text.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The length of the value's compact JSON text, counted without building the text.
pub fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}

/// Why a value cannot be a state's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Its JSON text is longer than AWS's payload limit.
    TooLarge,
    /// It is nested deeper than [`MAX_DEPTH`] (a ResultPath that puts the input inside itself
    /// in a loop deepens it by one level a turn).
    TooDeep,
}

/// Upper bounds of a value's compact JSON text length and of its nesting depth (containers within
/// containers; a scalar is 0 deep).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bound {
    pub size: usize,
    pub depth: usize,
}

impl Bound {
    pub fn within_limits(self) -> bool {
        self.size <= MAX_PAYLOAD_BYTES && self.depth <= MAX_DEPTH
    }

    /// What the limits say of a value with this (exact) bound.
    pub fn check(self) -> Result<Bound, Oversize> {
        if self.depth > MAX_DEPTH {
            Err(Oversize::TooDeep)
        } else if self.size > MAX_PAYLOAD_BYTES {
            Err(Oversize::TooLarge)
        } else {
            Ok(self)
        }
    }
}

/// A quick upper bound of the value's size and depth (every escape counted as the longest, every
/// float as 24 digits). The walk stops once a limit is passed; the bound is then over it too.
pub fn bound_of(value: &Value) -> Bound {
    let mut b = Bound::default();
    if let Err(Oversize::TooDeep) = measure::<true>(value, 1, &mut b) {
        b.depth = MAX_DEPTH + 1;
    }
    b
}

/// The exact size (and depth) of the value's compact JSON text, or the limit it passes; stops
/// counting as soon as it passes one.
pub fn exact_bound(value: &Value) -> Result<Bound, Oversize> {
    let mut b = Bound::default();
    measure::<false>(value, 1, &mut b)?;
    Ok(b)
}

/// Checks a value against the payload and nesting limits: the quick bound first, and the exact
/// count only when the bound is over the limit.
pub fn check_payload(value: &Value) -> Result<(), Oversize> {
    let b = bound_of(value);
    if b.within_limits() {
        return Ok(());
    }
    exact_bound(value).map(|_| ())
}

/// Adds the length of the value's compact JSON text (or, when `BOUND`, an upper bound of it) and
/// raises the depth seen; `depth` is the level the value's own brackets would be at.
fn measure<const BOUND: bool>(value: &Value, depth: usize, b: &mut Bound) -> Result<(), Oversize> {
    match value {
        Value::Null | Value::Bool(true) => b.size += 4,
        Value::Bool(false) => b.size += 5,
        Value::Number(n) => {
            b.size += if BOUND {
                number_bound(n)
            } else {
                number_len(n)
            }
        }
        Value::String(s) => b.size += text_len::<BOUND>(s),
        Value::Array(items) => {
            if depth > MAX_DEPTH {
                return Err(Oversize::TooDeep);
            }
            b.depth = b.depth.max(depth);
            b.size += 2 + items.len().saturating_sub(1);
            for item in items {
                measure::<BOUND>(item, depth + 1, b)?;
            }
        }
        Value::Object(map) => {
            if depth > MAX_DEPTH {
                return Err(Oversize::TooDeep);
            }
            b.depth = b.depth.max(depth);
            b.size += 2 + map.len().saturating_sub(1);
            for (key, item) in map {
                b.size += text_len::<BOUND>(key) + 1;
                measure::<BOUND>(item, depth + 1, b)?;
            }
        }
    }
    if b.size > MAX_PAYLOAD_BYTES {
        return Err(Oversize::TooLarge);
    }
    Ok(())
}

/// A string's length as compact JSON text writes it, quotes and escapes included; when `BOUND`,
/// every byte that may need escaping counts as the longest escape (`\u001f`, six bytes), which
/// lets the count run as a simple (vectorised) scan.
fn text_len<const BOUND: bool>(s: &str) -> usize {
    if BOUND {
        let special = s
            .bytes()
            .filter(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .count();
        return 2 + s.len() + 5 * special;
    }
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// At least the length of the number's JSON text: integers exactly, other numbers 24 bytes
/// (the longest shortest-round-trip form of an f64).
fn number_bound(n: &Number) -> usize {
    if let Some(u) = n.as_u64() {
        return u.checked_ilog10().map_or(1, |d| d as usize + 1);
    }
    if let Some(i) = n.as_i64() {
        return 1 + i
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1);
    }
    24
}

fn number_len(n: &Number) -> usize {
    struct Counter(usize);
    impl std::fmt::Write for Counter {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut c = Counter(0);
    // Writing to a counter cannot fail.
    let _ = std::fmt::write(&mut c, format_args!("{n}"));
    c.0
}

/// The deepest nesting accepted in JSON text and Python values. (AWS, through Jackson, allows
/// 1000; half of that keeps every recursive walk of a value within a 2 MiB thread stack.)
pub const MAX_DEPTH: usize = 500;

/// Nesting depth of JSON text, found by a scan of its brackets outside strings (no recursion).
pub fn text_depth(text: &str) -> usize {
    scan(text).depth
}

/// What a scan of JSON text outside its strings finds before it is parsed.
#[derive(Default)]
struct Scan {
    /// The deepest nesting of brackets.
    depth: usize,
    /// Some number token is `-0` (an integer negative zero).
    int_negative_zero: bool,
    /// Some number token is a negative zero with a fraction or exponent (`-0.0`, `-0e5`).
    float_negative_zero: bool,
}

fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut found = Scan::default();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                found.depth = found.depth.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' => match negative_zero(&bytes[i + 1..]) {
                Some(true) => found.int_negative_zero = true,
                Some(false) => found.float_negative_zero = true,
                None => {}
            },
            _ => {}
        }
    }
    found
}

/// For the number after a minus sign: Some(true) when it is `0` alone, Some(false) when it is a
/// zero with a fraction or exponent (`0.00`, `0e3`), None when it is not zero.
fn negative_zero(after_minus: &[u8]) -> Option<bool> {
    let [b'0', rest @ ..] = after_minus else {
        return None;
    };
    let mut rest = rest.iter().peekable();
    match rest.peek() {
        Some(b'.') | Some(b'e') | Some(b'E') => {}
        Some(b'0'..=b'9') => return None,
        _ => return Some(true),
    }
    if rest.peek() == Some(&&b'.') {
        rest.next();
        while let Some(d @ b'0'..=b'9') = rest.peek() {
            if **d != b'0' {
                return None;
            }
            rest.next();
        }
    }
    Some(false)
}

/// Turns every float negative zero into the integer 0 (see `parse`).
fn unsign_zeros(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative()) => {
            *value = Value::from(0);
        }
        Value::Array(items) => items.iter_mut().for_each(unsign_zeros),
        Value::Object(m) => m.values_mut().for_each(unsign_zeros),
        _ => {}
    }
}

/// Why JSON text was refused.
#[derive(Debug)]
pub enum ParseError {
    TooDeep(usize),
    Syntax(serde_json::Error),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::TooDeep(d) => write!(
                f,
                "JSON nested {d} levels deep; at most {MAX_DEPTH} are allowed"
            ),
            ParseError::Syntax(e) => write!(f, "{e}"),
        }
    }
}

/// Parses JSON text nested at most [`MAX_DEPTH`] levels (checked first, so deep text cannot
/// exhaust the stack while it is parsed).
///
/// A `-0` token is the integer 0, as Jackson reads it (serde_json makes it the float -0.0, which
/// would print as `-0.0`); when the text also has float negative zeros (`-0.0`) the two cannot be
/// told apart after parsing, and both stay floats.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let found = scan(text);
    if found.depth > MAX_DEPTH {
        return Err(ParseError::TooDeep(found.depth));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let mut v = <Value as serde::Deserialize>::deserialize(&mut de).map_err(ParseError::Syntax)?;
    de.end().map_err(ParseError::Syntax)?;
    if found.int_negative_zero && !found.float_negative_zero {
        unsign_zeros(&mut v);
    }
    Ok(v)
}

/// A JSON number from an f64, kept integral when the value is a whole number that fits.
pub fn number_from_f64(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 {
        Value::from(x as i64)
    } else {
        Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// The number as an i64 when it is integral (1.0 counts as integral, as Jackson reads it).
pub fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
        }),
        _ => None,
    }
}

/// True for a number written without a fraction or exponent (Java's int/long nodes).
pub fn is_integral_number(value: &Value) -> bool {
    matches!(value, Value::Number(n) if n.is_i64() || n.is_u64())
}

/// Deep JSON equality where 1 and 1.0 are the same number.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equality_treats_int_and_float_alike() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(!json_equal(&json!(1), &json!(true)));
        assert!(json_equal(&json!({"a": [1, 2]}), &json!({"a": [1.0, 2]})));
    }

    #[test]
    fn number_from_f64_keeps_integers_integral() {
        assert_eq!(number_from_f64(3.0), json!(3));
        assert_eq!(number_from_f64(2.5), json!(2.5));
    }

    #[test]
    fn check_payload_counts_as_the_text_is_written() {
        for v in [
            json!({"a": [1, -2.5, 1e300, true, null, "q\"\\\n\u{1}é"], "": {}, "b": []}),
            json!("x".repeat(MAX_PAYLOAD_BYTES - 2)),
            json!(12345678901234567u64),
            json!([-1, 0, 9, 10, -10, i64::MIN, u64::MAX, 0.1, -1.5e-300]),
        ] {
            let exact = exact_bound(&v).unwrap_or_default();
            assert_eq!(exact.size, to_text(&v).len(), "{v}");
            let bound = bound_of(&v);
            assert!(bound.size >= exact.size, "{v}: bound {bound:?} < {exact:?}");
            assert_eq!(bound.depth, exact.depth);
        }
        assert_eq!(
            check_payload(&json!("x".repeat(MAX_PAYLOAD_BYTES - 1))),
            Err(Oversize::TooLarge)
        );
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(check_payload(&deep), Ok(()));
        assert_eq!(bound_of(&deep).depth, MAX_DEPTH);
        assert_eq!(bound_of(&json!(1)).depth, 0);
        assert_eq!(check_payload(&json!({ "a": deep })), Err(Oversize::TooDeep));
    }

    #[test]
    fn serialized_len_matches_text() {
        let v = json!({"a": [1, "x\"y", null], "b": 2.5});
        assert_eq!(serialized_len(&v), to_text(&v).len());
    }

    #[test]
    fn parse_accepts_up_to_the_depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse(&deep), Err(ParseError::TooDeep(100_000))));
        assert_eq!(text_depth(r#"{"a": "[[[\"[", "b": [1]}"#), 2);
    }

    #[test]
    fn a_negative_zero_integer_is_zero_as_jackson_reads_it() {
        let text = |v: &Value| to_text(v);
        assert_eq!(text(&parse("-0").unwrap()), "0");
        assert_eq!(
            text(&parse(r#"{"a": [-0, 1], "b": "x-0"}"#).unwrap()),
            r#"{"a":[0,1],"b":"x-0"}"#
        );
        assert_eq!(text(&parse("-0.0").unwrap()), "-0.0");
        assert_eq!(
            text(&parse("[-0e2, -0.5, -10]").unwrap()),
            "[-0.0,-0.5,-10]"
        );
        assert_eq!(text(&parse("[-0, -0.5]").unwrap()), "[0,-0.5]");
        // Both kinds at once cannot be told apart once parsed: both stay floats.
        assert_eq!(text(&parse("[-0, -0.0]").unwrap()), "[-0.0,-0.0]");
        assert!(matches!(parse("[1] x"), Err(ParseError::Syntax(_))));
    }
}
