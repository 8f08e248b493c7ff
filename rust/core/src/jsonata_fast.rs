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

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage, UnaryOp};

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

impl<I: Clone> Clone for Val<'_, I> {
    fn clone(&self) -> Self {
        match self {
            Val::Undefined => Val::Undefined,
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(*b),
            Val::Num(n) => Val::Num(*n),
            Val::Str(s) => Val::Str(s.clone()),
            Val::Data(d) => Val::Data(d.clone()),
            Val::Arr(a) => Val::Arr(a.clone()),
            Val::Obj(o) => Val::Obj(o.clone()),
        }
    }
}

/// An array made during evaluation, with JSONata's marks: a *sequence* is flattened into the
/// path it is part of and unwrapped when it holds one value (unless `keep`, from `[]`); a
/// `cons` array (an array constructor used as a path step) is never flattened.
pub struct Arr<'p, I> {
    pub items: Vec<Val<'p, I>>,
    pub sequence: bool,
    pub cons: bool,
    pub keep: bool,
}

fn sequence<I>(items: Vec<Val<'_, I>>) -> Val<'_, I> {
    Val::Arr(Rc::new(Arr {
        items,
        sequence: true,
        cons: false,
        keep: false,
    }))
}

fn plain_array<I>(items: Vec<Val<'_, I>>) -> Val<'_, I> {
    Val::Arr(Rc::new(Arr {
        items,
        sequence: false,
        cons: false,
        keep: false,
    }))
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
    calls: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy)]
enum Builtin {
    Sum,
    Count,
    Max,
    Min,
    Average,
    String,
    Uppercase,
    Lowercase,
    Length,
    Join,
    Round,
    Floor,
    Ceil,
    Abs,
    Exists,
    Boolean,
    Not,
    Append,
    Merge,
    Keys,
    Contains,
    Substring,
    Number,
    Split,
}

#[derive(Debug)]
enum Node {
    Str(Box<str>),
    Num(f64),
    Bool(bool),
    Null,
    Context,
    Root,
    Slot(usize),
    /// A variable from outside (see [`Model::variable`]), by its index in `Plan::free`.
    Free(usize),
    Path(Box<Path>),
    Arith(Arith, Box<Node>, Box<Node>),
    Compare(Ordering, bool, Box<Node>, Box<Node>),
    Equal(bool, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Concat(Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Negate(Box<Node>),
    /// Items, each with whether it is itself an array constructor (kept whole, not spliced).
    Array(Vec<(Node, bool)>),
    Object(Vec<(Node, Node)>),
    Block(Vec<Node>),
    /// `$name := value` as a statement of a block: the value, kept in a slot for the block's
    /// later statements.
    Bind(usize, Box<Node>),
    Conditional(Box<Node>, Box<Node>, Option<Box<Node>>),
    Sort(Box<Node>, Vec<(Node, bool)>),
    Call(Builtin, Vec<Node>),
    /// `$map` (`filter` false) or `$filter` over an array, with a lambda.
    Each {
        filter: bool,
        array: Box<Node>,
        lambda: Lambda,
    },
}

#[derive(Debug)]
struct Lambda {
    /// The slots of its parameters, in order.
    params: Vec<usize>,
    body: Box<Node>,
}

#[derive(Debug)]
struct Path {
    steps: Vec<Step>,
    /// A `[]` on a step: the result stays an array even with one value.
    keep: bool,
    /// One step that is not a field name (`$[0]`, `(expr)[]`, `$count(x)[1]`): JSONata reads
    /// it as that expression with its predicates, not as a path (it is evaluated once, not
    /// mapped over an array input, and `[]` keeps only a sequence an array).
    lone: bool,
}

#[derive(Debug)]
struct Step {
    node: StepNode,
    /// Whether the step is a variable (`$`, `$$`, `$x`): a path starting with one does not map
    /// its first step over an array input.
    variable: bool,
    filters: Vec<Filter>,
}

#[derive(Debug)]
enum StepNode {
    Name(usize),
    Expr(Node),
}

#[derive(Debug)]
enum Filter {
    Index(f64),
    Predicate(Node),
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

struct Compiler {
    names: Vec<Box<str>>,
    /// The lambda parameters in scope, innermost last: (name, slot).
    scopes: Vec<(String, usize)>,
    slots: usize,
    free: Vec<Box<str>>,
    calls: Vec<&'static str>,
}

impl Compiler {
    fn name(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| &**n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.into());
                self.names.len() - 1
            }
        }
    }

    fn boxed(&mut self, ast: &AstNode, depth: usize) -> Option<Box<Node>> {
        self.node(ast, depth).map(Box::new)
    }

    fn node(&mut self, ast: &AstNode, depth: usize) -> Option<Node> {
        if depth > MAX_PLAN_DEPTH {
            return None;
        }
        let d = depth + 1;
        Some(match ast {
            AstNode::String(s) => Node::Str(s.as_str().into()),
            AstNode::Number(n) if n.is_finite() => Node::Num(*n),
            AstNode::Boolean(b) => Node::Bool(*b),
            AstNode::Null => Node::Null,
            AstNode::Variable(name) if name.is_empty() => Node::Context,
            AstNode::ParentVariable(name) if name.is_empty() => Node::Root,
            AstNode::Variable(name) => match self.scopes.iter().rev().find(|(n, _)| n == name) {
                Some((_, slot)) => Node::Slot(*slot),
                None => Node::Free(match self.free.iter().position(|n| **n == **name) {
                    Some(i) => i,
                    None => {
                        self.free.push(name.as_str().into());
                        self.free.len() - 1
                    }
                }),
            },
            AstNode::Path { steps } => Node::Path(Box::new(self.path(steps, d)?)),
            AstNode::Binary { op, lhs, rhs } => {
                let l = self.boxed(lhs, d)?;
                let r = self.boxed(rhs, d)?;
                match op {
                    BinaryOp::Add => Node::Arith(Arith::Add, l, r),
                    BinaryOp::Subtract => Node::Arith(Arith::Sub, l, r),
                    BinaryOp::Multiply => Node::Arith(Arith::Mul, l, r),
                    BinaryOp::Divide => Node::Arith(Arith::Div, l, r),
                    BinaryOp::Modulo => Node::Arith(Arith::Mod, l, r),
                    BinaryOp::LessThan => Node::Compare(Ordering::Less, false, l, r),
                    BinaryOp::LessThanOrEqual => Node::Compare(Ordering::Less, true, l, r),
                    BinaryOp::GreaterThan => Node::Compare(Ordering::Greater, false, l, r),
                    BinaryOp::GreaterThanOrEqual => Node::Compare(Ordering::Greater, true, l, r),
                    BinaryOp::Equal => Node::Equal(false, l, r),
                    BinaryOp::NotEqual => Node::Equal(true, l, r),
                    BinaryOp::And => Node::And(l, r),
                    BinaryOp::Or => Node::Or(l, r),
                    BinaryOp::Concatenate => Node::Concat(l, r),
                    BinaryOp::In => Node::In(l, r),
                    _ => return None,
                }
            }
            AstNode::Unary {
                op: UnaryOp::Negate,
                operand,
            } => Node::Negate(self.boxed(operand, d)?),
            AstNode::Array(items) => Node::Array(
                items
                    .iter()
                    .map(|item| Some((self.node(item, d)?, matches!(item, AstNode::Array(_)))))
                    .collect::<Option<_>>()?,
            ),
            AstNode::Object(pairs) => Node::Object(
                pairs
                    .iter()
                    .map(|(k, v)| Some((self.node(k, d)?, self.node(v, d)?)))
                    .collect::<Option<_>>()?,
            ),
            AstNode::Block(items) => self.block(items, d)?,
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => Node::Conditional(
                self.boxed(condition, d)?,
                self.boxed(then_branch, d)?,
                match else_branch {
                    Some(e) => Some(self.boxed(e, d)?),
                    None => None,
                },
            ),
            AstNode::Sort { input, terms } => Node::Sort(
                self.boxed(input, d)?,
                terms
                    .iter()
                    .map(|(term, ascending)| Some((self.node(term, d)?, !*ascending)))
                    .collect::<Option<_>>()?,
            ),
            AstNode::Function {
                name,
                args,
                is_builtin: true,
            } => self.call(name, args, d)?,
            _ => return None,
        })
    }

    /// A block: its statements in order, a binding (`$x := ...`) seen by the statements after
    /// it and by nothing outside. (A binding anywhere but as a block's statement binds in a
    /// frame that outlives it, as in a predicate: not in the subset.)
    fn block(&mut self, items: &[AstNode], depth: usize) -> Option<Node> {
        let before = self.scopes.len();
        let mut nodes = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let node = match item {
                AstNode::Binary {
                    op: BinaryOp::ColonEqual,
                    lhs,
                    rhs,
                } => match (&**lhs, &**rhs) {
                    (AstNode::Variable(name), value)
                        if !name.is_empty() && !matches!(value, AstNode::Lambda { .. }) =>
                    {
                        // The value reads the name as it was before this statement.
                        self.node(value, depth).map(|value| {
                            let slot = self.slots;
                            self.slots += 1;
                            self.scopes.push((name.clone(), slot));
                            Node::Bind(slot, Box::new(value))
                        })
                    }
                    _ => None,
                },
                other => self.node(other, depth),
            };
            match node {
                Some(node) => nodes.push(node),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        self.scopes.truncate(before);
        ok.then_some(Node::Block(nodes))
    }

    fn path(&mut self, steps: &[PathStep], depth: usize) -> Option<Path> {
        let mut keep = false;
        let mut out = Vec::with_capacity(steps.len());
        for step in steps {
            if step.focus.is_some()
                || step.index_var.is_some()
                || step.ancestor_label.is_some()
                || step.is_tuple
                || step.inner_tuple
            {
                return None;
            }
            let mut filters = Vec::new();
            for stage in &step.stages {
                match stage {
                    Stage::KeepArray => keep = true,
                    Stage::Filter(expr) => filters.push(match &**expr {
                        AstNode::Number(n) if n.is_finite() => Filter::Index(*n),
                        // `[-1]` is a literal index too (jsonata-core parses it negated).
                        AstNode::Unary {
                            op: UnaryOp::Negate,
                            operand,
                        } if matches!(**operand, AstNode::Number(n) if n.is_finite()) => {
                            match **operand {
                                AstNode::Number(n) => Filter::Index(-n),
                                _ => return None,
                            }
                        }
                        other => Filter::Predicate(self.node(other, depth + 1)?),
                    }),
                    Stage::Index(_) => return None,
                }
            }
            let variable = matches!(step.node, AstNode::Variable(_) | AstNode::ParentVariable(_));
            let node = match &step.node {
                AstNode::Name(name) => StepNode::Name(self.name(name)),
                AstNode::FunctionApplication(inner) => {
                    if !matches!(**inner, AstNode::Block(_)) {
                        return None;
                    }
                    StepNode::Expr(self.node(inner, depth + 1)?)
                }
                AstNode::Variable(_)
                | AstNode::ParentVariable(_)
                | AstNode::Block(_)
                | AstNode::Object(_)
                | AstNode::String(_)
                | AstNode::Number(_)
                | AstNode::Boolean(_)
                | AstNode::Null
                | AstNode::Function { .. }
                | AstNode::Sort { .. }
                | AstNode::Conditional { .. } => StepNode::Expr(self.node(&step.node, depth + 1)?),
                _ => return None,
            };
            out.push(Step {
                node,
                variable,
                filters,
            });
        }
        if out.is_empty() {
            return None;
        }
        let lone = out.len() == 1 && !matches!(out[0].node, StepNode::Name(_));
        Some(Path {
            steps: out,
            keep,
            lone,
        })
    }

    fn call(&mut self, name: &str, args: &[AstNode], depth: usize) -> Option<Node> {
        // A lambda parameter of the same name would hide the function.
        if self.scopes.iter().any(|(n, _)| n == name) {
            return None;
        }
        if name == "map" || name == "filter" {
            self.calls
                .push(if name == "map" { "map" } else { "filter" });
            let [array, AstNode::Lambda {
                params,
                body,
                signature: None,
                ..
            }] = args
            else {
                return None;
            };
            // A call in the body's tail position returns its result as it is, not unwrapped
            // (JSONata's tail-call thunks): for the calls here that make sequences, left to
            // jsonata-core.
            if tail_call_makes_sequence(body) {
                return None;
            }
            let array = self.boxed(array, depth)?;
            let first = self.slots;
            self.slots += params.len();
            let before = self.scopes.len();
            for (i, p) in params.iter().enumerate() {
                self.scopes.push((p.clone(), first + i));
            }
            let body = self.boxed(body, depth);
            self.scopes.truncate(before);
            return Some(Node::Each {
                filter: name == "filter",
                array,
                lambda: Lambda {
                    params: (first..first + params.len()).collect(),
                    body: body?,
                },
            });
        }
        let (builtin, min, max, name) = match name {
            "sum" => (Builtin::Sum, 1, 1, "sum"),
            "count" => (Builtin::Count, 1, 1, "count"),
            "max" => (Builtin::Max, 1, 1, "max"),
            "min" => (Builtin::Min, 1, 1, "min"),
            "average" => (Builtin::Average, 1, 1, "average"),
            "string" => (Builtin::String, 1, 1, "string"),
            "uppercase" => (Builtin::Uppercase, 1, 1, "uppercase"),
            "lowercase" => (Builtin::Lowercase, 1, 1, "lowercase"),
            "length" => (Builtin::Length, 1, 1, "length"),
            "join" => (Builtin::Join, 1, 2, "join"),
            "round" => (Builtin::Round, 1, 2, "round"),
            "floor" => (Builtin::Floor, 1, 1, "floor"),
            "ceil" => (Builtin::Ceil, 1, 1, "ceil"),
            "abs" => (Builtin::Abs, 1, 1, "abs"),
            "exists" => (Builtin::Exists, 1, 1, "exists"),
            "boolean" => (Builtin::Boolean, 1, 1, "boolean"),
            "not" => (Builtin::Not, 1, 1, "not"),
            "append" => (Builtin::Append, 2, 2, "append"),
            "merge" => (Builtin::Merge, 1, 1, "merge"),
            "keys" => (Builtin::Keys, 1, 1, "keys"),
            "contains" => (Builtin::Contains, 2, 2, "contains"),
            "substring" => (Builtin::Substring, 2, 3, "substring"),
            "number" => (Builtin::Number, 1, 1, "number"),
            "split" => (Builtin::Split, 2, 3, "split"),
            _ => return None,
        };
        if args.len() < min || args.len() > max {
            return None;
        }
        self.calls.push(name);
        let args = args
            .iter()
            .map(|a| self.node(a, depth))
            .collect::<Option<Vec<_>>>()?;
        Some(Node::Call(builtin, args))
    }
}

/// Whether `body` (a lambda's) ends in a call of `$map` or `$filter`, directly, in a branch of a
/// conditional or as the last expression of a block.
fn tail_call_makes_sequence(body: &AstNode) -> bool {
    match body {
        AstNode::Function { name, .. } => name == "map" || name == "filter",
        AstNode::Conditional {
            then_branch,
            else_branch,
            ..
        } => {
            tail_call_makes_sequence(then_branch)
                || else_branch.as_deref().is_some_and(tail_call_makes_sequence)
        }
        AstNode::Block(items) => items.last().is_some_and(tail_call_makes_sequence),
        _ => false,
    }
}

/// How many steps the evaluator takes between two [`Model::out_of_time`] checks.
const CLOCK_EVERY: u32 = 1024;

struct Run<'a, 'p, M: Model> {
    model: &'a M,
    plan: &'p Plan,
    root: Val<'p, M::Item>,
    slots: Vec<Val<'p, M::Item>>,
    /// Steps left before the next clock check (a cell: reading data spends it too).
    budget: Cell<u32>,
}

/// A value as the operators see it.
enum View<'v> {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(&'v str),
    Arr,
    Obj(usize),
    Other,
}

