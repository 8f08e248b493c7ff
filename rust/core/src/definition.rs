//! Compiling a definition: parse the JSON, check it as AWS does (reporting every problem with
//! its location), and build the immutable [`Program`] the execution steps through.

use crate::choice::{self, Operand, Pattern, Rule};
use crate::diagnostics::*;
use crate::intrinsics::{self, Call};
use crate::path::Path;
use crate::payload::Template;
use crate::query::JTemplate;
use crate::timestamp;
use crate::value::{Map, Value};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineType {
    Express,
    Standard,
}

impl MachineType {
    pub fn parse(text: &str) -> Option<MachineType> {
        match text {
            "EXPRESS" => Some(MachineType::Express),
            "STANDARD" => Some(MachineType::Standard),
            _ => None,
        }
    }
}

/// A compiled definition. `machines[0]` is the top level; Parallel branches and Map item
/// processors are further machines referred to by index.
#[derive(Debug)]
pub struct Program {
    pub machine_type: MachineType,
    pub machines: Vec<Machine>,
    pub timeout_seconds: Option<u64>,
    pub warnings: Vec<Diagnostic>,
    /// Whether any state reads the context object (`$$`), e.g. `$$.Execution.Input`.
    pub uses_context: bool,
    /// Whether any state or catcher assigns variables (without, every frame's are empty).
    pub uses_variables: bool,
}

#[derive(Debug)]
pub struct Machine {
    pub start: usize,
    pub states: Vec<State>,
}

impl Program {
    pub fn start_at(&self) -> &str {
        let m = &self.machines[0];
        &m.states[m.start].name
    }
}

/// Where an optional path field stands: absent (None), `null` (Some(None)) or a path.
pub type OptPath = Option<Option<Path>>;

#[derive(Debug)]
pub struct State {
    pub name: String,
    pub kind: Kind,
    /// The state to go to next; None for a terminal state.
    pub next: Option<usize>,
    pub input_path: OptPath,
    pub output_path: OptPath,
    pub result_path: OptPath,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// Whether anything in the state reads the context object (`$$`), which is then built.
    pub uses_context: bool,
    /// Whether the state's query language is JSONata.
    pub jsonata: bool,
    /// JSONata `Arguments` (Task, Parallel).
    pub arguments: Option<Box<JTemplate>>,
    /// JSONata `Output`.
    pub output: Option<Box<JTemplate>>,
    /// `Assign`, in either language.
    pub assign: Option<Box<Assign>>,
}

/// An `Assign` block: variable names with their values.
#[derive(Debug)]
pub enum Assign {
    /// JSONPath: a payload template (names ending in `.$` are paths or intrinsic calls).
    Path(Template),
    /// JSONata: values with `{% ... %}` expressions.
    Jsonata(JTemplate),
}

/// One rule of a Choice state, with where it leads and what it assigns and outputs.
#[derive(Debug)]
pub struct Branch {
    pub cond: Cond,
    pub next: usize,
    pub assign: Option<Assign>,
    pub output: Option<JTemplate>,
}

#[derive(Debug)]
pub enum Cond {
    Rule(Rule),
    Jsonata(JTemplate),
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: OptPath,
    pub next: usize,
    pub assign: Option<Assign>,
    pub output: Option<JTemplate>,
}

/// A number given literally, by a path into the input, or by a JSONata expression.
#[derive(Debug)]
pub enum Source<T> {
    Literal(T),
    Path(Path),
    Jsonata(Box<JTemplate>),
}

/// A whole number of 0 or more (seconds, counts, concurrency).
pub type NumSource = Source<u64>;

/// A percentage: a number from 0 to 100, fractions allowed (ToleratedFailurePercentage).
pub type PercentSource = Source<f64>;

/// A string given literally, by a path, by an intrinsic call (Fail's Error and Cause), or by
/// a JSONata expression.
#[derive(Debug)]
pub enum StrSource {
    Literal(String),
    Path(Path),
    Call(Box<Call>),
    Jsonata(Box<JTemplate>),
}

/// A Distributed Map's `ItemBatcher`: its child executions each take a batch of items,
/// `{"BatchInput": ..., "Items": [...]}`, rather than one item.
#[derive(Debug)]
pub struct Batcher {
    pub max_items: Option<NumSource>,
    pub max_bytes: Option<NumSource>,
    /// `BatchInput`, made from the state's input: a payload template (JSONPath) or a JSONata
    /// template.
    pub input: Option<Template>,
    pub jinput: Option<JTemplate>,
}

#[derive(Debug)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(timestamp::Instant),
    TimestampPath(Path),
    SecondsJsonata(Box<JTemplate>),
    TimestampJsonata(Box<JTemplate>),
}

// One per state, made once at compile time: boxing the Map variant's fields would only add
// indirection on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<NumSource>,
        heartbeat: Option<NumSource>,
    },
    Choice {
        choices: Vec<Branch>,
        default: Option<usize>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<StrSource>,
        cause: Option<StrSource>,
    },
    Parallel {
        branches: Vec<usize>,
    },
    Map {
        processor: usize,
        items_path: Option<Path>,
        item_selector: Option<Template>,
        /// JSONata `Items` and `ItemSelector`.
        items: Option<Box<JTemplate>>,
        jitem_selector: Option<Box<JTemplate>>,
        run: MapRun,
    },
}

/// How a Map runs its items, in both query languages: how many at once, how many failures it
/// tolerates, and (a Distributed Map) how it batches them.
#[derive(Debug)]
pub struct MapRun {
    pub max_concurrency: Option<NumSource>,
    pub tolerated_percentage: Option<PercentSource>,
    pub tolerated_count: Option<NumSource>,
    pub batcher: Option<Box<Batcher>>,
}

impl Kind {
    /// The state type's name, as in the definition and in history event names.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task { .. } => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map { .. } => "Map",
        }
    }
}

/// Checks a definition and returns every diagnostic (errors and warnings).
pub fn validate(text: &str, machine_type: MachineType) -> Vec<Diagnostic> {
    match compile(text, machine_type) {
        Ok(p) => p.warnings,
        Err(e) => e.diagnostics,
    }
}

/// Compiles a definition given as JSON text.
pub fn compile(text: &str, machine_type: MachineType) -> Result<Program, DefinitionError> {
    let single = |code: &'static str, message: String, location: Option<String>| DefinitionError {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            code,
            message,
            location,
        }],
    };
    if text.trim().is_empty() {
        return Err(single(
            SCHEMA_VALIDATION_FAILED,
            "Definition must be a valid JSON object".into(),
            None,
        ));
    }
    let value: Value = match crate::value::parse(text) {
        Ok(v) => v,
        Err(crate::value::ParseError::Syntax(e)) => {
            let (message, location) = jackson_style_error(text, &e);
            return Err(single(INVALID_JSON_DESCRIPTION, message, Some(location)));
        }
        Err(too_deep) => return Err(single(INVALID_JSON_DESCRIPTION, too_deep.to_string(), None)),
    };
    compile_value(&value, machine_type)
}

/// Compiles a definition already parsed into a value.
pub fn compile_value(value: &Value, machine_type: MachineType) -> Result<Program, DefinitionError> {
    let Value::Object(top) = value else {
        return Err(DefinitionError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                code: SCHEMA_VALIDATION_FAILED,
                message: "Definition must be a valid JSON object".into(),
                location: None,
            }],
        });
    };
    let mut c = Checker {
        diags: Vec::new(),
        machines: Vec::new(),
        machine_type,
        all_names: HashMap::new(),
        default_jsonata: false,
        jsonata: false,
    };
    let mut timeout_seconds = None;
    c.check_fields(
        top,
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ],
        "/",
    );
    if let Some(t) = top.get("TimeoutSeconds") {
        timeout_seconds = c.non_negative_int(t, "/TimeoutSeconds");
    }
    c.default_jsonata = c.check_query_language(top, "").unwrap_or(false);
    c.machine(top, "", true);
    let (errors, warnings): (Vec<_>, Vec<_>) = c
        .diags
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        let mut diagnostics = errors;
        diagnostics.extend(warnings);
        return Err(DefinitionError { diagnostics });
    }
    let uses_context = c
        .machines
        .iter()
        .any(|m| m.states.iter().any(|s| s.uses_context));
    let uses_variables = c.machines.iter().any(|m| {
        m.states
            .iter()
            .any(|s| s.assign.is_some() || s.catch.iter().any(|c| c.assign.is_some()) || matches!(&s.kind, Kind::Choice { choices, .. } if choices.iter().any(|b| b.assign.is_some())))
    });
    Ok(Program {
        machine_type,
        machines: c.machines,
        timeout_seconds,
        warnings,
        uses_context,
        uses_variables,
    })
}

