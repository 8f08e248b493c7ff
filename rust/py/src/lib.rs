//! `expressway._core`: thin pyo3 bindings over expressway-core. Conversion and wrappers only; the
//! engine lives in the core crate.

use expressway_core as core;
use expressway_core::Value;
use pyo3::create_exception;
use pyo3::exceptions::{PyBaseException, PyException, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use std::sync::Arc;

mod jsonata_fast;
mod lambda_error;
mod result;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(
    _core,
    DefinitionError,
    PyException,
    "A definition AWS would refuse: args are (message, code, diagnostics)."
);

/// Deepest Python value converted to JSON (the same limit as for JSON text); deeper values raise
/// ValueError instead of overflowing the stack.
const MAX_DEPTH: usize = core::value::MAX_DEPTH;

fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(key_to_py(py, k), to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// An object key as a Python str. Keys repeat (every item of a list of records has the same ones),
/// so short keys are kept per thread and the same str object is handed out again: no new string to
/// make, and its hash, which the dict needs, is already computed.
fn key_to_py<'py>(py: Python<'py>, key: &str) -> Bound<'py, PyString> {
    kept_str(py, key, 32)
}

/// A task's resource as a Python str, to look its handler up with: the same few come back on every
/// call, and are long (ARNs), so hashing a new str each time would cost more than the lookup.
fn resource_to_py<'py>(py: Python<'py>, resource: &str) -> Bound<'py, PyString> {
    kept_str(py, resource, 256)
}

/// `key` as a Python str, kept per thread when it is at most `longest` bytes long (see `key_to_py`).
fn kept_str<'py>(py: Python<'py>, key: &str, longest: usize) -> Bound<'py, PyString> {
    const MOST: usize = 1024;
    thread_local! {
        static KEYS: std::cell::RefCell<std::collections::HashMap<Box<str>, Py<PyString>, KeyHasher>> =
            std::cell::RefCell::new(std::collections::HashMap::default());
    }
    if key.len() > longest {
        return PyString::new(py, key);
    }
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some(found) = keys.get(key) {
            return found.bind(py).clone();
        }
        if keys.len() >= MOST {
            keys.clear();
        }
        let made = PyString::new(py, key);
        keys.insert(key.into(), made.clone().unbind());
        made
    })
}

/// The caches of strings kept per thread (object keys, resources, stack frames) hash them with
/// this: eight bytes a step (the multiply-rotate of rustc's FxHasher), where SipHash's set-up
/// dominates for short keys and a byte-a-step hash is slow for long ones (ARNs).
#[derive(Default, Clone, Copy)]
struct WordHash(u64);

impl WordHash {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
}

type KeyHasher = std::hash::BuildHasherDefault<WordHash>;

fn from_py(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "value is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    // The commonest exact types first (one type comparison each), then the general checks.
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast_exact::<PyDict>() {
        return dict_from_py(d, depth);
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(x) = i.extract::<i64>() {
            return Ok(Value::from(x));
        }
        if let Ok(x) = i.extract::<u64>() {
            return Ok(Value::from(x));
        }
        let f: f64 = i.extract()?;
        return Ok(core::value::number_from_f64(f));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        return serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{x} is not a JSON number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return dict_from_py(d, depth);
    }
    if let Ok(l) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(l.len());
        for x in l.iter() {
            out.push(from_py(&x, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let mut out = Vec::with_capacity(t.len());
        for x in t.iter() {
            out.push(from_py(&x, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    Err(PyTypeError::new_err(format!(
        "Object of type {} is not JSON serializable",
        obj.get_type().name()?
    )))
}

fn dict_from_py(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<Value> {
    let mut m = serde_json::Map::with_capacity(d.len());
    for (k, v) in d.iter() {
        let key = match k.cast::<PyString>() {
            Ok(s) => s.to_str()?.to_owned(),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "JSON object keys must be str, not {}",
                    k.get_type().name()?
                )))
            }
        };
        m.insert(key, from_py(&v, depth + 1)?);
    }
    Ok(Value::Object(m))
}

fn parse_json(text: &str) -> PyResult<Value> {
    core::value::parse(text).map_err(|e| PyValueError::new_err(format!("invalid JSON: {e}")))
}

fn machine_type(name: &str) -> PyResult<core::MachineType> {
    core::MachineType::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "machine type must be EXPRESS or STANDARD, not {name:?}"
        ))
    })
}

fn diagnostics_to_py<'py>(
    py: Python<'py>,
    diags: &[core::Diagnostic],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for d in diags {
        let item = PyDict::new(py);
        item.set_item("severity", d.severity.as_str())?;
        item.set_item("code", d.code)?;
        item.set_item("message", &d.message)?;
        if let Some(loc) = &d.location {
            item.set_item("location", loc)?;
        }
        list.append(item)?;
    }
    Ok(list)
}

/// Every diagnostic (errors and warnings) for a definition; never raises for a bad definition.
#[pyfunction]
#[pyo3(signature = (definition, machine_type = "EXPRESS"))]
fn validate<'py>(
    py: Python<'py>,
    definition: &str,
    machine_type: &str,
) -> PyResult<Bound<'py, PyList>> {
    let mt = self::machine_type(machine_type)?;
    diagnostics_to_py(py, &core::validate(definition, mt))
}

/// Request ids and execution names: unique, not secret (see core::rng::IdSource). Python seeds it from
/// the OS at import and again in a forked child.
static IDS: core::rng::IdSource = core::rng::IdSource::new(0);

