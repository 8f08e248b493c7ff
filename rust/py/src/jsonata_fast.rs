//! `jsonata_evaluate`'s fast path: `expressway_core::jsonata_fast` reading Python objects as
//! they are. An expression inside its subset is evaluated straight over the caller's dicts,
//! lists and strs (a result the data already holds is handed back without a copy); anything
//! the fast evaluator does not decide falls back to jsonata-core, which evaluates again from
//! the start.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use expressway_core::jsonata_fast::{Kind, Model, Out, Plan, Stop, Val};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};

use expressway_core::jsonata::EXACT_INTEGER;

use crate::{jsonata_number_to_py, MAX_DEPTH};

/// A compiled expression's fast plan, with the field names it reads as Python strs (interned,
/// so that a dict lookup compares pointers).
pub(crate) struct Fast {
    plan: Arc<Plan>,
    keys: Vec<Py<PyString>>,
}

/// What the fast path made of an evaluation.
pub(crate) enum Outcome<'py> {
    Value(Option<Bound<'py, PyAny>>),
    /// Not decided here: evaluate with jsonata-core.
    Fallback,
    /// The time limit passed.
    TimeLimit,
}

impl Fast {
    pub(crate) fn new(
        py: Python<'_>,
        expression: &expressway_core::jsonata::Expression,
    ) -> Option<Fast> {
        let plan = expression.plan()?.clone();
        let keys = plan
            .names()
            .iter()
            .map(|name| PyString::intern(py, name).unbind())
            .collect();
        Some(Fast { plan, keys })
    }

    pub(crate) fn evaluate<'py>(
        &self,
        py: Python<'py>,
        data: Option<&Bound<'py, PyAny>>,
        timeout_ms: Option<u64>,
    ) -> Outcome<'py> {
        let model = PyModel {
            py,
            keys: &self.keys,
            limit: timeout_ms.map(Duration::from_millis),
            // (One clock read per evaluation, and only with a limit.)
            started: timeout_ms.map(|_| Instant::now()),
            work: Cell::new(0),
        };
        let result = self
            .plan
            .evaluate(&model, data.cloned())
            .and_then(|v| to_py(py, &v, 0));
        match result {
            Ok(v) => Outcome::Value(v),
            Err(Stop::Fallback) => Outcome::Fallback,
            Err(Stop::TimeLimit) => Outcome::TimeLimit,
        }
    }
}

struct PyModel<'py, 'k> {
    py: Python<'py>,
    keys: &'k [Py<PyString>],
    limit: Option<Duration>,
    started: Option<Instant>,
    /// Items read through since the evaluator last asked (see `Model::take_work`).
    work: Cell<u32>,
}

impl PyModel<'_, '_> {
    /// Count `visited` values read through (sixteen to a step).
    fn charge(&self, visited: usize) {
        let steps = u32::try_from(visited / 16).unwrap_or(u32::MAX);
        self.work.set(self.work.get().saturating_add(steps));
    }
}

impl<'py> Model for PyModel<'py, '_> {
    type Item = Bound<'py, PyAny>;

    fn kind<'a>(&self, item: &'a Self::Item) -> Kind<'a> {
        kind_of(item)
    }

    fn field(&self, item: &Self::Item, _name: &str, slot: usize) -> Out<Option<Self::Item>> {
        let dict = item.cast::<PyDict>().map_err(|_| Stop::Fallback)?;
        let key = self.keys.get(slot).ok_or(Stop::Fallback)?.bind(self.py);
        let value = dict.get_item(key).map_err(|_| Stop::Fallback)?;
        // jsonata-core converts a field's value as it reads it (a list whole, a dict lazily):
        // what it could not convert is not decided here.
        if let Some(v) = &value {
            self.charge(readable(v, 0)?);
        }
        Ok(value)
    }

    fn check_whole(&self, item: &Self::Item) -> Out<()> {
        let visited = if item.is_exact_instance_of::<PyDict>() {
            whole_dict_readable(item, 0)?
        } else {
            readable(item, 0)?
        };
        self.charge(visited);
        Ok(())
    }

    fn take_work(&self) -> u32 {
        self.work.replace(0)
    }

    fn at(&self, item: &Self::Item, index: usize) -> Out<Self::Item> {
        let list = item.cast::<PyList>().map_err(|_| Stop::Fallback)?;
        list.get_item(index).map_err(|_| Stop::Fallback)
    }

    fn fields(&self, item: &Self::Item) -> Out<Vec<(std::rc::Rc<str>, Self::Item)>> {
        let dict = item.cast::<PyDict>().map_err(|_| Stop::Fallback)?;
        let mut out = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            // Keys must be exactly str (jsonata-core's conversion decides the others).
            if !k.is_exact_instance_of::<PyString>() {
                return Err(Stop::Fallback);
            }
            let key = k.cast::<PyString>().map_err(|_| Stop::Fallback)?;
            out.push((
                std::rc::Rc::from(key.to_str().map_err(|_| Stop::Fallback)?),
                v,
            ));
        }
        Ok(out)
    }

    fn variable(&self, _name: &str) -> Option<Self::Item> {
        // (jsonata_evaluate takes this road only without bindings.)
        None
    }

    fn binds(&self, _name: &str) -> bool {
        false
    }

    fn out_of_time(&self) -> bool {
        match (self.limit, self.started) {
            (Some(limit), Some(started)) => started.elapsed() > limit,
            _ => false,
        }
    }
}

