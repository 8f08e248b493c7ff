//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`) and the reference-path
//! steps of input and output processing (`InputPath`, `ResultPath`, `OutputPath`).

use crate::errors::Failure;
use crate::intrinsics::{self, Call, Env};
use crate::path::{Path, RefKey, Root};
use crate::rng::Rng;
use crate::value::{to_text, Map, Value};

/// Workflow variables by name.
pub type Vars = Map<String, Value>;

/// A compiled payload template: static parts are kept as values, `.$` fields as paths or calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path { path: Path, field: String },
    Call { call: Box<Call>, field: String },
}

/// A problem found while compiling a template: the JSON pointer below the template, and the message.
pub type TemplateProblem = (String, String);

impl Template {
    /// Compiles a template; every problem is reported with its location below the template root.
    pub fn compile(value: &Value) -> Result<Template, Vec<TemplateProblem>> {
        let mut problems = Vec::new();
        let t = compile_at(value, "", &mut problems);
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems)
        }
    }

    pub fn eval(
        &self,
        input: &Value,
        context: &Value,
        vars: &Vars,
        rng: &mut Rng,
    ) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval(input, context, vars, rng)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(input, context, vars, rng))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Template::Path { path, field } => query_field(path, input, context, vars, field),
            Template::Call { call, field } => {
                let mut env = Env {
                    input,
                    context,
                    vars,
                    rng,
                };
                intrinsics::eval(call, &mut env, field)
            }
        }
    }
}

fn compile_at(value: &Value, at: &str, problems: &mut Vec<TemplateProblem>) -> Template {
    match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            let mut dynamic = false;
            for (k, v) in map {
                let loc = format!("{at}/{k}");
                let t = match k.strip_suffix(".$") {
                    Some(name) => {
                        dynamic = true;
                        (name.to_string(), compile_dynamic(k, v, &loc, problems))
                    }
                    None => {
                        let t = compile_at(v, &loc, problems);
                        dynamic |= !matches!(t, Template::Literal(_));
                        (k.clone(), t)
                    }
                };
                fields.push(t);
            }
            if dynamic {
                Template::Object(fields)
            } else {
                Template::Literal(value.clone())
            }
        }
        Value::Array(items) => {
            let ts: Vec<Template> = items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_at(v, &format!("{at}/{i}"), problems))
                .collect();
            if ts.iter().all(|t| matches!(t, Template::Literal(_))) {
                Template::Literal(value.clone())
            } else {
                Template::Array(ts)
            }
        }
        other => Template::Literal(other.clone()),
    }
}

fn compile_dynamic(
    key: &str,
    v: &Value,
    loc: &str,
    problems: &mut Vec<TemplateProblem>,
) -> Template {
    let bad = || {
        (
            loc.to_string(),
            format!("The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"),
        )
    };
    let Some(text) = v.as_str() else {
        problems.push(bad());
        return Template::Literal(Value::Null);
    };
    let compiled = if intrinsics::looks_like_call(text) {
        intrinsics::parse(text).map(|call| Template::Call {
            call: Box::new(call),
            field: key.to_string(),
        })
    } else {
        Path::parse(text).map(|path| Template::Path {
            path,
            field: key.to_string(),
        })
    };
    compiled.unwrap_or_else(|_| {
        problems.push(bad());
        Template::Literal(Value::Null)
    })
}

/// Evaluates the path of a payload field (`field` is its name, e.g. `value.$`); a miss fails
/// with AWS's text, which quotes the field's input.
pub fn query_field(
    path: &Path,
    input: &Value,
    context: &Value,
    vars: &Vars,
    field: &str,
) -> Result<Value, Failure> {
    path.query(root_of(path, input, context, vars)?)
        .map_err(|_| {
            Failure::runtime(format!(
            "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
            path.text(),
            field,
            to_text(input)
        ))
        })
}

/// What `path` reads (see [`Path::pick`]); a `$name` path whose variable is not set fails.
fn root_of<'a>(
    path: &Path,
    input: &'a Value,
    context: &'a Value,
    vars: &'a Vars,
) -> Result<&'a Value, Failure> {
    path.pick(input, context, vars).ok_or_else(|| {
        Failure::runtime(format!(
            "The variable '{}' referenced by the JSONPath '{}' is not defined",
            path.variable().unwrap_or_default(),
            path.text()
        ))
    })
}