impl<'a, 'p, M: Model> Run<'a, 'p, M> {
    #[inline]
    fn tick(&self) -> Out<()> {
        self.spend(1)
    }

    /// Count `steps` against the budget; at its end, ask the model whether time is up.
    #[inline]
    fn spend(&self, steps: u32) -> Out<()> {
        let steps = steps.saturating_add(self.model.take_work());
        match self.budget.get().checked_sub(steps) {
            Some(left) if left > 0 => {
                self.budget.set(left);
                Ok(())
            }
            _ => {
                self.budget.set(CLOCK_EVERY);
                if self.model.out_of_time() {
                    Err(Stop::TimeLimit)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn view<'v>(&self, v: &'v Val<'p, M::Item>) -> View<'v> {
        match v {
            Val::Undefined => View::Undefined,
            Val::Null => View::Null,
            Val::Bool(b) => View::Bool(*b),
            Val::Num(n) => View::Num(*n),
            Val::Str(s) => View::Str(s),
            Val::Arr(_) => View::Arr,
            Val::Obj(o) => View::Obj(o.len()),
            Val::Data(item) => match self.model.kind(item) {
                Kind::Null => View::Null,
                Kind::Bool(b) => View::Bool(b),
                Kind::Num(n) => View::Num(n),
                Kind::Str(s) => View::Str(s),
                Kind::Arr(_) => View::Arr,
                Kind::Obj(n) => View::Obj(n),
                Kind::Other => View::Other,
            },
        }
    }

    /// See [`Model::check_whole`].
    fn check_whole(&self, v: &Val<'p, M::Item>) -> Out<()> {
        match v {
            Val::Data(item) => self.model.check_whole(item),
            _ => Ok(()),
        }
    }

    /// The items of an array value (`None`: not an array).
    fn items(&self, v: &Val<'p, M::Item>) -> Out<Option<Vec<Val<'p, M::Item>>>> {
        Ok(match v {
            Val::Arr(a) => {
                self.spend(u32::try_from(a.items.len() / 16).unwrap_or(u32::MAX))?;
                Some(a.items.clone())
            }
            Val::Data(item) => match self.model.kind(item) {
                Kind::Arr(n) => Some({
                    // (Reading a long array is work the time limit counts too.)
                    self.spend(u32::try_from(n / 16).unwrap_or(u32::MAX))?;
                    (0..n)
                        .map(|i| self.model.at(item, i).map(Val::Data))
                        .collect::<Out<Vec<_>>>()?
                }),
                Kind::Other => return Err(Stop::Fallback),
                _ => None,
            },
            _ => None,
        })
    }

    fn is_array(&self, v: &Val<'p, M::Item>) -> bool {
        match v {
            Val::Arr(_) => true,
            Val::Data(item) => matches!(self.model.kind(item), Kind::Arr(_)),
            _ => false,
        }
    }

    /// Evaluate, then unwrap a sequence as JSONata does after every node: empty is undefined,
    /// one value is that value (unless kept as an array by `[]`).
    fn eval(&mut self, node: &'p Node, input: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let v = self.eval_raw(node, input)?;
        self.unwrap(v)
    }

    /// A sequence as a value: empty is undefined, one value is that value (unless kept as an
    /// array by `[]`). A lone value that is itself an array is not decided here: what JSONata
    /// keeps of it depends on how it was made.
    #[inline]
    fn unwrap(&self, v: Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        Ok(match v {
            Val::Arr(a) if a.sequence => match a.items.len() {
                0 => Val::Undefined,
                1 if !a.keep => {
                    if self.is_array(&a.items[0]) {
                        return Err(Stop::Fallback);
                    }
                    a.items[0].clone()
                }
                _ => Val::Arr(a),
            },
            other => other,
        })
    }

    fn eval_raw(&mut self, node: &'p Node, input: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        self.tick()?;
        match node {
            Node::Str(s) => Ok(Val::Str(Text::Plan(s))),
            Node::Num(n) => Ok(Val::Num(*n)),
            Node::Bool(b) => Ok(Val::Bool(*b)),
            Node::Null => Ok(Val::Null),
            Node::Context => Ok(input.clone()),
            Node::Root => Ok(self.root.clone()),
            Node::Slot(i) => Ok(self.slots[*i].clone()),
            Node::Free(i) => self
                .model
                .variable(&self.plan.free[*i])
                .map(Val::Data)
                .ok_or(Stop::Fallback),
            Node::Path(path) => self.path(path, input),
            Node::Arith(op, l, r) => {
                let l = self.eval(l, input)?;
                let r = self.eval(r, input)?;
                let (a, b) = match (self.view(&l), self.view(&r)) {
                    (View::Num(a), View::Num(b)) => (a, b),
                    (View::Undefined, View::Undefined | View::Num(_))
                    | (View::Num(_), View::Undefined) => return Ok(Val::Undefined),
                    _ => return Err(Stop::Fallback),
                };
                let x = match op {
                    Arith::Add => a + b,
                    Arith::Sub => a - b,
                    Arith::Mul => a * b,
                    Arith::Div => a / b,
                    Arith::Mod => a % b,
                };
                if x.is_finite() {
                    Ok(Val::Num(x))
                } else {
                    Err(Stop::Fallback)
                }
            }
            Node::Compare(want, or_equal, l, r) => {
                let l = self.eval(l, input)?;
                let r = self.eval(r, input)?;
                let order = match (self.view(&l), self.view(&r)) {
                    (View::Num(a), View::Num(b)) => a.partial_cmp(&b).ok_or(Stop::Fallback)?,
                    (View::Str(a), View::Str(b)) => ascii_order(a, b)?,
                    (View::Undefined, View::Undefined | View::Num(_) | View::Str(_))
                    | (View::Num(_) | View::Str(_), View::Undefined) => return Ok(Val::Undefined),
                    _ => return Err(Stop::Fallback),
                };
                Ok(Val::Bool(
                    order == *want || (*or_equal && order == Ordering::Equal),
                ))
            }
            Node::Equal(negate, l, r) => {
                let l = self.eval(l, input)?;
                let r = self.eval(r, input)?;
                self.check_whole(&l)?;
                self.check_whole(&r)?;
                let same = match (self.view(&l), self.view(&r)) {
                    (View::Undefined, _) | (_, View::Undefined) => return Ok(Val::Bool(false)),
                    (View::Arr | View::Obj(_) | View::Other, _)
                    | (_, View::Arr | View::Obj(_) | View::Other) => return Err(Stop::Fallback),
                    (a, b) => scalars_equal(&a, &b),
                };
                Ok(Val::Bool(same != *negate))
            }
            Node::And(l, r) => {
                let l = self.eval(l, input)?;
                if !self.truthy(&l)? {
                    return Ok(Val::Bool(false));
                }
                let r = self.eval(r, input)?;
                Ok(Val::Bool(self.truthy(&r)?))
            }
            Node::Or(l, r) => {
                let l = self.eval(l, input)?;
                if self.truthy(&l)? {
                    return Ok(Val::Bool(true));
                }
                let r = self.eval(r, input)?;
                Ok(Val::Bool(self.truthy(&r)?))
            }
            Node::Concat(l, r) => {
                let l = self.eval(l, input)?;
                let r = self.eval(r, input)?;
                let mut text = String::new();
                self.append_text(&l, &mut text)?;
                self.append_text(&r, &mut text)?;
                Ok(Val::Str(Text::Made(text.into())))
            }
            Node::In(l, r) => {
                let l = self.eval(l, input)?;
                let r = self.eval(r, input)?;
                let needle = self.view(&l);
                if matches!(needle, View::Arr | View::Obj(_) | View::Other) {
                    return Err(Stop::Fallback);
                }
                if matches!(needle, View::Undefined) || matches!(r, Val::Undefined) {
                    return Ok(Val::Bool(false));
                }
                let haystack = match self.items(&r)? {
                    Some(items) => items,
                    None => vec![r],
                };
                for item in &haystack {
                    match self.view(item) {
                        View::Other => return Err(Stop::Fallback),
                        View::Arr | View::Obj(_) => self.check_whole(item)?,
                        View::Undefined => {}
                        other => {
                            if scalars_equal(&needle, &other) {
                                return Ok(Val::Bool(true));
                            }
                        }
                    }
                }
                Ok(Val::Bool(false))
            }
            Node::Negate(operand) => {
                let v = self.eval(operand, input)?;
                match self.view(&v) {
                    View::Undefined => Ok(Val::Undefined),
                    View::Num(n) => Ok(Val::Num(-n)),
                    _ => Err(Stop::Fallback),
                }
            }
            Node::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (item, nested) in items {
                    let v = self.eval(item, input)?;
                    if matches!(v, Val::Undefined) {
                        continue;
                    }
                    if *nested {
                        out.push(v);
                    } else {
                        match self.items(&v)? {
                            Some(inner) => out.extend(inner),
                            None => out.push(v),
                        }
                    }
                }
                Ok(plain_array(out))
            }
            Node::Object(pairs) => self.object(pairs, input),
            Node::Block(items) => {
                let mut last = Val::Undefined;
                for item in items {
                    last = self.eval(item, input)?;
                }
                Ok(last)
            }
            Node::Bind(slot, value) => {
                let v = self.eval(value, input)?;
                self.slots[*slot] = v.clone();
                Ok(v)
            }
            Node::Conditional(condition, then, otherwise) => {
                let c = self.eval(condition, input)?;
                if self.truthy(&c)? {
                    self.eval(then, input)
                } else if let Some(otherwise) = otherwise {
                    self.eval(otherwise, input)
                } else {
                    Ok(Val::Undefined)
                }
            }
            Node::Sort(what, terms) => self.sort(what, terms, input),
            Node::Call(builtin, args) => self.call(*builtin, args, input),
            Node::Each {
                filter,
                array,
                lambda,
            } => self.each(*filter, array, lambda, input),
        }
    }

    fn path(&mut self, path: &'p Path, input: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        if path.lone {
            return self.lone_step(path, input);
        }
        let mut current = match (path.steps[0].variable, self.items(input)?) {
            (false, Some(items)) => items,
            _ => vec![input.clone()],
        };
        let last = path.steps.len() - 1;
        let mut result = Val::Undefined;
        for (i, step) in path.steps.iter().enumerate() {
            result = self.step(step, &current, i == last)?;
            match &result {
                Val::Arr(a) if a.items.is_empty() => break,
                Val::Undefined => break,
                _ => {}
            }
            if i != last {
                current = match self.items(&result)? {
                    Some(items) => items,
                    None => vec![result.clone()],
                };
            }
        }
        if path.keep {
            // `[]`: the result stays an array even with one value, wherever it goes next
            // (a sort of one item included).
            result = match result {
                Val::Arr(a) if a.cons && !a.sequence => return Err(Stop::Fallback),
                Val::Arr(a) => {
                    let mut a = Rc::try_unwrap(a).unwrap_or_else(|a| Arr {
                        items: a.items.clone(),
                        sequence: a.sequence,
                        cons: a.cons,
                        keep: a.keep,
                    });
                    a.keep = true;
                    Val::Arr(Rc::new(a))
                }
                Val::Undefined => Val::Undefined,
                other => match self.items(&other)? {
                    Some(items) => Val::Arr(Rc::new(Arr {
                        items,
                        sequence: false,
                        cons: false,
                        keep: true,
                    })),
                    None => return Err(Stop::Fallback),
                },
            };
        }
        Ok(result)
    }

    /// A path of one step that is not a field name: the expression, then its predicates.
    fn lone_step(&mut self, path: &'p Path, input: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let step = &path.steps[0];
        let StepNode::Expr(node) = &step.node else {
            return Err(Stop::Fallback);
        };
        // As JSONata evaluates any expression: its predicates and `[]` act on its result
        // before a sequence of one is unwrapped.
        let mut v = self.eval_raw(node, input)?;
        for filter in &step.filters {
            v = self.filter(filter, v)?;
        }
        if path.keep {
            if let Val::Arr(a) = &v {
                if a.sequence {
                    v = Val::Arr(Rc::new(Arr {
                        items: a.items.clone(),
                        sequence: true,
                        cons: a.cons,
                        keep: true,
                    }));
                }
            }
        }
        Ok(v)
    }

    /// One step of a path over the values it is given, as JSONata's evaluateStep.
    fn step(
        &mut self,
        step: &'p Step,
        inputs: &[Val<'p, M::Item>],
        last: bool,
    ) -> Out<Val<'p, M::Item>> {
        let mut results = Vec::with_capacity(inputs.len());
        for item in inputs {
            let mut v = match &step.node {
                StepNode::Name(slot) => {
                    self.tick()?;
                    let v = self.lookup(item, *slot, 0)?;
                    self.unwrap(v)?
                }
                StepNode::Expr(node) => self.eval(node, item)?,
            };
            for filter in &step.filters {
                v = self.filter(filter, v)?;
            }
            if !matches!(v, Val::Undefined) {
                results.push(v);
            }
        }
        if last && results.len() == 1 {
            let only = &results[0];
            let plain = match only {
                Val::Arr(a) => !a.sequence,
                Val::Data(_) => self.is_array(only),
                _ => false,
            };
            if plain {
                return Ok(results.pop().unwrap_or(Val::Undefined));
            }
        }
        let mut flat = Vec::with_capacity(results.len());
        for v in results {
            match &v {
                Val::Arr(a) if !a.cons => flat.extend(a.items.iter().cloned()),
                Val::Arr(_) => flat.push(v),
                Val::Data(_) => match self.items(&v)? {
                    Some(items) => flat.extend(items),
                    None => flat.push(v),
                },
                _ => flat.push(v),
            }
        }
        Ok(sequence(flat))
    }

    /// JSONata's lookup: a field of an object, or of every object in an array (flattened).
    fn lookup(&mut self, v: &Val<'p, M::Item>, slot: usize, depth: usize) -> Out<Val<'p, M::Item>> {
        if depth > MAX_DATA_DEPTH {
            return Err(Stop::Fallback);
        }
        match v {
            Val::Data(item) => match self.model.kind(item) {
                Kind::Obj(_) => Ok(self
                    .model
                    .field(item, &self.plan.names[slot], slot)?
                    .map_or(Val::Undefined, Val::Data)),
                Kind::Arr(_) => self.lookup_each(v, slot, depth),
                Kind::Other => Err(Stop::Fallback),
                _ => Ok(Val::Undefined),
            },
            Val::Obj(fields) => Ok(fields
                .iter()
                .find(|(k, _)| **k == *self.plan.names[slot])
                .map_or(Val::Undefined, |(_, v)| v.clone())),
            Val::Arr(_) => self.lookup_each(v, slot, depth),
            _ => Ok(Val::Undefined),
        }
    }

    fn lookup_each(
        &mut self,
        v: &Val<'p, M::Item>,
        slot: usize,
        depth: usize,
    ) -> Out<Val<'p, M::Item>> {
        let mut out = Vec::new();
        for item in self.items(v)?.unwrap_or_default() {
            let r = self.lookup(&item, slot, depth + 1)?;
            match self.items(&r)? {
                Some(inner) => out.extend(inner),
                None if matches!(r, Val::Undefined) => {}
                None => out.push(r),
            }
        }
        Ok(sequence(out))
    }

    /// A predicate stage, as JSONata's evaluateFilter: a number picks by index, anything else
    /// keeps the items it is true for.
    fn filter(&mut self, filter: &'p Filter, v: Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let undefined = matches!(v, Val::Undefined);
        let items = match self.items(&v)? {
            Some(items) => items,
            None => vec![v],
        };
        match filter {
            Filter::Index(n) => {
                if undefined {
                    return Ok(sequence(Vec::new()));
                }
                let Some(i) = index_of(*n, items.len()) else {
                    return Ok(sequence(Vec::new()));
                };
                let item = items[i].clone();
                if self.is_array(&item) {
                    return Err(Stop::Fallback);
                }
                Ok(sequence(vec![item]))
            }
            Filter::Predicate(node) => {
                let mut kept = Vec::new();
                let len = items.len();
                for (index, item) in items.into_iter().enumerate() {
                    let r = self.eval(node, &item)?;
                    // How many times the item is kept: an array of numbers keeps it once for
                    // every number that is its index, as the reference implementation does.
                    let times = match self.view(&r) {
                        View::Num(n) => usize::from(index_of(n, len) == Some(index)),
                        View::Arr => {
                            let picks = self.items(&r)?.unwrap_or_default();
                            let numbers: Option<Vec<f64>> = picks
                                .iter()
                                .map(|p| match self.view(p) {
                                    View::Num(n) => Some(n),
                                    _ => None,
                                })
                                .collect();
                            match numbers {
                                Some(ns) => ns
                                    .iter()
                                    .filter(|n| index_of(**n, len) == Some(index))
                                    .count(),
                                None => usize::from(self.truthy(&r)?),
                            }
                        }
                        _ => usize::from(self.truthy(&r)?),
                    };
                    // (An item that is itself an array, picked by a computed index, is not
                    // decided here.)
                    if times > 0 && (undefined || self.is_array(&item)) {
                        return Err(Stop::Fallback);
                    }
                    for _ in 0..times {
                        kept.push(item.clone());
                    }
                }
                Ok(sequence(kept))
            }
        }
    }

    /// `$boolean`'s truth; undefined is false.
    fn truthy(&self, v: &Val<'p, M::Item>) -> Out<bool> {
        self.truthy_at(v, 0)
    }

    fn truthy_at(&self, v: &Val<'p, M::Item>, depth: usize) -> Out<bool> {
        if depth > MAX_DATA_DEPTH {
            return Err(Stop::Fallback);
        }
        Ok(match self.view(v) {
            View::Undefined | View::Null => false,
            View::Bool(b) => b,
            View::Num(n) => n != 0.0,
            View::Str(s) => !s.is_empty(),
            View::Obj(n) => {
                self.check_whole(v)?;
                n > 0
            }
            View::Arr => {
                let items = self.items(v)?.unwrap_or_default();
                match items.len() {
                    0 => false,
                    1 => self.truthy_at(&items[0], depth + 1)?,
                    _ => {
                        for item in &items {
                            if self.truthy_at(item, depth + 1)? {
                                return Ok(true);
                            }
                        }
                        false
                    }
                }
            }
            View::Other => return Err(Stop::Fallback),
        })
    }

    /// `$string`'s text of a value, added to `out` (undefined adds nothing).
    fn append_text(&self, v: &Val<'p, M::Item>, out: &mut String) -> Out<()> {
        match self.view(v) {
            View::Undefined => {}
            View::Str(s) => out.push_str(s),
            View::Num(n) => out.push_str(&number_text(n).ok_or(Stop::Fallback)?),
            View::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            View::Null => out.push_str("null"),
            View::Arr | View::Obj(_) | View::Other => return Err(Stop::Fallback),
        }
        Ok(())
    }

    /// An object constructor over its context, as JSONata's evaluateGroupExpression with one
    /// item (several items group their values by key: left to jsonata-core).
    fn object(
        &mut self,
        pairs: &'p [(Node, Node)],
        input: &Val<'p, M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        let item = match self.items(input)? {
            Some(items) => match items.len() {
                0 => Val::Undefined,
                1 => items.into_iter().next().unwrap_or(Val::Undefined),
                _ => return Err(Stop::Fallback),
            },
            None => input.clone(),
        };
        let mut keys: Vec<Text<'p>> = Vec::with_capacity(pairs.len());
        let mut fields = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let k = self.eval(key, &item)?;
            let k: Text<'p> = match &k {
                Val::Undefined => continue,
                Val::Str(s) => s.clone(),
                other => match self.view(other) {
                    View::Str(s) => Text::Made(s.into()),
                    _ => return Err(Stop::Fallback),
                },
            };
            // Keys that look like array indexes are ordered first by JavaScript objects, and a
            // key given twice is an error (or a grouping): not decided here.
            if is_index_key(&k) || keys.contains(&k) {
                return Err(Stop::Fallback);
            }
            keys.push(k.clone());
            let v = self.eval(value, &item)?;
            if !matches!(v, Val::Undefined) {
                fields.push((k, v));
            }
        }
        Ok(Val::Obj(Rc::new(fields)))
    }