/// A new random (version 4) UUID as text.
#[pyfunction]
fn new_uuid() -> String {
    IDS.uuid_v4()
}

/// Starts a new identifier sequence from ``seed``.
#[pyfunction]
fn seed_ids(seed: u64) {
    IDS.reseed(seed);
}

/// A compiled state machine definition.
#[pyclass(frozen, module = "expressway._core")]
struct Program {
    inner: Arc<core::Program>,
}

fn context_from(ctx: &Bound<'_, PyDict>) -> PyResult<core::ExecContext> {
    // Most executions read no `$$`: the driver then gives an empty dict, and nothing is looked up.
    if ctx.is_empty() {
        return Ok(core::ExecContext::default());
    }
    let py = ctx.py();
    let get = |key: &Bound<'_, PyString>| -> PyResult<String> {
        match ctx.get_item(key)? {
            Some(v) if !v.is_none() => v.extract(),
            _ => Ok(String::new()),
        }
    };
    let start_time_ms = match ctx.get_item(intern!(py, "start_time_ms"))? {
        Some(v) if !v.is_none() => v.extract()?,
        _ => 0,
    };
    Ok(core::ExecContext {
        execution_id: get(intern!(py, "execution_id"))?,
        execution_name: get(intern!(py, "execution_name"))?,
        start_time: get(intern!(py, "start_time"))?,
        start_time_ms,
        role_arn: get(intern!(py, "role_arn"))?,
        state_machine_id: get(intern!(py, "state_machine_id"))?,
        state_machine_name: get(intern!(py, "state_machine_name"))?,
    })
}

#[pymethods]
impl Program {
    #[new]
    #[pyo3(signature = (definition, machine_type = "EXPRESS"))]
    fn new(py: Python<'_>, definition: &str, machine_type: &str) -> PyResult<Program> {
        let mt = self::machine_type(machine_type)?;
        match core::compile(definition, mt) {
            Ok(p) => Ok(Program { inner: Arc::new(p) }),
            Err(e) => {
                let diags = diagnostics_to_py(py, &e.diagnostics)?;
                Err(DefinitionError::new_err((
                    e.to_string(),
                    e.code(),
                    diags.unbind(),
                )))
            }
        }
    }

    #[getter]
    fn start_at(&self) -> String {
        self.inner.start_at().to_string()
    }

    /// The definition's top-level TimeoutSeconds, if any.
    #[getter]
    fn timeout_seconds(&self) -> Option<u64> {
        self.inner.timeout_seconds
    }

    /// Whether any state reads the context object (`$$`): only then does an execution need its
    /// context (ids, names, times) when it starts.
    #[getter]
    fn uses_context(&self) -> bool {
        self.inner.uses_context
    }

    /// Warnings found while compiling (the definition is valid).
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        diagnostics_to_py(py, &self.inner.warnings)
    }

    /// Starts an execution on JSON text; `history` records its history events.
    #[pyo3(signature = (input_json, context, seed, history = false))]
    fn start(
        &self,
        input_json: &str,
        context: &Bound<'_, PyDict>,
        seed: Option<u64>,
        history: bool,
    ) -> PyResult<Execution> {
        let input = parse_json(input_json)?;
        self.execution(input, context, seed, history)
    }

    /// Runs `n` executions of a task-free workload entirely inside Rust (no Python per execution)
    /// and returns `(executions, transitions, seconds)`: the core's own speed, for benchmarks.
    /// An execution that would need a task or a sleep raises ValueError.
    fn bench(&self, py: Python<'_>, input_json: &str, n: u64) -> PyResult<(u64, u64, f64)> {
        let input = parse_json(input_json)?;
        let program = self.inner.clone();
        let outcome = py.detach(move || {
            let started = std::time::Instant::now();
            let mut transitions = 0;
            for seed in 0..n {
                let mut ex = core::Execution::new(
                    program.clone(),
                    input.clone(),
                    core::ExecContext::default(),
                    seed,
                );
                loop {
                    let effects = ex.run(0);
                    if effects.iter().any(|e| {
                        matches!(e, core::Effect::Invoke { .. } | core::Effect::Sleep { .. })
                    }) {
                        return Err("the workload needs a task or a sleep".to_string());
                    }
                    if ex.status() != core::Status::Running {
                        break;
                    }
                }
                transitions += ex.transitions();
            }
            Ok((n, transitions, started.elapsed().as_secs_f64()))
        });
        outcome.map_err(PyValueError::new_err)
    }

    /// Starts an execution on a Python value; `history` records its history events.
    #[pyo3(signature = (input, context, seed, history = false))]
    fn start_value(
        &self,
        input: &Bound<'_, PyAny>,
        context: &Bound<'_, PyDict>,
        seed: Option<u64>,
        history: bool,
    ) -> PyResult<Execution> {
        let input = from_py(input, 0)?;
        self.execution(input, context, seed, history)
    }
}

impl Program {
    fn execution(
        &self,
        input: Value,
        context: &Bound<'_, PyDict>,
        seed: Option<u64>,
        history: bool,
    ) -> PyResult<Execution> {
        // No seed given: one from the process's id sequence (seeded from the OS at import).
        let seed = seed.unwrap_or_else(|| IDS.next_u64());
        let mut inner =
            core::Execution::new(self.inner.clone(), input, context_from(context)?, seed);
        if history {
            inner.record_history();
        }
        Ok(Execution {
            inner,
            stop_asked: false,
        })
    }
}

/// One running execution.
#[pyclass(module = "expressway._core")]
struct Execution {
    inner: core::Execution,
    /// Set by `ask_stop`: `run_inline` hands back to the driver, which stops the execution.
    stop_asked: bool,
}

