//! What a failing Python task handler's exception becomes: the (error, cause) the AWS Lambda Python
//! runtime reports for it. Made here rather than in Python because it happens on every failing
//! handler call that something reads the cause of (a Catch, a history, the execution's own failure),
//! and the Python version cost about a microsecond, most of it walking the traceback.

use crate::{KeyHasher, IDS};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
use std::cell::RefCell;
use std::collections::HashMap;

/// `expressway.TaskFailed`, whose error and cause are taken as they are.
static TASK_FAILED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
/// The package's own directory: its frames are left out of stack traces.
static PACKAGE_DIR: PyOnceLock<String> = PyOnceLock::new();
/// `linecache.getline`, for the source line of a frame not seen before.
static GETLINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The most frames whose JSON text is kept (handlers fail from the same few places over and over).
const FRAMES_KEPT: usize = 4096;

thread_local! {
    /// A frame's JSON string per (file, line, function): what its text is made of. (Not per code
    /// object: equal code objects from two files compare equal.)
    static FRAMES: RefCell<HashMap<(String, i64, String), String, KeyHasher>> =
        RefCell::new(HashMap::default());
}

/// The (error, cause) a handler's exception fails its task with: a `TaskFailed` gives exactly its
/// error and cause; anything else is reported as the AWS Lambda Python runtime reports it (its
/// class name, and the runtime's error document with message, type, request id and stack trace).
/// `compact`: the document as `lambda:invoke` reports it, written again without spaces (Step
/// Functions re-serialises the function's error payload there; a Lambda ARN resource passes the
/// runtime's text on as it is).
#[pyfunction]
#[pyo3(signature = (exc, compact = false))]
pub fn exception_outcome(
    exc: &Bound<'_, PyAny>,
    compact: bool,
) -> PyResult<(String, Option<String>)> {
    let py = exc.py();
    if is_task_failed(&exc.get_type())? {
        return Ok((
            exc.getattr(intern!(py, "error"))?.extract()?,
            exc.getattr(intern!(py, "cause"))?.extract()?,
        ));
    }
    let error_type = exc.get_type().name()?.to_string();
    let message = exc.str()?.to_string_lossy().into_owned();
    let frames = stack_trace_json(exc, separator(compact))?;
    let document = lambda_error(&message, &error_type, &frames, compact);
    Ok((error_type, Some(document)))
}

/// What separates the members of the error document (and the frames of its stack trace).
fn separator(compact: bool) -> &'static str {
    if compact {
        ","
    } else {
        ", "
    }
}

/// Whether exceptions of type `exc_type` are `expressway.TaskFailed`s.
pub fn is_task_failed(exc_type: &Bound<'_, PyType>) -> PyResult<bool> {
    exc_type.is_subclass(TASK_FAILED.import(exc_type.py(), "expressway._errors", "TaskFailed")?)
}

/// The Lambda runtime's error document, as Python's `json.dumps(..., ensure_ascii=False)` writes it
/// (`compact`: with no spaces after the separators); `frames` is the inside of its `stackTrace`
/// array (JSON strings, comma-separated).
#[pyfunction]
#[pyo3(signature = (message, error_type, frames, compact = false))]
pub fn lambda_error(message: &str, error_type: &str, frames: &str, compact: bool) -> String {
    let (colon, comma) = (if compact { ":" } else { ": " }, separator(compact));
    let mut out = String::with_capacity(96 + message.len() + error_type.len() + frames.len());
    out.push_str("{\"errorMessage\"");
    out.push_str(colon);
    push_json_string(&mut out, message);
    for (key, text) in [
        ("errorType", error_type),
        ("requestId", IDS.uuid_v4().as_str()),
    ] {
        out.push_str(comma);
        out.push('"');
        out.push_str(key);
        out.push('"');
        out.push_str(colon);
        push_json_string(&mut out, text);
    }
    out.push_str(comma);
    out.push_str("\"stackTrace\"");
    out.push_str(colon);
    out.push('[');
    out.push_str(frames);
    out.push_str("]}");
    out
}

/// The traceback as the Lambda runtime lists it, one JSON string per frame, `separator` between
/// them, the package's own frames left out.
fn stack_trace_json(exc: &Bound<'_, PyAny>, separator: &str) -> PyResult<String> {
    let py = exc.py();
    let package_dir = PACKAGE_DIR.get_or_try_init(py, || {
        py.import("expressway._resources")?
            .getattr("_PACKAGE_DIR")?
            .extract::<String>()
    })?;
    let mut out = String::new();
    let mut tb = exc.getattr(intern!(py, "__traceback__"))?;
    while !tb.is_none() {
        let code = tb
            .getattr(intern!(py, "tb_frame"))?
            .getattr(intern!(py, "f_code"))?;
        let filename = code.getattr(intern!(py, "co_filename"))?;
        let filename = filename.cast::<PyString>()?.to_string_lossy();
        if !filename.starts_with(package_dir.as_str()) {
            let lineno: i64 = tb.getattr(intern!(py, "tb_lineno"))?.extract()?;
            let name = code.getattr(intern!(py, "co_name"))?;
            let name = name.cast::<PyString>()?.to_string_lossy();
            if !out.is_empty() {
                out.push_str(separator);
            }
            push_frame_json(py, &mut out, &filename, lineno, &name)?;
        }
        tb = tb.getattr(intern!(py, "tb_next"))?;
    }
    Ok(out)
}

/// One frame of a stack trace as the Lambda runtime writes it, with its source line, as a JSON
/// string.
fn push_frame_json(
    py: Python<'_>,
    out: &mut String,
    filename: &str,
    lineno: i64,
    name: &str,
) -> PyResult<()> {
    let key = (filename.to_string(), lineno, name.to_string());
    if let Some(text) = FRAMES.with_borrow(|frames| frames.get(&key).cloned()) {
        out.push_str(&text);
        return Ok(());
    }
    let mut line = format!("  File \"{filename}\", line {lineno}, in {name}\n");
    let getline = GETLINE.import(py, "linecache", "getline")?;
    // Stripped by Python itself: its idea of whitespace is not quite Rust's.
    let source = getline
        .call1((filename, lineno))?
        .call_method0(intern!(py, "strip"))?;
    let source = source.cast::<PyString>()?.to_string_lossy();
    if !source.is_empty() {
        line.push_str("    ");
        line.push_str(&source);
        line.push('\n');
    }
    let mut text = String::with_capacity(line.len() + 8);
    push_json_string(&mut text, &line);
    out.push_str(&text);
    FRAMES.with_borrow_mut(|frames| {
        if frames.len() >= FRAMES_KEPT {
            frames.clear();
        }
        frames.insert(key, text);
    });
    Ok(())
}

/// `s` as a JSON string, escaped as Python's `json.dumps(s, ensure_ascii=False)` does (and
/// serde_json: quote, backslash and control characters only).
fn push_json_string(out: &mut String, s: &str) {
    // Writing a str to a String cannot fail.
    if let Ok(text) = serde_json::to_string(s) {
        out.push_str(&text);
    }
}
