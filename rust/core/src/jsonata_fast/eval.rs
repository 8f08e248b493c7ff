//! A plan evaluated over a model of the data: JSONata's sequences, paths, predicates,
//! operators, constructors and sorts.

use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

use super::compile::{Arith, Filter, Lambda, Node, Path, Step, StepNode};
use super::functions::{is_index_key, number_text};
use super::{
    array, plain_array, sequence, Kind, Model, Out, Plan, Stop, Text, Val, MAX_DATA_DEPTH,
};

/// How many steps the evaluator takes between two [`Model::out_of_time`] checks.
pub(super) const CLOCK_EVERY: u32 = 1024;

pub(super) struct Run<'a, 'p, M: Model> {
    pub(super) model: &'a M,
    pub(super) plan: &'p Plan,
    pub(super) root: Val<'p, M::Item>,
    pub(super) slots: Vec<Val<'p, M::Item>>,
    /// Steps left before the next clock check (a cell: reading data spends it too).
    pub(super) budget: Cell<u32>,
}

/// A value as the operators see it.
pub(super) enum View<'v> {
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
    fn tick(&self) -> Out<()> {
        self.spend(1)
    }

    /// Count `steps` against the budget; at its end, ask the model whether time is up.
    pub(super) fn spend(&self, steps: u32) -> Out<()> {
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

    pub(super) fn view<'v>(&self, v: &'v Val<'p, M::Item>) -> View<'v> {
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
    pub(super) fn check_whole(&self, v: &Val<'p, M::Item>) -> Out<()> {
        match v {
            Val::Data(item) => self.model.check_whole(item),
            _ => Ok(()),
        }
    }

    /// The items of an array value (`None`: not an array).
    pub(super) fn items(&self, v: &Val<'p, M::Item>) -> Out<Option<Vec<Val<'p, M::Item>>>> {
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
    pub(super) fn eval(
        &mut self,
        node: &'p Node,
        input: &Val<'p, M::Item>,
    ) -> Out<Val<'p, M::Item>> {
        let v = self.eval_raw(node, input)?;
        self.unwrap(v)
    }

    /// A sequence as a value: empty is undefined, one value is that value (unless kept as an
    /// array by `[]`). A lone value that is itself an array is not decided here: what JSONata
    /// keeps of it depends on how it was made.
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
        let mut current = match path.steps[0].whole {
            false => self.items(input)?,
            true => None,
        }
        .unwrap_or_else(|| vec![input.clone()]);
        let last = path.steps.len() - 1;
        let mut result = Val::Undefined;
        for (i, step) in path.steps.iter().enumerate() {
            match self.step(step, &current, i == last)? {
                Stepped::Whole(v) => result = v,
                Stepped::Items(items) if items.is_empty() => {
                    result = sequence(items);
                    break;
                }
                Stepped::Items(items) if i == last => result = sequence(items),
                Stepped::Items(items) => current = items,
            }
        }
        if path.keep {
            // `[]`: the result stays an array even with one value, wherever it goes next
            // (a sort of one item included).
            result = match result {
                Val::Arr(a) => array(a.items.clone(), a.sequence, true),
                Val::Undefined => Val::Undefined,
                other => match self.items(&other)? {
                    Some(items) => array(items, false, true),
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
        match v {
            Val::Arr(a) if path.keep && a.sequence => Ok(array(a.items.clone(), true, true)),
            other => Ok(other),
        }
    }

    /// One step of a path over the values it is given, as JSONata's evaluateStep.
    fn step(
        &mut self,
        step: &'p Step,
        inputs: &[Val<'p, M::Item>],
        last: bool,
    ) -> Out<Stepped<'p, M::Item>> {
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
                return Ok(Stepped::Whole(results.pop().unwrap_or(Val::Undefined)));
            }
        }
        let mut flat = Vec::with_capacity(results.len());
        for v in results {
            match &v {
                Val::Arr(a) => flat.extend(a.items.iter().cloned()),
                Val::Data(_) => match self.items(&v)? {
                    Some(items) => flat.extend(items),
                    None => flat.push(v),
                },
                _ => flat.push(v),
            }
        }
        Ok(Stepped::Items(flat))
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
    pub(super) fn truthy(&self, v: &Val<'p, M::Item>) -> Out<bool> {
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
    pub(super) fn append_text(&self, v: &Val<'p, M::Item>, out: &mut String) -> Out<()> {
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
}

/// What a path step gives: the values of its sequence, or (the last step, with one array from
/// the data or a constructor) that array whole.
enum Stepped<'p, I> {
    Items(Vec<Val<'p, I>>),
    Whole(Val<'p, I>),
}

enum SortKey {
    Undefined,
    Num(f64),
    Str(Box<str>),
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