#[pymethods]
impl Execution {
    /// Advances at `now_ms` (epoch milliseconds) and returns the new effects as tuples.
    fn run<'py>(&mut self, py: Python<'py>, now_ms: i64) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for e in self.inner.run(now_ms) {
            out.append(effect_tuple(py, e)?)?;
        }
        Ok(out)
    }

    /// `run`, with the plain calls done here: a task whose resource has a handler in `handlers`
    /// (sync handlers that take the payload alone; the driver's router lists them) and no
    /// timeout, heartbeat or task token is called directly, and its outcome reported, with no
    /// effect tuple and no Python driver code in between; with `wake_sleeps` (Waits and retry
    /// pauses scaled to nothing), a sleep ends at once. Once an effect is left to the driver, the
    /// rest of that run's effects are too, in order. While there is nothing for the driver, it
    /// runs again, at the time `clock() * clock_scale` (epoch milliseconds), unless that is
    /// `deadline_ms` or later, a stop was asked for (`ask_stop`) or a signal handler raised
    /// (KeyboardInterrupt propagates): then it hands back.
    ///
    /// Returns `(effects, progressed)`. Besides `run`'s effects, the driver gets what it must
    /// finish itself: `("result", token, value)` for a result that is not plain JSON data (an
    /// awaitable, or something to report as a marshal error).
    /// The execution is not borrowed while a handler runs, so a handler may use it.
    fn run_inline<'py>(
        slf: &Bound<'py, Self>,
        now_ms: i64,
        handlers: &Bound<'py, PyDict>,
        clock: &Bound<'py, PyAny>,
        clock_scale: f64,
        deadline_ms: f64,
        wake_sleeps: bool,
    ) -> PyResult<(Bound<'py, PyList>, bool)> {
        let py = slf.py();
        let out = PyList::empty(py);
        let mut now = now_ms;
        let mut progressed = false;
        loop {
            let effects = slf.borrow_mut().inner.run(now);
            let mut advanced = false;
            for e in effects {
                // Once one effect is left to the driver, so is every one after it: the driver
                // performs them in the order the core gave them, as it would have performed all.
                if !out.is_empty() {
                    out.append(effect_tuple(py, e)?)?;
                    continue;
                }
                match e {
                    core::Effect::Invoke {
                        token,
                        ref resource,
                        ref payload,
                        timeout_seconds: None,
                        heartbeat_seconds: None,
                        task_token: None,
                        ..
                    } => match handlers.get_item(resource_to_py(py, resource))? {
                        Some(handler) => match call_plain(slf, &handler, token, payload)? {
                            Some(left) => out.append(left)?,
                            None => advanced = true,
                        },
                        None => out.append(effect_tuple(py, e)?)?,
                    },
                    core::Effect::Sleep { token, .. } if wake_sleeps => {
                        slf.borrow_mut().inner.wake(token);
                        advanced = true;
                    }
                    other => out.append(effect_tuple(py, other)?)?,
                }
            }
            progressed |= advanced;
            if !out.is_empty() || !advanced {
                return Ok((out, progressed));
            }
            // Another round: as the driver's own loop would, it checks for Ctrl-C, reads the clock
            // and sees whether the deadline has passed or a stop was asked for. (A loop of Waits
            // scaled to nothing calls no handler at all: only these checks end it.)
            py.check_signals()?;
            let t = clock.call0()?.extract::<f64>()? * clock_scale;
            if t >= deadline_ms || slf.borrow().stop_asked {
                return Ok((out, progressed));
            }
            now = t as i64;
        }
    }

    /// The Result of this finished execution, which ran from `start_ms` to `end_ms` (epoch
    /// milliseconds); `names` is its (name, ARN), or what makes them when first asked for.
    fn result(
        slf: &Bound<'_, Self>,
        start_ms: f64,
        end_ms: f64,
        names: Py<PyAny>,
    ) -> result::ExecutionResult {
        result::ExecutionResult::of(slf, ((end_ms - start_ms) / 1000.0).max(0.0), names)
    }

    /// Asks `run_inline` to hand back to the driver at once (the driver is stopping the execution).
    fn ask_stop(&mut self) {
        self.stop_asked = true;
    }

    /// Reports a task result given as a Python value.
    fn complete(&mut self, token: u64, result: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = from_py(result, 0)?;
        self.inner.complete(token, v);
        Ok(())
    }

    /// Reports that a `.waitForTaskToken` task's call went out, with its response (for the
    /// history); the task goes on waiting for its token.
    fn submitted(&mut self, token: u64, response: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = from_py(response, 0)?;
        self.inner.submitted(token, v);
        Ok(())
    }

    /// Reports a task result given as JSON text.
    fn complete_json(&mut self, token: u64, text: &str) -> PyResult<()> {
        let v = parse_json(text)?;
        self.inner.complete(token, v);
        Ok(())
    }

    #[pyo3(signature = (token, error, cause = None))]
    fn fail(&mut self, token: u64, error: String, cause: Option<String>) {
        self.inner.fail(token, error, cause);
    }

    /// Whether a failure named `error` of task `token` would be retried unrecorded (its cause
    /// would never be looked at).
    fn failure_goes_unseen(&self, token: u64, error: &str) -> bool {
        self.inner.failure_goes_unseen(token, error)
    }

    fn wake(&mut self, token: u64) {
        self.inner.wake(token);
    }

    /// Ends the execution: ABORTED, at `now_ms` (default: the time of the last `run`).
    #[pyo3(signature = (error = None, cause = None, now_ms = None))]
    fn stop(&mut self, error: Option<String>, cause: Option<String>, now_ms: Option<i64>) {
        match now_ms {
            Some(t) => self.inner.stop_at(t, error, cause),
            None => self.inner.stop(error, cause),
        }
    }

    /// Ends the execution: TIMED_OUT, at `now_ms` (default: the time of the last `run`).
    #[pyo3(signature = (now_ms = None))]
    fn time_out(&mut self, now_ms: Option<i64>) {
        match now_ms {
            Some(t) => self.inner.time_out_at(t),
            None => self.inner.time_out(),
        }
    }

    /// The recorded history events as the JSON array text of GetExecutionHistory's `events`
    /// ("[]" unless the execution was started with `history=True`). `include_data=False` leaves
    /// out inputs, outputs and parameters, as `includeExecutionData=false` does.
    #[pyo3(signature = (include_data = true))]
    fn history_json(&self, include_data: bool) -> String {
        self.inner.history_json(include_data)
    }

    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        status_str(py, self.inner.status())
    }

    #[getter]
    fn output<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.inner.output() {
            Some(v) => to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    #[getter]
    fn output_json(&self) -> Option<String> {
        self.inner.output().map(core::value::to_text)
    }

    #[getter]
    fn error(&self) -> Option<String> {
        self.inner.error().map(str::to_string)
    }

    #[getter]
    fn cause(&self) -> Option<String> {
        self.inner.cause().map(str::to_string)
    }

    #[getter]
    fn transitions(&self) -> u64 {
        self.inner.transitions()
    }
}