/// Jackson's wording for a JSON syntax error, which AWS passes on.
fn jackson_style_error(text: &str, e: &serde_json::Error) -> (String, String) {
    let snippet: String = text.chars().take(500).collect();
    let first = text.trim_start().chars().next().unwrap_or(' ');
    let (line, column, message) = if first.is_alphabetic() {
        let token: String = text
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let lead = text.len() - text.trim_start().len();
        (
            1,
            lead + token.chars().count() + 1,
            format!(
                "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
            ),
        )
    } else {
        (
            e.line(),
            e.column(),
            format!("Unexpected character or end of input ({e})"),
        )
    };
    let location = format!("[Source: (String)\"{snippet}\"; line: {line}, column: {column}]");
    (format!("{message}\n at {location}"), location)
}

struct Checker {
    diags: Vec<Diagnostic>,
    machines: Vec<Machine>,
    machine_type: MachineType,
    /// Every state name in the whole definition, with where it was first defined.
    all_names: HashMap<String, String>,
    /// The query language of the states being compiled when they do not name one (JSONata: true).
    default_jsonata: bool,
    /// Whether the state being compiled is a JSONata state.
    jsonata: bool,
}

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const IO: &[&str] = &["InputPath", "OutputPath"];

/// The fields a state of the type may have in JSONPath (`jsonata` false) or JSONata.
fn allowed_fields(type_name: &str, jsonata: bool) -> Option<Vec<&'static str>> {
    if jsonata {
        let specific: &[&str] = match type_name {
            "Pass" => &["Next", "End", "Output", "Assign"],
            "Task" => &[
                "Next",
                "End",
                "Output",
                "Assign",
                "Arguments",
                "Retry",
                "Catch",
                "Resource",
                "TimeoutSeconds",
                "HeartbeatSeconds",
                "Credentials",
            ],
            "Choice" => &["Choices", "Default", "Output", "Assign"],
            "Wait" => &["Next", "End", "Seconds", "Timestamp", "Output", "Assign"],
            "Succeed" => &["End", "Output"],
            "Fail" => &["Error", "Cause", "End"],
            "Parallel" => &[
                "Next",
                "End",
                "Output",
                "Assign",
                "Arguments",
                "Retry",
                "Catch",
                "Branches",
            ],
            "Map" => &[
                "Next",
                "End",
                "Output",
                "Assign",
                "Retry",
                "Catch",
                "Iterator",
                "ItemProcessor",
                "Items",
                "ItemSelector",
                "MaxConcurrency",
                "ToleratedFailurePercentage",
                "ToleratedFailureCount",
                "ItemReader",
                "ItemBatcher",
                "ResultWriter",
                "Label",
            ],
            _ => return None,
        };
        let mut all: Vec<&str> = COMMON.to_vec();
        all.extend_from_slice(specific);
        return Some(all);
    }
    let specific: &[&str] = match type_name {
        "Pass" => &[
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
        ],
        "Task" => &[
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        "Choice" => &["Choices", "Default", "Assign"],
        "Wait" => &[
            "Next",
            "End",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        // AWS's own documentation shows `"End": true` on Fail states, and such definitions are
        // accepted; on a terminal state it changes nothing.
        "Succeed" => &["End"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath", "End"],
        "Parallel" => &[
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        "Map" => &[
            "Next",
            "End",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
            "Assign",
        ],
        _ => return None,
    };
    let mut all: Vec<&str> = COMMON.to_vec();
    if type_name != "Fail" {
        all.extend_from_slice(IO);
    }
    all.extend_from_slice(specific);
    Some(all)
}

/// Fields that only JSONPath states (and their Catch and Choice rules) have.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "ErrorPath",
    "CausePath",
    "Variable",
];

/// Fields that only JSONata states (and their Catch and Choice rules) have.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items", "Condition"];

/// AWS's message for a field that is not allowed where it is: the field of the other query
/// language is named as such, any other is "not supported".
fn unsupported_field_message(field: &str, jsonata: bool) -> String {
    let (this, other, other_fields) = if jsonata {
        ("JSONata", "JSONPath", JSONPATH_ONLY)
    } else {
        ("JSONPath", "JSONata", JSONATA_ONLY)
    };
    if other_fields.contains(&field) {
        format!(
            "The QueryLanguage is set to '{this}', but field '{field}' is only supported for the '{other}' QueryLanguage"
        )
    } else {
        format!("Field '{field}' is not supported")
    }
}

fn type_name_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

impl Checker {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        loc: &str,
    ) {
        self.diags.push(Diagnostic {
            severity,
            code,
            message: message.into(),
            location: Some(if loc.is_empty() {
                "/".to_string()
            } else {
                loc.to_string()
            }),
        });
    }

    fn error(&mut self, message: impl Into<String>, loc: &str) {
        self.push(Severity::Error, SCHEMA_VALIDATION_FAILED, message, loc);
    }

    fn wrong_type(&mut self, expected: &str, got: &Value, loc: &str) {
        self.error(
            format!(
                "Expected value of type {expected} but found {}",
                type_name_of(got)
            ),
            loc,
        );
    }

    fn check_fields(&mut self, obj: &Map<String, Value>, allowed: &[&str], loc: &str) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.error(format!("Field '{k}' is not supported"), loc);
            }
        }
    }

    /// [`check_fields`](Self::check_fields) for a state, a catcher or a choice rule, whose
    /// fields of the other query language get AWS's message that says so.
    fn check_state_fields(&mut self, obj: &Map<String, Value>, allowed: &[&str], loc: &str) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.error(unsupported_field_message(k, self.jsonata), loc);
            }
        }
    }

    /// The `QueryLanguage` field: Some(true) for JSONata, Some(false) for JSONPath.
    fn check_query_language(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<bool> {
        match obj.get("QueryLanguage") {
            None => None,
            Some(Value::String(s)) if s == "JSONPath" => Some(false),
            Some(Value::String(s)) if s == "JSONata" => Some(true),
            Some(other) => {
                self.error(
                    format!(
                        "Value {} is not one of [JSONPath, JSONata]",
                        crate::value::to_text(other)
                    ),
                    &format!("{loc}/QueryLanguage"),
                );
                None
            }
        }
    }

    /// A JSONata field's value (any JSON, with `{% ... %}` strings compiled).
    fn jtemplate(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<JTemplate> {
        let v = obj.get(key)?;
        self.jtemplate_value(v, key, &format!("{loc}/{key}"))
    }

    fn jtemplate_value(&mut self, v: &Value, field: &str, here: &str) -> Option<JTemplate> {
        match JTemplate::compile(v, field) {
            Ok(t) => {
                let problems = crate::jsonata_check::check_template(&t);
                if problems.is_empty() {
                    return Some(t);
                }
                for (at, msg) in problems {
                    self.push(
                        Severity::Error,
                        UNSUPPORTED_JSONATA_EXPRESSION,
                        msg,
                        &format!("{here}{at}"),
                    );
                }
                None
            }
            Err(problems) => {
                for (at, msg) in problems {
                    self.push(
                        Severity::Error,
                        INVALID_JSONATA_EXPRESSION,
                        msg,
                        &format!("{here}{at}"),
                    );
                }
                None
            }
        }
    }

    /// A JSONata field that must be a `{% ... %}` expression when it is a string: None when `v`
    /// is no such string, Some(None) when it is one that was refused (the problems are reported).
    fn jsonata_string(
        &mut self,
        v: &Value,
        key: &str,
        loc: &str,
    ) -> Option<Option<Box<JTemplate>>> {
        let here = format!("{loc}/{key}");
        let Value::String(s) = v else { return None };
        crate::query::expression_text(s)?;
        Some(self.jtemplate_value(v, key, &here).map(Box::new))
    }

    /// An `Assign` block; names are checked as AWS does.
    fn assign(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Assign> {
        let v = obj.get("Assign")?;
        let here = format!("{loc}/Assign");
        let Value::Object(m) = v else {
            self.wrong_type("Object", v, &here);
            return None;
        };
        for k in m.keys() {
            let name = if self.jsonata {
                k.as_str()
            } else {
                k.strip_suffix(".$").unwrap_or(k)
            };
            let valid = !name.is_empty()
                && name.chars().count() <= 80
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if name == "states" {
                self.push(
                    Severity::Error,
                    INVALID_VARIABLE_NAME,
                    format!("The variable name '{name}' is reserved"),
                    &format!("{here}/{k}"),
                );
            } else if !valid {
                self.push(
                    Severity::Error,
                    INVALID_VARIABLE_NAME,
                    format!("The variable name '{name}' is not valid: a variable name is 1 to 80 letters, digits and underscores, not starting with a digit"),
                    &format!("{here}/{k}"),
                );
            }
        }
        if self.jsonata {
            self.jtemplate_value(v, "Assign", &here)
                .map(Assign::Jsonata)
        } else {
            match Template::compile(v) {
                Ok(t) => Some(Assign::Path(t)),
                Err(problems) => {
                    for (at, msg) in problems {
                        self.error(msg, &format!("{here}{at}"));
                    }
                    None
                }
            }
        }
    }

    fn string<'v>(&mut self, obj: &'v Map<String, Value>, key: &str, loc: &str) -> Option<&'v str> {
        match obj.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.wrong_type("String", other, &format!("{loc}/{key}"));
                None
            }
        }
    }

    fn non_negative_int(&mut self, v: &Value, loc: &str) -> Option<u64> {
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.error(
                    format!(
                        "Expected a non-negative integer but found {}",
                        crate::value::to_text(v)
                    ),
                    loc,
                );
                None
            }
        }
    }

    fn path_field(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        nullable: bool,
    ) -> OptPath {
        let v = obj.get(key)?;
        let here = format!("{loc}/{key}");
        match v {
            Value::Null if nullable => Some(None),
            Value::String(s) => match Path::parse(s) {
                Ok(p) => Some(Some(p)),
                Err(_) => {
                    self.error(
                        format!("The value for the field '{key}' must be a valid JSONPath"),
                        &here,
                    );
                    None
                }
            },
            other => {
                self.wrong_type("String", other, &here);
                None
            }
        }
    }

    fn template(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Template> {
        let v = obj.get(key)?;
        let here = format!("{loc}/{key}");
        if key != "Parameters" && key != "ItemSelector" && !v.is_object() {
            self.wrong_type("Object", v, &here);
            return None;
        }
        self.warn_no_dollar(v, &here);
        match Template::compile(v) {
            Ok(t) => Some(t),
            Err(problems) => {
                for (at, msg) in problems {
                    self.error(msg, &format!("{here}{at}"));
                }
                None
            }
        }
    }

    /// NO_DOLLAR: a plain field whose string value looks like a path or an intrinsic call.
    fn warn_no_dollar(&mut self, v: &Value, loc: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let here = format!("{loc}/{k}");
                    if let Value::String(s) = x {
                        if !k.ends_with(".$")
                            && (s.starts_with("$.") || s == "$" || intrinsics::looks_like_call(s))
                        {
                            self.push(
                                Severity::Warning,
                                NO_DOLLAR,
                                format!(
                                    "The value of the field '{k}' looks like a JSONPath or an intrinsic function, but the field name does not end with '.$'"
                                ),
                                &here,
                            );
                        }
                    } else {
                        self.warn_no_dollar(x, &here);
                    }
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.warn_no_dollar(x, &format!("{loc}[{i}]"));
                }
            }
            _ => {}
        }
    }

    fn num_source(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<NumSource> {
        self.source(obj, key, loc, "a non-negative integer", |this, v, at| {
            this.non_negative_int(v, at)
        })
    }

    /// ToleratedFailurePercentage and its Path and JSONata forms: a number from 0 to 100.
    fn percent_source(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<PercentSource> {
        let key = "ToleratedFailurePercentage";
        self.source(obj, key, loc, "a number", |this, v, at| match v.as_f64() {
            Some(p) if (0.0..=100.0).contains(&p) => Some(p),
            Some(_) => {
                this.error(format!("The field '{key}' must be between 0 and 100"), at);
                None
            }
            None => {
                this.error(
                    format!("Expected a number but found {}", crate::value::to_text(v)),
                    at,
                );
                None
            }
        })
    }

    /// A field `key` given literally (read by `literal`), by `{key}Path`, or (JSONata) by an
    /// expression; `what` names the literal's kind in the error for a JSONata field that is
    /// neither.
    fn source<T>(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        what: &str,
        literal: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<Source<T>> {
        let path_key = format!("{key}Path");
        match (obj.get(key), obj.get(&path_key)) {
            (Some(_), Some(_)) => {
                self.error(
                    format!("Only one of '{key}' and '{path_key}' may be given"),
                    loc,
                );
                None
            }
            (Some(v), None) if self.jsonata && v.is_string() => {
                match self.jsonata_string(v, key, loc) {
                    Some(t) => t.map(Source::Jsonata),
                    None => {
                        self.error(
                            format!("The field '{key}' must be {what} or a JSONata expression"),
                            &format!("{loc}/{key}"),
                        );
                        None
                    }
                }
            }
            (Some(v), None) => literal(self, v, &format!("{loc}/{key}")).map(Source::Literal),
            (None, Some(_)) => self
                .path_field(obj, &path_key, loc, false)
                .flatten()
                .map(Source::Path),
            (None, None) => None,
        }
    }

    fn str_source(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<StrSource> {
        let path_key = format!("{key}Path");
        match (obj.get(key), obj.get(&path_key)) {
            (Some(_), Some(_)) => {
                self.error(
                    format!("Only one of '{key}' and '{path_key}' may be given"),
                    loc,
                );
                None
            }
            (Some(v), None) if self.jsonata => match self.jsonata_string(v, key, loc) {
                Some(t) => t.map(StrSource::Jsonata),
                None => self
                    .string(obj, key, loc)
                    .map(|s| StrSource::Literal(s.to_string())),
            },
            (Some(_), None) => self
                .string(obj, key, loc)
                .map(|s| StrSource::Literal(s.to_string())),
            (None, Some(_)) => {
                let s = self.string(obj, &path_key, loc)?;
                let here = format!("{loc}/{path_key}");
                if intrinsics::looks_like_call(s) {
                    match intrinsics::parse(s) {
                        Ok(c) => Some(StrSource::Call(Box::new(c))),
                        Err(e) => {
                            self.error(format!("The value for the field '{path_key}' must be a valid JSONPath or intrinsic function: {e}"), &here);
                            None
                        }
                    }
                } else {
                    match Path::parse(s) {
                        Ok(p) => Some(StrSource::Path(p)),
                        Err(_) => {
                            self.error(
                                format!(
                                    "The value for the field '{path_key}' must be a valid JSONPath"
                                ),
                                &here,
                            );
                            None
                        }
                    }
                }
            }
            (None, None) => None,
        }
    }

    /// Compiles one machine (the top level, a branch or an item processor) and returns its index.
    fn machine(&mut self, obj: &Map<String, Value>, loc: &str, top: bool) -> usize {
        let (saved_default, saved_state) = (self.default_jsonata, self.jsonata);
        let index = self.machine_inner(obj, loc, top);
        self.default_jsonata = saved_default;
        self.jsonata = saved_state;
        index
    }

    fn machine_inner(&mut self, obj: &Map<String, Value>, loc: &str, top: bool) -> usize {
        let index = self.machines.len();
        self.machines.push(Machine {
            start: 0,
            states: Vec::new(),
        });
        let mut missing = Vec::new();
        let states_obj = match obj.get("States") {
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                self.wrong_type("Object", other, &format!("{loc}/States"));
                None
            }
            None => {
                missing.push("States");
                None
            }
        };
        let start_at = match obj.get("StartAt") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                self.wrong_type("String", other, &format!("{loc}/StartAt"));
                None
            }
            None => {
                missing.push("StartAt");
                None
            }
        };
        if !missing.is_empty() {
            self.error(
                format!("These fields are required: [{}]", missing.join(", ")),
                loc,
            );
        }
        if !top {
            if let Some(j) = self.check_query_language(obj, loc) {
                self.default_jsonata = j;
            }
            self.check_fields(
                obj,
                &[
                    "StartAt",
                    "States",
                    "Comment",
                    "ProcessorConfig",
                    "QueryLanguage",
                ],
                loc,
            );
        }
        let Some(states_obj) = states_obj else {
            return index;
        };
        if states_obj.is_empty() {
            self.error(
                "The field 'States' must have at least one state",
                &format!("{loc}/States"),
            );
            return index;
        }

        let names: HashMap<&str, usize> = states_obj
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        for name in states_obj.keys() {
            let here = format!("{loc}/States/{name}");
            if name.is_empty() || name.chars().count() > 80 {
                self.push(
                    Severity::Error,
                    INVALID_STATE_NAME,
                    format!("State name '{name}' must be between 1 and 80 characters long"),
                    &here,
                );
            }
            if let Some(first) = self.all_names.get(name) {
                let message = format!("State name '{name}' is also used at {first}");
                self.push(Severity::Error, DUPLICATE_STATE_NAME, message, &here);
            } else {
                self.all_names.insert(name.clone(), here);
            }
        }
        let start = match start_at {
            Some(s) => match names.get(s) {
                Some(&i) => Some(i),
                None => {
                    self.push(
                        Severity::Error,
                        MISSING_TRANSITION_TARGET,
                        format!("Missing 'Next' target: {s}"),
                        &format!("{loc}/StartAt"),
                    );
                    None
                }
            },
            None => None,
        };
        let mut states = Vec::with_capacity(states_obj.len());
        for (name, v) in states_obj {
            let here = format!("{loc}/States/{name}");
            states.push(self.state(name, v, &here, &names));
        }
        // Reachability and terminal states, only when every state compiled.
        if let (Some(start), true) = (start, states.iter().all(Option::is_some)) {
            let states: Vec<State> = states.into_iter().flatten().collect();
            let mut seen = vec![false; states.len()];
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                let s = &states[i];
                stack.extend(s.next);
                stack.extend(s.catch.iter().map(|c| c.next));
                if let Kind::Choice { choices, default } = &s.kind {
                    stack.extend(choices.iter().map(|b| b.next));
                    stack.extend(*default);
                }
            }
            for (i, s) in states.iter().enumerate() {
                if !seen[i] {
                    self.push(
                        Severity::Error,
                        MISSING_TRANSITION_TARGET,
                        format!("State \"{}\" is not reachable.", s.name),
                        &format!("{loc}/States/{}", s.name),
                    );
                }
            }
            let terminal = states
                .iter()
                .any(|s| s.next.is_none() && !matches!(s.kind, Kind::Choice { .. }));
            if !terminal {
                self.push(
                    Severity::Error,
                    MISSING_END_STATE,
                    "Workflow has no terminal state",
                    if loc.is_empty() { "/" } else { loc },
                );
            }
            self.machines[index] = Machine { start, states };
        }
        index
    }

    fn transition(
        &mut self,
        target: &str,
        names: &HashMap<&str, usize>,
        loc: &str,
    ) -> Option<usize> {
        match names.get(target) {
            Some(&i) => Some(i),
            None => {
                self.push(
                    Severity::Error,
                    MISSING_TRANSITION_TARGET,
                    format!("Missing 'Next' target: {target}"),
                    loc,
                );
                None
            }
        }
    }

    fn state(
        &mut self,
        name: &str,
        v: &Value,
        loc: &str,
        names: &HashMap<&str, usize>,
    ) -> Option<State> {
        let Value::Object(obj) = v else {
            self.wrong_type("Object", v, loc);
            return None;
        };
        let errors_before = self
            .diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let type_name = match obj.get("Type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                self.wrong_type("String", other, &format!("{loc}/Type"));
                return None;
            }
            None => {
                self.error("These fields are required: [Type]", loc);
                return None;
            }
        };
        let own = self.check_query_language(obj, loc);
        if own == Some(false) && self.default_jsonata {
            self.error(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                loc,
            );
        }
        self.jsonata = own.unwrap_or(self.default_jsonata);
        let jsonata = self.jsonata;
        let Some(allowed) = allowed_fields(type_name, jsonata) else {
            self.error(
                format!(
                    "Value '{type_name}' is not one of [Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map]"
                ),
                &format!("{loc}/Type"),
            );
            return None;
        };
        self.check_state_fields(obj, &allowed, loc);

        // Transitions: Next xor End, except for Choice, Succeed and Fail.
        let mut next = None;
        let takes_transition = matches!(type_name, "Pass" | "Task" | "Wait" | "Parallel" | "Map");
        if takes_transition {
            let end = match obj.get("End") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    self.wrong_type("Boolean", other, &format!("{loc}/End"));
                    false
                }
            };
            match (self.string(obj, "Next", loc), end) {
                (Some(_), true) => self.error("Only one of 'Next' or 'End' may be given", loc),
                (Some(n), false) => next = self.transition(n, names, &format!("{loc}/Next")),
                (None, true) => {}
                (None, false) if obj.contains_key("Next") => {}
                (None, false) => {
                    self.error("These fields are required: [Next] or End must be true", loc)
                }
            }
        }

        let input_path = self.path_field(obj, "InputPath", loc, true);
        let output_path = self.path_field(obj, "OutputPath", loc, true);
        let result_path = self.path_field(obj, "ResultPath", loc, true);
        if let Some(Some(p)) = &result_path {
            if !p.is_reference() || p.root() != crate::path::Root::Input {
                self.error(
                    "The value for the field 'ResultPath' must be a valid ReferencePath",
                    &format!("{loc}/ResultPath"),
                );
            }
        }
        let parameters = self.template(obj, "Parameters", loc);
        let result_selector = self.template(obj, "ResultSelector", loc);
        let retry = self.retriers(obj, loc);
        let catch = self.catchers(obj, loc, names);
        let (arguments, output) = if jsonata {
            (
                self.jtemplate(obj, "Arguments", loc).map(Box::new),
                self.jtemplate(obj, "Output", loc).map(Box::new),
            )
        } else {
            (None, None)
        };
        let assign = self.assign(obj, loc).map(Box::new);

        let kind = match type_name {
            "Pass" => {
                if let Some(r) = obj.get("Result") {
                    if contains_dollar_key(r) {
                        self.push(
                            Severity::Warning,
                            PASS_RESULT_IS_STATIC,
                            "The Result of a Pass state is static: fields ending in '.$' are not evaluated",
                            &format!("{loc}/Result"),
                        );
                    }
                }
                Some(Kind::Pass {
                    result: obj.get("Result").cloned(),
                })
            }
            "Task" => self.task(obj, loc),
            "Choice" => self.choice_state(obj, loc, names),
            "Wait" => self.wait(obj, loc),
            "Succeed" => Some(Kind::Succeed),
            "Fail" => {
                for key in ["Error", "Cause"] {
                    if let Some(Value::String(v)) = obj.get(key) {
                        if v.starts_with('$') {
                            self.push(
                                Severity::Warning,
                                NO_PATH,
                                format!("The value of the field '{key}' looks like a path, but the field name does not end with 'Path'"),
                                &format!("{loc}/{key}"),
                            );
                        }
                    }
                }
                Some(Kind::Fail {
                    error: self.str_source(obj, "Error", loc),
                    cause: self.str_source(obj, "Cause", loc),
                })
            }
            "Parallel" => self.parallel(obj, loc),
            "Map" => self.map(obj, loc),
            _ => None,
        };
        let errors_after = self
            .diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors_after > errors_before {
            return None;
        }
        Some(State {
            name: name.to_string(),
            kind: kind?,
            next,
            input_path,
            output_path,
            result_path,
            parameters,
            result_selector,
            retry,
            catch,
            uses_context: {
                let text = crate::value::to_text(v);
                text.contains("$$") || (jsonata && text.contains("context"))
            },
            jsonata,
            arguments,
            output,
            assign,
        })
    }

    fn task(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Kind> {
        let here = format!("{loc}/Resource");
        let resource = match obj.get("Resource") {
            None => {
                self.error("These fields are required: [Resource]", loc);
                return None;
            }
            Some(_) => self.string(obj, "Resource", loc)?,
        };
        if !is_arn(resource) {
            self.push(
                Severity::Error,
                INVALID_RESOURCE,
                format!("Invalid Resource: '{resource}' is not a valid ARN"),
                &here,
            );
        }
        if self.machine_type == MachineType::Express {
            for (suffix, label) in [
                (".sync", "'.sync'"),
                (".sync:2", "'.sync'"),
                (".waitForTaskToken", "'.waitForTaskToken'"),
            ] {
                if resource.ends_with(suffix) {
                    self.error(
                        format!(
                            "Express state machine does not support {label} service integration "
                        ),
                        &here,
                    );
                }
            }
            if resource.starts_with("arn:aws:states:") && resource.contains(":activity:") {
                self.error("Express state machine does not support activities ", &here);
            }
        }
        if let Some(c) = obj.get("Credentials") {
            match c {
                Value::Object(m) if m.contains_key("RoleArn") || m.contains_key("RoleArn.$") => {}
                Value::Object(_) => self.error(
                    "The field 'RoleArn' is required but was missing",
                    &format!("{loc}/Credentials"),
                ),
                other => self.wrong_type("Object", other, &format!("{loc}/Credentials")),
            }
        }
        let timeout = self.num_source(obj, "TimeoutSeconds", loc);
        let heartbeat = self.num_source(obj, "HeartbeatSeconds", loc);
        if let (Some(NumSource::Literal(t)), Some(NumSource::Literal(h))) = (&timeout, &heartbeat) {
            if h >= t {
                self.error(
                    "The field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
                    &format!("{loc}/HeartbeatSeconds"),
                );
            }
        }
        for (key, v) in [
            ("TimeoutSeconds", &timeout),
            ("HeartbeatSeconds", &heartbeat),
        ] {
            if let Some(NumSource::Literal(0)) = v {
                self.error(
                    format!("The field '{key}' must be a positive integer"),
                    &format!("{loc}/{key}"),
                );
            }
        }
        Some(Kind::Task {
            resource: resource.to_string(),
            timeout,
            heartbeat,
        })
    }

    fn wait(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Kind> {
        let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if given.len() != 1 {
            self.error(
                "Exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath' is required",
                loc,
            );
            return None;
        }
        if self.jsonata {
            let key = given[0];
            if let Some(t) = self.jsonata_string(&obj[key], key, loc) {
                return t.map(|t| {
                    Kind::Wait(if key == "Seconds" {
                        WaitFor::SecondsJsonata(t)
                    } else {
                        WaitFor::TimestampJsonata(t)
                    })
                });
            }
        }
        Some(Kind::Wait(match given[0] {
            "Seconds" => {
                WaitFor::Seconds(self.non_negative_int(&obj["Seconds"], &format!("{loc}/Seconds"))?)
            }
            "Timestamp" => {
                let s = self.string(obj, "Timestamp", loc)?;
                match timestamp::parse(s) {
                    Some(t) => WaitFor::Timestamp(t),
                    None => {
                        self.error(
                            "String does not match RFC3339 timestamp",
                            &format!("{loc}/Timestamp"),
                        );
                        return None;
                    }
                }
            }
            "SecondsPath" => {
                WaitFor::SecondsPath(self.path_field(obj, "SecondsPath", loc, false)??)
            }
            _ => WaitFor::TimestampPath(self.path_field(obj, "TimestampPath", loc, false)??),
        }))
    }

    fn parallel(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Kind> {
        let Some(v) = obj.get("Branches") else {
            self.error("These fields are required: [Branches]", loc);
            return None;
        };
        let Value::Array(items) = v else {
            self.wrong_type("Array", v, &format!("{loc}/Branches"));
            return None;
        };
        if items.is_empty() {
            self.error(
                "The field 'Branches' must have at least one branch",
                &format!("{loc}/Branches"),
            );
            return None;
        }
        let mut branches = Vec::new();
        for (i, b) in items.iter().enumerate() {
            let here = format!("{loc}/Branches[{i}]");
            match b {
                Value::Object(m) => branches.push(self.machine(m, &here, false)),
                other => self.wrong_type("Object", other, &here),
            }
        }
        Some(Kind::Parallel { branches })
    }

    fn map(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Kind> {
        for key in ["ItemReader", "ResultWriter"] {
            if obj.contains_key(key) {
                self.error(
                    format!("The field '{key}' (Distributed Map) is not supported by this version of expressway"),
                    &format!("{loc}/{key}"),
                );
            }
        }
        let (key, proc_obj) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(p), None) => ("ItemProcessor", p),
            (None, Some(p)) => ("Iterator", p),
            (Some(_), Some(_)) => {
                self.error(
                    "Only one of 'ItemProcessor' or 'Iterator' may be given",
                    loc,
                );
                return None;
            }
            (None, None) => {
                self.error("These fields are required: [ItemProcessor]", loc);
                return None;
            }
        };
        let here = format!("{loc}/{key}");
        let Value::Object(pm) = proc_obj else {
            self.wrong_type("Object", proc_obj, &here);
            return None;
        };
        // DISTRIBUTED mode without a reader or writer runs like INLINE (the item source is the
        // input; its child executions are the iterations), so both are accepted; the fields
        // such a Map would need to reach outside are refused above.
        let mode = pm.get("ProcessorConfig").and_then(|c| c.get("Mode"));
        if let Some(Value::String(mode)) = mode {
            if mode != "INLINE" && mode != "DISTRIBUTED" {
                self.error(
                    format!("Value '{mode}' is not one of [INLINE, DISTRIBUTED]"),
                    &format!("{here}/ProcessorConfig/Mode"),
                );
            }
        }
        let distributed = mode.and_then(Value::as_str) == Some("DISTRIBUTED");
        let batcher = self.batcher(obj, loc, distributed).map(Box::new);
        let processor = self.machine(pm, &here, false);
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.error(
                "Only one of 'ItemSelector' or 'Parameters' may be given",
                loc,
            );
        }
        let (item_selector, items, jitem_selector) = if self.jsonata {
            let items = self.jtemplate(obj, "Items", loc);
            if let Some(JTemplate::Literal(v)) = &items {
                if !v.is_array() {
                    self.wrong_type("Array", v, &format!("{loc}/Items"));
                }
            }
            (
                None,
                items.map(Box::new),
                self.jtemplate(obj, "ItemSelector", loc).map(Box::new),
            )
        } else {
            (self.template(obj, "ItemSelector", loc), None, None)
        };
        let items_path = self.path_field(obj, "ItemsPath", loc, false).flatten();
        let max_concurrency = self.num_source(obj, "MaxConcurrency", loc);
        let tolerated_percentage = self.percent_source(obj, loc);
        let mut tolerated_count = self.num_source(obj, "ToleratedFailureCount", loc);
        if distributed && tolerated_count.is_none() && tolerated_percentage.is_none() {
            // A Map Run tolerates no failed child execution unless told otherwise: one failure
            // fails it with States.ExceedToleratedFailureThreshold, not with the child's error.
            tolerated_count = Some(Source::Literal(0));
        }
        Some(Kind::Map {
            processor,
            items_path,
            item_selector,
            items,
            jitem_selector,
            run: MapRun {
                max_concurrency,
                tolerated_percentage,
                tolerated_count,
                batcher,
            },
        })
    }

    /// A Map's `ItemBatcher`, which only a DISTRIBUTED one may have.
    fn batcher(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        distributed: bool,
    ) -> Option<Batcher> {
        let value = obj.get("ItemBatcher")?;
        let here = format!("{loc}/ItemBatcher");
        if !distributed {
            self.error(
                "The field 'ItemBatcher' is only supported for a Map in DISTRIBUTED mode",
                &here,
            );
            return None;
        }
        let Value::Object(fields) = value else {
            self.wrong_type("Object", value, &here);
            return None;
        };
        let mut known = vec!["MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"];
        if !self.jsonata {
            known.extend(["MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"]);
        }
        for key in fields.keys().filter(|k| !known.contains(&k.as_str())) {
            self.error(format!("Field '{key}' is not supported"), &here);
        }
        let (input, jinput) = if self.jsonata {
            (None, self.jtemplate(fields, "BatchInput", &here))
        } else {
            (self.template(fields, "BatchInput", &here), None)
        };
        Some(Batcher {
            max_items: self.num_source(fields, "MaxItemsPerBatch", &here),
            max_bytes: self.num_source(fields, "MaxInputBytesPerBatch", &here),
            input,
            jinput,
        })
    }

    fn error_equals(&mut self, m: &Map<String, Value>, loc: &str) -> Vec<String> {
        let Some(v) = m.get("ErrorEquals") else {
            self.error("These fields are required: [ErrorEquals]", loc);
            return Vec::new();
        };
        let Value::Array(items) = v else {
            self.wrong_type("Array", v, &format!("{loc}/ErrorEquals"));
            return Vec::new();
        };
        if items.is_empty() {
            self.error(
                "The field 'ErrorEquals' must not be empty",
                &format!("{loc}/ErrorEquals"),
            );
        }
        let names: Vec<String> = items
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
        if names.len() != items.len() {
            self.error(
                "ErrorEquals must contain only strings",
                &format!("{loc}/ErrorEquals"),
            );
        }
        if names.iter().any(|n| n == crate::errors::ALL) && names.len() > 1 {
            self.error(
                "States.ALL must appear alone in ErrorEquals",
                &format!("{loc}/ErrorEquals"),
            );
        }
        names
    }

    fn list<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        loc: &str,
    ) -> Vec<(String, &'v Map<String, Value>)> {
        let Some(v) = obj.get(key) else {
            return Vec::new();
        };
        let Value::Array(items) = v else {
            self.wrong_type("Array", v, &format!("{loc}/{key}"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, x) in items.iter().enumerate() {
            let here = format!("{loc}/{key}[{i}]");
            match x {
                Value::Object(m) => out.push((here, m)),
                other => self.wrong_type("Object", other, &here),
            }
        }
        out
    }

    fn check_all_last(&mut self, lists: &[Vec<String>], loc: &str, key: &str) {
        for (i, l) in lists.iter().enumerate() {
            if l.iter().any(|n| n == crate::errors::ALL) && i + 1 != lists.len() {
                self.error(
                    format!("States.ALL must appear in the last {key} element"),
                    &format!("{loc}/{key}[{i}]/ErrorEquals"),
                );
            }
        }
    }

    fn retriers(&mut self, obj: &Map<String, Value>, loc: &str) -> Vec<Retrier> {
        let mut out = Vec::new();
        for (here, m) in self.list(obj, "Retry", loc) {
            self.check_fields(
                m,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
                &here,
            );
            let error_equals = self.error_equals(m, &here);
            let mut num = |key: &str, default: f64, min: f64, integer: bool| -> f64 {
                match m.get(key) {
                    None => default,
                    Some(v) => match v.as_f64() {
                        Some(x) if x >= min && (!integer || x.fract() == 0.0) => x,
                        _ => {
                            self.error(
                                format!("The field '{key}' has an invalid value"),
                                &format!("{here}/{key}"),
                            );
                            default
                        }
                    },
                }
            };
            let interval_seconds = num("IntervalSeconds", 1.0, 1.0, true);
            let max_attempts = num("MaxAttempts", 3.0, 0.0, true) as u32;
            let backoff_rate = num("BackoffRate", 2.0, 1.0, false);
            let max_delay_seconds = m
                .get("MaxDelaySeconds")
                .map(|_| num("MaxDelaySeconds", 0.0, 1.0, true));
            let jitter_full = match m.get("JitterStrategy") {
                None => false,
                Some(Value::String(s)) if s == "FULL" => true,
                Some(Value::String(s)) if s == "NONE" => false,
                Some(_) => {
                    self.error(
                        "The field 'JitterStrategy' must be FULL or NONE",
                        &format!("{here}/JitterStrategy"),
                    );
                    false
                }
            };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter_full,
            });
        }
        let lists: Vec<Vec<String>> = out.iter().map(|r| r.error_equals.clone()).collect();
        self.check_all_last(&lists, loc, "Retry");
        out
    }

    fn catchers(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        names: &HashMap<&str, usize>,
    ) -> Vec<Catcher> {
        let mut out = Vec::new();
        let mut lists = Vec::new();
        for (here, m) in self.list(obj, "Catch", loc) {
            let allowed: &[&str] = if self.jsonata {
                &["ErrorEquals", "Next", "Output", "Assign", "Comment"]
            } else {
                &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
            };
            self.check_state_fields(m, allowed, &here);
            let error_equals = self.error_equals(m, &here);
            lists.push(error_equals.clone());
            let result_path = self.path_field(m, "ResultPath", &here, true);
            let assign = self.assign(m, &here);
            let output = if self.jsonata {
                self.jtemplate(m, "Output", &here)
            } else {
                None
            };
            let next = match self.string(m, "Next", &here) {
                Some(n) => self.transition(n, names, &format!("{here}/Next")),
                None => {
                    if !m.contains_key("Next") {
                        self.error("These fields are required: [Next]", &here);
                    }
                    None
                }
            };
            if let Some(next) = next {
                out.push(Catcher {
                    error_equals,
                    result_path,
                    next,
                    assign,
                    output,
                });
            }
        }
        self.check_all_last(&lists, loc, "Catch");
        out
    }

    fn choice_state(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        names: &HashMap<&str, usize>,
    ) -> Option<Kind> {
        if !obj.contains_key("Choices") {
            self.error("These fields are required: [Choices]", loc);
            return None;
        }
        let items = self.list(obj, "Choices", loc);
        if items.is_empty() {
            self.error(
                "The field 'Choices' must have at least one rule",
                &format!("{loc}/Choices"),
            );
        }
        let mut choices = Vec::new();
        for (here, m) in items {
            let next = match self.string(m, "Next", &here) {
                Some(n) => self.transition(n, names, &format!("{here}/Next")),
                None => {
                    self.error("These fields are required: [Next]", &here);
                    None
                }
            };
            let assign = self.assign(m, &here);
            let cond = if self.jsonata {
                self.check_state_fields(
                    m,
                    &["Next", "Condition", "Assign", "Output", "Comment"],
                    &here,
                );
                match m.get("Condition") {
                    None => {
                        self.error("These fields are required: [Condition]", &here);
                        None
                    }
                    Some(v @ Value::Bool(_)) => Some(Cond::Jsonata(JTemplate::Literal(v.clone()))),
                    Some(v) => match self.jsonata_string(v, "Condition", &here) {
                        Some(t) => t.map(|t| Cond::Jsonata(*t)),
                        None => {
                            self.error(
                                "The field 'Condition' must be a JSONata expression or a boolean",
                                &format!("{here}/Condition"),
                            );
                            None
                        }
                    },
                }
            } else {
                self.rule(m, &here, true).map(Cond::Rule)
            };
            let output = if self.jsonata {
                self.jtemplate(m, "Output", &here)
            } else {
                None
            };
            if let (Some(cond), Some(next)) = (cond, next) {
                choices.push(Branch {
                    cond,
                    next,
                    assign,
                    output,
                });
            }
        }
        let default = match self.string(obj, "Default", loc) {
            Some(d) => self.transition(d, names, &format!("{loc}/Default")),
            None => None,
        };
        Some(Kind::Choice { choices, default })
    }

    fn rule(&mut self, m: &Map<String, Value>, loc: &str, top: bool) -> Option<Rule> {
        let mut ops: Vec<&str> = Vec::new();
        for k in m.keys() {
            let k = k.as_str();
            match k {
                "Next" | "Assign" if top => {}
                "Comment" | "Variable" => {}
                "And" | "Or" | "Not" | "StringMatches" => ops.push(k),
                _ if choice::operator(k).is_some() || choice::type_test(k).is_some() => ops.push(k),
                _ => self.error(unsupported_field_message(k, self.jsonata), loc),
            }
        }
        if ops.len() != 1 {
            self.error(
                if ops.is_empty() {
                    "A choice rule needs exactly one comparison operator, And, Or or Not"
                        .to_string()
                } else {
                    format!(
                        "A choice rule may have only one operator, found [{}]",
                        ops.join(", ")
                    )
                },
                loc,
            );
            return None;
        }
        let op = ops[0];
        let here = format!("{loc}/{op}");
        let value = &m[op];
        match op {
            "And" | "Or" => {
                let Value::Array(items) = value else {
                    self.wrong_type("Array", value, &here);
                    return None;
                };
                if items.is_empty() {
                    self.error(format!("The field '{op}' must not be empty"), &here);
                    return None;
                }
                let mut rules = Vec::new();
                for (i, x) in items.iter().enumerate() {
                    let at = format!("{here}[{i}]");
                    match x {
                        Value::Object(sub) => rules.push(self.rule(sub, &at, false)),
                        other => {
                            self.wrong_type("Object", other, &at);
                            rules.push(None);
                        }
                    }
                }
                let rules: Option<Vec<Rule>> = rules.into_iter().collect();
                let rules = rules?;
                Some(if op == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
            "Not" => match value {
                Value::Object(sub) => Some(Rule::Not(Box::new(self.rule(sub, &here, false)?))),
                other => {
                    self.wrong_type("Object", other, &here);
                    None
                }
            },
            _ => {
                let variable = match m.get("Variable") {
                    None => {
                        self.error("These fields are required: [Variable]", loc);
                        return None;
                    }
                    Some(Value::String(s)) => match Path::parse(s) {
                        Ok(p) => p,
                        Err(_) => {
                            self.error(
                                "The value for the field 'Variable' must be a valid JSONPath",
                                &format!("{loc}/Variable"),
                            );
                            return None;
                        }
                    },
                    Some(other) => {
                        self.wrong_type("String", other, &format!("{loc}/Variable"));
                        return None;
                    }
                };
                if op == "StringMatches" {
                    let Value::String(p) = value else {
                        self.wrong_type("String", value, &here);
                        return None;
                    };
                    return Some(Rule::Matches {
                        variable,
                        pattern: Pattern::parse(p),
                    });
                }
                if let Some(test) = choice::type_test(op) {
                    let Value::Bool(expected) = value else {
                        self.wrong_type("Boolean", value, &here);
                        return None;
                    };
                    return Some(Rule::Test {
                        variable,
                        test,
                        expected: *expected,
                    });
                }
                let (kind, cmp, is_path) = choice::operator(op)?;
                let operand = if is_path {
                    let Value::String(s) = value else {
                        self.wrong_type("String", value, &here);
                        return None;
                    };
                    match Path::parse(s) {
                        Ok(p) => Operand::Path(p),
                        Err(_) => {
                            self.error(
                                format!("The value for the field '{op}' must be a valid JSONPath"),
                                &here,
                            );
                            return None;
                        }
                    }
                } else {
                    let ok = match kind {
                        choice::Kind::String => value.is_string(),
                        choice::Kind::Numeric => value.is_number(),
                        choice::Kind::Boolean => value.is_boolean(),
                        choice::Kind::Timestamp => value
                            .as_str()
                            .is_some_and(|s| timestamp::parse(s).is_some()),
                    };
                    if !ok {
                        let expected = match kind {
                            choice::Kind::String => "String",
                            choice::Kind::Numeric => "Number",
                            choice::Kind::Boolean => "Boolean",
                            choice::Kind::Timestamp => "Timestamp",
                        };
                        self.error(format!("The value of '{op}' must be a {expected}"), &here);
                        return None;
                    }
                    Operand::Literal(value.clone())
                };
                Some(Rule::Compare {
                    variable,
                    kind,
                    cmp,
                    operand,
                })
            }
        }
    }
}

fn contains_dollar_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.ends_with(".$") || contains_dollar_key(x)),
        Value::Array(items) => items.iter().any(contains_dollar_key),
        _ => false,
    }
}