    fn sort(
        &mut self,
        what: &'p Node,
        terms: &'p [(Node, bool)],
        input: &Val<'p, M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        let v = self.eval(what, input)?;
        let Some(items) = self.items(&v)? else {
            return Ok(v);
        };
        if items.len() <= 1 {
            // Nothing to sort is nothing; one item is that item. (One kept an array by `[]`
            // stays one or not depending on how it got here: not decided here.)
            return match v {
                Val::Arr(a) if a.keep && !a.items.is_empty() => Err(Stop::Fallback),
                _ => Ok(sequence(items)),
            };
        }
        // Every item's keys, once: the terms have no side effects.
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let mut keys = Vec::with_capacity(terms.len());
            for (term, _) in terms {
                let k = self.eval(term, &item)?;
                keys.push(match self.view(&k) {
                    View::Undefined => SortKey::Undefined,
                    View::Num(n) => SortKey::Num(n),
                    View::Str(s) if s.is_ascii() => SortKey::Str(s.into()),
                    _ => return Err(Stop::Fallback),
                });
            }
            keyed.push((keys, item));
        }
        // All of a term's keys are of one type, or comparing them is an error.
        for t in 0..terms.len() {
            let numbers = keyed.iter().any(|(k, _)| matches!(k[t], SortKey::Num(_)));
            let strings = keyed.iter().any(|(k, _)| matches!(k[t], SortKey::Str(_)));
            if numbers && strings {
                return Err(Stop::Fallback);
            }
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for (t, (_, descending)) in terms.iter().enumerate() {
                let order = match (&a[t], &b[t]) {
                    (SortKey::Undefined, SortKey::Undefined) => Ordering::Equal,
                    // Undefined goes last, whichever the direction.
                    (SortKey::Undefined, _) => return Ordering::Greater,
                    (_, SortKey::Undefined) => return Ordering::Less,
                    (SortKey::Num(x), SortKey::Num(y)) => {
                        x.partial_cmp(y).unwrap_or(Ordering::Equal)
                    }
                    (SortKey::Str(x), SortKey::Str(y)) => x.cmp(y),
                    _ => Ordering::Equal,
                };
                let order = if *descending { order.reverse() } else { order };
                if order != Ordering::Equal {
                    return order;
                }
            }
            Ordering::Equal
        });
        Ok(plain_array(
            keyed.into_iter().map(|(_, item)| item).collect(),
        ))
    }

    fn each(
        &mut self,
        filter: bool,
        array: &'p Node,
        lambda: &'p Lambda,
        input: &Val<'p, M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        let v = self.eval(array, input)?;
        self.check_whole(&v)?;
        match self.view(&v) {
            View::Undefined => return Ok(Val::Undefined),
            // (jsonata-core reads a null here as no array at all.)
            View::Null | View::Other => return Err(Stop::Fallback),
            _ => {}
        }
        let (items, whole) = match self.items(&v)? {
            Some(items) => (items, v),
            None => (vec![v.clone()], plain_array(vec![v])),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            for (n, slot) in lambda.params.iter().enumerate() {
                self.slots[*slot] = match n {
                    0 => item.clone(),
                    1 => Val::Num(i as f64),
                    2 => whole.clone(),
                    _ => Val::Undefined,
                };
            }
            let r = self.eval(&lambda.body, input)?;
            if filter {
                if self.truthy(&r)? {
                    out.push(item);
                }
            } else if !matches!(r, Val::Undefined) {
                out.push(r);
            }
        }
        Ok(sequence(out))
    }

    fn call(
        &mut self,
        builtin: Builtin,
        args: &'p [Node],
        input: &Val<'p, M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(a, input)?);
        }
        let arg = &values[0];
        match builtin {
            Builtin::Exists => return Ok(Val::Bool(!matches!(arg, Val::Undefined))),
            Builtin::Append => return self.append(arg, &values[1]),
            Builtin::Keys => return self.keys(arg),
            Builtin::Count => {
                self.check_whole(arg)?;
                return Ok(Val::Num(match self.items(arg)? {
                    Some(items) => items.len() as f64,
                    None if matches!(arg, Val::Undefined) => 0.0,
                    None => 1.0,
                }));
            }
            _ => {}
        }
        if matches!(arg, Val::Undefined) {
            // jsonata-core checks the other arguments' types first.
            if values.len() > 1 {
                return Err(Stop::Fallback);
            }
            return Ok(Val::Undefined);
        }
        match builtin {
            Builtin::Sum | Builtin::Max | Builtin::Min | Builtin::Average => {
                let numbers = self.numbers(arg)?;
                let x = match builtin {
                    Builtin::Sum => numbers.iter().sum::<f64>(),
                    _ if numbers.is_empty() => return Ok(Val::Undefined),
                    Builtin::Max => numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    Builtin::Min => numbers.iter().copied().fold(f64::INFINITY, f64::min),
                    _ => numbers.iter().sum::<f64>() / numbers.len() as f64,
                };
                if x.is_finite() {
                    Ok(Val::Num(x))
                } else {
                    Err(Stop::Fallback)
                }
            }
            Builtin::String => match self.view(arg) {
                View::Str(_) => Ok(arg.clone()),
                _ => {
                    let mut text = String::new();
                    self.append_text(arg, &mut text)?;
                    Ok(Val::Str(Text::Made(text.into())))
                }
            },
            Builtin::Uppercase | Builtin::Lowercase | Builtin::Length => {
                let View::Str(s) = self.view(arg) else {
                    return Err(Stop::Fallback);
                };
                if !s.is_ascii() {
                    return Err(Stop::Fallback);
                }
                Ok(match builtin {
                    Builtin::Uppercase => Val::Str(Text::Made(s.to_ascii_uppercase().into())),
                    Builtin::Lowercase => Val::Str(Text::Made(s.to_ascii_lowercase().into())),
                    _ => Val::Num(s.len() as f64),
                })
            }
            Builtin::Join => {
                let separator = match values.get(1) {
                    None => String::new(),
                    Some(sep) => match self.view(sep) {
                        View::Str(s) => s.to_string(),
                        _ => return Err(Stop::Fallback),
                    },
                };
                let parts = self.items(arg)?.unwrap_or_else(|| vec![arg.clone()]);
                let mut text = String::new();
                for (i, part) in parts.iter().enumerate() {
                    let View::Str(s) = self.view(part) else {
                        return Err(Stop::Fallback);
                    };
                    if i > 0 {
                        text.push_str(&separator);
                    }
                    text.push_str(s);
                }
                Ok(Val::Str(Text::Made(text.into())))
            }
            Builtin::Round | Builtin::Floor | Builtin::Ceil | Builtin::Abs => {
                let View::Num(n) = self.view(arg) else {
                    return Err(Stop::Fallback);
                };
                let x = match builtin {
                    Builtin::Floor => n.floor(),
                    Builtin::Ceil => n.ceil(),
                    Builtin::Abs => n.abs(),
                    _ => {
                        let precision = match values.get(1) {
                            None => 0,
                            Some(p) => match self.view(p) {
                                View::Num(p) if p.fract() == 0.0 && p.abs() <= 15.0 => p as i32,
                                _ => return Err(Stop::Fallback),
                            },
                        };
                        // jsonata-core's own rounding, so that both roads agree.
                        match jsonata_core::functions::numeric::round(n, Some(precision)) {
                            Ok(jsonata_core::value::JValue::Number(x)) if x.is_finite() => x,
                            _ => return Err(Stop::Fallback),
                        }
                    }
                };
                Ok(Val::Num(if x == 0.0 { 0.0 } else { x }))
            }
            Builtin::Boolean => Ok(Val::Bool(self.truthy(arg)?)),
            Builtin::Not => Ok(Val::Bool(!self.truthy(arg)?)),
            Builtin::Merge => self.merge(arg),
            Builtin::Contains => {
                let (View::Str(s), Some(View::Str(token))) =
                    (self.view(arg), values.get(1).map(|t| self.view(t)))
                else {
                    return Err(Stop::Fallback);
                };
                Ok(Val::Bool(s.contains(token)))
            }
            Builtin::Substring => {
                let View::Str(s) = self.view(arg) else {
                    return Err(Stop::Fallback);
                };
                let integer = |v: Option<&Val<'p, M::Item>>| match v.map(|v| self.view(v)) {
                    Some(View::Num(n)) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(Some(n as i64)),
                    None => Ok(None),
                    _ => Err(Stop::Fallback),
                };
                let start = integer(values.get(1))?.ok_or(Stop::Fallback)?;
                let length = integer(values.get(2))?;
                Ok(Val::Str(Text::Made(substring(s, start, length).into())))
            }
            Builtin::Number => match self.view(arg) {
                View::Num(n) => Ok(Val::Num(n)),
                View::Bool(b) => Ok(Val::Num(if b { 1.0 } else { 0.0 })),
                View::Str(s) if is_decimal(s) => match s.parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Val::Num(x)),
                    _ => Err(Stop::Fallback),
                },
                _ => Err(Stop::Fallback),
            },
            Builtin::Split => {
                let (View::Str(s), Some(View::Str(separator))) =
                    (self.view(arg), values.get(1).map(|t| self.view(t)))
                else {
                    return Err(Stop::Fallback);
                };
                // An empty separator splits into UTF-16 units in JavaScript: not decided here.
                if separator.is_empty() {
                    return Err(Stop::Fallback);
                }
                let limit = match values.get(2).map(|l| self.view(l)) {
                    None => usize::MAX,
                    Some(View::Num(n)) if n >= 0.0 && n.fract() == 0.0 => n as usize,
                    _ => return Err(Stop::Fallback),
                };
                Ok(plain_array(
                    s.split(separator)
                        .take(limit)
                        .map(|part| Val::Str(Text::Made(part.into())))
                        .collect(),
                ))
            }
            Builtin::Exists | Builtin::Count | Builtin::Append | Builtin::Keys => {
                Err(Stop::Fallback)
            }
        }
    }

    /// `$append`: the two as one array (either alone when the other is undefined).
    fn append(&self, a: &Val<'p, M::Item>, b: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        // (jsonata-core converts an object of the data given to `$append` itself, not lazily:
        // what it makes of one is not decided here.)
        for v in [a, b] {
            if matches!(v, Val::Data(_)) && matches!(self.view(v), View::Obj(_)) {
                return Err(Stop::Fallback);
            }
        }
        match (a, b) {
            (Val::Undefined, _) => return Ok(b.clone()),
            (_, Val::Undefined) => return Ok(a.clone()),
            _ => {}
        }
        let mut items = self.items(a)?.unwrap_or_else(|| vec![a.clone()]);
        items.extend(self.items(b)?.unwrap_or_else(|| vec![b.clone()]));
        Ok(plain_array(items))
    }

    /// An object's fields (made or the data's), refusing keys JavaScript would reorder.
    fn object_fields(&self, v: &Val<'p, M::Item>) -> Out<Vec<(Text<'p>, Val<'p, M::Item>)>> {
        let fields: Vec<(Text<'p>, Val<'p, M::Item>)> = match v {
            Val::Obj(fields) => fields.iter().cloned().collect(),
            Val::Data(item) => {
                self.model.check_whole(item)?;
                self.model
                    .fields(item)?
                    .into_iter()
                    .map(|(k, x)| (Text::Made(k), Val::Data(x)))
                    .collect()
            }
            _ => return Err(Stop::Fallback),
        };
        self.spend(u32::try_from(fields.len() / 16).unwrap_or(u32::MAX))?;
        if fields.iter().any(|(k, _)| is_index_key(k)) {
            return Err(Stop::Fallback);
        }
        Ok(fields)
    }

    /// `$merge`: the fields of an array of objects in one object, later ones winning.
    fn merge(&self, arg: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let objects = self.items(arg)?.unwrap_or_else(|| vec![arg.clone()]);
        let mut merged: Vec<(Text<'p>, Val<'p, M::Item>)> = Vec::new();
        let mut at: HashMap<Text<'p>, usize> = HashMap::new();
        for object in &objects {
            if !matches!(self.view(object), View::Obj(_)) {
                return Err(Stop::Fallback);
            }
            for (k, x) in self.object_fields(object)? {
                match at.get(&k) {
                    Some(&i) => merged[i].1 = x,
                    None => {
                        at.insert(k.clone(), merged.len());
                        merged.push((k, x));
                    }
                }
            }
        }
        Ok(Val::Obj(Rc::new(merged)))
    }

    /// `$keys`: an object's keys, or the keys of every object in an array (each once).
    fn keys(&self, arg: &Val<'p, M::Item>) -> Out<Val<'p, M::Item>> {
        let objects = match self.view(arg) {
            View::Undefined => return Ok(Val::Undefined),
            View::Obj(_) => vec![arg.clone()],
            View::Arr => self.items(arg)?.unwrap_or_default(),
            _ => return Err(Stop::Fallback),
        };
        let mut keys: Vec<Text<'p>> = Vec::new();
        let mut seen: HashSet<Text<'p>> = HashSet::new();
        for object in &objects {
            if !matches!(self.view(object), View::Obj(_)) {
                return Err(Stop::Fallback);
            }
            for (k, _) in self.object_fields(object)? {
                if seen.insert(k.clone()) {
                    keys.push(k);
                }
            }
        }
        Ok(sequence(keys.into_iter().map(Val::Str).collect()))
    }

    /// The numbers of a `$sum`-style argument (a number alone counts as an array of one).
    fn numbers(&self, v: &Val<'p, M::Item>) -> Out<Vec<f64>> {
        let items = self.items(v)?.unwrap_or_else(|| vec![v.clone()]);
        items
            .iter()
            .map(|item| match self.view(item) {
                View::Num(n) => Ok(n),
                _ => Err(Stop::Fallback),
            })
            .collect()
    }
}

