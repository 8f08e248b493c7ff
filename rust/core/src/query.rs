//! JSONata in state fields: values whose strings may hold `{% expression %}`, compiled once with
//! the definition and evaluated against `$states` and the workflow variables.

use std::cell::OnceCell;

use crate::errors::Failure;
use crate::jsonata::{self, Bindings, Evaluated, Expression, Limits, Prepared};
use crate::jsonata_fast::{to_json, JsonModel, StatesParts};
use crate::payload::Vars;
use crate::rng::Rng;
use crate::value::{to_text, Map, Value};

/// The error of a JSONata field that cannot be evaluated, or gives what the field cannot take.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// A field's value with its `{% ... %}` strings compiled.
#[derive(Debug)]
pub enum JTemplate {
    Literal(Value),
    Expr {
        expr: Box<Expression>,
        /// The field's location in AWS's words, e.g. `Output/result`.
        field: String,
    },
    Object(Vec<(String, JTemplate)>),
    Array(Vec<JTemplate>),
}

/// The expression inside a `{% ... %}` string, if it is one.
pub fn expression_text(s: &str) -> Option<&str> {
    if s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}") {
        Some(s[2..s.len() - 2].trim())
    } else {
        None
    }
}

/// A problem found while compiling: the JSON-pointer suffix below the field, and the message.
pub type Problem = (String, String);

impl JTemplate {
    /// Compiles `value`, the value of the field `field` (e.g. `Output`).
    pub fn compile(value: &Value, field: &str) -> Result<JTemplate, Vec<Problem>> {
        let mut problems = Vec::new();
        let t = compile_at(value, field, "", &mut problems);
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems)
        }
    }

    pub fn is_literal(&self) -> bool {
        matches!(self, JTemplate::Literal(_))
    }

    /// Every expression in the template.
    pub fn expressions<'a>(&'a self, out: &mut Vec<&'a Expression>) {
        match self {
            JTemplate::Literal(_) => {}
            JTemplate::Expr { expr, .. } => out.push(expr),
            JTemplate::Object(fields) => fields.iter().for_each(|(_, t)| t.expressions(out)),
            JTemplate::Array(items) => items.iter().for_each(|t| t.expressions(out)),
        }
    }

    /// Evaluates the template; an expression that yields nothing or a function fails.
    pub fn eval(&self, env: &JEnv<'_>, rng: &mut Rng) -> Result<Value, Failure> {
        match self {
            JTemplate::Literal(v) => Ok(v.clone()),
            JTemplate::Expr { expr, field } => match env.evaluate(expr, field, rng)? {
                Evaluated::Value(v) => Ok(v),
                Evaluated::Undefined => Err(query_error(format!(
                    "The JSONata expression '{}' specified for the field '{}' returned nothing (undefined).",
                    expr.source(),
                    field
                ))),
                Evaluated::Function => Err(unsupported(expr, field)),
            },
            JTemplate::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval(env, rng)?);
                }
                Ok(Value::Object(out))
            }
            JTemplate::Array(items) => items
                .iter()
                .map(|t| t.eval(env, rng))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }

    /// The text of the expression when the whole value is one (for error messages).
    pub fn source(&self) -> Option<(&str, &str)> {
        match self {
            JTemplate::Expr { expr, field } => Some((expr.source(), field)),
            _ => None,
        }
    }
}

fn unsupported(expr: &Expression, field: &str) -> Failure {
    query_error(format!(
        "The JSONata expression '{}' specified for the field '{}' returned an unsupported result type.",
        expr.source(),
        field
    ))
}

/// A States.QueryEvaluationError, with the "error occurred while executing the state" prefix.
pub fn query_error(detail: String) -> Failure {
    Failure::in_state(QUERY_EVALUATION_ERROR, detail)
}

/// JSONata's name of a value's type, as AWS's messages use it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The failure of a field whose value has the wrong type.
pub fn wrong_type(t: &JTemplate, field: &str, expected: &str, got: &Value) -> Failure {
    let (source, field) = t.source().unwrap_or(("", field));
    query_error(format!(
        "The JSONata expression '{source}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
        type_name(got),
        to_text(got)
    ))
}

