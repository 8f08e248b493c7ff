//! JSONPath as Step Functions evaluates it (its engine is Jayway JsonPath): reference paths
//! such as `$.a.b[0]`, and full JSONPath with wildcards, unions, slices, recursive descent and
//! filters. A *definite* path (fields and indices only) yields one value or an error; an
//! indefinite one yields the list of what it matched, possibly empty.

use crate::value::{json_equal, Value};
use std::fmt;

/// What a path is evaluated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// `$`: the effective input of the field.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable (its name in [`Path::variable`]).
    Variable,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Fields(Vec<String>),
    Indexes(Vec<i64>),
    Wildcard,
    Slice(Option<i64>, Option<i64>, i64),
    /// `..`: the current node and all its descendants, pre-order; the next segment applies to each.
    Scan,
    Filter(Box<Filter>),
}

impl Segment {
    fn is_definite(&self) -> bool {
        matches!(self, Segment::Field(_) | Segment::Index(_))
    }
}

/// One step of a reference path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RefKey<'a> {
    Field(&'a str),
    Index(i64),
}

/// A compiled JSONPath.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    /// The variable's name for a [`Root::Variable`] path.
    var: Option<Box<str>>,
    segments: Vec<Segment>,
    definite: bool,
}

/// Why a definite path found nothing, in Jayway's words.
#[derive(Clone, Debug, PartialEq)]
pub enum PathError {
    NoResults(String),
    MissingProperty(String),
    NotAnObject {
        fragment: String,
        at: String,
        found: String,
    },
    NotAnArray {
        at: String,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NoResults(p) => write!(f, "No results for path: {p}"),
            PathError::MissingProperty(p) => write!(f, "Missing property in path {p}"),
            PathError::NotAnObject { fragment, at, found } => write!(
                f,
                "Expected to find an object with property {fragment} in path {at} but found '{found}'. \
                 This is not a json object according to the JsonProvider: \
                 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'."
            ),
            PathError::NotAnArray { at } => write!(f, "The path {at} is not an array"),
        }
    }
}

fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

impl Path {
    /// Parses a path starting with `$` or `$$`.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut p = Parser {
            src: text.as_bytes(),
            text,
            pos: 0,
        };
        let mut var = None;
        let root = if text.starts_with("$$") {
            p.pos = 2;
            Root::Context
        } else if text.starts_with('$')
            && text[1..].starts_with(|c: char| c.is_alphabetic() || c == '_')
        {
            let name: String = text[1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            p.pos = 1 + name.len();
            var = Some(name.into_boxed_str());
            Root::Variable
        } else if text.starts_with('$') {
            p.pos = 1;
            Root::Input
        } else {
            return Err(format!("'{text}' does not start with '$'"));
        };
        let segments = p.segments()?;
        let definite = segments.iter().all(Segment::is_definite);
        Ok(Path {
            text: text.to_string(),
            root,
            var,
            segments,
            definite,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> Root {
        self.root
    }

    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// True for a reference path: fields and indices only (what ResultPath accepts).
    pub fn is_reference(&self) -> bool {
        self.definite
    }

    /// Upper bounds of what setting a value at this reference path adds to a document besides the
    /// value itself: bytes of JSON text (keys, quotes, colons, commas, braces; a key escaped at
    /// most six bytes a character) and levels of nesting.
    pub fn merge_cost(&self) -> (usize, usize) {
        let n = self.segments.len();
        (6 * (self.text.len() + n), n)
    }

    /// True for `$` (or `$$`) alone.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path in Jayway's bracket notation, e.g. `$['a'][0]`.
    pub fn bracketed(&self) -> String {
        let mut out = String::from("$");
        for s in &self.segments {
            push_bracketed(&mut out, s);
        }
        out
    }

    /// Evaluates the path: a definite path gives its value, an indefinite one an array of matches.
    pub fn query(&self, root: &Value) -> Result<Value, PathError> {
        if let Some(found) = self.walk(root) {
            return Ok(found.clone());
        }
        let found = self.select(root)?;
        if self.definite {
            match found.first() {
                Some(v) => Ok((*v).clone()),
                None => Err(PathError::NoResults(self.bracketed())),
            }
        } else {
            Ok(Value::Array(found.into_iter().cloned().collect()))
        }
    }

    /// The value at a definite path when it is there, found without allocating; None when the path
    /// is indefinite or misses (then `select` walks it again to say why, in Jayway's words).
    fn walk<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        if !self.definite {
            return None;
        }
        self.segments
            .iter()
            .try_fold(root, |node, seg| match (seg, node) {
                (Segment::Field(name), Value::Object(m)) => m.get(name),
                (Segment::Index(i), Value::Array(items)) => index(items, *i),
                _ => None,
            })
    }

    /// Every node the path matches, in document order.
    pub fn select<'a>(&self, root: &'a Value) -> Result<Vec<&'a Value>, PathError> {
        if let Some(found) = self.walk(root) {
            return Ok(vec![found]);
        }
        let mut current = vec![root];
        let mut at = String::from("$");
        // Only a definite path fails on what is missing; an indefinite one (as recorded on AWS)
        // yields the matches it has, possibly none.
        let strict = self.definite;
        let last = self.segments.len().saturating_sub(1);
        for (i, seg) in self.segments.iter().enumerate() {
            let mut next = Vec::new();
            for v in current {
                apply(seg, v, &mut next, strict, i == last, &at)?;
            }
            push_bracketed(&mut at, seg);
            current = next;
        }
        Ok(current)
    }

    /// The fields and indices of a reference path, in order (the other steps of an indefinite
    /// path are left out).
    pub fn reference_keys(&self) -> impl Iterator<Item = RefKey<'_>> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Field(f) => Some(RefKey::Field(f)),
            Segment::Index(i) => Some(RefKey::Index(*i)),
            _ => None,
        })
    }

    /// The variable a `$name` path reads.
    pub fn variable(&self) -> Option<&str> {
        self.var.as_deref()
    }

    /// What the path reads: `input` for `$`, `context` for `$$`, the variable for `$name` (None
    /// when it is not set).
    pub fn pick<'a>(
        &self,
        input: &'a Value,
        context: &'a Value,
        vars: &'a crate::value::Map<String, Value>,
    ) -> Option<&'a Value> {
        match self.root {
            Root::Input => Some(input),
            Root::Context => Some(context),
            Root::Variable => vars.get(self.var.as_deref().unwrap_or_default()),
        }
    }

    /// The value at a definite path, or None when absent (no error text needed).
    pub fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.select(root).ok()?.into_iter().next()
    }
}