/// `arn:partition:service:region:account:resource` — at least six colon-separated parts.
fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        compile(text, MachineType::Standard)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn compiles_a_simple_machine() {
        let p = compile(
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}"#,
            MachineType::Express,
        )
        .unwrap();
        assert_eq!(p.start_at(), "A");
        assert_eq!(p.machines[0].states[0].next, Some(1));
    }

    #[test]
    fn reports_aws_messages() {
        assert_eq!(
            err(r#"{"StartAt": "A"}"#),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
        );
        assert!(err("{}").contains("These fields are required: [States, StartAt] at /"));
        assert!(err(r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2016-12-05T21:29:29", "End": true}}}"#)
            .contains("SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/W/Timestamp"));
        assert_eq!(
            compile("not a definition", MachineType::Standard).unwrap_err().diagnostics[0].message,
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: (String)\"not a definition\"; line: 1, column: 4]"
        );
        assert!(err(" ").contains("Definition must be a valid JSON object"));
        assert!(err("[1]").contains("Definition must be a valid JSON object"));
    }

    #[test]
    fn reports_every_problem_with_its_location() {
        let e = err(r#"{"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1},
                "B": {"Type": "Pass", "End": "yes"},
                "C": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true, "InputPath": "x"}
            }}"#);
        assert!(
            e.contains("Field 'Bogus' is not supported at /States/A"),
            "{e}"
        );
        assert!(
            e.contains(
                "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next"
            ),
            "{e}"
        );
        assert!(
            e.contains("Expected value of type Boolean but found String at /States/B/End"),
            "{e}"
        );
        assert!(e.contains("The value for the field 'InputPath' must be a valid JSONPath at /States/C/InputPath"), "{e}");
    }

    #[test]
    fn item_batcher_belongs_to_a_distributed_map() {
        let map = |mode: &str, batcher: &str| {
            format!(
                r#"{{"StartAt": "M", "States": {{"M": {{"Type": "Map", "End": true, "ItemBatcher": {batcher},
                    "ItemProcessor": {{"ProcessorConfig": {{"Mode": "{mode}"}}, "StartAt": "P",
                        "States": {{"P": {{"Type": "Pass", "End": true}}}}}}}}}}}}"#
            )
        };
        assert!(compile(
            &map("DISTRIBUTED", r#"{"MaxItemsPerBatch": 2}"#),
            MachineType::Standard
        )
        .is_ok());
        let e = err(&map("INLINE", r#"{"MaxItemsPerBatch": 2}"#));
        assert!(
            e.contains("The field 'ItemBatcher' is only supported for a Map in DISTRIBUTED mode at /States/M/ItemBatcher"),
            "{e}"
        );
        let e = err(&map("DISTRIBUTED", r#"{"MaxItems": 2, "BatchInput": 3}"#));
        assert!(
            e.contains("Field 'MaxItems' is not supported at /States/M/ItemBatcher"),
            "{e}"
        );
        assert!(e.contains("at /States/M/ItemBatcher/BatchInput"), "{e}");
        let e = err(&map(
            "DISTRIBUTED",
            r#"{"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.n"}"#,
        ));
        assert!(
            e.contains("Only one of 'MaxItemsPerBatch' and 'MaxItemsPerBatchPath' may be given"),
            "{e}"
        );
        let reader =
            map("DISTRIBUTED", "{}").replace(r#""ItemBatcher": {}"#, r#""ItemReader": {}"#);
        assert!(err(&reader).contains("The field 'ItemReader' (Distributed Map) is not supported"));
    }

    #[test]
    fn unreachable_and_express_rules() {
        let e = err(
            r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}"#,
        );
        assert!(
            e.contains("MISSING_TRANSITION_TARGET: State \"B\" is not reachable. at /States/B"),
            "{e}"
        );
        let e = compile(
            r#"{"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": true}}}"#,
            MachineType::Express,
        )
        .unwrap_err()
        .to_string();
        assert!(e.ends_with(
            "SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/S/Resource'"
        ), "{e}");
        let loop_only = err(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}"#);
        assert!(loop_only.contains("MISSING_END_STATE"), "{loop_only}");
    }

    #[test]
    fn deep_or_hostile_definitions_do_not_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(compile(&deep, MachineType::Standard).is_err());
        let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert!(compile(&deep_obj, MachineType::Standard).is_err());
    }

    /// The errors of a definition that must be refused, as (code, message, location).
    fn errors(text: &str) -> Vec<(&'static str, String, String)> {
        compile(text, MachineType::Express)
            .unwrap_err()
            .errors()
            .map(|d| {
                (
                    d.code,
                    d.message.clone(),
                    d.location.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn jsonata_machine(states: &str) -> String {
        format!(r#"{{"QueryLanguage": "JSONata", "StartAt": "A", "States": {{{states}}}}}"#)
    }

    #[test]
    fn jsonpath_state_in_a_jsonata_machine() {
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}"#
            )),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
                    .to_string(),
                "/States/A".to_string()
            )]
        );
    }

    #[test]
    fn fields_of_the_other_query_language() {
        let jsonpath = |state: &str| {
            errors(&format!(
                r#"{{"StartAt": "A", "States": {{"A": {state}}}}}"#
            ))
        };
        let only_jsonata = |f: &str| {
            format!("The QueryLanguage is set to 'JSONPath', but field '{f}' is only supported for the 'JSONata' QueryLanguage")
        };
        let only_jsonpath = |f: &str| {
            format!("The QueryLanguage is set to 'JSONata', but field '{f}' is only supported for the 'JSONPath' QueryLanguage")
        };
        assert_eq!(
            jsonpath(r#"{"Type": "Pass", "Output": 1, "End": true}"#),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                only_jsonata("Output"),
                "/States/A".into()
            )]
        );
        assert_eq!(
            jsonpath(
                r#"{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Arguments": {}, "End": true}"#
            ),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                only_jsonata("Arguments"),
                "/States/A".into()
            )]
        );
        assert_eq!(
            jsonpath(r#"{"Type": "Choice", "Choices": [{"Condition": true, "Next": "A"}]}"#),
            vec![
                (
                    SCHEMA_VALIDATION_FAILED,
                    only_jsonata("Condition"),
                    "/States/A/Choices[0]".into()
                ),
                (
                    SCHEMA_VALIDATION_FAILED,
                    "A choice rule needs exactly one comparison operator, And, Or or Not".into(),
                    "/States/A/Choices[0]".into()
                )
            ]
        );
        for (field, value) in [
            ("Parameters", "{}"),
            ("InputPath", r#""$.a""#),
            ("ResultPath", r#""$.a""#),
            ("OutputPath", r#""$.a""#),
        ] {
            assert_eq!(
                errors(&jsonata_machine(&format!(
                    r#""A": {{"Type": "Pass", "{field}": {value}, "End": true}}"#
                ))),
                vec![(
                    SCHEMA_VALIDATION_FAILED,
                    only_jsonpath(field),
                    "/States/A".into()
                )]
            );
        }
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}, "End": true}"#
            )),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                only_jsonpath("ItemsPath"),
                "/States/A".into()
            )]
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "ResultSelector": {}, "TimeoutSecondsPath": "$.t", "End": true}"#
            ))
            .into_iter()
            .map(|(_, m, _)| m)
            .collect::<Vec<_>>(),
            vec![only_jsonpath("ResultSelector"), only_jsonpath("TimeoutSecondsPath")]
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Condition": true, "Next": "B"}]}, "B": {"Type": "Succeed"}"#
            )),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                only_jsonpath("Variable"),
                "/States/A/Choices[0]".into()
            )]
        );
        // Fields of neither language keep the generic message.
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Pass", "Bogus": 1, "End": true}"#
            )),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                "Field 'Bogus' is not supported".into(),
                "/States/A".into()
            )]
        );
        assert_eq!(
            jsonpath(r#"{"Type": "Pass", "Bogus": 1, "End": true}"#),
            vec![(
                SCHEMA_VALIDATION_FAILED,
                "Field 'Bogus' is not supported".into(),
                "/States/A".into()
            )]
        );
    }

    #[test]
    fn unsupported_jsonata_references() {
        let unsupported = |msg: &str, loc: &str| {
            vec![(
                UNSUPPORTED_JSONATA_EXPRESSION,
                msg.to_string(),
                loc.to_string(),
            )]
        };
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Pass", "Output": "{% $$ %}", "End": true}"#
            )),
            unsupported("Reference to '$$' is not supported.", "/States/A/Output")
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Pass", "Output": {"v": ["{% $states.input.items[$$.x = 1] %}"]}, "End": true}"#
            )),
            unsupported(
                "Reference to '$$' is not supported.",
                "/States/A/Output/v[0]"
            )
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": true}"#
            )),
            unsupported(
                "Reference to 'phone' at the top level is not supported.",
                "/States/A/Output/v"
            )
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Pass", "Assign": {"n": "{% phone.number %}"}, "End": true}"#
            )),
            unsupported(
                "Reference to 'phone' at the top level is not supported.",
                "/States/A/Assign/n"
            )
        );
        // A refused Condition, Seconds or Timestamp gives that one problem and nothing else.
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Choice", "Choices": [{"Condition": "{% ok %}", "Next": "B"}]}, "B": {"Type": "Succeed"}"#
            )),
            unsupported(
                "Reference to 'ok' at the top level is not supported.",
                "/States/A/Choices[0]/Condition"
            )
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Wait", "Seconds": "{% s %}", "End": true}"#
            )),
            unsupported(
                "Reference to 's' at the top level is not supported.",
                "/States/A/Seconds"
            )
        );
        assert_eq!(
            errors(&jsonata_machine(
                r#""A": {"Type": "Wait", "Timestamp": "{% $$.t %}", "End": true}"#
            )),
            unsupported("Reference to '$$' is not supported.", "/States/A/Timestamp")
        );
        // Nested names, variables and `$states` are fine.
        compile(
            &jsonata_machine(
                r#""A": {"Type": "Pass", "Assign": {"x": [1]}, "Output": {
                    "a": "{% $states.input.items[price > 10].sku %}",
                    "b": "{% $map($x, function($i){ $i.a }) %}",
                    "c": "{% $states.input.{ 'a': b } %}",
                    "d": "{% $x[0] & $states.context.Execution.Name %}",
                    "e": "{% $ %}"
                }, "End": true}"#,
            ),
            MachineType::Express,
        )
        .unwrap();
        // In a JSONPath state, `{% ... %}` is just text.
        compile(
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": "{% $$ %}"}, "End": true}}}"#,
            MachineType::Express,
        )
        .unwrap();
    }

    #[test]
    fn warnings_do_not_block() {
        let p = compile(
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x.$": "$.a"}, "Parameters": {"y": "$.b"}, "End": true}}}"#,
            MachineType::Express,
        )
        .unwrap();
        let codes: Vec<&str> = p.warnings.iter().map(|d| d.code).collect();
        assert!(codes.contains(&PASS_RESULT_IS_STATIC));
        assert!(codes.contains(&NO_DOLLAR));
        let p = compile(
            r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "$.e"}}}"#,
            MachineType::Express,
        )
        .unwrap();
        assert_eq!(p.warnings[0].code, NO_PATH);
        assert_eq!(p.warnings[0].location.as_deref(), Some("/States/F/Error"));
    }
}
