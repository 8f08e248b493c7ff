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
    /// The lambda parameters in scope, innermost last: (name, slot).
    pub(super) scopes: Vec<(String, usize)>,
    pub(super) slots: usize,
    pub(super) free: Vec<Box<str>>,
    pub(super) calls: Vec<&'static str>,
}

impl Compiler {
    pub(super) fn name(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| &**n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.into());
                self.names.len() - 1
            }
        }
    }

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
            let whole = matches!(
                step.node,
                AstNode::Variable(_) | AstNode::ParentVariable(_) | AstNode::Sort { .. }
            );
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
