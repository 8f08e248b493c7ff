//! An expression's tree (jsonata-core's parse) into a [`Plan`](super::Plan), when it is inside
//! the subset.

use std::cmp::Ordering;

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage, UnaryOp};

use super::MAX_PLAN_DEPTH;

#[derive(Debug, Clone, Copy)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Builtin {
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
pub(super) enum Node {
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
pub(super) struct Lambda {
    /// The slots of its parameters, in order.
    pub(super) params: Vec<usize>,
    pub(super) body: Box<Node>,
}

#[derive(Debug)]
pub(super) struct Path {
    pub(super) steps: Vec<Step>,
    /// A `[]` on a step: the result stays an array even with one value.
    pub(super) keep: bool,
    /// One step that is not a field name (`$[0]`, `(expr)[]`, `$count(x)[1]`): JSONata reads
    /// it as that expression with its predicates, not as a path (it is evaluated once, not
    /// mapped over an array input, and `[]` keeps only a sequence an array).
    pub(super) lone: bool,
}

#[derive(Debug)]
pub(super) struct Step {
    pub(super) node: StepNode,
    /// Whether the step takes its input whole: a variable (`$`, `$$`, `$x`), or a sort (a stage
    /// of the path it sorts, which ends in the whole sequence). A path starting with one does not
    /// map its first step over an array input.
    pub(super) whole: bool,
    pub(super) filters: Vec<Filter>,
}

#[derive(Debug)]
pub(super) enum StepNode {
    Name(usize),
    Expr(Node),
}

#[derive(Debug)]
pub(super) enum Filter {
    Index(f64),
    Predicate(Node),
}

pub(super) struct Compiler {
    pub(super) names: Vec<Box<str>>,
    /// The variables in scope that live in slots (lambda parameters, a block's `:=`
    /// bindings), innermost last: (name, slot).
    pub(super) scopes: Vec<(String, usize)>,
    pub(super) slots: usize,
    pub(super) free: Vec<Box<str>>,
    pub(super) calls: Vec<Box<str>>,
}

/// The built-in functions of the subset besides `$map` and `$filter`: name, function, and the
/// fewest and most arguments it takes.
const BUILTINS: &[(&str, Builtin, usize, usize)] = &[
    ("sum", Builtin::Sum, 1, 1),
    ("count", Builtin::Count, 1, 1),
    ("max", Builtin::Max, 1, 1),
    ("min", Builtin::Min, 1, 1),
    ("average", Builtin::Average, 1, 1),
    ("string", Builtin::String, 1, 1),
    ("uppercase", Builtin::Uppercase, 1, 1),
    ("lowercase", Builtin::Lowercase, 1, 1),
    ("length", Builtin::Length, 1, 1),
    ("join", Builtin::Join, 1, 2),
    ("round", Builtin::Round, 1, 2),
    ("floor", Builtin::Floor, 1, 1),
    ("ceil", Builtin::Ceil, 1, 1),
    ("abs", Builtin::Abs, 1, 1),
    ("exists", Builtin::Exists, 1, 1),
    ("boolean", Builtin::Boolean, 1, 1),
    ("not", Builtin::Not, 1, 1),
    ("append", Builtin::Append, 2, 2),
    ("merge", Builtin::Merge, 1, 1),
    ("keys", Builtin::Keys, 1, 1),
    ("contains", Builtin::Contains, 2, 2),
    ("substring", Builtin::Substring, 2, 3),
    ("number", Builtin::Number, 1, 1),
    ("split", Builtin::Split, 2, 3),
];

/// The index of `name` in `list`, added at the end when it is not there yet.
fn index_in(list: &mut Vec<Box<str>>, name: &str) -> usize {
    match list.iter().position(|n| &**n == name) {
        Some(i) => i,
        None => {
            list.push(name.into());
            list.len() - 1
        }
    }
}

/// The number of a literal index predicate (`[2]`, and `[-1]`, which jsonata-core parses as a
/// negation).
fn literal_index(expr: &AstNode) -> Option<f64> {
    match expr {
        AstNode::Number(n) => Some(*n),
        AstNode::Unary {
            op: UnaryOp::Negate,
            operand,
        } => match **operand {
            AstNode::Number(n) => Some(-n),
            _ => None,
        },
        _ => None,
    }
    .filter(|n| n.is_finite())
}

impl Compiler {
    pub(super) fn boxed(&mut self, ast: &AstNode, depth: usize) -> Option<Box<Node>> {
        self.node(ast, depth).map(Box::new)
    }

