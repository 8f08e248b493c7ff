//! JSONata 2.0 expressions, as AWS Step Functions evaluates them.
//!
//! The language itself comes from the `jsonata-core` crate (its parser and tree-walking
//! evaluator); this module is the engine's side of it:
//!
//! - [`Expression`]: parsed once (when a definition is compiled), evaluated many times. It is
//!   `Send + Sync`, so it can live inside a [`Program`](crate::Program).
//! - Values in and out are the engine's serde_json [`Value`]s; "no value" (JSONata's
//!   `undefined`) is `None`.
//! - Evaluation is bounded ([`Limits`]: a nesting-depth limit and a time limit, both reported as
//!   `U1001`), and never panics on user input: a panic inside the third-party evaluator is caught
//!   and reported as an error.
//! - AWS's additions are available: `$partition`, `$range`, `$hash`, `$random` (with an optional
//!   seed), `$uuid` and `$parse`. `$random()` and `$uuid()` draw from the engine's seeded
//!   [`Rng`], so executions replay exactly. `$eval` is not available, as in AWS.
//!
//! Every failure is an [`Error`] with the JSONata error code (`T2001`, `D3001`, `S0202`, ...).

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Arc, Weak};

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{
    error_code_prefix, Context, Evaluator, EvaluatorError, EvaluatorOptions,
};
use jsonata_core::parser::{self, ParserError};
pub use jsonata_core::value::{JArray, JMap, JValue};
use serde_json::{Map, Number, Value};

use crate::rng::Rng;

/// The code of a runaway evaluation: too deep, or too long.
pub const CODE_LIMIT: &str = "U1001";
/// The code of an AWS function given a value it cannot work with (a bad algorithm name, a
/// chunk size of 0, text that is not JSON, ...). Argument type errors are `T0410`, as for the
/// built-in functions.
pub const CODE_AWS_FUNCTION: &str = "D3137";

/// A JSONata compile-time or evaluation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The JSONata error code: `S0xxx` (syntax), `T0xxx`/`T1xxx`/`T2xxx` (type), `D1xxx`-`D3xxx`
    /// (evaluation), `U1001` (a limit was reached).
    pub code: String,
    /// The message, without the code in front.
    pub message: String,
    /// Whether the evaluation failed reading data it was given as Python objects (the binding's
    /// lazy views): not an error of the expression, and the binding can convert the data whole.
    data_conversion: bool,
}

impl Error {
    fn new(code: &str, message: impl Into<String>) -> Error {
        Error {
            code: code.to_string(),
            message: message.into(),
            data_conversion: false,
        }
    }

    /// Whether the evaluation failed reading data given as Python objects (see `data_conversion`).
    pub fn is_data_conversion(&self) -> bool {
        self.data_conversion
    }