/// Evaluates a path on `input` (or on the variable or context it names), failing with AWS's
/// texts: an unset variable, or a path that does not apply (`Invalid path '...' : ...`).
pub fn query_path(
    path: &Path,
    input: &Value,
    context: &Value,
    vars: &Vars,
) -> Result<Value, Failure> {
    path.query(root_of(path, input, context, vars)?)
        .map_err(|e| Failure::runtime(format!("Invalid path '{}' : {}", path.text(), e)))
}

/// Applies an InputPath or OutputPath: absent means `$`, `null` (None inside) means `{}`.
pub fn select(
    path: &Option<Option<Path>>,
    value: Value,
    context: &Value,
    vars: &Vars,
) -> Result<Value, Failure> {
    Ok(select_part(path, &value, context, vars)?.unwrap_or(value))
}

/// `select` without taking the value: `None` when the selection is the whole value, else what
/// it selects (a copy). The value is still there when the path does not match.
pub fn select_part(
    path: &Option<Option<Path>>,
    value: &Value,
    context: &Value,
    vars: &Vars,
) -> Result<Option<Value>, Failure> {
    match path {
        None => Ok(None),
        Some(None) => Ok(Some(Value::Object(Map::new()))),
        Some(Some(p)) if p.is_root() && p.root() == Root::Input => Ok(None),
        Some(Some(p)) => query_path(p, value, context, vars).map(Some),
    }
}

/// Applies a ResultPath: absent means `$` (the result replaces the input), `null` keeps the
/// input and drops the result, and a reference path writes the result into a copy of the
/// input, creating the objects on the way.
pub fn merge_result(
    path: &Option<Option<Path>>,
    input: Value,
    result: Value,
) -> Result<Value, Failure> {
    merge_undoable(path, input, result)
        .map(|(merged, _)| merged)
        .map_err(|failed| failed.0)
}

/// What a ResultPath merge changed, to give the input back as it was: a Catch needs a state's raw
/// input when a step after the merge fails (OutputPath, the payload limits), and keeping a copy of
/// every input for that would cost a deep copy per state.
pub enum Unmerge {
    /// The result replaced the input (ResultPath `$`, or none): this was the input.
    Replaced(Value),
    /// The merged value is the input itself (ResultPath null), or nothing was changed.
    Unchanged,
    /// The input was changed first at the `depth`-th key of the path (the steps above it only
    /// went into containers that were there): the key was added (`None`), or its value was
    /// replaced (`Some`, what it was). Undoing that one change undoes everything under it.
    At { depth: usize, was: Option<Value> },
}

impl Unmerge {
    /// The input as it was before the merge that gave `merged` (along `path`, the same path).
    pub fn undo(self, path: &Option<Option<Path>>, mut merged: Value) -> Value {
        match self {
            Unmerge::Replaced(input) => input,
            Unmerge::Unchanged => merged,
            Unmerge::At { depth, was } => {
                if let Some(Some(p)) = path {
                    undo_at(&mut merged, p, depth, was);
                }
                merged
            }
        }
    }
}

/// Puts back what the merge changed at the `depth`-th key of `p` (see [`Unmerge::At`]).
fn undo_at(doc: &mut Value, p: &Path, depth: usize, was: Option<Value>) {
    let mut node = doc;
    for (i, key) in p.reference_keys().enumerate() {
        let slot = match (key, node) {
            (RefKey::Field(name), Value::Object(m)) if i == depth => {
                match was {
                    // It was added last: removing it leaves the keys in their order.
                    None => drop(m.shift_remove(name)),
                    Some(old) => {
                        if let Some(slot) = m.get_mut(name) {
                            *slot = old;
                        }
                    }
                }
                return;
            }
            (RefKey::Field(name), Value::Object(m)) => m.get_mut(name),
            (RefKey::Index(idx), Value::Array(a)) => array_slot(a, idx),
            _ => None,
        };
        match slot {
            Some(slot) if i == depth => {
                if let Some(old) = was {
                    *slot = old;
                }
                return;
            }
            Some(slot) => node = slot,
            None => return,
        }
    }
}

