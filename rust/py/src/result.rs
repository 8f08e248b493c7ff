//! `expressway.Result`: what an execution ended with. A class of the extension's own because one is
//! made for every execution, and a Python object with these fields cost as much to make as a short
//! execution takes to run.

use crate::{status_str, to_py, Execution};
use expressway_core as core;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::{PyBool, PyDict, PyString, PyTuple};

/// What an execution ended with.
///
/// ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``. ``output`` (a parsed JSON
/// value) and ``output_json`` (its JSON text) are set only when the execution succeeded; ``error``
/// and ``cause`` only when it did not. ``duration`` is in seconds, ``transitions`` counts the state
/// transitions taken. The output is made into Python values, or into JSON text, when first asked
/// for (each costs time in proportion to its size, and most callers want only one of them).
#[pyclass(module = "expressway", name = "Result")]
pub struct ExecutionResult {
    status: core::Status,
    error: Option<String>,
    cause: Option<String>,
    #[pyo3(get)]
    transitions: u64,
    #[pyo3(get)]
    duration: f64,
    /// (name, ARN), or what makes them when first asked for (None only once the garbage collector
    /// has cleared the Result).
    names: Option<Py<PyAny>>,
    /// The succeeded execution the output comes from, until both forms of it have been made.
    core: Option<Py<Execution>>,
    output: Option<Py<PyAny>>,
    output_json: Option<Py<PyAny>>,
}

impl ExecutionResult {
    /// The Result of the finished execution `ex`, which ran `duration` seconds; `names` gives its
    /// (name, ARN) or is called for them when first asked.
    pub(crate) fn of(
        ex: &Bound<'_, Execution>,
        duration: f64,
        names: Py<PyAny>,
    ) -> ExecutionResult {
        let held = ex.borrow();
        let inner = &held.inner;
        let status = inner.status();
        let succeeded = status == core::Status::Succeeded;
        ExecutionResult {
            status,
            error: inner.error().map(str::to_string),
            cause: inner.cause().map(str::to_string),
            transitions: inner.transitions(),
            duration,
            names: Some(names),
            core: succeeded.then(|| ex.clone().unbind()),
            output: None,
            output_json: None,
        }
    }

    // The names and the output are made with no borrow of the Result held: making them runs Python
    // code (the names' maker; a garbage collection while the output is converted), during which
    // another thread may read the same Result. Whatever another thread kept first is kept.

    fn named<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let names = match &slf.borrow().names {
            Some(names) => names.clone_ref(py).into_bound(py),
            None => return Err(PyRuntimeError::new_err("the Result was cleared")),
        };
        if let Ok(made) = names.cast::<PyTuple>() {
            return Ok(made.clone());
        }
        let made = names.call0()?.cast_into::<PyTuple>()?;
        let mut this = slf.borrow_mut();
        if let Some(kept) = &this.names {
            if let Ok(kept) = kept.bind(py).cast::<PyTuple>() {
                return Ok(kept.clone());
            }
        }
        this.names = Some(made.clone().into_any().unbind());
        Ok(made)
    }

    fn kept(&self, form: Form) -> &Option<Py<PyAny>> {
        match form {
            Form::Value => &self.output,
            Form::Json => &self.output_json,
        }
    }

    /// The output in `form`, made on first access and kept (None when the execution did not
    /// succeed); once both forms exist, the execution is let go.
    fn output_as<'py>(slf: &Bound<'py, Self>, form: Form) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let core = {
            let this = slf.borrow();
            if let Some(made) = this.kept(form) {
                return Ok(made.bind(py).clone());
            }
            this.core.as_ref().map(|ex| ex.clone_ref(py))
        };
        let made = match &core {
            Some(ex) => match (ex.bind(py).borrow().inner.output(), form) {
                (Some(v), Form::Value) => to_py(py, v)?,
                (Some(v), Form::Json) => PyString::new(py, &core::value::to_text(v)).into_any(),
                (None, _) => py.None().into_bound(py),
            },
            None => py.None().into_bound(py),
        };
        let mut this = slf.borrow_mut();
        if let Some(kept) = this.kept(form) {
            return Ok(kept.bind(py).clone());
        }
        let made_unbound = Some(made.clone().unbind());
        match form {
            Form::Value => this.output = made_unbound,
            Form::Json => this.output_json = made_unbound,
        }
        if this.output.is_some() && this.output_json.is_some() {
            this.core = None;
        }
        Ok(made)
    }
}

/// The two forms of an execution's output.
#[derive(Clone, Copy)]
enum Form {
    /// Python values.
    Value,
    /// JSON text.
    Json,
}

#[pymethods]
impl ExecutionResult {
    // The garbage collector sees what a Result holds: its output may come to hold the Result.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.names)?;
        visit.call(&self.core)?;
        visit.call(&self.output)?;
        visit.call(&self.output_json)
    }

    fn __clear__(&mut self) {
        self.names = None;
        self.core = None;
        self.output = None;
        self.output_json = None;
    }

    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        status_str(py, self.status)
    }

    #[getter]
    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    #[getter]
    fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The execution's name.
    #[getter]
    fn name<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::named(slf)?.get_item(0)
    }

    #[getter]
    fn execution_arn<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::named(slf)?.get_item(1)
    }

    #[getter]
    fn output<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::output_as(slf, Form::Value)
    }

    #[getter]
    fn output_json<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Self::output_as(slf, Form::Json)
    }

    #[getter]
    fn succeeded(&self) -> bool {
        self.status == core::Status::Succeeded
    }

    /// ``status``, ``output``, ``error`` and ``cause`` as a JSON-ready dict.
    fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let output = Self::output_as(slf, Form::Value)?;
        let this = slf.borrow();
        let d = PyDict::new(py);
        d.set_item("status", this.status(py))?;
        d.set_item("output", output)?;
        d.set_item("error", this.error())?;
        d.set_item("cause", this.cause())?;
        Ok(d)
    }

    /// A Result cannot change: a copy is the Result itself.
    fn __copy__(slf: &Bound<'_, Self>) -> Py<Self> {
        slf.clone().unbind()
    }

    fn __deepcopy__(slf: &Bound<'_, Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf.clone().unbind()
    }

    fn __eq__<'py>(
        slf: &Bound<'py, Self>,
        other: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let Ok(other) = other.cast::<ExecutionResult>() else {
            return Ok(py.NotImplemented().into_bound(py));
        };
        let fields = [
            "status",
            "output",
            "error",
            "cause",
            "transitions",
            "duration",
            "name",
            "execution_arn",
        ];
        for field in fields {
            if !slf.getattr(field)?.eq(other.getattr(field)?)? {
                return Ok(PyBool::new(py, false).to_owned().into_any());
            }
        }
        Ok(PyBool::new(py, true).to_owned().into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        // Without the output: it may be large (and asyncio's task reprs format results).
        let repr = |v: Option<&str>| -> PyResult<String> {
            Ok(match v {
                Some(s) => PyString::new(py, s).repr()?.to_string(),
                None => "None".to_string(),
            })
        };
        Ok(format!(
            "Result(status={}, error={}, cause={}, transitions={}, duration={:.6})",
            status_str(py, self.status).repr()?,
            repr(self.error())?,
            repr(self.cause())?,
            self.transitions,
            self.duration
        ))
    }
}
