//! Choice rules, compiled once into a tree and evaluated against a state's input.

use crate::errors::Failure;
use crate::path::Path;
use crate::payload::Vars;
use crate::timestamp;
use crate::value::{json_equal, Value};
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTest {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        kind: Kind,
        cmp: Cmp,
        operand: Operand,
    },
    Matches {
        variable: Path,
        pattern: Pattern,
    },
    Test {
        variable: Path,
        test: TypeTest,
        expected: bool,
    },
}

/// Every comparison operator name, with what it means.
pub fn operator(name: &str) -> Option<(Kind, Cmp, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (kind, rest) = ["String", "Numeric", "Boolean", "Timestamp"]
        .iter()
        .zip([Kind::String, Kind::Numeric, Kind::Boolean, Kind::Timestamp])
        .find_map(|(p, k)| base.strip_prefix(p).map(|r| (k, r)))?;
    let cmp = match rest {
        "Equals" => Cmp::Equals,
        "LessThan" => Cmp::LessThan,
        "GreaterThan" => Cmp::GreaterThan,
        "LessThanEquals" => Cmp::LessThanEquals,
        "GreaterThanEquals" => Cmp::GreaterThanEquals,
        _ => return None,
    };
    if kind == Kind::Boolean && cmp != Cmp::Equals {
        return None;
    }
    Some((kind, cmp, is_path))
}

pub fn type_test(name: &str) -> Option<TypeTest> {
    Some(match name {
        "IsNull" => TypeTest::IsNull,
        "IsPresent" => TypeTest::IsPresent,
        "IsNumeric" => TypeTest::IsNumeric,
        "IsString" => TypeTest::IsString,
        "IsBoolean" => TypeTest::IsBoolean,
        "IsTimestamp" => TypeTest::IsTimestamp,
        _ => return None,
    })
}

/// A `StringMatches` pattern: literal pieces between `*` wildcards (`\*` and `\\` escape).
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pieces: Vec<String>,
}

impl Pattern {
    pub fn parse(text: &str) -> Pattern {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(n) => pieces.last_mut().map(|p| p.push(n)).unwrap_or(()),
                    None => pieces.last_mut().map(|p| p.push('\\')).unwrap_or(()),
                },
                '*' => pieces.push(String::new()),
                _ => pieces.last_mut().map(|p| p.push(c)).unwrap_or(()),
            }
        }
        Pattern { pieces }
    }

    /// Linear-time match: the first piece anchors the start, the last the end, and each middle
    /// piece is found greedily at its leftmost place (leftmost is always safe with `*` only).
    pub fn matches(&self, s: &str) -> bool {
        let n = self.pieces.len();
        if n == 1 {
            return s == self.pieces[0];
        }
        let (first, last) = (&self.pieces[0], &self.pieces[n - 1]);
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for piece in &self.pieces[1..n - 1] {
            match rest.find(piece.as_str()) {
                Some(i) => rest = &rest[i + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

fn lookup<'a>(
    path: &Path,
    input: &'a Value,
    context: &'a Value,
    vars: &'a Vars,
) -> Option<&'a Value> {
    path.lookup(path.pick(input, context, vars)?)
}

fn missing(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.text()
    ))
}

fn as_timestamp(v: &Value) -> Option<timestamp::Instant> {
    v.as_str().and_then(timestamp::parse)
}

fn ordering(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Numeric => match (a, b) {
            (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
                (Some(i), Some(j)) => Some(i.cmp(&j)),
                _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
            },
            _ => None,
        },
        Kind::Boolean => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => None,
        },
        Kind::Timestamp => Some(as_timestamp(a)?.cmp(&as_timestamp(b)?)),
    }
}