enum SortKey {
    Undefined,
    Num(f64),
    Str(Box<str>),
}

/// Whether JavaScript would order this object key first, as an array index.
fn is_index_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit())
}

/// `$substring` on code points, as JavaScript's `slice` takes its bounds.
fn substring(s: &str, start: i64, length: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let start = if len + start < 0 { 0 } else { start };
    let end = match length {
        Some(l) if l <= 0 => return String::new(),
        Some(l) if start >= 0 => start + l,
        Some(l) => len + start + l,
        None => len,
    };
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let (from, to) = (clamp(start), clamp(end));
    if to <= from {
        return String::new();
    }
    chars[from as usize..to as usize].iter().collect()
}

/// Whether `$number` reads this text as a decimal number (`-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?`).
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// JavaScript orders strings by UTF-16 code units, Rust by UTF-8 bytes: the same for ASCII.
fn ascii_order(a: &str, b: &str) -> Out<Ordering> {
    if a.is_ascii() && b.is_ascii() {
        Ok(a.cmp(b))
    } else {
        Err(Stop::Fallback)
    }
}

fn scalars_equal(a: &View<'_>, b: &View<'_>) -> bool {
    match (a, b) {
        (View::Null, View::Null) => true,
        (View::Bool(x), View::Bool(y)) => x == y,
        (View::Num(x), View::Num(y)) => x == y,
        (View::Str(x), View::Str(y)) => x == y,
        _ => false,
    }
}