/// A status as a Python str, the same object every time (no new string for every execution).
fn status_str(py: Python<'_>, status: core::Status) -> Bound<'_, PyString> {
    match status {
        core::Status::Running => intern!(py, "RUNNING"),
        core::Status::Succeeded => intern!(py, "SUCCEEDED"),
        core::Status::Failed => intern!(py, "FAILED"),
        core::Status::TimedOut => intern!(py, "TIMED_OUT"),
        core::Status::Aborted => intern!(py, "ABORTED"),
    }
    .clone()
}

/// An effect as the tuple the driver reads: `("invoke", token, resource, payload, timeout_s,
/// heartbeat_s, state_name, task_token)`, `("sleep", token, seconds)`, `("cancel", token)`,
/// `("yield",)` or `("done",)`.
fn effect_tuple(py: Python<'_>, e: core::Effect) -> PyResult<Bound<'_, PyTuple>> {
    match e {
        core::Effect::Invoke {
            token,
            resource,
            payload,
            timeout_seconds,
            heartbeat_seconds,
            state_name,
            task_token,
        } => PyTuple::new(
            py,
            [
                intern!(py, "invoke").clone().into_any(),
                token.into_pyobject(py)?.into_any(),
                PyString::new(py, &resource).into_any(),
                to_py(py, &payload)?,
                timeout_seconds.into_pyobject(py)?.into_any(),
                heartbeat_seconds.into_pyobject(py)?.into_any(),
                PyString::new(py, &state_name).into_any(),
                task_token.into_pyobject(py)?.into_any(),
            ],
        ),
        core::Effect::Sleep { token, seconds } => PyTuple::new(
            py,
            [
                intern!(py, "sleep").clone().into_any(),
                token.into_pyobject(py)?.into_any(),
                PyFloat::new(py, seconds).into_any(),
            ],
        ),
        core::Effect::Cancel { token } => PyTuple::new(
            py,
            [
                intern!(py, "cancel").clone().into_any(),
                token.into_pyobject(py)?.into_any(),
            ],
        ),
        core::Effect::Yield => PyTuple::new(py, [intern!(py, "yield").clone()]),
        core::Effect::Done => PyTuple::new(py, [intern!(py, "done").clone()]),
    }
}

/// Calls a plain sync handler for task `token` and reports its outcome, as the driver's `_invoke`
/// would: a JSON-like result completes the task; an exception fails it, with its class name alone
/// when nothing will read the cause (a retrier takes it and no history records it), otherwise with
/// the (error, cause) of `lambda_error::exception_outcome`, and its traceback is dropped
/// (as the driver's `_fail_by` does: its frames would hold it in a cycle). A result that is not
/// JSON data is returned for the driver to finish (see `run_inline`). Exceptions that are not
/// `Exception`s (KeyboardInterrupt, SystemExit) propagate.
fn call_plain<'py>(
    slf: &Bound<'py, Execution>,
    handler: &Bound<'py, PyAny>,
    token: u64,
    payload: &Value,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let py = slf.py();
    let exc = match handler.call1((to_py(py, payload)?,)) {
        Ok(value) => {
            if is_plain_data(&value) {
                if let Ok(v) = from_py(&value, 0) {
                    slf.borrow_mut().inner.complete(token, v);
                    return Ok(None);
                }
            }
            let kind = intern!(py, "result").clone().into_any();
            let token = token.into_pyobject(py)?.into_any();
            return Ok(Some(PyTuple::new(py, [kind, token, value])?));
        }
        Err(err) if err.is_instance_of::<PyException>(py) => err,
        Err(err) => return Err(err),
    };
    // A failure nothing will read the cause of: its class name alone (a TaskFailed names its own).
    let exc_type = exc.get_type(py);
    let unseen = if lambda_error::is_task_failed(&exc_type)? {
        None
    } else {
        let name = exc_type.name()?.to_str()?.to_string();
        let unseen = slf.borrow().inner.failure_goes_unseen(token, &name);
        unseen.then_some(name)
    };
    let (error, cause) = match unseen {
        Some(name) => {
            drop_traceback(exc.value(py));
            (name, None)
        }
        None => {
            let exc = exc.into_value(py).into_bound(py);
            let outcome = lambda_error::exception_outcome(&exc, false);
            drop_traceback(&exc);
            outcome?
        }
    };
    slf.borrow_mut().inner.fail(token, error, cause);
    Ok(None)
}

/// Drops the traceback of a handler's exception once it has been read: its frames may hold the
/// exception (a handler that keeps it in a variable), a cycle only the garbage collector would free.
/// (Where the interpreter keeps the traceback apart, as 3.11 does until the exception is handed to
/// Python code, the PyErr that holds it lets it go when dropped.)
fn drop_traceback(exc: &Bound<'_, PyBaseException>) {
    // SAFETY: `exc` is a live exception object, borrowed for the call while attached to the
    // interpreter (a Bound); PyException_SetTraceback takes any exception object and None as the
    // new traceback (which it cannot refuse), increfs None and releases the old traceback.
    unsafe { pyo3::ffi::PyException_SetTraceback(exc.as_ptr(), pyo3::ffi::Py_None()) };
}

/// A handler's usual results, which cannot be awaitables: the exact JSON types.
fn is_plain_data(value: &Bound<'_, PyAny>) -> bool {
    value.is_none()
        || value.is_exact_instance_of::<PyDict>()
        || value.is_exact_instance_of::<PyList>()
        || value.is_exact_instance_of::<PyString>()
        || value.is_exact_instance_of::<PyInt>()
        || value.is_exact_instance_of::<PyFloat>()
        || value.is_exact_instance_of::<PyBool>()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DefinitionError", m.py().get_type::<DefinitionError>())?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(new_uuid, m)?)?;
    m.add_function(wrap_pyfunction!(seed_ids, m)?)?;
    m.add_function(wrap_pyfunction!(lambda_error::exception_outcome, m)?)?;
    m.add_function(wrap_pyfunction!(lambda_error::lambda_error, m)?)?;
    m.add_class::<Program>()?;
    m.add_class::<Execution>()?;
    m.add_class::<result::ExecutionResult>()?;
    jsonata_module(m)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSONata: `jsonata_evaluate` is the public function itself (expressway re-exports it as it is);
// python/expressway/_jsonata.py holds the rest of the API (UNDEFINED, JsonataError).

/// expressway.JsonataError and expressway.UNDEFINED, the Python objects of _jsonata.py, each
/// fetched once, on first use: _jsonata.py imports this module, so this module cannot import it
/// while it loads.
static JSONATA_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNDEFINED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

const JSONATA_MODULE: &str = "expressway._jsonata";

/// `expressway.JsonataError(code, message)`.
fn jsonata_error(py: Python<'_>, code: String, message: String) -> PyErr {
    match JSONATA_ERROR.import(py, JSONATA_MODULE, "JsonataError") {
        Ok(class) => PyErr::from_type(class.clone(), (code, message)),
        Err(e) => e,
    }
}

fn undefined(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    UNDEFINED.import(py, JSONATA_MODULE, "UNDEFINED")
}

/// The most expressions `jsonata_evaluate` keeps compiled (as the `lru_cache` of the Python
/// function it replaces did).
const COMPILED_MAX: usize = 1024;

/// The expressions `jsonata_evaluate` has compiled: a dict from their text (an exact str) to
/// their JsonataExpression (which holds the `Arc` of the compiled expression). A Python dict
/// rather than a Rust map: a lookup uses the hash the str object keeps (no hashing of the text
/// on each call) and needs no lock of ours, as a dict is safe to share between threads (under
/// the GIL, and by its own locking in free-threaded builds).
///
/// When it is full and one more expression is compiled, it is emptied, not trimmed to the least
/// recently used ones: a hit (the common case) then costs one lookup and no bookkeeping, a
/// program whose expressions fit never compiles one twice, and one that cycles through more
/// than fit would miss as often under LRU; the cost is bounded (at most one recompilation per
/// expression per COMPILED_MAX compilations).
static COMPILED: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

fn compiled<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, JsonataExpression>> {
    let cache = COMPILED
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py);
    // A str subclass is looked up as the plain str of its text, so that no method of it runs.
    let plain;
    let key = if text.is_exact_instance_of::<PyString>() {
        text
    } else {
        plain = PyString::new(py, text.to_str()?);
        &plain
    };
    if let Some(found) = cache.get_item(key)? {
        return Ok(found.cast_into::<JsonataExpression>()?);
    }
    let made = Bound::new(py, JsonataExpression::new(py, key.to_str()?)?)?;
    if cache.len() >= COMPILED_MAX {
        cache.clear();
    }
    cache.set_item(key, &made)?;
    Ok(made)
}

/// `jsonata_evaluate`'s `data`: any object (`None` is JSON null), or left out (no input).
enum Data<'py> {
    Given(Bound<'py, PyAny>),
    Missing,
}

impl<'py> Data<'py> {
    /// The data, or `None` for no input.
    fn given(&self) -> Option<&Bound<'py, PyAny>> {
        match self {
            Data::Given(data) => Some(data),
            Data::Missing => None,
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Data<'py> {
    type Error = std::convert::Infallible;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> Result<Self, Self::Error> {
        Ok(Data::Given(obj.to_owned()))
    }
}

/// Evaluate the JSONata ``expression`` against ``data`` and return its result.
///
/// - ``data``: the input (``$``), any JSON-like Python value (dict, list, str, int, float, bool,
///   None). Leave it out for no input (``$`` is undefined); ``data=None`` is JSON ``null``.
///   Dicts are read lazily: only what the expression reaches is converted (a path into a large
///   document costs what the path costs), so a value that is not JSON-like raises ``TypeError``
///   only when the expression reads it, and a dict the result passes on untouched is the
///   caller's own object, not a copy.
/// - ``bindings``: variables, by name without the ``$`` (``{"x": 1}`` makes ``$x`` 1).
/// - ``timeout_ms`` (default 10 seconds) and ``max_depth`` (default: the evaluator's own bound)
///   limit the evaluation; past either it fails with code ``U1001``.
///
/// Returns the result as Python values (numbers that are whole are ``int``), or
/// :data:`UNDEFINED` when the expression yields nothing. Raises :class:`JsonataError` for a
/// syntax or evaluation error. Compiled expressions are cached, so evaluating the same text
/// again does not parse it again.
#[pyfunction]
#[pyo3(
    signature = (expression, data = Data::Missing, bindings = None, *, timeout_ms = None, max_depth = None),
    text_signature = "(expression, data=..., bindings=None, *, timeout_ms=None, max_depth=None)"
)]
fn jsonata_evaluate<'py>(
    py: Python<'py>,
    expression: &Bound<'py, PyAny>,
    data: Data<'py>,
    bindings: Option<&Bound<'py, PyAny>>,
    timeout_ms: Option<u64>,
    max_depth: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let Ok(text) = expression.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "expression must be a str, not {}",
            expression.get_type().name()?
        )));
    };
    // Any mapping: a dict as it is, anything else as dict() makes it.
    let bindings = match bindings {
        None => None,
        Some(b) => Some(match b.cast_exact::<PyDict>() {
            Ok(d) => d.clone(),
            Err(_) => py.get_type::<PyDict>().call1((b,))?.cast_into::<PyDict>()?,
        }),
    };
    let expression = compiled(py, text)?;
    let data = data.given();
    // The fast evaluator first, where it applies (no variables, no depth limit of the
    // caller's: those are jsonata-core's); it hands back what it does not decide.
    if let (Some(fast), true, None) = (
        &expression.get().fast,
        bindings.as_ref().is_none_or(|b| b.is_empty()),
        max_depth,
    ) {
        let limit = timeout_ms.or(core::jsonata::Limits::default().timeout_ms);
        match fast.evaluate(py, data, limit) {
            jsonata_fast::Outcome::Value(Some(value)) => return Ok(value),
            jsonata_fast::Outcome::Value(None) => return undefined(py).cloned(),
            jsonata_fast::Outcome::TimeLimit => {
                return Err(jsonata_error(
                    py,
                    core::jsonata::CODE_LIMIT.to_string(),
                    format!(
                        "Evaluation timeout after {} milliseconds. Check for infinite loop",
                        limit.unwrap_or(0)
                    ),
                ))
            }
            jsonata_fast::Outcome::Fallback => {}
        }
    }
    let result = evaluate_jsonata(
        py,
        &expression.get().inner,
        data,
        bindings.as_ref(),
        timeout_ms,
        max_depth,
    )?;
    match result {
        Some(value) => Ok(value),
        None => undefined(py).cloned(),
    }
}