impl Rule {
    pub fn eval(&self, input: &Value, context: &Value, vars: &Vars) -> Result<bool, Failure> {
        match self {
            Rule::And(rs) => {
                for r in rs {
                    if !r.eval(input, context, vars)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for r in rs {
                    if r.eval(input, context, vars)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, context, vars)?),
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                let v = lookup(variable, input, context, vars);
                let actual = match (test, v) {
                    (TypeTest::IsPresent, v) => v.is_some(),
                    (_, None) => return Err(missing(variable)),
                    (TypeTest::IsNull, Some(v)) => v.is_null(),
                    (TypeTest::IsNumeric, Some(v)) => v.is_number(),
                    (TypeTest::IsString, Some(v)) => v.is_string(),
                    (TypeTest::IsBoolean, Some(v)) => v.is_boolean(),
                    (TypeTest::IsTimestamp, Some(v)) => as_timestamp(v).is_some(),
                };
                Ok(actual == *expected)
            }
            Rule::Matches { variable, pattern } => {
                let v = lookup(variable, input, context, vars).ok_or_else(|| missing(variable))?;
                Ok(v.as_str().is_some_and(|s| pattern.matches(s)))
            }
            Rule::Compare {
                variable,
                kind,
                cmp,
                operand,
            } => {
                let v = lookup(variable, input, context, vars).ok_or_else(|| missing(variable))?;
                let other = match operand {
                    Operand::Literal(x) => x,
                    Operand::Path(p) => {
                        lookup(p, input, context, vars).ok_or_else(|| missing(p))?
                    }
                };
                if *kind == Kind::Numeric
                    && *cmp == Cmp::Equals
                    && v.is_number()
                    && other.is_number()
                {
                    return Ok(json_equal(v, other));
                }
                let Some(ord) = ordering(*kind, v, other) else {
                    return Ok(false);
                };
                Ok(match cmp {
                    Cmp::Equals => ord == Ordering::Equal,
                    Cmp::LessThan => ord == Ordering::Less,
                    Cmp::GreaterThan => ord == Ordering::Greater,
                    Cmp::LessThanEquals => ord != Ordering::Greater,
                    Cmp::GreaterThanEquals => ord != Ordering::Less,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmp(name: &str, operand: Value, input: Value) -> bool {
        let (kind, cmp, is_path) = operator(name).unwrap();
        let operand = if is_path {
            Operand::Path(Path::parse(operand.as_str().unwrap()).unwrap())
        } else {
            Operand::Literal(operand)
        };
        Rule::Compare {
            variable: Path::parse("$.v").unwrap(),
            kind,
            cmp,
            operand,
        }
        .eval(&input, &json!({}), &Vars::new())
        .unwrap()
    }

    #[test]
    fn typed_comparisons_are_false_across_types() {
        assert!(cmp("NumericEquals", json!(0.0), json!({"v": 0})));
        assert!(!cmp("NumericEquals", json!(1), json!({"v": true})));
        assert!(!cmp("StringEquals", json!("1"), json!({"v": 1})));
        assert!(!cmp("BooleanEquals", json!(false), json!({"v": 0})));
        assert!(cmp("StringLessThan", json!("AB"), json!({"v": "A"})));
        assert!(cmp(
            "NumericLessThanEqualsPath",
            json!("$.o"),
            json!({"v": 1, "o": 1})
        ));
        assert!(cmp(
            "TimestampEquals",
            json!("2012-10-09T19:00:55Z"),
            json!({"v": "2012-10-09T20:00:55+01:00"})
        ));
        assert!(!cmp(
            "TimestampEquals",
            json!("2012-10-09T19:00:55Z"),
            json!({"v": ""})
        ));
        assert!(operator("BooleanLessThan").is_none());
    }

    #[test]
    fn missing_variable_fails_except_is_present() {
        let r = Rule::Compare {
            variable: Path::parse("$.nope").unwrap(),
            kind: Kind::String,
            cmp: Cmp::Equals,
            operand: Operand::Literal(json!("x")),
        };
        assert_eq!(
            r.eval(&json!({}), &json!({}), &Vars::new())
                .unwrap_err()
                .error,
            "States.Runtime"
        );
        let p = Rule::Test {
            variable: Path::parse("$.nope").unwrap(),
            test: TypeTest::IsPresent,
            expected: false,
        };
        assert!(p.eval(&json!({}), &json!({}), &Vars::new()).unwrap());
    }

    #[test]
    fn string_matches() {
        let m = |p: &str, s: &str| Pattern::parse(p).matches(s);
        assert!(m("log-*.txt", "log-2024.txt"));
        assert!(!m("log-*.txt", "log-2024.txt2"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "ac"));
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "aXb"));
        assert!(m(r"a\\*", r"a\anything"));
        let long = "a".repeat(100_000);
        assert!(!m("*a*a*a*a*a*b", &long));
    }
}