/// A predicate's number as an index into `len` items (negative counts from the end).
fn index_of(n: f64, len: usize) -> Option<usize> {
    let mut i = n.floor();
    if i < 0.0 {
        i += len as f64;
    }
    (i >= 0.0 && i < len as f64).then_some(i as usize)
}

/// The decimal digits and exponent of the shortest text that reads back as `x` (`x` finite,
/// not zero): `x` = 0.d1d2d3... × 10^exponent.
fn shortest_digits(x: f64) -> (String, i32) {
    let text = format!("{:e}", x.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exponent.parse::<i32>().unwrap_or(0) + 1)
}

/// A number as JSONata's `$string` writes it (JavaScript's text of the number rounded to 15
/// significant digits); `None` when that rounding would change the number (left to
/// jsonata-core, which does it).
pub fn number_text(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some("0".to_string());
    }
    let (digits, n) = shortest_digits(x);
    if digits.len() > 15 {
        return None;
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let k = digits.len() as i32;
    // ECMAScript's Number::toString.
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    Some(format!("{sign}{body}"))
}

/// `$states` as the engine has it: its parts, not copied into one object.
pub struct StatesParts<'a> {
    pub input: &'a serde_json::Value,
    pub result: Option<&'a serde_json::Value>,
    pub error_output: Option<&'a serde_json::Value>,
    pub context: Option<&'a serde_json::Value>,
}