/// A parsed JSONata expression: what jsonata_evaluate's cache holds. Its compile errors are
/// `expressway.JsonataError`.
#[pyclass(frozen, module = "expressway._core")]
struct JsonataExpression {
    inner: Arc<core::jsonata::Expression>,
    /// The fast evaluator's plan, when the expression is inside its subset (jsonata_fast.rs).
    fast: Option<jsonata_fast::Fast>,
}

#[pymethods]
impl JsonataExpression {
    #[new]
    fn new(py: Python<'_>, expression: &str) -> PyResult<JsonataExpression> {
        let inner = core::jsonata::Expression::compile(expression)
            .map_err(|e| jsonata_error(py, e.code, e.message))?;
        let fast = jsonata_fast::Fast::new(py, &inner);
        Ok(JsonataExpression {
            inner: Arc::new(inner),
            fast,
        })
    }

    #[getter]
    fn source(&self) -> &str {
        self.inner.source()
    }
}

/// Evaluate `expression` against `data` (`None`: no input), with `bindings` as its variables;
/// `Ok(None)` when it yields nothing. `$random()` and `$uuid()` draw from a fresh seed.
fn evaluate_jsonata<'py>(
    py: Python<'py>,
    expression: &core::jsonata::Expression,
    data: Option<&Bound<'py, PyAny>>,
    bindings: Option<&Bound<'py, PyDict>>,
    timeout_ms: Option<u64>,
    max_depth: Option<usize>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let limits = core::jsonata::Limits {
        timeout_ms: timeout_ms.or(core::jsonata::Limits::default().timeout_ms),
        max_depth,
    };
    let mut scope = core::jsonata::Bindings::new();
    if let Some(b) = bindings {
        for (k, v) in b.iter() {
            let name: String = k.extract().map_err(|_| {
                PyTypeError::new_err("jsonata bindings: variable names must be strings")
            })?;
            scope.bind_jvalue(name, py_to_jvalue(&v, 0)?);
        }
    }
    let seed = IDS.next_u64();
    // Python values go straight into the evaluator's representation and its result straight
    // back (no serde_json tree in between); the evaluator's values are not Send, so the
    // evaluation keeps the GIL. Dicts are read lazily (see data_to_jvalue); data the lazy
    // reader cannot convert (a tuple inside, an int beyond 64 bits) is converted whole by
    // our own reader and the evaluation made again, with the same seed: it is deterministic.
    let evaluate = |input: Option<core::jsonata::JValue>| {
        let input = input.map(core::jsonata::Prepared::from_jvalue);
        let mut rng = core::rng::Rng::new(seed);
        let mut env = core::jsonata::Env {
            rng: &mut rng,
            limits,
        };
        expression.evaluate_jvalue(input.as_ref(), &scope, &mut env)
    };
    let result = match data {
        None => evaluate(None),
        Some(data) => match data_to_jvalue(data).map(|lazy| evaluate(Some(lazy))) {
            Ok(result) if !result.as_ref().is_err_and(|e| e.is_data_conversion()) => result,
            _ => evaluate(Some(py_to_jvalue(data, 0)?)),
        },
    };
    let value = result.map_err(|e| jsonata_error(py, e.code, e.message))?;
    jvalue_to_py(py, &value, 0)
}