/// The item at `idx` (counted from the end when negative).
fn array_slot(a: &mut [Value], idx: i64) -> Option<&mut Value> {
    let k = if idx < 0 { a.len() as i64 + idx } else { idx };
    if k < 0 {
        return None;
    }
    a.get_mut(k as usize)
}

/// `merge_result`, also giving what undoes it; on failure, the input comes back as it was (boxed:
/// failing is rare, and the box keeps the usual result small).
pub fn merge_undoable(
    path: &Option<Option<Path>>,
    input: Value,
    result: Value,
) -> Result<(Value, Unmerge), Box<(Failure, Value)>> {
    let p = match path {
        None => return Ok((result, Unmerge::Replaced(input))),
        Some(None) => return Ok((input, Unmerge::Unchanged)),
        Some(Some(p)) if p.is_root() => return Ok((result, Unmerge::Replaced(input))),
        Some(Some(p)) => p,
    };
    let mut doc = input;
    let (placed, first_change) = place(&mut doc, p, result);
    let unmerge = match first_change {
        Some((depth, was)) => Unmerge::At { depth, was },
        None => Unmerge::Unchanged,
    };
    match placed {
        Ok(()) => Ok((doc, unmerge)),
        Err(result) => {
            let failure = result_path_mismatch(p, &result);
            Err(Box::new((failure, unmerge.undo(path, doc))))
        }
    }
}

/// Writes `result` at reference path `p` in `doc`, creating the objects on the way; gives the
/// result back when it cannot be placed, and the first change made (see [`Unmerge::At`]).
#[allow(clippy::type_complexity)]
fn place(
    doc: &mut Value,
    p: &Path,
    result: Value,
) -> (Result<(), Value>, Option<(usize, Option<Value>)>) {
    let mut first_change: Option<(usize, Option<Value>)> = None;
    let mut keys = p.reference_keys().enumerate().peekable();
    let mut node = doc;
    while let Some((depth, key)) = keys.next() {
        let last = keys.peek().is_none();
        let slot = match (key, node) {
            (RefKey::Field(name), Value::Object(m)) => {
                // The key is copied only when the field is new.
                if !m.contains_key(name) {
                    m.insert(name.to_string(), Value::Null);
                    first_change.get_or_insert((depth, None));
                }
                m.get_mut(name)
            }
            (RefKey::Index(idx), Value::Array(a)) => array_slot(a, idx),
            _ => None,
        };
        let Some(slot) = slot else {
            return (Err(result), first_change);
        };
        if last {
            let was = std::mem::replace(slot, Value::Null);
            first_change.get_or_insert((depth, Some(was)));
            *slot = result;
            return (Ok(()), first_change);
        }
        if !slot.is_object() && !slot.is_array() {
            let was = std::mem::replace(slot, Value::Object(Map::new()));
            first_change.get_or_insert((depth, Some(was)));
        }
        node = slot;
    }
    // A reference path with no keys is the root, which `merge_undoable` handles.
    (Err(result), first_change)
}