impl<'a> StatesParts<'a> {
    /// The parts that are there, by the names `$states` gives them, in `$states`'s order.
    fn fields(&self) -> impl Iterator<Item = (&'static str, &'a serde_json::Value)> {
        [
            ("input", Some(self.input)),
            ("result", self.result),
            ("errorOutput", self.error_output),
            ("context", self.context),
        ]
        .into_iter()
        .filter_map(|(name, part)| Some((name, part?)))
    }
}

/// A value of the engine's data.
#[derive(Clone, Copy)]
pub enum JsonItem<'a> {
    Value(&'a serde_json::Value),
    States(&'a StatesParts<'a>),
}

/// The engine's data: serde_json values, `$states` and the workflow variables.
pub struct JsonModel<'a> {
    states: Option<&'a StatesParts<'a>>,
    vars: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Clock checks left before the evaluation is handed to jsonata-core, which keeps the time
    /// limit (the engine has no clock of its own): a few million steps.
    checks: Cell<u32>,
}

/// How many of [`Model::out_of_time`]'s checks an engine evaluation is given.
const ENGINE_CHECKS: u32 = 4096;

impl<'a> JsonModel<'a> {
    pub fn new(
        states: Option<&'a StatesParts<'a>>,
        vars: Option<&'a serde_json::Map<String, serde_json::Value>>,
    ) -> JsonModel<'a> {
        JsonModel {
            states,
            vars,
            checks: Cell::new(ENGINE_CHECKS),
        }
    }
}