fn push_bracketed(out: &mut String, seg: &Segment) {
    match seg {
        Segment::Field(f) => {
            out.push_str("['");
            out.push_str(f);
            out.push_str("']");
        }
        Segment::Index(i) => out.push_str(&format!("[{i}]")),
        Segment::Fields(fs) => {
            let parts: Vec<String> = fs.iter().map(|f| format!("'{f}'")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
        Segment::Indexes(is) => {
            let parts: Vec<String> = is.iter().map(|i| i.to_string()).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
        Segment::Wildcard => out.push_str("[*]"),
        Segment::Slice(a, b, _) => out.push_str(&format!(
            "[{}:{}]",
            a.map(|x| x.to_string()).unwrap_or_default(),
            b.map(|x| x.to_string()).unwrap_or_default()
        )),
        Segment::Scan => out.push_str(".."),
        Segment::Filter(_) => out.push_str("[?]"),
    }
}

fn apply<'a>(
    seg: &Segment,
    v: &'a Value,
    out: &mut Vec<&'a Value>,
    strict: bool,
    leaf: bool,
    at: &str,
) -> Result<(), PathError> {
    match seg {
        Segment::Field(name) => match v {
            Value::Object(m) => match m.get(name) {
                Some(x) => out.push(x),
                None if strict && leaf => {
                    return Err(PathError::NoResults(format!("{at}['{name}']")));
                }
                None if strict => {
                    return Err(PathError::MissingProperty(format!("{at}['{name}']")));
                }
                None => {}
            },
            other if strict => {
                return Err(PathError::NotAnObject {
                    fragment: format!("['{name}']"),
                    at: at.to_string(),
                    found: java_class(other).to_string(),
                })
            }
            _ => {}
        },
        Segment::Index(i) => match v {
            Value::Array(items) => {
                if let Some(x) = index(items, *i) {
                    out.push(x)
                }
            }
            _ if strict => return Err(PathError::NotAnArray { at: at.to_string() }),
            _ => {}
        },
        Segment::Fields(names) => {
            if let Value::Object(m) = v {
                out.extend(names.iter().filter_map(|n| m.get(n)));
            }
        }
        Segment::Indexes(is) => {
            if let Value::Array(items) = v {
                out.extend(is.iter().filter_map(|i| index(items, *i)));
            }
        }
        Segment::Wildcard => match v {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(m) => out.extend(m.values()),
            _ => {}
        },
        Segment::Slice(start, end, step) => {
            if let Value::Array(items) = v {
                slice(items, *start, *end, *step, out);
            }
        }
        Segment::Scan => scan(v, out),
        Segment::Filter(f) => match v {
            Value::Array(items) => out.extend(items.iter().filter(|x| f.matches(x, v))),
            Value::Object(_) if f.matches(v, v) => out.push(v),
            _ => {}
        },
    }
    Ok(())
}

fn index(items: &[Value], i: i64) -> Option<&Value> {
    let n = items.len() as i64;
    let k = if i < 0 { n + i } else { i };
    if (0..n).contains(&k) {
        items.get(k as usize)
    } else {
        None
    }
}

fn slice<'a>(
    items: &'a [Value],
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
    out: &mut Vec<&'a Value>,
) {
    let n = items.len() as i64;
    let norm = |x: i64| if x < 0 { (n + x).max(0) } else { x.min(n) };
    if step > 0 {
        let (a, b) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(n)));
        let mut k = a;
        while k < b {
            out.push(&items[k as usize]);
            k += step;
        }
    } else if step < 0 {
        let a = start.map(norm).unwrap_or(n - 1).min(n - 1);
        let b = end.map(norm).unwrap_or(-1);
        let mut k = a;
        while k > b && k >= 0 {
            out.push(&items[k as usize]);
            k += step;
        }
    }
}