fn result_path_mismatch(p: &Path, result: &Value) -> Failure {
    Failure::in_state(
        crate::errors::RESULT_PATH_MATCH_FAILURE,
        format!(
            "Unable to apply ResultPath '{}' to input, the result '{}' cannot be placed there",
            p.text(),
            to_text(result)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Text keeps the key order, which `==` on objects does not compare.
    fn text(v: &Value) -> String {
        to_text(v)
    }

    #[test]
    fn undoing_a_merge_gives_the_input_back_key_order_included() {
        let cases = [
            ("$", json!({"a": 1})),
            ("$.r", json!({"a": 1, "b": 2})),
            ("$.a", json!({"a": 1, "b": 2})),
            ("$.x.y", json!({"x": 1, "z": 0})),
            ("$.x.y", json!({"z": 0})),
            ("$.x.y", json!({"x": {"y": 1, "w": 2}, "z": 0})),
            ("$.x.y.z", json!({"x": {"w": 2}})),
            ("$.l[1]", json!({"l": [0, 1, 2]})),
            ("$.l[-1].v", json!({"l": [{"v": 1, "u": 2}]})),
            ("$.l[0].v", json!({"l": ["text"]})),
        ];
        for (path, input) in cases {
            let rp = Some(Path::parse(path).ok());
            let (merged, unmerge) = merge_undoable(&rp, input.clone(), json!({"new": true}))
                .unwrap_or_else(|_| panic!("{path} should apply"));
            assert_ne!(text(&merged), text(&input), "{path}");
            let back = unmerge.undo(&rp, merged);
            assert_eq!(text(&back), text(&input), "{path}");
        }
        // ResultPath null: the input is the output.
        let (merged, unmerge) = merge_undoable(&Some(None), json!({"a": 1}), json!(2)).unwrap();
        assert_eq!(unmerge.undo(&Some(None), merged), json!({"a": 1}));
    }

    #[test]
    fn a_merge_that_fails_gives_the_input_back_unchanged() {
        let cases = [
            ("$.r", json!("text")),
            ("$.r", json!([1, 2])),
            ("$.a[0]", json!({"b": 1})),
            ("$.a.b[0]", json!({"a": {"c": 1}, "d": 2})),
            ("$.a.b[0]", json!({"a": 5, "d": 2})),
            ("$.l[5]", json!({"l": [1]})),
            ("$.l[-2]", json!({"l": [1]})),
        ];
        for (path, input) in cases {
            let rp = Some(Path::parse(path).ok());
            let Err(failed) = merge_undoable(&rp, input.clone(), json!(1)) else {
                panic!("{path} should not apply to {input}");
            };
            let (failure, back) = *failed;
            assert_eq!(failure.error, crate::errors::RESULT_PATH_MATCH_FAILURE);
            assert_eq!(text(&back), text(&input), "{path}");
        }
    }

    fn ev(t: Value, input: Value) -> Result<Value, Failure> {
        Template::compile(&t).unwrap().eval(
            &input,
            &json!({"Execution": {"Name": "n"}}),
            &Vars::new(),
            &mut Rng::new(1),
        )
    }

    #[test]
    fn templates_resolve_paths_calls_and_context() {
        assert_eq!(
            ev(
                json!({"a.$": "$.x", "b": {"c.$": "$$.Execution.Name"}, "d": [{"e.$": "States.Array($.x)"}], "f": 1}),
                json!({"x": 5})
            )
            .unwrap(),
            json!({"a": 5, "b": {"c": "n"}, "d": [{"e": [5]}], "f": 1})
        );
        assert_eq!(
            ev(
                json!({"a.$": "$.l[*].v"}),
                json!({"l": [{"v": 1}, {"v": 2}]})
            )
            .unwrap(),
            json!({"a": [1, 2]})
        );
    }

    #[test]
    fn template_path_failure_names_field_and_input() {
        let e = ev(json!({"value.$": "$.nope"}), json!({"a": 1})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert_eq!(
            e.cause.unwrap(),
            "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
        );
    }

    #[test]
    fn template_compile_reports_every_problem() {
        let errs = Template::compile(&json!({"a.$": 3, "b": {"c.$": "nope"}})).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[1].0, "/b/c.$");
    }

    #[test]
    fn result_path_creates_and_replaces() {
        let p = |s: &str| Some(Some(Path::parse(s).unwrap()));
        assert_eq!(
            merge_result(&p("$.r"), json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1, "r": 2})
        );
        assert_eq!(
            merge_result(&p("$.x.y"), json!({"x": 1}), json!(2)).unwrap(),
            json!({"x": {"y": 2}})
        );
        assert_eq!(
            merge_result(&None, json!({"a": 1}), json!(2)).unwrap(),
            json!(2)
        );
        assert_eq!(
            merge_result(&Some(None), json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1})
        );
        assert_eq!(
            merge_result(&p("$.l[1]"), json!({"l": [0, 0]}), json!(2)).unwrap(),
            json!({"l": [0, 2]})
        );
        assert!(merge_result(&p("$.r"), json!("text"), json!(2)).is_err());
    }

    #[test]
    fn input_and_output_paths() {
        let p = Some(Some(Path::parse("$.no.such").unwrap()));
        let e = select(&p, json!({}), &json!({}), &Vars::new()).unwrap_err();
        assert_eq!(
            e.cause.unwrap(),
            "Invalid path '$.no.such' : Missing property in path $['no']"
        );
        assert_eq!(
            select(&Some(None), json!({"a": 1}), &json!({}), &Vars::new()).unwrap(),
            json!({})
        );
    }
}