fn compile_at(value: &Value, field: &str, at: &str, problems: &mut Vec<Problem>) -> JTemplate {
    match value {
        Value::String(s) => match expression_text(s) {
            Some(text) => match Expression::compile(text) {
                Ok(expr) => JTemplate::Expr {
                    expr: Box::new(expr),
                    field: field.to_string(),
                },
                Err(e) => {
                    problems.push((
                        at.to_string(),
                        format!("The JSONata expression '{text}' is not valid: {e}"),
                    ));
                    JTemplate::Literal(Value::Null)
                }
            },
            None => JTemplate::Literal(value.clone()),
        },
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (k, v) in map {
                let t = compile_at(v, &format!("{field}/{k}"), &format!("{at}/{k}"), problems);
                fields.push((k.clone(), t));
            }
            if fields.iter().all(|(_, t)| t.is_literal()) {
                JTemplate::Literal(value.clone())
            } else {
                JTemplate::Object(fields)
            }
        }
        Value::Array(items) => {
            let ts: Vec<JTemplate> = items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    compile_at(v, &format!("{field}[{i}]"), &format!("{at}[{i}]"), problems)
                })
                .collect();
            if ts.iter().all(JTemplate::is_literal) {
                JTemplate::Literal(value.clone())
            } else {
                JTemplate::Array(ts)
            }
        }
        other => JTemplate::Literal(other.clone()),
    }
}

/// What a state's expressions are evaluated with: `$states`, the workflow variables, the
/// engine's random source and the execution's time.
///
/// An expression inside the fast evaluator's subset reads `$states` and the variables where they
/// lie (`jsonata_fast`); for the others `$states` is converted once, for all of them, the first
/// time one needs it.
pub struct JEnv<'a> {
    states: StatesParts<'a>,
    prepared: OnceCell<Prepared>,
    vars: &'a Vars,
    now_ms: i64,
}

impl<'a> JEnv<'a> {
    /// `$states` from its parts (those that are None are left out).
    pub fn new(
        input: &'a Value,
        result: Option<&'a Value>,
        error_output: Option<&'a Value>,
        context: Option<&'a Value>,
        vars: &'a Vars,
        now_ms: i64,
    ) -> JEnv<'a> {
        JEnv {
            states: StatesParts {
                input,
                result,
                error_output,
                context,
            },
            prepared: OnceCell::new(),
            vars,
            now_ms,
        }
    }

    /// The workflow variables the expressions see.
    pub fn vars(&self) -> &'a Vars {
        self.vars
    }

    /// `$states` as jsonata-core reads it.
    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let states: Map<String, Value> = self
                .states
                .fields()
                .map(|(name, part)| (name.to_string(), part.clone()))
                .collect();
            Prepared::new(&Value::Object(states))
        })
    }

    /// Evaluates one expression, telling apart a value, nothing and a function.
    pub fn evaluate(
        &self,
        expr: &Expression,
        field: &str,
        rng: &mut Rng,
    ) -> Result<Evaluated, Failure> {
        if let Some(plan) = expr.plan() {
            let model = JsonModel::new(Some(&self.states), Some(self.vars));
            // What the fast evaluator does not decide, jsonata-core evaluates from the start.
            if let Ok(v) = plan.evaluate(&model, None).and_then(|v| to_json(&v)) {
                return Ok(v.map_or(Evaluated::Undefined, Evaluated::Value));
            }
        }
        let mut bindings = Bindings::new();
        bindings.bind_prepared("states", self.prepared());
        for (name, value) in self.vars {
            if expr.mentions_variable(name) {
                bindings.bind(name.clone(), value);
            }
        }
        let mut env = jsonata::Env {
            rng,
            limits: Limits::default(),
        };
        expr.evaluate_at(None, &bindings, &mut env, self.now_ms)
            .map_err(|e| {
                query_error(format!(
                    "The JSONata expression '{}' specified for the field '{}' threw an error during evaluation. {}",
                    expr.source(),
                    field,
                    e
                ))
            })
    }
}