fn scan<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    // Iterative pre-order walk, so deep documents cannot overflow the stack.
    let mut stack = vec![v];
    while let Some(node) = stack.pop() {
        out.push(node);
        match node {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(m) => stack.extend(m.values().rev()),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Filters: `[?(<expr>)]`

#[derive(Clone, Debug, PartialEq)]
enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Current(Vec<Segment>),
    Root(Vec<Segment>),
    Literal(Value),
}

impl Operand {
    fn resolve<'a>(&'a self, current: &'a Value, root: &'a Value) -> Option<&'a Value> {
        let (start, segs) = match self {
            Operand::Literal(v) => return Some(v),
            Operand::Current(s) => (current, s),
            Operand::Root(s) => (root, s),
        };
        let mut v = start;
        for s in segs {
            v = match (s, v) {
                (Segment::Field(f), Value::Object(m)) => m.get(f)?,
                (Segment::Index(i), Value::Array(a)) => index(a, *i)?,
                _ => return None,
            };
        }
        Some(v)
    }
}

impl Filter {
    // `root` is the node the filter was applied to; `$` inside a filter is approximated by it.
    fn matches(&self, current: &Value, root: &Value) -> bool {
        match self {
            Filter::Or(fs) => fs.iter().any(|f| f.matches(current, root)),
            Filter::And(fs) => fs.iter().all(|f| f.matches(current, root)),
            Filter::Not(f) => !f.matches(current, root),
            Filter::Exists(op) => op.resolve(current, root).is_some(),
            Filter::Compare(a, op, b) => {
                let (Some(x), Some(y)) = (a.resolve(current, root), b.resolve(current, root))
                else {
                    return false;
                };
                compare(x, *op, y)
            }
        }
    }
}