impl<'a> Model for JsonModel<'a> {
    type Item = JsonItem<'a>;

    fn kind<'i>(&self, item: &'i Self::Item) -> Kind<'i> {
        use serde_json::Value;
        match item {
            JsonItem::States(parts) => Kind::Obj(parts.fields().count()),
            JsonItem::Value(v) => match v {
                Value::Null => Kind::Null,
                Value::Bool(b) => Kind::Bool(*b),
                Value::Number(n) => match json_number(n) {
                    Some(x) => Kind::Num(x),
                    None => Kind::Other,
                },
                Value::String(s) => Kind::Str(s),
                Value::Array(a) => Kind::Arr(a.len()),
                Value::Object(o) => Kind::Obj(o.len()),
            },
        }
    }

    fn field(&self, item: &Self::Item, name: &str, _slot: usize) -> Out<Option<Self::Item>> {
        Ok(match item {
            JsonItem::States(parts) => parts
                .fields()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| JsonItem::Value(v)),
            JsonItem::Value(v) => v.as_object().and_then(|o| o.get(name)).map(JsonItem::Value),
        })
    }

    fn at(&self, item: &Self::Item, index: usize) -> Out<Self::Item> {
        match item {
            JsonItem::Value(v) => v
                .as_array()
                .and_then(|a| a.get(index))
                .map(JsonItem::Value)
                .ok_or(Stop::Fallback),
            JsonItem::States(_) => Err(Stop::Fallback),
        }
    }

    fn fields(&self, item: &Self::Item) -> Out<Vec<(Rc<str>, Self::Item)>> {
        match item {
            JsonItem::States(parts) => Ok(parts
                .fields()
                .map(|(k, v)| (Rc::from(k), JsonItem::Value(v)))
                .collect()),
            JsonItem::Value(v) => Ok(v
                .as_object()
                .ok_or(Stop::Fallback)?
                .iter()
                .map(|(k, v)| (Rc::from(k.as_str()), JsonItem::Value(v)))
                .collect()),
        }
    }

    fn out_of_time(&self) -> bool {
        let left = self.checks.get().saturating_sub(1);
        self.checks.set(left);
        left == 0
    }

    fn variable(&self, name: &str) -> Option<Self::Item> {
        // (A workflow variable comes after `$states`, as jsonata-core binds them.)
        if let Some(v) = self.vars.and_then(|vars| vars.get(name)) {
            return Some(JsonItem::Value(v));
        }
        (name == "states").then_some(self.states.map(JsonItem::States))?
    }

    fn binds(&self, name: &str) -> bool {
        (name == "states" && self.states.is_some())
            || self.vars.is_some_and(|v| v.contains_key(name))
    }
}

/// A JSON number as JSONata reads it; `None` for an integer a double does not hold exactly.
fn json_number(n: &serde_json::Number) -> Option<f64> {
    const EXACT: u64 = 1 << 53;
    if let Some(i) = n.as_i64() {
        return (i.unsigned_abs() <= EXACT).then_some(i as f64);
    }
    if let Some(u) = n.as_u64() {
        return (u <= EXACT).then_some(u as f64);
    }
    n.as_f64().filter(|x| x.is_finite())
}