    pub(super) fn node(&mut self, ast: &AstNode, depth: usize) -> Option<Node> {
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
                None => Node::Free(index_in(&mut self.free, name)),
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
            // A `[]` in the sorted path keeps the array of the path the sort ends
            // (jsonata-core carries it there, as JSONata makes the sort a stage of that path):
            // not in the subset.
            AstNode::Sort { input, .. } if path_keeps_arrays(input) => return None,
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
    pub(super) fn block(&mut self, items: &[AstNode], depth: usize) -> Option<Node> {
        let before = self.scopes.len();
        let statements = items
            .iter()
            .map(|item| self.statement(item, depth))
            .collect::<Option<Vec<_>>>();
        self.scopes.truncate(before);
        statements.map(Node::Block)
    }

    /// One statement of a block: a `$x := ...` binding (its slot then in scope), or any node.
    fn statement(&mut self, item: &AstNode, depth: usize) -> Option<Node> {
        let AstNode::Binary {
            op: BinaryOp::ColonEqual,
            lhs,
            rhs,
        } = item
        else {
            return self.node(item, depth);
        };
        match (&**lhs, &**rhs) {
            (AstNode::Variable(name), value)
                if !name.is_empty() && !matches!(value, AstNode::Lambda { .. }) =>
            {
                // The value reads the name as it was before this statement.
                let value = self.node(value, depth)?;
                let slot = self.slots;
                self.slots += 1;
                self.scopes.push((name.clone(), slot));
                Some(Node::Bind(slot, Box::new(value)))
            }
            _ => None,
        }
    }

    pub(super) fn path(&mut self, steps: &[PathStep], depth: usize) -> Option<Path> {
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
                    Stage::Filter(expr) => filters.push(match literal_index(expr) {
                        Some(n) => Filter::Index(n),
                        None => Filter::Predicate(self.node(expr, depth + 1)?),
                    }),
                    Stage::Index(_) => return None,
                }
            }
            let whole = matches!(
                step.node,
                AstNode::Variable(_) | AstNode::ParentVariable(_) | AstNode::Sort { .. }
            );
            let node = match &step.node {
                AstNode::Name(name) => StepNode::Name(index_in(&mut self.names, name)),
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
                whole,
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

    pub(super) fn call(&mut self, name: &str, args: &[AstNode], depth: usize) -> Option<Node> {
        // A lambda parameter or block binding of the same name would hide the function.
        if self.scopes.iter().any(|(n, _)| n == name) {
            return None;
        }
        if name == "map" || name == "filter" {
            self.calls.push(name.into());
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
            // (JSONata's tail-call thunks): for the calls that can make arrays, left to
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
        let &(_, builtin, min, max) = BUILTINS.iter().find(|(n, ..)| *n == name)?;
        if args.len() < min || args.len() > max {
            return None;
        }
        self.calls.push(name.into());
        let args = args
            .iter()
            .map(|a| self.node(a, depth))
            .collect::<Option<Vec<_>>>()?;
        Some(Node::Call(builtin, args))
    }
}

/// Whether `node` is a path with a `[]` on one of its steps.
fn path_keeps_arrays(node: &AstNode) -> bool {
    match node {
        AstNode::Path { steps } => steps
            .iter()
            .any(|step| step.stages.iter().any(|s| matches!(s, Stage::KeepArray))),
        _ => false,
    }
}

/// Whether `body` (a lambda's) ends in a call of a function that can give an array (`$map`,
/// `$filter`, `$keys`, `$append`, `$split`), directly, in a branch of a conditional or as the
/// last expression of a block.
fn tail_call_makes_sequence(body: &AstNode) -> bool {
    match body {
        AstNode::Function { name, .. } => {
            matches!(
                name.as_str(),
                "map" | "filter" | "keys" | "append" | "split"
            )
        }
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