fn compare(x: &Value, op: CmpOp, y: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (x, y) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        CmpOp::Eq => json_equal(x, y),
        CmpOp::Ne => !json_equal(x, y),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at position {} of '{}'", self.pos, self.text)
    }

    fn skip_ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.src[self.pos..].starts_with(s.as_bytes()) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Segments until the end of input, or (inside a filter) until a character that ends an operand.
    fn segments(&mut self) -> Result<Vec<Segment>, String> {
        self.segments_until(&[])
    }

    fn segments_until(&mut self, stop: &[u8]) -> Result<Vec<Segment>, String> {
        let mut segs = Vec::new();
        while let Some(c) = self.peek() {
            if stop.contains(&c) {
                break;
            }
            match c {
                b'.' => {
                    self.pos += 1;
                    if self.peek() == Some(b'.') {
                        self.pos += 1;
                        segs.push(Segment::Scan);
                    }
                    // Jayway reads whatever token follows a dot: `$.[0]` is `$[0]`.
                    if self.peek() == Some(b'[') {
                        continue;
                    }
                    if self.peek() == Some(b'*') {
                        self.pos += 1;
                        segs.push(Segment::Wildcard);
                        continue;
                    }
                    let name = self.dot_name(stop);
                    if name.is_empty() {
                        return Err(self.err("Expected a property name"));
                    }
                    segs.push(Segment::Field(name));
                }
                b'[' => {
                    self.pos += 1;
                    segs.push(self.bracket()?);
                }
                _ => return Err(self.err("Unexpected character")),
            }
        }
        Ok(segs)
    }

    fn dot_name(&mut self, stop: &[u8]) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' || stop.contains(&c) || (!stop.is_empty() && c == b' ') {
                break;
            }
            self.pos += 1;
        }
        self.text[start..self.pos].to_string()
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some(b'\'') | Some(b'"') => {
                let mut names = vec![self.quoted()?];
                loop {
                    self.skip_ws();
                    if !self.eat(",") {
                        break;
                    }
                    self.skip_ws();
                    names.push(self.quoted()?);
                }
                if names.len() == 1 {
                    Segment::Field(names.remove(0))
                } else {
                    Segment::Fields(names)
                }
            }
            Some(b'?') => {
                self.pos += 1;
                self.skip_ws();
                if !self.eat("(") {
                    return Err(self.err("Expected '(' after '?'"));
                }
                let f = self.filter_or()?;
                self.skip_ws();
                if !self.eat(")") {
                    return Err(self.err("Expected ')' to close the filter"));
                }
                Segment::Filter(Box::new(f))
            }
            _ => self.index_or_slice()?,
        };
        self.skip_ws();
        if !self.eat("]") {
            return Err(self.err("Expected ']'"));
        }
        Ok(seg)
    }

    fn index_or_slice(&mut self) -> Result<Segment, String> {
        let first = self.opt_int()?;
        self.skip_ws();
        if self.peek() == Some(b':') {
            self.pos += 1;
            self.skip_ws();
            let end = self.opt_int()?;
            self.skip_ws();
            let mut step = 1;
            if self.eat(":") {
                self.skip_ws();
                step = self.opt_int()?.unwrap_or(1);
                if step == 0 {
                    return Err(self.err("Slice step cannot be zero"));
                }
            }
            return Ok(Segment::Slice(first, end, step));
        }
        let Some(first) = first else {
            return Err(self.err("Expected an index, a slice, a quoted name, '*' or a filter"));
        };
        let mut idx = vec![first];
        loop {
            self.skip_ws();
            if !self.eat(",") {
                break;
            }
            self.skip_ws();
            match self.opt_int()? {
                Some(i) => idx.push(i),
                None => return Err(self.err("Expected an index")),
            }
        }
        Ok(if idx.len() == 1 {
            Segment::Index(idx[0])
        } else {
            Segment::Indexes(idx)
        })
    }

    fn opt_int(&mut self) -> Result<Option<i64>, String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let s = &self.text[start..self.pos];
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<i64>()
            .map(Some)
            .map_err(|_| self.err("Invalid index"))
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(q) = self.peek() else {
            return Err(self.err("Expected a quoted name"));
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.text[self.pos..].chars().next() else {
                return Err(self.err("Unterminated quoted name"));
            };
            self.pos += c.len_utf8();
            // A backslash escapes only the closing quote; elsewhere it is literal (as recorded on AWS).
            if c == '\\' && self.peek() == Some(q) {
                self.pos += 1;
                out.push(q as char);
            } else if c as u32 == q as u32 {
                return Ok(out);
            } else {
                out.push(c);
            }
        }
    }

    fn filter_or(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.filter_and()?];
        loop {
            self.skip_ws();
            if !self.eat("||") {
                break;
            }
            parts.push(self.filter_and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn filter_and(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.filter_unary()?];
        loop {
            self.skip_ws();
            if !self.eat("&&") {
                break;
            }
            parts.push(self.filter_unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn filter_unary(&mut self) -> Result<Filter, String> {
        self.skip_ws();
        if self.src[self.pos..].starts_with(b"!") && !self.src[self.pos..].starts_with(b"!=") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat("(") {
            let f = self.filter_or()?;
            self.skip_ws();
            if !self.eat(")") {
                return Err(self.err("Expected ')'"));
            }
            return Ok(f);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = if self.eat("==") {
            CmpOp::Eq
        } else if self.eat("!=") {
            CmpOp::Ne
        } else if self.eat("<=") {
            CmpOp::Le
        } else if self.eat(">=") {
            CmpOp::Ge
        } else if self.eat("<") {
            CmpOp::Lt
        } else if self.eat(">") {
            CmpOp::Gt
        } else {
            return Ok(Filter::Exists(left));
        };
        self.skip_ws();
        let right = self.operand()?;
        Ok(Filter::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        const STOP: &[u8] = b" )=!<>&|";
        match self.peek() {
            Some(b'@') => {
                self.pos += 1;
                let segs = self.segments_until(STOP)?;
                if segs.iter().all(Segment::is_definite) {
                    Ok(Operand::Current(segs))
                } else {
                    Err(self.err("Filter operands must be definite paths"))
                }
            }
            Some(b'$') => {
                self.pos += 1;
                let segs = self.segments_until(STOP)?;
                Ok(Operand::Root(segs))
            }
            Some(b'\'') | Some(b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| !STOP.contains(&c)) {
                    self.pos += 1;
                }
                let word = &self.text[start..self.pos];
                match serde_json::from_str::<Value>(word) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        Ok(Operand::Literal(v))
                    }
                    _ => Err(self.err("Expected a path, a number, a string, true, false or null")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(p: &str, v: &Value) -> Result<Value, PathError> {
        Path::parse(p).unwrap().query(v)
    }

    #[test]
    fn definite_paths_yield_values() {
        let doc = json!({"a": {"b": [10, 20, 30]}, "x y": 1});
        assert_eq!(q("$", &doc).unwrap(), doc);
        assert_eq!(q("$.a.b[1]", &doc).unwrap(), json!(20));
        assert_eq!(q("$.a.b[-1]", &doc).unwrap(), json!(30));
        assert_eq!(q("$['x y']", &doc).unwrap(), json!(1));
        assert_eq!(q(r#"$['a\"b']"#, &json!({r#"a\"b"#: 2})).unwrap(), json!(2));
        assert_eq!(q(r"$['it\'s']", &json!({"it's": 3})).unwrap(), json!(3));
        assert_eq!(q("$.a['b'][0]", &doc).unwrap(), json!(10));
    }

    #[test]
    fn missing_paths_report_like_jayway() {
        let doc = json!({"a": {"b": 1}});
        assert_eq!(
            q("$.nope", &doc).unwrap_err().to_string(),
            "No results for path: $['nope']"
        );
        assert_eq!(
            q("$.no.such.path", &doc).unwrap_err().to_string(),
            "Missing property in path $['no']"
        );
        assert_eq!(
            q("$.a.c", &doc).unwrap_err().to_string(),
            "No results for path: $['a']['c']"
        );
        assert_eq!(
            q("$.a.b[3]", &json!({"a": {"b": [1]}}))
                .unwrap_err()
                .to_string(),
            "No results for path: $['a']['b'][3]"
        );
    }

    #[test]
    fn indefinite_paths_yield_lists() {
        let doc = json!({"items": [{"p": 1, "n": "a"}, {"p": 5, "n": "b"}, {"p": 9}]});
        assert_eq!(q("$.items[*].p", &doc).unwrap(), json!([1, 5, 9]));
        assert_eq!(q("$.items[0:2].p", &doc).unwrap(), json!([1, 5]));
        assert_eq!(q("$.items[-1:].p", &doc).unwrap(), json!([9]));
        assert_eq!(q("$.items[?(@.p > 2)].p", &doc).unwrap(), json!([5, 9]));
        assert_eq!(q("$.items[?(@.n)].n", &doc).unwrap(), json!(["a", "b"]));
        assert_eq!(
            q("$.items[?(@.n == 'b' || @.p < 2)].p", &doc).unwrap(),
            json!([1, 5])
        );
        assert_eq!(q("$..p", &doc).unwrap(), json!([1, 5, 9]));
        assert_eq!(q("$.items[0,2].p", &doc).unwrap(), json!([1, 9]));
        // As recorded on AWS: an indefinite path over missing properties is an empty list.
        assert_eq!(q("$.missing[*]", &doc).unwrap(), json!([]));
        assert_eq!(q("$.item.items[1:]", &json!({})).unwrap(), json!([]));
        assert_eq!(q("$.items[*].missing", &doc).unwrap(), json!([]));
        assert_eq!(q("$.items[::2].p", &doc).unwrap(), json!([1, 9]));
    }

    #[test]
    fn a_dot_before_a_bracket_is_allowed_as_jayway_allows_it() {
        let doc = json!({"items": [{"p": 1}, {"p": 5}], "x y": 2});
        assert_eq!(q("$.items.[1].p", &doc).unwrap(), json!(5));
        assert_eq!(q("$.['x y']", &doc).unwrap(), json!(2));
        assert_eq!(q("$.items.[?(@.p > 2)].p", &doc).unwrap(), json!([5]));
        assert_eq!(q("$.[?(@.p)].p", &json!([{"p": 3}])).unwrap(), json!([3]));
        assert_eq!(q("$..[0].p", &doc).unwrap(), json!([1]));
        assert!(Path::parse("$.").is_err());
        assert!(Path::parse("$...a").is_err());
    }

    #[test]
    fn context_root_and_bad_syntax() {
        assert_eq!(
            Path::parse("$$.Execution.Id").unwrap().root(),
            Root::Context
        );
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
        assert!(Path::parse("$.").is_err());
        assert!(Path::parse("$[?(@.a ==)]").is_err());
        assert!(Path::parse("$.a[1:2:0]").is_err());
    }
}
