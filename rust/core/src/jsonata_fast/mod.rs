//! A fast evaluator for the everyday part of JSONata, reading the caller's data where it lies.
//!
//! `jsonata-core` (see [`crate::jsonata`]) evaluates the whole language, but every evaluation
//! converts what it reads into the crate's own values and pays for generality at every node.
//! Most expressions in workflows and tools are paths, predicates, arithmetic, comparisons,
//! string joins, object and array constructors, conditionals, sorts and a few functions. This
//! module compiles such an expression into a [`Plan`] and evaluates it directly over a
//! [`Model`] of the data (Python objects, serde_json values, ...), without copying what it only
//! passes through.
//!
//! It is an accelerator, never a second opinion: an expression outside the subset has no plan,
//! and an evaluation that meets anything but the plain successful case (a type error, a value
//! that is not JSON, a number whose text JSONata would round, a deep-equality test, ...)
//! stops with [`Stop::Fallback`], and the caller evaluates the expression again with
//! `jsonata-core` from the start. Expressions in the subset have no side effects and do not
//! read the clock or the random source, so evaluating again is invisible. The semantics
//! follow the JSONata 2.0 reference implementation (sequences and their flattening, singleton
//! unwrapping, predicate indexes, `$boolean`'s truth, `$string`'s number text); the test suite
//! compares every answer this module gives on the JSONata test suite with `jsonata-core`'s.
//!
//! The module's parts: `compile` (an expression's tree into a plan), `eval` (a plan over a
//! model), `functions` (the built-in functions of the subset), `json_model` (the engine's
//! values as a model).

use std::cell::Cell;
use std::rc::Rc;

use jsonata_core::ast::AstNode;

mod compile;
mod eval;
mod functions;
mod json_model;
#[cfg(test)]
mod tests;

pub use json_model::{to_json, JsonItem, JsonModel, StatesParts};

use compile::{Compiler, Node};
use eval::{Run, CLOCK_EVERY};

/// What a value of the caller's data is, as far as the evaluator needs to know.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    /// A finite number, exactly representable as a double (larger integers are `Other`).
    Num(f64),
    Str(&'a str),
    /// An array, with its length.
    Arr(usize),
    /// An object, with its number of fields.
    Obj(usize),
    /// Anything else (not JSON, or not read here): the evaluation falls back.
    Other,
}

/// The caller's data, seen through its own representation.
pub trait Model {
    /// A handle to one value of the data (cheap to clone).
    type Item: Clone;
    fn kind<'a>(&self, item: &'a Self::Item) -> Kind<'a>;
    /// The field `name` (the plan's name number `slot`) of an object; `Ok(None)` when absent.
    fn field(&self, item: &Self::Item, name: &str, slot: usize) -> Out<Option<Self::Item>>;
    /// The `index`th item of an array.
    fn at(&self, item: &Self::Item, index: usize) -> Out<Self::Item>;
    /// An object's fields, in order.
    fn fields(&self, item: &Self::Item) -> Out<Vec<(Rc<str>, Self::Item)>>;
    /// Called before an object is used whole (its truth, its count, compared): falls back when
    /// the reference evaluator could not read all of it.
    fn check_whole(&self, _item: &Self::Item) -> Out<()> {
        Ok(())
    }
    /// Steps of work the model did on its own since last asked (reading data through), for the
    /// time limit's count.
    fn take_work(&self) -> u32 {
        0
    }
    /// Called every few thousand steps: `true` stops the evaluation with [`Stop::TimeLimit`].
    fn out_of_time(&self) -> bool;
    /// The value bound to the variable `$name`; `None` when it has none (the evaluation then
    /// falls back: JSONata reads an unbound name as undefined, or as a function of its own).
    fn variable(&self, name: &str) -> Option<Self::Item>;
    /// Whether `$name` is bound (a binding hides a function of the same name).
    fn binds(&self, name: &str) -> bool;
}