/// What a Python value is as JSON. The exact built-in types only: a subclass may behave its
/// own way (jsonata-core's conversion decides those).
fn kind_of<'a>(item: &'a Bound<'_, PyAny>) -> Kind<'a> {
    let ptr = item.as_ptr();
    // SAFETY: `ptr` is a live object (borrowed from `item`, with the GIL held). Each branch
    // reads it only after checking its exact type: the unchecked cast to str follows
    // PyUnicode_CheckExact, and `exact_number` is given an exact int or float (its own reads:
    // PyFloat_AS_DOUBLE on a float, and PyLong_AsLongLongAndOverflow on an exact int, which
    // reports overflow through its flag without setting an exception).
    unsafe {
        if ffi::PyUnicode_CheckExact(ptr) != 0 {
            return match item.cast_unchecked::<PyString>().to_str() {
                Ok(s) => Kind::Str(s),
                Err(_) => Kind::Other,
            };
        }
        if ffi::PyDict_CheckExact(ptr) != 0 {
            return Kind::Obj(ffi::PyDict_Size(ptr) as usize);
        }
        if ffi::PyList_CheckExact(ptr) != 0 {
            return Kind::Arr(ffi::PyList_Size(ptr) as usize);
        }
        if ptr == ffi::Py_None() {
            return Kind::Null;
        }
        if ffi::PyBool_Check(ptr) != 0 {
            return Kind::Bool(ptr == ffi::Py_True());
        }
        if ffi::PyLong_CheckExact(ptr) != 0 || ffi::PyFloat_CheckExact(ptr) != 0 {
            return exact_number(ptr).map_or(Kind::Other, Kind::Num);
        }
    }
    Kind::Other
}

/// An exact int or float as the double jsonata-core reads it; `None` for an int beyond 2^53
/// (compared as an integer: 2^53 + 1 as a double is 2^53) or a float that is not finite.
///
/// # Safety
/// `ptr` must point to a live exact int or float, and the GIL must be held.
unsafe fn exact_number(ptr: *mut ffi::PyObject) -> Option<f64> {
    if ffi::PyLong_CheckExact(ptr) != 0 {
        let mut overflow = 0;
        let n = ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
        (overflow == 0 && n.unsigned_abs() <= EXACT_INTEGER).then_some(n as f64)
    } else {
        Some(ffi::PyFloat_AS_DOUBLE(ptr)).filter(|x| x.is_finite())
    }
}

/// Whether jsonata-core reads `v` as it reads a field's value: a scalar, a list and all in it
/// (dicts inside are read lazily, later), or a dict.
fn readable(v: &Bound<'_, PyAny>, depth: usize) -> Out<usize> {
    let mut visited = 0;
    // SAFETY: `v` is a live object; `readable_ptr` only reads types and list items, and runs no
    // Python code that could change the lists while it reads them.
    if unsafe { readable_ptr(v.as_ptr(), depth, &mut visited) } {
        Ok(visited)
    } else {
        Err(Stop::Fallback)
    }
}