/// The data of an evaluation. A dict (or a list of them) is read lazily, through jsonata-core's
/// views of Python dicts: only the fields the expression reaches are converted, so a path into a
/// large document costs what the path costs, not what the document costs. A value the expression
/// never reads is therefore not checked either, and an untouched dict in the result is the
/// caller's own object.
fn data_to_jvalue(data: &Bound<'_, PyAny>) -> PyResult<core::jsonata::JValue> {
    if data.cast::<PyDict>().is_ok() || data.cast::<PyList>().is_ok() {
        return jsonata_core::lazy::convert(data, true);
    }
    py_to_jvalue(data, 0)
}

/// A Python value (JSON-like) as the JSONata evaluator's value. The exact built-in types are tried
/// first, most common first (one type comparison each); subclasses take the slower checks.
fn py_to_jvalue(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<core::jsonata::JValue> {
    use core::jsonata::JValue;
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "value is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return Ok(JValue::string(s.to_str()?));
    }
    if let Ok(d) = obj.cast_exact::<PyDict>() {
        return dict_to_jvalue(d, depth);
    }
    if obj.is_none() {
        return Ok(JValue::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(JValue::Bool(b.is_true()));
    }
    if obj.is_exact_instance_of::<PyInt>() || obj.is_exact_instance_of::<PyFloat>() {
        return number_to_jvalue(obj);
    }
    if let Ok(l) = obj.cast_exact::<PyList>() {
        return items_to_jvalue(l.iter().map(Ok), depth);
    }
    // Subclasses and tuples: the general checks.
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(JValue::string(s.to_str()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return dict_to_jvalue(d, depth);
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        return items_to_jvalue(obj.try_iter()?, depth);
    }
    if obj.cast::<PyInt>().is_ok() || obj.cast::<PyFloat>().is_ok() {
        return number_to_jvalue(obj);
    }
    Err(PyTypeError::new_err(format!(
        "Object of type {} is not JSON serializable",
        obj.get_type().name()?
    )))
}

fn dict_to_jvalue(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<core::jsonata::JValue> {
    let mut map = core::jsonata::JMap::default();
    map.reserve(d.len());
    for (k, v) in d.iter() {
        let key = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("JSON object keys must be str"))?;
        map.insert(key.to_str()?.to_owned(), py_to_jvalue(&v, depth + 1)?);
    }
    Ok(core::jsonata::JValue::Object(std::rc::Rc::new(map)))
}

fn items_to_jvalue<'py>(
    items: impl Iterator<Item = PyResult<Bound<'py, PyAny>>>,
    depth: usize,
) -> PyResult<core::jsonata::JValue> {
    use core::jsonata::{JArray, JValue};
    let mut out = Vec::new();
    for x in items {
        out.push(py_to_jvalue(&x?, depth + 1)?);
    }
    let flat = !out.iter().any(|x| matches!(x, JValue::Array(_)));
    Ok(JValue::Array(JArray::new_flat(out, flat)))
}

fn number_to_jvalue(obj: &Bound<'_, PyAny>) -> PyResult<core::jsonata::JValue> {
    let x: f64 = obj.extract()?;
    if !x.is_finite() {
        return Err(PyValueError::new_err(format!("{x} is not a JSON number")));
    }
    Ok(core::jsonata::JValue::Number(x))
}

/// A JSONata number (finite) as Python's: an int when JSON would write it as one
/// (`core::jsonata::whole_number`), else a float.
fn jsonata_number_to_py(py: Python<'_>, n: f64) -> Bound<'_, PyAny> {
    match core::jsonata::whole_number(n) {
        Some(i) => PyInt::new(py, i).into_any(),
        None => PyFloat::new(py, n).into_any(),
    }
}

/// The evaluator's value as Python's (`None`: undefined), as `jsonata::Expression::evaluate`
/// would make it: integral numbers within 2^53 as ints, undefined items left out, functions as "".
fn jvalue_to_py<'py>(
    py: Python<'py>,
    v: &core::jsonata::JValue,
    depth: usize,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    use core::jsonata::JValue;
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "the result is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    Ok(Some(match v {
        JValue::Undefined => return Ok(None),
        JValue::Null => py.None().into_bound(py),
        JValue::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        JValue::Number(n) => {
            if !n.is_finite() {
                return Err(jsonata_error(
                    py,
                    "D1001".into(),
                    "Number out of range: the result is not a finite number".into(),
                ));
            }
            jsonata_number_to_py(py, *n)
        }
        JValue::String(s) => PyString::new(py, s).into_any(),
        JValue::Array(items) => {
            let mut kept = Vec::with_capacity(items.len());
            for item in items.iter() {
                if let Some(x) = jvalue_to_py(py, item, depth + 1)? {
                    kept.push(x);
                }
            }
            PyList::new(py, kept)?.into_any()
        }
        JValue::Object(_) => {
            let dict = PyDict::new(py);
            if let Some(map) = v.as_object() {
                for (k, item) in map {
                    if let Some(x) = jvalue_to_py(py, item, depth + 1)? {
                        dict.set_item(key_to_py(py, k), x)?;
                    }
                }
            }
            dict.into_any()
        }
        // A dict of the caller's data that the evaluation passed through untouched.
        JValue::LazyPyDict(view) => view.py_object().clone_ref(py).into_bound(py).into_any(),
        _ => PyString::new(py, "").into_any(), // a function: "" as JSON.stringify makes it
    }))
}

