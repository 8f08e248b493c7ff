//! The checks AWS makes of a JSONata expression when a definition is created, beyond its syntax.
//!
//! A Step Functions expression has no context item: the state input is `$states.input` and the
//! workflow variables are `$name`. So AWS refuses, with `UNSUPPORTED_JSONATA_EXPRESSION`:
//!
//! - any reference to `$$`, wherever it is: `Reference to '$$' is not supported.`;
//! - a field name read from the top-level context, such as `phone` in `{% phone %}` or
//!   `{% phone.number & "x" %}`: `Reference to 'phone' at the top level is not supported.`
//!
//! A name is at the top level when it is the first step of a path that is itself evaluated
//! against the top-level context: the whole expression, an operand, a function argument, an
//! item of an array or object constructor, a block. Everything evaluated against some other
//! value is nested and allowed: the later steps of a path and their predicates, sort terms,
//! group-by patterns, transform bodies. Lambda bodies are left alone too (only `$$` is looked
//! for there): when unsure, the check lets an expression through, since refusing a definition
//! that AWS accepts is worse than accepting one it refuses. A lone `$` is allowed.

use jsonata_core::ast::{AstNode, Stage};
use jsonata_core::value::with_stack;

use crate::query::JTemplate;

/// The message of the first unsupported reference in `ast`, if it has one.
pub fn check(ast: &AstNode) -> Option<String> {
    walk(ast, true)
}

/// Every expression of a compiled field with a problem: the JSON-pointer suffix of its place
/// below the field (as [`JTemplate::compile`] reports syntax errors) and the message.
pub fn check_template(t: &JTemplate) -> Vec<(String, String)> {
    let mut out = Vec::new();
    template_at(t, "", &mut out);
    out
}

fn template_at(t: &JTemplate, at: &str, out: &mut Vec<(String, String)>) {
    match t {
        JTemplate::Literal(_) => {}
        JTemplate::Expr { expr, .. } => {
            if let Some(message) = check(expr.ast()) {
                out.push((at.to_string(), message));
            }
        }
        JTemplate::Object(fields) => {
            for (k, t) in fields {
                template_at(t, &format!("{at}/{k}"), out);
            }
        }
        JTemplate::Array(items) => {
            for (i, t) in items.iter().enumerate() {
                template_at(t, &format!("{at}[{i}]"), out);
            }
        }
    }
}

const PARENT: &str = "Reference to '$$' is not supported.";

fn top_level(name: &str) -> String {
    format!("Reference to '{name}' at the top level is not supported.")
}

/// The first problem in `node`, in the order the expression is written; `top`: whether `node`
/// is evaluated against the top-level context.
fn walk(node: &AstNode, top: bool) -> Option<String> {
    with_stack(|| walk_inner(node, top))
}

fn walk_all<'a>(nodes: impl IntoIterator<Item = &'a AstNode>, top: bool) -> Option<String> {
    nodes.into_iter().find_map(|n| walk(n, top))
}

fn walk_inner(node: &AstNode, top: bool) -> Option<String> {
    match node {
        AstNode::ParentVariable(_) => Some(PARENT.to_string()),
        AstNode::Path { steps } => steps.iter().enumerate().find_map(|(i, step)| {
            let first = top && i == 0;
            let here = match &step.node {
                AstNode::Name(name) if first => Some(top_level(name)),
                other => walk(other, first),
            };
            here.or_else(|| {
                step.stages.iter().find_map(|stage| match stage {
                    Stage::Filter(e) => walk(e, false),
                    Stage::KeepArray | Stage::Index(_) => None,
                })
            })
        }),
        AstNode::Binary { lhs, rhs, .. } => walk(lhs, top).or_else(|| walk(rhs, top)),
        AstNode::Unary { operand, .. } => walk(operand, top),
        AstNode::Function { args, .. } => walk_all(args, top),
        AstNode::Call { procedure, args } => walk(procedure, top).or_else(|| walk_all(args, top)),
        AstNode::Lambda { body, .. } => walk(body, false),
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            walk_all(items, top)
        }
        AstNode::Object(pairs) => pairs
            .iter()
            .find_map(|(k, v)| walk(k, top).or_else(|| walk(v, top))),
        AstNode::ObjectTransform { input, pattern } => walk(input, top).or_else(|| {
            pattern
                .iter()
                .find_map(|(k, v)| walk(k, false).or_else(|| walk(v, false)))
        }),
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => walk(condition, top)
            .or_else(|| walk(then_branch, top))
            .or_else(|| else_branch.as_deref().and_then(|e| walk(e, top))),
        AstNode::FunctionApplication(inner) => walk(inner, top),
        AstNode::Sort { input, terms } => {
            walk(input, top).or_else(|| walk_all(terms.iter().map(|(t, _)| t), false))
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => walk(location, false)
            .or_else(|| walk(update, false))
            .or_else(|| delete.as_deref().and_then(|d| walk(d, false))),
        AstNode::String(_)
        | AstNode::Name(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::Regex { .. }
        | AstNode::Variable(_)
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonata::Expression;

    fn problem(source: &str) -> Option<String> {
        let e = Expression::compile(source).unwrap();
        check(e.ast())
    }

    #[test]
    fn parent_variable_is_refused_anywhere() {
        for source in [
            "$$",
            "$$.a",
            "$states.input.a & $$.b",
            "$states.input.items[$$.x > 1]",
            "$map($states.input, function($v){ $$ })",
            "$states.input.($$)",
        ] {
            assert_eq!(problem(source).as_deref(), Some(PARENT), "{source}");
        }
    }

    #[test]
    fn names_at_the_top_level_are_refused() {
        for (source, name) in [
            ("phone", "phone"),
            ("phone.number", "phone"),
            ("`phone`", "phone"),
            ("$states.input.a + phone", "phone"),
            ("$count(items)", "items"),
            ("[1, x]", "x"),
            ("{'k': v}", "v"),
            ("a ? 1 : 2", "a"),
            ("$states.input.a ? b : 2", "b"),
            ("($x := a; $x)", "a"),
            ("-n", "n"),
            ("a^(b)", "a"),
            ("a[0]", "a"),
            ("$states.input ~> $f(q)", "q"),
        ] {
            assert_eq!(problem(source), Some(top_level(name)), "{source}");
        }
    }

    #[test]
    fn nested_names_and_variables_are_allowed() {
        for source in [
            "$states.input.phone",
            "$states.input.items[price > 10].sku",
            "$map($x, function($i){ $i.a })",
            "$map($states.input.xs, function($v){ b })",
            "$states.input.{ 'a': b }",
            "$states.input.(a + b)",
            "$states.input.items^(>price).sku",
            "$states.input.items.[a, b]",
            "$states.input{ k: v }",
            "$states.input ~> |a|{'b': c}, ['d']|",
            "$x[a][b]",
            "$x#$i.a",
            "$x@$o.a",
            "$",
            "$.a",
            "*.a",
            "**.a",
            "$myVar.field",
            "'text' & $string(1)",
            "$states.context.Execution.Id",
            "$partition() & $uuid()",
            "{'a': 1, 'b': [1, 2, $states.input.c]}",
        ] {
            assert_eq!(problem(source), None, "{source}");
        }
    }

    #[test]
    fn deep_expressions_do_not_overflow() {
        let source = format!("{}$states.input{}", "(".repeat(900), ")".repeat(900));
        assert_eq!(problem(&source), None);
        let source = format!("{}phone{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(problem(&source), Some(top_level("phone")));
    }
}