/// [`readable`] on a borrowed pointer: the type checks of `kind_of`, without a reference count
/// per list item; `visited` counts the values looked at.
///
/// # Safety
/// `ptr` must point to a live object, and the GIL must be held.
unsafe fn readable_ptr(ptr: *mut ffi::PyObject, depth: usize, visited: &mut usize) -> bool {
    *visited += 1;
    if depth > MAX_DEPTH {
        return false;
    }
    if ffi::PyUnicode_CheckExact(ptr) != 0
        || ffi::PyDict_CheckExact(ptr) != 0
        || ptr == ffi::Py_None()
        || ffi::PyBool_Check(ptr) != 0
    {
        return true;
    }
    if ffi::PyLong_CheckExact(ptr) != 0 || ffi::PyFloat_CheckExact(ptr) != 0 {
        return exact_number(ptr).is_some();
    }
    if ffi::PyList_CheckExact(ptr) != 0 {
        let len = ffi::PyList_GET_SIZE(ptr);
        for i in 0..len {
            // A borrowed item of a list nothing changes while it is read.
            if !readable_ptr(ffi::PyList_GET_ITEM(ptr, i), depth + 1, visited) {
                return false;
            }
        }
        return true;
    }
    false
}

/// Whether a dict reads whole: str keys, and every value readable, dicts included; how many
/// values it looked at.
fn whole_dict_readable(v: &Bound<'_, PyAny>, depth: usize) -> Out<usize> {
    if depth > MAX_DEPTH {
        return Err(Stop::Fallback);
    }
    let dict = v.cast::<PyDict>().map_err(|_| Stop::Fallback)?;
    let mut visited = 1;
    for (k, x) in dict.iter() {
        let key_is_str = k.is_exact_instance_of::<PyString>()
            && k.cast::<PyString>().is_ok_and(|k| k.to_str().is_ok());
        if !key_is_str {
            return Err(Stop::Fallback);
        }
        visited += match kind_of(&x) {
            Kind::Obj(_) => whole_dict_readable(&x, depth + 1)?,
            Kind::Arr(_) => {
                let list = x.cast::<PyList>().map_err(|_| Stop::Fallback)?;
                let mut n = 1;
                for y in list.iter() {
                    n += if matches!(kind_of(&y), Kind::Obj(_)) {
                        whole_dict_readable(&y, depth + 1)?
                    } else {
                        readable(&y, depth + 1)?
                    };
                }
                n
            }
            Kind::Other => return Err(Stop::Fallback),
            _ => 1,
        };
    }
    Ok(visited)
}

/// The result as Python values, as the jsonata-core path makes them: whole numbers within 2^53
/// as ints, the caller's own dicts and strs as they are, lists and made values new.
fn to_py<'py>(
    py: Python<'py>,
    v: &Val<'_, Bound<'py, PyAny>>,
    depth: usize,
) -> Out<Option<Bound<'py, PyAny>>> {
    if depth > MAX_DEPTH {
        return Err(Stop::Fallback);
    }
    Ok(Some(match v {
        Val::Undefined => return Ok(None),
        Val::Null => py.None().into_bound(py),
        Val::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Val::Num(n) => jsonata_number_to_py(py, *n),
        Val::Str(s) => PyString::new(py, s).into_any(),
        Val::Data(item) => match kind_of(item) {
            Kind::Num(n) if !item.is_exact_instance_of::<pyo3::types::PyInt>() => {
                jsonata_number_to_py(py, n)
            }
            Kind::Arr(_) => {
                let list = item.cast::<PyList>().map_err(|_| Stop::Fallback)?;
                let mut out = Vec::with_capacity(list.len());
                for x in list.iter() {
                    if let Some(x) = to_py(py, &Val::Data(x), depth + 1)? {
                        out.push(x);
                    }
                }
                PyList::new(py, out).map_err(|_| Stop::Fallback)?.into_any()
            }
            Kind::Other => return Err(Stop::Fallback),
            _ => item.clone(),
        },
        Val::Arr(a) => {
            let mut out = Vec::with_capacity(a.items.len());
            for x in &a.items {
                if let Some(x) = to_py(py, x, depth + 1)? {
                    out.push(x);
                }
            }
            PyList::new(py, out).map_err(|_| Stop::Fallback)?.into_any()
        }
        Val::Obj(fields) => {
            let dict = PyDict::new(py);
            for (k, x) in fields.iter() {
                if let Some(x) = to_py(py, x, depth + 1)? {
                    dict.set_item(PyString::new(py, k), x)
                        .map_err(|_| Stop::Fallback)?;
                }
            }
            dict.into_any()
        }
    }))
}