    /// Split `"T2001: The left side ..."` into code and message; `fallback` when there is no
    /// code in front. Some of the evaluator's messages carry the code after a prefix
    /// ("Signature validation failed: T0410: ..."): the first code found counts.
    fn from_message(text: &str, fallback: &str) -> Error {
        let found = text
            .char_indices()
            .filter(|&(i, _)| i == 0 || text.as_bytes()[i - 1] == b' ')
            .find_map(|(i, _)| error_code_prefix(&text[i..]).map(|code| (i, code)));
        match found {
            Some((i, code)) => Error::new(code, text[i + code.len() + 1..].trim_start()),
            None => Error::new(fallback, text),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Bounds on one evaluation. Reaching either is error `U1001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for the evaluation, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Nesting depth of evaluation (function calls and sub-expressions); `None` leaves the
    /// evaluator's own bound (about 10,000 non-tail recursive calls).
    pub max_depth: Option<usize>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout_ms: Some(10_000),
            max_depth: None,
        }
    }
}

/// What an evaluation may draw on besides its input: the random source of `$random()` and
/// `$uuid()`, and its limits.
pub struct Env<'a> {
    pub rng: &'a mut Rng,
    pub limits: Limits,
}

/// A value converted once to the evaluator's representation, to be given to several
/// evaluations (the state input that a state's expressions all read) without converting it
/// again each time. Not `Send`: make it where it is used.
#[derive(Clone)]
pub struct Prepared(JValue);

impl Prepared {
    pub fn new(value: &Value) -> Prepared {
        Prepared(to_jvalue(value))
    }

    /// A value already in the evaluator's representation (the Python binding builds them
    /// straight from Python objects).
    pub fn from_jvalue(value: JValue) -> Prepared {
        Prepared(value)
    }
}

/// The variables of an evaluation (`$name` reads `name`).
#[derive(Clone, Default)]
pub struct Bindings {
    vars: Vec<(String, JValue)>,
}

impl Bindings {
    pub fn new() -> Bindings {
        Bindings::default()
    }

    pub fn bind(&mut self, name: impl Into<String>, value: &Value) {
        self.vars.push((name.into(), to_jvalue(value)));
    }

    pub fn bind_prepared(&mut self, name: impl Into<String>, value: &Prepared) {
        self.vars.push((name.into(), value.0.clone()));
    }

    pub fn bind_jvalue(&mut self, name: impl Into<String>, value: JValue) {
        self.vars.push((name.into(), value));
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// AWS's functions, as flags of the ones an expression mentions (only those are installed
/// for its evaluations).
const AWS_FUNCTIONS: [(&str, u8); 7] = [
    ("partition", 1),
    ("range", 2),
    ("hash", 4),
    ("random", 8),
    ("uuid", 16),
    ("parse", 32),
    ("eval", 64),
];

/// A parsed JSONata expression.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    ast: AstNode,
    aws: u8,
    /// Whether the expression mentions `$now` or `$millis` (which then read the given time).
    clock: bool,
    /// Names this expression in each thread's cache of bytecode (see `with_bytecode`), and tells
    /// that cache, by whether it is still held, when the expression (and its clones) are gone.
    id: u64,
    alive: Arc<()>,
    /// The fast evaluator's plan, when the expression is inside its subset.
    fast: Option<Arc<crate::jsonata_fast::Plan>>,
}

/// What an evaluation gave, told apart the way Step Functions needs: a JSON value, nothing
/// (undefined), or a function (which is no JSON value).
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    Value(Value),
    Undefined,
    Function,
}

impl Expression {
    /// Parse `source`; a syntax error is an [`Error`] with its `S0xxx` code.
    pub fn compile(source: &str) -> Result<Expression, Error> {
        let mut ast = catch_unwind(|| parser::parse(source))
            .map_err(|_| Error::new("S0201", "the expression could not be parsed"))?
            .map_err(|e| parse_error(&e))?;
        if mentions(source, "exists") {
            visit_mut(&mut ast, &mut exists_reads_the_context);
        }
        let aws = AWS_FUNCTIONS
            .iter()
            .filter(|(name, _)| mentions(source, name))
            .fold(0, |acc, (_, bit)| acc | bit);
        let clock = mentions(source, "now") || mentions(source, "millis");
        let fast = crate::jsonata_fast::Plan::new(&ast).map(Arc::new);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Expression {
            source: source.to_string(),
            ast,
            aws,
            clock,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            alive: Arc::new(()),
            fast,
        })
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The fast evaluator's plan (see `jsonata_fast`), when the expression is inside its subset.
    pub fn plan(&self) -> Option<&Arc<crate::jsonata_fast::Plan>> {
        self.fast.as_ref()
    }

    /// The parsed expression (for the definition-time checks of `jsonata_check`).
    pub fn ast(&self) -> &AstNode {
        &self.ast
    }

    /// Evaluate against `input` (`None`: no input, `$` is undefined). `Ok(None)` when the
    /// expression yields nothing.
    pub fn evaluate(
        &self,
        input: Option<&Value>,
        bindings: &Bindings,
        env: &mut Env<'_>,
    ) -> Result<Option<Value>, Error> {
        let input = input.map(Prepared::new);
        self.evaluate_prepared(input.as_ref(), bindings, env)
    }

    /// [`evaluate`](Self::evaluate) with an input converted beforehand.
    pub fn evaluate_prepared(
        &self,
        input: Option<&Prepared>,
        bindings: &Bindings,
        env: &mut Env<'_>,
    ) -> Result<Option<Value>, Error> {
        let result = self.evaluate_raw(input, bindings, env, None)?;
        from_jvalue(&result)
    }

    /// [`evaluate_prepared`](Self::evaluate_prepared), giving the evaluator's own value
    /// (`JValue::Undefined` when the expression yields nothing).
    pub fn evaluate_jvalue(
        &self,
        input: Option<&Prepared>,
        bindings: &Bindings,
        env: &mut Env<'_>,
    ) -> Result<JValue, Error> {
        self.evaluate_raw(input, bindings, env, None)
    }

    /// Whether the expression mentions the variable `$name` (conservatively: a mention inside a
    /// string literal counts too).
    pub fn mentions_variable(&self, name: &str) -> bool {
        mentions(&self.source, name)
    }

    /// Evaluate as a state's field does: `now_ms` (epoch milliseconds) is what `$now()` and
    /// `$millis()` report, and a function result is told apart from a value.
    pub fn evaluate_at(
        &self,
        input: Option<&Prepared>,
        bindings: &Bindings,
        env: &mut Env<'_>,
        now_ms: i64,
    ) -> Result<Evaluated, Error> {
        let result = self.evaluate_raw(input, bindings, env, Some(now_ms))?;
        Ok(match &result {
            JValue::Undefined => Evaluated::Undefined,
            JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => {
                Evaluated::Function
            }
            other => match from_jvalue(other)? {
                Some(v) => Evaluated::Value(v),
                None => Evaluated::Undefined,
            },
        })
    }

    fn evaluate_raw(
        &self,
        input: Option<&Prepared>,
        bindings: &Bindings,
        env: &mut Env<'_>,
        now_ms: Option<i64>,
    ) -> Result<JValue, Error> {
        let data = input.map_or(JValue::Undefined, |p| p.0.clone());
        let rng = Rc::new(RefCell::new(env.rng.clone()));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.run(&data, bindings, env.limits, &rng, now_ms)
        }));
        // Whatever happened, the draws made count: the next evaluation goes on from there.
        *env.rng = rng.borrow().clone();
        match outcome {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                "D1001",
                "the expression could not be evaluated (internal evaluator failure)",
            )),
        }
    }

    fn run(
        &self,
        data: &JValue,
        bindings: &Bindings,
        limits: Limits,
        rng: &Rc<RefCell<Rng>>,
        now_ms: Option<i64>,
    ) -> Result<JValue, Error> {
        // The time limit is the evaluator's own: it reads the clock as it goes. (A watchdog
        // thread cancelling a token would spare those reads, about a tenth of a short
        // expression's time, but the core has no threads of its own: DESIGN.md.)
        let options = EvaluatorOptions {
            timeout_ms: limits.timeout_ms,
            max_stack_depth: limits.max_depth,
            ..EvaluatorOptions::default()
        };
        // (The bytecode machine has no depth limit of its own: an evaluation given one takes the
        // tree-walker.)
        if bindings.vars.is_empty()
            && self.aws == 0
            && !(self.clock && now_ms.is_some())
            && limits.max_depth.is_none()
        {
            // Nothing of ours to install: the evaluator's own dispatch, which runs the
            // expressions it can compile on its bytecode machine.
            return self
                .with_bytecode(|compiled| compiled.evaluate_with_options(data, options))
                .map_err(|e| eval_error(&e));
        }
        // (Made only here: the bytecode machine above has no use for a context.)
        let mut context = Context::new();
        for (name, value) in &bindings.vars {
            context.bind(name.clone(), value.clone());
        }
        let mut ev = Evaluator::with_options(context, options);
        if self.aws != 0 {
            install_aws_functions(&mut ev, self.aws, rng).map_err(|e| eval_error(&e))?;
        }
        if let (true, Some(now)) = (self.clock, now_ms) {
            install_clock(&mut ev, now).map_err(|e| eval_error(&e))?;
        }
        ev.evaluate(&self.ast, data).map_err(|e| eval_error(&e))
    }

    /// Runs `f` on this expression as the evaluator's compiled form, made once per thread (it
    /// holds values that cannot cross threads, while an `Expression` is shared by all).
    fn with_bytecode<T>(&self, f: impl FnOnce(&jsonata_core::Expression) -> T) -> T {
        type Compiled = (Weak<()>, Rc<jsonata_core::Expression>);
        thread_local! {
            static COMPILED: RefCell<HashMap<u64, Compiled>> = RefCell::new(HashMap::new());
        }
        let compiled = COMPILED.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some((_, found)) = cache.get(&self.id) {
                return found.clone();
            }
            // Before the cache doubles, forget the expressions that no longer exist.
            if cache.len() >= 64 && cache.len().is_power_of_two() {
                cache.retain(|_, (alive, _)| alive.strong_count() > 0);
            }
            let made = Rc::new(jsonata_core::Expression::from_ast(self.ast.clone()));
            cache.insert(self.id, (Arc::downgrade(&self.alive), made.clone()));
            made
        });
        f(&compiled)
    }
}

/// jsonata-core looks the argument of `$exists($)` up as a variable named "" and so answers
/// false whatever the input; JSONata answers whether there is an input. In parentheses the
/// argument is evaluated like any other.
fn exists_reads_the_context(node: &mut AstNode) {
    if let AstNode::Function { name, args, .. } = node {
        if let [arg @ AstNode::Variable(_)] = args.as_mut_slice() {
            if name == "exists" && matches!(arg, AstNode::Variable(v) if v.is_empty()) {
                *arg = AstNode::Block(vec![AstNode::Variable(String::new())]);
            }
        }
    }
}

/// Calls `f` on every node of the tree, each before its children.
fn visit_mut(node: &mut AstNode, f: &mut dyn FnMut(&mut AstNode)) {
    jsonata_core::value::with_stack(|| {
        f(node);
        match node {
            AstNode::Path { steps } => {
                for step in steps {
                    visit_mut(&mut step.node, f);
                    for stage in &mut step.stages {
                        if let jsonata_core::ast::Stage::Filter(e) = stage {
                            visit_mut(e, f);
                        }
                    }
                }
            }
            AstNode::Binary { lhs, rhs, .. } => {
                visit_mut(lhs, f);
                visit_mut(rhs, f);
            }
            AstNode::Unary { operand: one, .. }
            | AstNode::Lambda { body: one, .. }
            | AstNode::FunctionApplication(one) => visit_mut(one, f),
            AstNode::Function { args, .. } => args.iter_mut().for_each(|a| visit_mut(a, f)),
            AstNode::Call { procedure, args } => {
                visit_mut(procedure, f);
                args.iter_mut().for_each(|a| visit_mut(a, f));
            }
            AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
                items.iter_mut().for_each(|a| visit_mut(a, f))
            }
            AstNode::Object(pairs) => pairs.iter_mut().for_each(|(k, v)| {
                visit_mut(k, f);
                visit_mut(v, f);
            }),
            AstNode::ObjectTransform { input, pattern } => {
                visit_mut(input, f);
                pattern.iter_mut().for_each(|(k, v)| {
                    visit_mut(k, f);
                    visit_mut(v, f);
                });
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                visit_mut(condition, f);
                visit_mut(then_branch, f);
                if let Some(e) = else_branch {
                    visit_mut(e, f);
                }
            }
            AstNode::Sort { input, terms } => {
                visit_mut(input, f);
                terms.iter_mut().for_each(|(t, _)| visit_mut(t, f));
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                visit_mut(location, f);
                visit_mut(update, f);
                if let Some(d) = delete {
                    visit_mut(d, f);
                }
            }
            AstNode::String(_)
            | AstNode::Name(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::Variable(_)
            | AstNode::ParentVariable(_)
            | AstNode::Wildcard
            | AstNode::Descendant
            | AstNode::Parent(_) => {}
        }
    })
}

/// Whether `source` mentions `$name` as a whole name (a cheap, conservative test: a mention
/// inside a string literal only costs installing the function).
fn mentions(source: &str, name: &str) -> bool {
    let bytes = source.as_bytes();
    let mut from = 0;
    while let Some(at) = source[from..].find(name) {
        let start = from + at;
        let end = start + name.len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if before == Some(b'$') && !after.is_some_and(is_ident) {
            return true;
        }
        from = end;
    }
    false
}

fn parse_error(e: &ParserError) -> Error {
    match e {
        ParserError::UnclosedComment => Error::new("S0106", "Comment has no closing tag"),
        ParserError::InvalidNumber(m) => Error::new("S0102", format!("Invalid number: {m}")),
        other => Error::from_message(&other.to_string(), "S0201"),
    }
}

fn eval_error(e: &EvaluatorError) -> Error {
    let mut err = Error::from_message(e.message(), "D1001");
    // The evaluator reports its own depth and time guards as D1011 / D1012; JSONata's
    // reference implementation and AWS report a runaway evaluation as U1001.
    if err.code == "D1011" || err.code == "D1012" {
        err.code = CODE_LIMIT.to_string();
    }
    #[cfg(feature = "python")]
    if matches!(e, EvaluatorError::PyConversionError(_)) {
        err.data_conversion = true;
    }
    err
}

/// The engine's value as the evaluator's.
fn to_jvalue(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }
        Value::Object(map) => JValue::Object(Rc::new(
            map.iter()
                .map(|(k, v)| (k.clone(), to_jvalue(v)))
                .collect::<JMap>(),
        )),
    }
}

/// The largest integer a double holds exactly, 2^53.
pub const EXACT_INTEGER: u64 = 1 << 53;

/// A JSONata number written as an integer: whole and within 2^53 (`3`, not `3.0`; `-0.0` is 0, as
/// JSON.stringify prints it); `None` otherwise.
pub fn whole_number(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() <= EXACT_INTEGER as f64).then_some(n as i64)
}

/// A number as JSON: see [`whole_number`].
pub(crate) fn number(n: f64) -> Result<Value, Error> {
    if !n.is_finite() {
        return Err(Error::new(
            "D1001",
            "Number out of range: the result is not a finite number",
        ));
    }
    Ok(match whole_number(n) {
        Some(i) => Value::Number(Number::from(i)),
        None => Number::from_f64(n).map_or(Value::Null, Value::Number),
    })
}

/// The evaluator's value as the engine's; `None` for undefined. Functions become `""` as
/// JSON.stringify makes them inside a value (AWS rejects them at the top level upstream).
fn from_jvalue(v: &JValue) -> Result<Option<Value>, Error> {
    fn convert(v: &JValue) -> Result<Option<Value>, Error> {
        Ok(Some(match v {
            JValue::Undefined => return Ok(None),
            JValue::Null => Value::Null,
            JValue::Bool(b) => Value::Bool(*b),
            JValue::Number(n) => number(*n)?,
            JValue::String(s) => Value::String(s.to_string()),
            JValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    // Undefined items are dropped, as JSON.stringify would make them null but
                    // JSONata sequences never hold them.
                    if let Some(x) = jsonata_core::value::with_stack(|| convert(item))? {
                        out.push(x);
                    }
                }
                Value::Array(out)
            }
            JValue::Object(_) => {
                let mut out = Map::new();
                if let Some(map) = v.as_object() {
                    for (k, item) in map {
                        if let Some(x) = jsonata_core::value::with_stack(|| convert(item))? {
                            out.insert(k.clone(), x);
                        }
                    }
                }
                Value::Object(out)
            }
            JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => {
                Value::String(String::new())
            }
            // Python-backed values exist only in the Python binding's own evaluations
            // (`JValue::LazyPyDict` when it builds jsonata-core with the "python" feature);
            // the engine's values all come from its own JSON.
            #[allow(unreachable_patterns)]
            _ => {
                return Err(Error::new(
                    "D1001",
                    "A value from outside the engine cannot be converted",
                ))
            }
        }))
    }
    convert(v)
}

// ---------------------------------------------------------------------------------------------
// AWS's functions

fn fn_error(code: &str, message: String) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("{code}: {message}"))
}

fn type_error(func: &str, index: usize) -> EvaluatorError {
    fn_error(
        "T0410",
        format!("Argument {index} of function \"{func}\" does not match function signature"),
    )
}

fn arity_check(func: &str, args: &[JValue], min: usize, max: usize) -> Result<(), EvaluatorError> {
    if args.len() > max {
        return Err(type_error(func, max + 1));
    }
    if args.len() < min {
        return Err(type_error(func, args.len() + 1));
    }
    Ok(())
}

/// An integer argument (an integral number).
fn int_arg(func: &str, args: &[JValue], index: usize) -> Result<i64, EvaluatorError> {
    match args.get(index) {
        Some(JValue::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(*n as i64),
        Some(JValue::Number(_)) => Err(fn_error(
            CODE_AWS_FUNCTION,
            format!(
                "Argument {} of function \"{func}\" must be an integer",
                index + 1
            ),
        )),
        _ => Err(type_error(func, index + 1)),
    }
}

/// The items of an array argument; any other value is a one-item array (JSONata's `<a>`).
fn array_items(v: &JValue) -> Vec<JValue> {
    match v {
        JValue::Array(items) => items.iter().cloned().collect(),
        JValue::Undefined => Vec::new(),
        other => vec![other.clone()],
    }
}

/// `$now()` and `$millis()` at a given time (the execution's), so a run replays exactly.
fn install_clock(ev: &mut Evaluator, now_ms: i64) -> Result<(), EvaluatorError> {
    let text = crate::timestamp::format_millis(now_ms);
    ev.register_fn_override("now", move |args: &[JValue]| {
        if !args.is_empty() {
            return Err(type_error("now", 1));
        }
        Ok(JValue::string(text.as_str()))
    })?;
    ev.register_fn_override("millis", move |args: &[JValue]| {
        if !args.is_empty() {
            return Err(type_error("millis", 1));
        }
        Ok(JValue::Number(now_ms as f64))
    })
}

/// The most items `$range` makes, as for States.ArrayRange.
const MAX_RANGE_ITEMS: i128 = 1000;

fn install_aws_functions(
    ev: &mut Evaluator,
    wanted: u8,
    rng: &Rc<RefCell<Rng>>,
) -> Result<(), EvaluatorError> {
    if wanted & 1 != 0 {
        // $partition(array, size): the array cut into chunks of `size` items (the last may be
        // shorter).
        ev.register_fn("partition", |args: &[JValue]| {
            arity_check("partition", args, 2, 2)?;
            if matches!(args[0], JValue::Undefined) {
                return Ok(JValue::Undefined);
            }
            let items = array_items(&args[0]);
            let size = int_arg("partition", args, 1)?;
            if size <= 0 {
                return Err(fn_error(
                    CODE_AWS_FUNCTION,
                    "The chunk size of function \"partition\" must be greater than 0".into(),
                ));
            }
            let chunks = items
                .chunks(size as usize)
                .map(|c| JValue::array(c.to_vec()))
                .collect();
            Ok(JValue::array(chunks))
        })?;
    }
    if wanted & 2 != 0 {
        // $range(start, end, step): start, start+step, ... up to and including end.
        ev.register_fn("range", |args: &[JValue]| {
            arity_check("range", args, 3, 3)?;
            let (start, end, step) = (
                int_arg("range", args, 0)?,
                int_arg("range", args, 1)?,
                int_arg("range", args, 2)?,
            );
            if step == 0 {
                return Err(fn_error(
                    CODE_AWS_FUNCTION,
                    "The step of function \"range\" cannot be 0".into(),
                ));
            }
            let count = if (step > 0 && start > end) || (step < 0 && start < end) {
                0
            } else {
                (end as i128 - start as i128) / step as i128 + 1
            };
            if count > MAX_RANGE_ITEMS {
                return Err(fn_error(
                    CODE_AWS_FUNCTION,
                    format!("Function \"range\" cannot make more than {MAX_RANGE_ITEMS} items"),
                ));
            }
            let items: Vec<JValue> = (0..count as i64)
                .map(|i| JValue::Number((start + i * step) as f64))
                .collect();
            // A sequence: one item is that item (AWS gives 1 for $range(1, 9, 9)).
            Ok(JValue::sequence(items))
        })?;
    }
    if wanted & 4 != 0 {
        // $hash(text, algorithm = 'SHA-256'): the lower-case hex digest.
        ev.register_fn("hash", |args: &[JValue]| {
            arity_check("hash", args, 1, 2)?;
            let text = match &args[0] {
                JValue::Undefined => return Ok(JValue::Undefined),
                JValue::String(s) => s.clone(),
                _ => return Err(type_error("hash", 1)),
            };
            let alg = match args.get(1) {
                None | Some(JValue::Undefined) => "SHA-256",
                Some(JValue::String(s)) => s,
                Some(_) => return Err(type_error("hash", 2)),
            };
            crate::intrinsics::hash(alg, text.as_bytes())
                .map(JValue::from)
                .ok_or_else(|| {
                    fn_error(
                        CODE_AWS_FUNCTION,
                        format!(
                            "The algorithm '{alg}' of function \"hash\" is not one of MD5, SHA-1, \
                             SHA-256, SHA-384, SHA-512"
                        ),
                    )
                })
        })?;
    }
    if wanted & 8 != 0 {
        // $random(seed?): a number in [0, 1); the same seed gives the same number.
        let rng = Rc::clone(rng);
        ev.register_fn_override("random", move |args: &[JValue]| {
            arity_check("random", args, 0, 1)?;
            match args.first() {
                None | Some(JValue::Undefined) => Ok(JValue::Number(rng.borrow_mut().next_f64())),
                Some(JValue::Number(seed)) => {
                    let seed = if seed.fract() == 0.0 && seed.abs() < 9.0e18 {
                        *seed as i64 as u64
                    } else {
                        seed.to_bits()
                    };
                    Ok(JValue::Number(Rng::new(seed).next_f64()))
                }
                Some(_) => Err(type_error("random", 1)),
            }
        })?;
    }
    if wanted & 16 != 0 {
        // $uuid(): a random version 4 UUID.
        let rng = Rc::clone(rng);
        ev.register_fn("uuid", move |args: &[JValue]| {
            arity_check("uuid", args, 0, 0)?;
            Ok(JValue::from(rng.borrow_mut().uuid_v4()))
        })?;
    }
    if wanted & 32 != 0 {
        // $parse(text): the JSON value the text holds.
        ev.register_fn("parse", |args: &[JValue]| {
            arity_check("parse", args, 1, 1)?;
            let text = match &args[0] {
                JValue::Undefined => return Ok(JValue::Undefined),
                JValue::String(s) => s.clone(),
                _ => return Err(type_error("parse", 1)),
            };
            let value: Value = serde_json::from_str(&text).map_err(|e| {
                fn_error(
                    CODE_AWS_FUNCTION,
                    format!("The argument of function \"parse\" is not JSON text: {e}"),
                )
            })?;
            Ok(to_jvalue(&value))
        })?;
    }
    if wanted & 64 != 0 {
        // AWS does not offer $eval ($parse reads JSON text).
        ev.register_fn_override("eval", |_: &[JValue]| {
            Err(fn_error(
                "T1006",
                "Attempted to invoke a non-function: $eval is not supported".into(),
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, input: Option<Value>) -> Result<Option<Value>, Error> {
        let mut rng = Rng::new(1);
        let mut env = Env {
            rng: &mut rng,
            limits: Limits::default(),
        };
        Expression::compile(expr)?.evaluate(input.as_ref(), &Bindings::new(), &mut env)
    }

    #[test]
    fn compiled_expression_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Expression>();
    }

    #[test]
    fn paths_numbers_and_undefined() {
        let doc = json!({"a": {"b": [1, 2.5, 3]}, "n": null});
        assert_eq!(
            eval("a.b", Some(doc.clone())).unwrap(),
            Some(json!([1, 2.5, 3]))
        );
        assert_eq!(
            eval("$sum(a.b)", Some(doc.clone())).unwrap(),
            Some(json!(6.5))
        );
        assert_eq!(
            eval("a.b[0] + 1", Some(doc.clone())).unwrap(),
            Some(json!(2))
        );
        assert_eq!(eval("nothing", Some(doc.clone())).unwrap(), None);
        assert_eq!(eval("n", Some(doc)).unwrap(), Some(Value::Null));
        assert_eq!(eval("$", None).unwrap(), None);
        assert_eq!(eval("$", Some(Value::Null)).unwrap(), Some(Value::Null));
    }

    #[test]
    fn bindings() {
        let mut b = Bindings::new();
        b.bind("x", &json!({"y": 41}));
        let mut rng = Rng::new(1);
        let mut env = Env {
            rng: &mut rng,
            limits: Limits::default(),
        };
        let e = Expression::compile("$x.y + 1").unwrap();
        assert_eq!(e.evaluate(None, &b, &mut env).unwrap(), Some(json!(42)));
    }

    #[test]
    fn error_codes() {
        assert_eq!(eval("1 +", None).unwrap_err().code, "S0207");
        assert_eq!(eval("'a' + 1", None).unwrap_err().code, "T2001");
        assert_eq!(eval("/* open", None).unwrap_err().code, "S0106");
        assert_eq!(eval("$string(1/0)", None).unwrap_err().code, "D3001");
        assert_eq!(eval("1/0", None).unwrap_err().code, "D1001");
    }

    #[test]
    fn limits_give_u1001() {
        let mut rng = Rng::new(1);
        let mut env = Env {
            rng: &mut rng,
            limits: Limits {
                timeout_ms: Some(50),
                max_depth: Some(100),
            },
        };
        let e =
            Expression::compile("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000))")
                .unwrap();
        let err = e.evaluate(None, &Bindings::new(), &mut env).unwrap_err();
        assert_eq!(err.code, CODE_LIMIT, "{err}");
        let e = Expression::compile("($inf := function(){ $inf() }; $inf())").unwrap();
        env.limits.max_depth = None;
        let err = e.evaluate(None, &Bindings::new(), &mut env).unwrap_err();
        assert_eq!(err.code, CODE_LIMIT, "{err}");
    }

    #[test]
    fn exists_of_the_input_is_whether_there_is_one() {
        assert_eq!(
            eval("$exists($)", Some(json!({"a": 1}))),
            Ok(Some(json!(true)))
        );
        assert_eq!(eval("$exists($)", None), Ok(Some(json!(false))));
        assert_eq!(
            eval(
                "[$exists($), $exists(a), $exists(b)]",
                Some(json!({"a": 1}))
            ),
            Ok(Some(json!([true, true, false])))
        );
    }

    #[test]
    fn aws_functions() {
        assert_eq!(
            eval("$partition([1,2,3,4,5], 2)", None).unwrap(),
            Some(json!([[1, 2], [3, 4], [5]]))
        );
        assert_eq!(
            eval("$partition([0], 2)", None).unwrap(),
            Some(json!([[0]]))
        );
        assert_eq!(
            eval("$range(0, 10, 3)", None).unwrap(),
            Some(json!([0, 3, 6, 9]))
        );
        assert_eq!(eval("$range(1, 9, 9)", None).unwrap(), Some(json!(1)));
        assert_eq!(
            eval("$range(10, 0, -5)", None).unwrap(),
            Some(json!([10, 5, 0]))
        );
        assert_eq!(
            eval("$range(0, 1, 0)", None).unwrap_err().code,
            CODE_AWS_FUNCTION
        );
        assert_eq!(
            eval("$hash('input data', 'MD5')", None).unwrap(),
            Some(json!("812f45842bc6d66ee14572ce20db8e86"))
        );
        assert_eq!(
            eval("$hash('abc')", None).unwrap(),
            Some(json!(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ))
        );
        assert_eq!(
            eval("$hash('a', 'SHA-3')", None).unwrap_err().code,
            CODE_AWS_FUNCTION
        );
        assert_eq!(eval("$hash(1)", None).unwrap_err().code, "T0410");
        assert_eq!(
            eval("$parse('{\"a\": [1, true]}')", None).unwrap(),
            Some(json!({"a": [1, true]}))
        );
        assert_eq!(eval("$parse('-0')", None).unwrap(), Some(json!(0)));
        assert_eq!(
            eval("$parse('{')", None).unwrap_err().code,
            CODE_AWS_FUNCTION
        );
        let r = eval("$random()", None).unwrap().unwrap().as_f64().unwrap();
        assert!((0.0..1.0).contains(&r));
        assert_eq!(
            eval("$random(7)", None).unwrap(),
            eval("$random(7)", None).unwrap()
        );
        let u = eval("$uuid()", None).unwrap().unwrap();
        let u = u.as_str().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(eval("$eval('1')", None).is_err());
    }

    #[test]
    fn draws_advance_the_engine_rng() {
        let mut rng = Rng::new(5);
        let e = Expression::compile("[$uuid(), $uuid()]").unwrap();
        let mut env = Env {
            rng: &mut rng,
            limits: Limits::default(),
        };
        let a = e.evaluate(None, &Bindings::new(), &mut env).unwrap();
        let b = e.evaluate(None, &Bindings::new(), &mut env).unwrap();
        assert_ne!(a, b);
        let mut again = Rng::new(5);
        let mut env = Env {
            rng: &mut again,
            limits: Limits::default(),
        };
        assert_eq!(e.evaluate(None, &Bindings::new(), &mut env).unwrap(), a);
    }
}