/// A result as the engine's value, as the jsonata-core road makes it (numbers through a
/// double: whole ones within 2^53 as integers); `Ok(None)` for undefined.
pub fn to_json(v: &Val<'_, JsonItem<'_>>) -> Out<Option<serde_json::Value>> {
    to_json_at(v, 0)
}

fn to_json_at(v: &Val<'_, JsonItem<'_>>, depth: usize) -> Out<Option<serde_json::Value>> {
    use serde_json::Value;
    if depth > MAX_DATA_DEPTH {
        return Err(Stop::Fallback);
    }
    Ok(Some(match v {
        Val::Undefined => return Ok(None),
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => number_value(*n)?,
        Val::Str(s) => Value::String(s.to_string()),
        Val::Data(JsonItem::Value(v)) => json_copy(v, depth)?,
        Val::Data(JsonItem::States(parts)) => Value::Object(
            parts
                .fields()
                .map(|(name, part)| Ok((name.to_string(), json_copy(part, depth + 1)?)))
                .collect::<Out<_>>()?,
        ),
        Val::Arr(a) => Value::Array(
            a.items
                .iter()
                .filter_map(|x| to_json_at(x, depth + 1).transpose())
                .collect::<Out<_>>()?,
        ),
        Val::Obj(fields) => Value::Object(
            fields
                .iter()
                .filter_map(|(k, x)| {
                    to_json_at(x, depth + 1)
                        .map(|x| x.map(|x| (k.to_string(), x)))
                        .transpose()
                })
                .collect::<Out<_>>()?,
        ),
    }))
}

/// A copy of the data's own value, its numbers as a double holds them.
fn json_copy(v: &serde_json::Value, depth: usize) -> Out<serde_json::Value> {
    // Most values have no number to rewrite: those are cloned whole (a map's clone copies its
    // table, where rebuilding it hashes every key again).
    if !needs_rewrite(v, depth)? {
        return Ok(v.clone());
    }
    rewrite(v, depth)
}

/// Whether a number in `v` reads differently through a double (`2.0` is `2`, `-0.0` is `0`);
/// an integer a double does not hold falls back.
fn needs_rewrite(v: &serde_json::Value, depth: usize) -> Out<bool> {
    use serde_json::Value;
    if depth > MAX_DATA_DEPTH {
        return Err(Stop::Fallback);
    }
    Ok(match v {
        Value::Number(n) => {
            let x = json_number(n).ok_or(Stop::Fallback)?;
            n.is_f64() && x.fract() == 0.0
        }
        Value::Array(a) => {
            let mut any = false;
            for x in a {
                any |= needs_rewrite(x, depth + 1)?;
            }
            any
        }
        Value::Object(o) => {
            let mut any = false;
            for x in o.values() {
                any |= needs_rewrite(x, depth + 1)?;
            }
            any
        }
        _ => false,
    })
}

fn rewrite(v: &serde_json::Value, depth: usize) -> Out<serde_json::Value> {
    use serde_json::Value;
    if depth > MAX_DATA_DEPTH {
        return Err(Stop::Fallback);
    }
    Ok(match v {
        Value::Number(n) => number_value(json_number(n).ok_or(Stop::Fallback)?)?,
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| rewrite(x, depth + 1))
                .collect::<Out<_>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), rewrite(x, depth + 1)?)))
                .collect::<Out<_>>()?,
        ),
        other => other.clone(),
    })
}

fn number_value(n: f64) -> Out<serde_json::Value> {
    crate::jsonata::number(n).map_err(|_| Stop::Fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fast(expr: &str, data: &serde_json::Value) -> Result<Option<serde_json::Value>, Stop> {
        let ast = jsonata_core::parser::parse(expr).expect("parses");
        let plan = Plan::new(&ast).ok_or(Stop::Fallback)?;
        let model = JsonModel::new(None, None);
        plan.evaluate(&model, Some(JsonItem::Value(data)))
            .and_then(|v| to_json(&v))
    }

    #[test]
    fn number_text_is_javascripts() {
        let cases = [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (1.5e-7, "1.5e-7"),
            (123.456, "123.456"),
            (-0.0, "0"),
        ];
        for (x, text) in cases {
            assert_eq!(number_text(x).as_deref(), Some(text), "{x}");
        }
        assert_eq!(number_text(0.1 + 0.2), None);
    }

    #[test]
    fn paths_predicates_and_constructors() {
        let data = json!({"a": {"items": [{"p": 1, "t": ["x"]}, {"p": 20, "t": ["y", "x"]}]}});
        assert_eq!(fast("a.items.p", &data), Ok(Some(json!([1, 20]))));
        assert_eq!(fast("a.items[p > 5].p", &data), Ok(Some(json!(20))));
        assert_eq!(fast("a.items[p > 5][].p", &data), Ok(Some(json!([20]))));
        assert_eq!(fast("a.items['x' in t].p", &data), Ok(Some(json!([1, 20]))));
        assert_eq!(fast("a.items[-1].p", &data), Ok(Some(json!(20))));
        assert_eq!(fast("a.items.t", &data), Ok(Some(json!(["x", "y", "x"]))));
        assert_eq!(fast("a.nothing", &data), Ok(None));
        assert_eq!(
            fast("{'n': $count(a.items), 's': $sum(a.items.p)}", &data),
            Ok(Some(json!({"n": 2, "s": 21})))
        );
        assert_eq!(
            fast(
                "$join($map(a.items, function($i) { $i.p & '!' }), ',')",
                &data
            ),
            Ok(Some(json!("1!,20!")))
        );
        assert_eq!(fast("(a.items^(>p)).p", &data), Ok(Some(json!([20, 1]))));
    }

    fn in_state(
        expr: &str,
        input: &serde_json::Value,
        vars: serde_json::Value,
    ) -> Out<Option<serde_json::Value>> {
        let ast = jsonata_core::parser::parse(expr).expect("parses");
        let plan = Plan::new(&ast).ok_or(Stop::Fallback)?;
        let context = json!({"Execution": {"Name": "x"}});
        let parts = StatesParts {
            input,
            result: None,
            error_output: None,
            context: Some(&context),
        };
        let vars = vars.as_object().cloned().unwrap_or_default();
        let model = JsonModel::new(Some(&parts), Some(&vars));
        plan.evaluate(&model, None).and_then(|v| to_json(&v))
    }

    #[test]
    fn states_and_variables_are_read_where_they_lie() {
        let input = json!({"a": 2.0, "big": 1u64 << 60, "items": [1, 2, 3]});
        // Numbers come out as the jsonata-core road makes them: whole ones as integers.
        assert_eq!(
            in_state("$states.input.a", &input, json!({})),
            Ok(Some(json!(2)))
        );
        assert_eq!(
            in_state(
                "$states.input.items[$ > $limit]",
                &input,
                json!({"limit": 1})
            ),
            Ok(Some(json!([2, 3])))
        );
        assert_eq!(
            in_state("$states.context.Execution.Name", &input, json!({})),
            Ok(Some(json!("x")))
        );
        assert_eq!(
            in_state("$states", &json!({"a": 1}), json!({})),
            Ok(Some(
                json!({"input": {"a": 1}, "context": {"Execution": {"Name": "x"}}})
            ))
        );
        // An integer a double does not hold, an unbound variable, a variable that hides a
        // function: jsonata-core's to decide.
        assert_eq!(
            in_state("$states.input.big", &input, json!({})),
            Err(Stop::Fallback)
        );
        assert_eq!(
            in_state("$states.input", &input, json!({})),
            Err(Stop::Fallback)
        );
        assert_eq!(in_state("$nothing", &input, json!({})), Err(Stop::Fallback));
        assert_eq!(
            in_state("$sum($states.input.items)", &input, json!({"sum": 1})),
            Err(Stop::Fallback)
        );
        assert_eq!(
            in_state("$sum($states.input.items)", &input, json!({})),
            Ok(Some(json!(6)))
        );
    }

    #[test]
    fn what_it_does_not_decide_falls_back() {
        let data = json!({"a": "x", "b": [1, 2]});
        assert_eq!(fast("a + 1", &data), Err(Stop::Fallback));
        assert_eq!(fast("b = [1, 2]", &data), Err(Stop::Fallback));
        assert_eq!(fast("$trim(a)", &data), Err(Stop::Fallback));
        assert_eq!(fast("$string(0.1 + 0.2)", &data), Err(Stop::Fallback));
    }
}