/// For the tests: the fast evaluator alone. `(True, result)` when it decides (`UNDEFINED` for
/// no result), `(False, None)` when it hands the evaluation to jsonata-core.
#[pyfunction]
#[pyo3(signature = (expression, data = Data::Missing))]
fn _jsonata_fast<'py>(
    py: Python<'py>,
    expression: &Bound<'py, PyString>,
    data: Data<'py>,
) -> PyResult<(bool, Bound<'py, PyAny>)> {
    let expression = compiled(py, expression)?;
    let data = data.given();
    let Some(fast) = &expression.get().fast else {
        return Ok((false, py.None().into_bound(py)));
    };
    match fast.evaluate(py, data, None) {
        jsonata_fast::Outcome::Value(Some(v)) => Ok((true, v)),
        jsonata_fast::Outcome::Value(None) => Ok((true, undefined(py)?.clone())),
        _ => Ok((false, py.None().into_bound(py))),
    }
}

/// For the tests: jsonata-core alone (what `jsonata_evaluate` falls back to).
#[pyfunction]
#[pyo3(signature = (expression, data = Data::Missing))]
fn _jsonata_reference<'py>(
    py: Python<'py>,
    expression: &Bound<'py, PyString>,
    data: Data<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let expression = compiled(py, expression)?;
    let data = data.given();
    match evaluate_jsonata(py, &expression.get().inner, data, None, None, None)? {
        Some(value) => Ok(value),
        None => undefined(py).cloned(),
    }
}