/// Why an evaluation stopped without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Something this module does not decide: evaluate with `jsonata-core` instead.
    Fallback,
    /// [`Model::out_of_time`] said so.
    TimeLimit,
}

pub type Out<T> = Result<T, Stop>;

/// A value during evaluation. `Data` is the caller's, untouched; the rest are made here.
#[derive(Clone)]
pub enum Val<'p, I> {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(Text<'p>),
    Data(I),
    Arr(Rc<Arr<'p, I>>),
    Obj(Rc<Vec<(Text<'p>, Val<'p, I>)>>),
}

/// A text made during evaluation, or one of the plan's own (a literal, a key). Equal and hashed
/// as the text it holds.
#[derive(Clone, Debug)]
pub enum Text<'p> {
    Plan(&'p str),
    Made(Rc<str>),
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Text<'_> {}

impl std::hash::Hash for Text<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Plan(s) => s,
            Text::Made(s) => s,
        }
    }
}

/// An array made during evaluation, with JSONata's marks: a *sequence* is flattened into the
/// path it is part of and unwrapped when it holds one value, unless `keep` (from `[]`).
pub struct Arr<'p, I> {
    pub items: Vec<Val<'p, I>>,
    pub sequence: bool,
    pub keep: bool,
}

fn array<I>(items: Vec<Val<'_, I>>, sequence: bool, keep: bool) -> Val<'_, I> {
    Val::Arr(Rc::new(Arr {
        items,
        sequence,
        keep,
    }))
}

fn sequence<I>(items: Vec<Val<'_, I>>) -> Val<'_, I> {
    array(items, true, false)
}

fn plain_array<I>(items: Vec<Val<'_, I>>) -> Val<'_, I> {
    array(items, false, false)
}

/// An expression compiled for this evaluator.
#[derive(Debug)]
pub struct Plan {
    root: Node,
    names: Vec<Box<str>>,
    slots: usize,
    /// The variables it reads that no lambda of its own binds.
    free: Vec<Box<str>>,
    /// The functions it calls, by name.
    calls: Vec<Box<str>>,
}

/// The deepest expression compiled here: the evaluator recurses along the tree, and a plan
/// must not need more native stack than any caller's thread has.
const MAX_PLAN_DEPTH: usize = 48;

/// The deepest data the evaluator walks (results made of the caller's arrays).
const MAX_DATA_DEPTH: usize = 256;

impl Plan {
    /// Compile `ast` when it is inside the subset; `None` otherwise.
    pub fn new(ast: &AstNode) -> Option<Plan> {
        let mut compiler = Compiler {
            names: Vec::new(),
            scopes: Vec::new(),
            slots: 0,
            free: Vec::new(),
            calls: Vec::new(),
        };
        let root = compiler.node(ast, 0)?;
        Some(Plan {
            root,
            names: compiler.names,
            slots: compiler.slots,
            free: compiler.free,
            calls: compiler.calls,
        })
    }

    /// The field names the plan reads, in slot order (see [`Model::field`]).
    pub fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// Evaluate over `input` (`None`: no input).
    pub fn evaluate<'p, M: Model>(
        &'p self,
        model: &M,
        input: Option<M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        if self.calls.iter().any(|name| model.binds(name)) {
            return Err(Stop::Fallback);
        }
        let root = match input {
            Some(item) => {
                // An array input is wrapped specially by JSONata (`$` is the whole array
                // while paths map over it): left to jsonata-core.
                if matches!(model.kind(&item), Kind::Arr(_) | Kind::Other) {
                    return Err(Stop::Fallback);
                }
                Val::Data(item)
            }
            None => Val::Undefined,
        };
        let mut run = Run {
            model,
            plan: self,
            root: root.clone(),
            slots: vec![Val::Undefined; self.slots],
            budget: Cell::new(CLOCK_EVERY),
        };
        run.eval(&self.root, &root)
    }
}