/// For the tests: an expression as a JSONata state evaluates it, with `$states.input` and the
/// workflow variables (and `$states.context` when given), both ways: `(decided, fast result,
/// jsonata-core's result)`, a result
/// `UNDEFINED` for nothing and jsonata-core's error a tuple `("error", "code: message")`.
#[pyfunction]
#[pyo3(signature = (expression, input, variables, context = None))]
fn _jsonata_state_both<'py>(
    py: Python<'py>,
    expression: &str,
    input: &Bound<'py, PyAny>,
    variables: &Bound<'py, PyDict>,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<(bool, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    use core::jsonata::{Bindings, Env, Evaluated, Expression, Limits};
    use core::jsonata_fast::{to_json, JsonModel, StatesParts};
    let expression =
        Expression::compile(expression).map_err(|e| jsonata_error(py, e.code, e.message))?;
    let input = from_py(input, 0)?;
    let context = context.map(|c| from_py(c, 0)).transpose()?;
    let Value::Object(vars) = dict_from_py(variables, 0)? else {
        return Err(PyTypeError::new_err("variables must be a dict"));
    };
    let as_py = |v: Option<Value>| -> PyResult<Bound<'py, PyAny>> {
        match v {
            Some(v) => to_py(py, &v),
            None => undefined(py).cloned(),
        }
    };
    let parts = StatesParts {
        input: &input,
        result: None,
        error_output: None,
        context: context.as_ref(),
    };
    let fast = expression.plan().map(|plan| {
        let model = JsonModel::new(Some(&parts), Some(&vars));
        plan.evaluate(&model, None).and_then(|v| to_json(&v))
    });
    let (decided, fast) = match fast {
        Some(Ok(v)) => (true, as_py(v)?),
        _ => (false, py.None().into_bound(py)),
    };
    let mut states = serde_json::Map::new();
    states.insert("input".into(), input.clone());
    if let Some(c) = &context {
        states.insert("context".into(), c.clone());
    }
    let mut bindings = Bindings::new();
    bindings.bind("states", &Value::Object(states));
    for (name, value) in &vars {
        bindings.bind(name.clone(), value);
    }
    let mut rng = core::rng::Rng::new(1);
    let mut env = Env {
        rng: &mut rng,
        limits: Limits::default(),
    };
    let reference = match expression.evaluate_at(None, &bindings, &mut env, 0) {
        Ok(Evaluated::Value(v)) => as_py(Some(v))?,
        Ok(Evaluated::Undefined) => as_py(None)?,
        Ok(Evaluated::Function) => PyTuple::new(py, ["function", ""])?.into_any(),
        Err(e) => PyTuple::new(
            py,
            ["error".to_string(), format!("{}: {}", e.code, e.message)],
        )?
        .into_any(),
    };
    Ok((decided, fast, reference))
}

fn jsonata_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_jsonata_state_both, m)?)?;
    m.add_function(wrap_pyfunction!(jsonata_evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(_jsonata_fast, m)?)?;
    m.add_function(wrap_pyfunction!(_jsonata_reference, m)?)?;
    m.add_class::<JsonataExpression>()?;
    Ok(())
}
