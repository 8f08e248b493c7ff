//! Stepping a compiled program. An [`Execution`] runs states until every live frame is waiting on
//! the outside world, then returns [`Effect`]s; outcomes come back through [`Execution::complete`],
//! [`Execution::fail`] and [`Execution::wake`], and the next [`Execution::run`] goes on from there.
//!
//! Parallel branches and Map iterations are frames inside the one execution: a parent frame waits
//! while its children run, and the core hands out at most `MaxConcurrency` of them at a time.

pub use crate::context::ExecContext;
use crate::context::{self, StateInfo};
use crate::definition::{Catcher, Kind, NumSource, Program, State, StrSource, WaitFor};
use crate::errors::{self, error_matches, Failure};
use crate::intrinsics::{self, Env};
use crate::path::{Path, Root};
use crate::payload::{merge_result, query_field, select};
use crate::rng::Rng;
use crate::timestamp;
use crate::value::{serialized_len, to_text, Map, Value, MAX_PAYLOAD_BYTES};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// State transitions run in one `run` call before it hands control back with [`Effect::Yield`].
pub const YIELD_EVERY: u32 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// What the execution needs the outside world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Run the task `resource` with `payload`; report with `complete` or `fail`.
    Invoke {
        token: u64,
        resource: String,
        payload: Value,
        timeout_seconds: Option<f64>,
        heartbeat_seconds: Option<f64>,
        state_name: String,
    },
    /// Report `wake(token)` after this many seconds.
    Sleep { token: u64, seconds: f64 },
    /// A task or sleep is no longer wanted (its branch failed, or the execution ended).
    Cancel { token: u64 },
    /// Many transitions ran without I/O: let others run, then call `run` again.
    Yield,
    /// The execution has finished.
    Done,
}

enum Outcome {
    Success(Value),
    Failure(Failure),
    Wake,
}

/// What a frame is waiting for.
enum Waiting {
    Nothing,
    Task {
        token: u64,
    },
    /// `effective` is the Wait's effective input when an InputPath made one; else the raw input.
    Wait {
        token: u64,
        effective: Option<Value>,
    },
    Retry {
        token: u64,
    },
    Children(Box<Children>),
}

/// A Parallel or Map state's children.
struct Children {
    is_map: bool,
    /// Per child: its input until it starts.
    inputs: Vec<Option<Value>>,
    results: Vec<Option<Value>>,
    frames: Vec<Option<usize>>,
    machines: Vec<usize>,
    started: usize,
    running: usize,
    finished: usize,
    failed: usize,
    max_concurrency: usize,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
}

/// How a frame resumes after what it waited for.
enum Resume {
    Enter,
    Retry,
    TaskDone(Result<Value, Failure>),
    WaitDone(Option<Value>),
    ChildrenDone(Result<Vec<Value>, Failure>),
}

struct Frame {
    machine: usize,
    state: usize,
    /// The raw input of the current state.
    input: Value,
    entered_event: u64,
    entered_ms: i64,
    retry_counts: Vec<u32>,
    retry_total: u32,
    parent: Option<(usize, usize)>,
    waiting: Waiting,
    resume: Option<Resume>,
}

/// What running a state from its start led to.
enum Entered {
    /// The state's result, to go through ResultSelector, ResultPath and OutputPath.
    Result(Value),
    /// Leave with OutputPath applied to the effective input (None: the raw input) and go to
    /// the given state (None: end).
    Leave(Option<usize>, Option<Value>),
    /// Waiting for a task, a timer or children.
    Block,
}

/// Where a step of a frame leads.
enum Step {
    Goto(usize, Value),
    End(Value),
    Fail(Failure),
    Block,
}

pub struct Execution {
    program: Arc<Program>,
    ctx: Arc<ExecContext>,
    input: Value,
    frames: Vec<Option<Frame>>,
    free: Vec<usize>,
    runnable: VecDeque<usize>,
    tokens: HashMap<u64, usize>,
    inbox: Vec<(u64, Outcome)>,
    next_token: u64,
    event_id: u64,
    rng: Rng,
    now_ms: i64,
    status: Status,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    transitions: u64,
    effects: Vec<Effect>,
    done_reported: bool,
}

fn error_output(f: &Failure) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), f.error.clone().into());
    m.insert(
        "Cause".into(),
        f.cause.clone().map(Value::from).unwrap_or(Value::Null),
    );
    Value::Object(m)
}

impl Execution {
    /// Starts an execution of `program` on `input`; nothing runs until the first `run`.
    pub fn new(program: Arc<Program>, input: Value, ctx: ExecContext, seed: u64) -> Execution {
        let mut ex = Execution {
            program,
            ctx: Arc::new(ctx),
            input: input.clone(),
            frames: Vec::new(),
            free: Vec::new(),
            runnable: VecDeque::new(),
            tokens: HashMap::new(),
            inbox: Vec::new(),
            next_token: 1,
            event_id: 1, // ExecutionStarted is event #1
            rng: Rng::new(seed),
            now_ms: 0,
            status: Status::Running,
            output: None,
            error: None,
            cause: None,
            transitions: 0,
            effects: Vec::new(),
            done_reported: false,
        };
        let start = ex.program.machines[0].start;
        ex.spawn(0, start, input, None);
        ex
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn output(&self) -> Option<&Value> {
        self.output.as_ref()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// The id the next history event would get (events so far + 1).
    pub fn next_event_id(&self) -> u64 {
        self.event_id + 1
    }

    /// Reports a task's result.
    pub fn complete(&mut self, token: u64, result: Value) {
        self.inbox.push((token, Outcome::Success(result)));
    }

    /// Reports a task's failure.
    pub fn fail(&mut self, token: u64, error: String, cause: Option<String>) {
        self.inbox
            .push((token, Outcome::Failure(Failure::plain(error, cause))));
    }

    /// Reports that a sleep is over.
    pub fn wake(&mut self, token: u64) {
        self.inbox.push((token, Outcome::Wake));
    }

    /// Ends the execution from outside: ABORTED.
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>) {
        self.finish(Status::Aborted, None, error, cause);
    }

    /// Ends the execution because it ran past its time limit: TIMED_OUT.
    pub fn time_out(&mut self) {
        self.finish(
            Status::TimedOut,
            None,
            Some(errors::TIMEOUT.to_string()),
            Some("The execution ran longer than its maximum duration".to_string()),
        );
    }

    /// Advances as far as possible at time `now_ms` (epoch milliseconds) and returns the effects.
    pub fn run(&mut self, now_ms: i64) -> Vec<Effect> {
        self.now_ms = now_ms;
        for (token, outcome) in std::mem::take(&mut self.inbox) {
            self.deliver(token, outcome);
        }
        let mut budget = YIELD_EVERY;
        while self.status == Status::Running {
            let Some(fid) = self.runnable.pop_front() else {
                break;
            };
            if budget == 0 {
                self.runnable.push_front(fid);
                self.effects.push(Effect::Yield);
                break;
            }
            self.advance(fid, &mut budget);
        }
        if self.status != Status::Running && !self.done_reported {
            self.done_reported = true;
            self.effects.push(Effect::Done);
        }
        std::mem::take(&mut self.effects)
    }

    // -----------------------------------------------------------------------------------------
    // Frames

    fn spawn(
        &mut self,
        machine: usize,
        state: usize,
        input: Value,
        parent: Option<(usize, usize)>,
    ) -> usize {
        let frame = Frame {
            machine,
            state,
            input,
            entered_event: 0,
            entered_ms: 0,
            retry_counts: Vec::new(),
            retry_total: 0,
            parent,
            waiting: Waiting::Nothing,
            resume: Some(Resume::Enter),
        };
        let fid = match self.free.pop() {
            Some(i) => {
                self.frames[i] = Some(frame);
                i
            }
            None => {
                self.frames.push(Some(frame));
                self.frames.len() - 1
            }
        };
        self.runnable.push_back(fid);
        fid
    }

    fn frame(&mut self, fid: usize) -> Option<&mut Frame> {
        self.frames.get_mut(fid).and_then(Option::as_mut)
    }

    fn token(&mut self, fid: usize) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        self.tokens.insert(t, fid);
        t
    }

    fn event(&mut self) -> u64 {
        self.event_id += 1;
        self.event_id
    }

    fn deliver(&mut self, token: u64, outcome: Outcome) {
        let Some(fid) = self.tokens.remove(&token) else {
            return; // a cancelled or unknown token: its result is not wanted
        };
        let Some(frame) = self.frame(fid) else {
            return;
        };
        let waiting = std::mem::replace(&mut frame.waiting, Waiting::Nothing);
        let resume = match (waiting, outcome) {
            (Waiting::Task { .. }, Outcome::Success(v)) => Resume::TaskDone(Ok(v)),
            (Waiting::Task { .. }, Outcome::Failure(f)) => Resume::TaskDone(Err(f)),
            (Waiting::Wait { effective, .. }, _) => Resume::WaitDone(effective),
            (Waiting::Retry { .. }, _) => Resume::Retry,
            (other, _) => {
                frame.waiting = other;
                return;
            }
        };
        frame.resume = Some(resume);
        self.runnable.push_back(fid);
    }

    /// Runs one frame until it blocks, finishes or the budget runs out.
    fn advance(&mut self, fid: usize, budget: &mut u32) {
        loop {
            if self.status != Status::Running {
                return;
            }
            let Some(frame) = self.frame(fid) else {
                return;
            };
            let resume = frame.resume.take().unwrap_or(Resume::Enter);
            if matches!(resume, Resume::Enter) {
                if *budget == 0 {
                    if let Some(f) = self.frame(fid) {
                        f.resume = Some(Resume::Enter);
                    }
                    self.runnable.push_front(fid);
                    return;
                }
                *budget -= 1;
            }
            let step = self.step(fid, resume);
            let step = match step {
                Step::Fail(f) => self.handle_error(fid, f),
                other => other,
            };
            match step {
                Step::Block => return,
                Step::Goto(next, output) => {
                    self.event(); // <Type>StateExited
                    let Some(frame) = self.frame(fid) else { return };
                    frame.state = next;
                    frame.input = output;
                    frame.retry_counts.clear();
                    frame.retry_total = 0;
                    frame.resume = Some(Resume::Enter);
                }
                Step::End(output) => {
                    self.finish_frame(fid, Ok(output));
                    return;
                }
                Step::Fail(f) => {
                    self.finish_frame(fid, Err(f));
                    return;
                }
            }
        }
    }

    fn state_of(&self, fid: usize) -> Option<(Arc<Program>, usize, usize)> {
        let f = self.frames.get(fid)?.as_ref()?;
        Some((self.program.clone(), f.machine, f.state))
    }

    fn step(&mut self, fid: usize, resume: Resume) -> Step {
        let Some((program, m, s)) = self.state_of(fid) else {
            return Step::Block;
        };
        let state = &program.machines[m].states[s];
        let result = match resume {
            Resume::Enter => {
                self.transitions += 1;
                let ev = self.event(); // <Type>StateEntered
                let now = self.now_ms;
                if let Some(f) = self.frame(fid) {
                    f.entered_event = ev;
                    f.entered_ms = now;
                }
                self.enter(fid, state)
            }
            Resume::Retry => self.enter(fid, state),
            Resume::TaskDone(outcome) => {
                self.event(); // TaskSucceeded / TaskFailed
                match outcome {
                    Ok(result) if serialized_len(&result) > MAX_PAYLOAD_BYTES => Err(Failure::plain(
                        errors::DATA_LIMIT_EXCEEDED,
                        Some(format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            state.name
                        )),
                    )),
                    Ok(result) => self.finish_state(fid, state, result),
                    Err(f) => Err(f),
                }
            }
            Resume::WaitDone(effective) => {
                let effective = effective.unwrap_or_else(|| self.take_input(fid));
                self.leave(fid, state, effective)
            }
            Resume::ChildrenDone(outcome) => {
                self.event(); // ParallelStateSucceeded / MapStateSucceeded
                match outcome {
                    Ok(results) => self.finish_state(fid, state, Value::Array(results)),
                    Err(f) => Err(f),
                }
            }
        };
        match result {
            Ok(step) => step,
            Err(f) => Step::Fail(self.locate(fid, state, f)),
        }
    }

    /// Adds AWS's "An error occurred while executing the state ..." prefix where it belongs.
    fn locate(&mut self, fid: usize, state: &State, mut f: Failure) -> Failure {
        if f.in_state {
            let entered = self.frame(fid).map(|fr| fr.entered_event).unwrap_or(0);
            f.cause = Some(format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                state.name,
                entered,
                f.cause.unwrap_or_default()
            ));
            f.in_state = false;
        }
        f
    }

    fn context_for(&self, fid: usize, state: &State, map_item: Option<(usize, &Value)>) -> Value {
        if !state.uses_context {
            return Value::Null;
        }
        let (entered_ms, retry_count) = self
            .frames
            .get(fid)
            .and_then(Option::as_ref)
            .map(|f| (f.entered_ms, f.retry_total))
            .unwrap_or_default();
        context::build(
            &self.ctx,
            &self.input,
            &StateInfo {
                name: &state.name,
                entered_time: timestamp::format_millis(entered_ms),
                retry_count,
                map_item,
            },
        )
    }

    fn take_input(&mut self, fid: usize) -> Value {
        self.frame(fid)
            .map(|f| std::mem::take(&mut f.input))
            .unwrap_or(Value::Null)
    }

    fn put_input(&mut self, fid: usize, input: Value) {
        if let Some(f) = self.frame(fid) {
            f.input = input;
        }
    }

    fn raw_input(&self, fid: usize) -> Value {
        self.frames
            .get(fid)
            .and_then(Option::as_ref)
            .map(|f| f.input.clone())
            .unwrap_or(Value::Null)
    }

    /// Runs a state from its start (on entry or on a retry). The raw input is taken out of the
    /// frame rather than copied, and put back wherever the state may need it again (a retry, a
    /// catch, ResultPath).
    fn enter(&mut self, fid: usize, state: &State) -> Result<Step, Failure> {
        let raw = self.take_input(fid);
        let context = self.context_for(fid, state, None);
        match self.enter_inner(fid, state, &raw, &context) {
            Ok(Entered::Result(result)) => {
                self.put_input(fid, raw);
                self.finish_state(fid, state, result)
            }
            Ok(Entered::Leave(next, effective)) => {
                let out = select(&state.output_path, effective.unwrap_or(raw), &context)?;
                Ok(match next {
                    Some(n) => Step::Goto(n, out),
                    None => Step::End(out),
                })
            }
            Ok(Entered::Block) => {
                self.put_input(fid, raw);
                Ok(Step::Block)
            }
            Err(f) => {
                self.put_input(fid, raw);
                Err(f)
            }
        }
    }

    fn enter_inner(
        &mut self,
        fid: usize,
        state: &State,
        raw: &Value,
        context: &Value,
    ) -> Result<Entered, Failure> {
        // The effective input: None when it is the raw input itself (no InputPath), so the
        // common case copies nothing.
        let selected = match &state.input_path {
            None => None,
            Some(Some(p)) if p.is_root() && p.root() == Root::Input => None,
            path => Some(select(path, raw.clone(), context)?),
        };
        let effective = selected.as_ref().unwrap_or(raw);
        match &state.kind {
            Kind::Fail { error, cause } => {
                let error = self.string_source(error, raw, context, "ErrorPath")?;
                let cause = self.string_source(cause, raw, context, "CausePath")?;
                Err(Failure::plain(error.unwrap_or_default(), cause))
            }
            Kind::Pass { result } => {
                let params = self.parameters(state, effective, context)?;
                Ok(Entered::Result(match result {
                    Some(r) => r.clone(),
                    None => params.unwrap_or_else(|| effective.clone()),
                }))
            }
            Kind::Succeed => Ok(Entered::Leave(None, selected)),
            Kind::Choice { choices, default } => {
                for (rule, next) in choices {
                    if rule.eval(effective, context)? {
                        return Ok(Entered::Leave(Some(*next), selected));
                    }
                }
                match default {
                    Some(next) => Ok(Entered::Leave(Some(*next), selected)),
                    None => Err(Failure::plain(
                        errors::NO_CHOICE_MATCHED,
                        Some(format!(
                            "An error occurred while executing the state '{}' (entered at the event id #{}). No Matches!",
                            state.name,
                            self.frame(fid).map(|f| f.entered_event).unwrap_or(0)
                        )),
                    )),
                }
            }
            Kind::Wait(how) => {
                let seconds = self.wait_seconds(how, effective)?;
                if seconds <= 0.0 {
                    return Ok(Entered::Leave(state.next, selected));
                }
                let token = self.token(fid);
                self.effects.push(Effect::Sleep { token, seconds });
                if let Some(f) = self.frame(fid) {
                    f.waiting = Waiting::Wait {
                        token,
                        effective: selected,
                    };
                }
                Ok(Entered::Block)
            }
            Kind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                let payload = self
                    .parameters(state, effective, context)?
                    .unwrap_or_else(|| effective.clone());
                let timeout_seconds = self
                    .number(timeout, effective, "TimeoutSecondsPath")?
                    .map(|x| x as f64);
                let heartbeat_seconds = self
                    .number(heartbeat, effective, "HeartbeatSecondsPath")?
                    .map(|x| x as f64);
                self.event(); // TaskScheduled
                self.event(); // TaskStarted
                let token = self.token(fid);
                self.effects.push(Effect::Invoke {
                    token,
                    resource: resource.clone(),
                    payload,
                    timeout_seconds,
                    heartbeat_seconds,
                    state_name: state.name.clone(),
                });
                if let Some(f) = self.frame(fid) {
                    f.waiting = Waiting::Task { token };
                }
                Ok(Entered::Block)
            }
            Kind::Parallel { branches } => {
                let input = self
                    .parameters(state, effective, context)?
                    .unwrap_or_else(|| effective.clone());
                self.event(); // ParallelStateStarted
                let n = branches.len();
                let children = Children {
                    is_map: false,
                    inputs: (0..n).map(|_| Some(input.clone())).collect(),
                    results: vec![None; n],
                    frames: vec![None; n],
                    machines: branches.clone(),
                    started: 0,
                    running: 0,
                    finished: 0,
                    failed: 0,
                    max_concurrency: 0,
                    tolerated_count: None,
                    tolerated_percentage: None,
                };
                self.start_children(fid, children)
            }
            Kind::Map {
                processor,
                items_path,
                item_selector,
                max_concurrency,
                tolerated_percentage,
                tolerated_count,
            } => {
                let items = match items_path {
                    None => effective.clone(),
                    Some(p) => p.query(effective).map_err(|e| {
                        Failure::runtime(format!("Invalid path '{}' : {}", p.text(), e))
                    })?,
                };
                let Value::Array(items) = items else {
                    return Err(Failure::runtime(format!(
                        "Unable to apply ItemsPath '{}' to the input: the value '{}' is not an array",
                        items_path.as_ref().map(Path::text).unwrap_or("$"),
                        to_text(&items)
                    )));
                };
                let max_concurrency = self
                    .number(max_concurrency, effective, "MaxConcurrencyPath")?
                    .unwrap_or(0);
                let tolerated_count =
                    self.number(tolerated_count, effective, "ToleratedFailureCountPath")?;
                let tolerated_percentage = self
                    .number(
                        tolerated_percentage,
                        effective,
                        "ToleratedFailurePercentagePath",
                    )?
                    .map(|p| p as f64);
                let selector = item_selector.as_ref().or(state.parameters.as_ref());
                let mut inputs = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    inputs.push(Some(match selector {
                        Some(t) => {
                            let ctx = self.context_for(fid, state, Some((i, &item)));
                            t.eval(effective, &ctx, &mut self.rng)?
                        }
                        None => item,
                    }));
                }
                self.event(); // MapStateStarted
                let n = inputs.len();
                let children = Children {
                    is_map: true,
                    inputs,
                    results: vec![None; n],
                    frames: vec![None; n],
                    machines: vec![*processor],
                    started: 0,
                    running: 0,
                    finished: 0,
                    failed: 0,
                    max_concurrency: max_concurrency as usize,
                    tolerated_count,
                    tolerated_percentage,
                };
                self.start_children(fid, children)
            }
        }
    }

    fn parameters(
        &mut self,
        state: &State,
        effective: &Value,
        context: &Value,
    ) -> Result<Option<Value>, Failure> {
        if matches!(state.kind, Kind::Map { .. }) {
            return Ok(None); // a Map's Parameters select each item instead
        }
        match &state.parameters {
            Some(t) => Ok(Some(t.eval(effective, context, &mut self.rng)?)),
            None => Ok(None),
        }
    }

    /// ResultSelector, ResultPath and OutputPath, then the transition.
    fn finish_state(&mut self, fid: usize, state: &State, result: Value) -> Result<Step, Failure> {
        let context = self.context_for(fid, state, None);
        let result = match &state.result_selector {
            Some(t) => t.eval(&result, &context, &mut self.rng)?,
            None => result,
        };
        let raw = if state.catch.is_empty() {
            self.take_input(fid)
        } else {
            self.raw_input(fid)
        };
        let merged = merge_result(&state.result_path, raw, result)?;
        let out = select(&state.output_path, merged, &context)?;
        Ok(match state.next {
            Some(n) => Step::Goto(n, out),
            None => Step::End(out),
        })
    }

    /// The end of a Wait: OutputPath and the transition.
    fn leave(&mut self, fid: usize, state: &State, effective: Value) -> Result<Step, Failure> {
        let context = self.context_for(fid, state, None);
        let out = select(&state.output_path, effective, &context)?;
        Ok(match state.next {
            Some(n) => Step::Goto(n, out),
            None => Step::End(out),
        })
    }

    fn string_source(
        &mut self,
        src: &Option<StrSource>,
        input: &Value,
        context: &Value,
        field: &str,
    ) -> Result<Option<String>, Failure> {
        let v = match src {
            None => return Ok(None),
            Some(StrSource::Literal(s)) => return Ok(Some(s.clone())),
            Some(StrSource::Path(p)) => query_field(p, input, context, field)?,
            Some(StrSource::Call(c)) => {
                let mut env = Env {
                    input,
                    context,
                    rng: &mut self.rng,
                };
                intrinsics::eval(c, &mut env, field)?
            }
        };
        Ok(Some(match v {
            Value::String(s) => s,
            other => to_text(&other),
        }))
    }

    fn number(
        &self,
        src: &Option<NumSource>,
        input: &Value,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match src {
            None => Ok(None),
            Some(NumSource::Literal(n)) => Ok(Some(*n)),
            Some(NumSource::Path(p)) => {
                let v = p.query(input).map_err(|e| {
                    Failure::runtime(format!("Invalid path '{}' : {}", p.text(), e))
                })?;
                match v.as_u64() {
                    Some(n) => Ok(Some(n)),
                    None => Err(Failure::runtime(format!(
                        "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                        to_text(&v),
                        p.text()
                    ))),
                }
            }
        }
    }

    fn wait_seconds(&self, how: &WaitFor, input: &Value) -> Result<f64, Failure> {
        let lookup = |p: &Path| {
            p.query(input)
                .map_err(|e| Failure::runtime(format!("Invalid path '{}' : {}", p.text(), e)))
        };
        let until = |instant: timestamp::Instant| {
            ((instant / 1_000_000) as i64 - self.now_ms) as f64 / 1000.0
        };
        match how {
            WaitFor::Seconds(s) => Ok(*s as f64),
            WaitFor::Timestamp(t) => Ok(until(*t).max(0.0)),
            WaitFor::SecondsPath(p) => {
                let v = lookup(p)?;
                let shown = match &v {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                match &v {
                    Value::Number(n) if n.is_i64() || n.is_u64() => {
                        let secs = n.as_i64().unwrap_or(i64::MAX);
                        if secs < 0 {
                            Err(Failure::runtime(format!(
                                "The SecondsPath parameter references a negative value: {} == {}",
                                p.text(),
                                shown
                            )))
                        } else {
                            Ok(secs as f64)
                        }
                    }
                    _ => Err(Failure::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        p.text(),
                        shown
                    ))),
                }
            }
            WaitFor::TimestampPath(p) => {
                let v = lookup(p)?;
                match v.as_str().and_then(timestamp::parse) {
                    Some(t) => Ok(until(t).max(0.0)),
                    None => Err(Failure::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        p.text(),
                        match &v {
                            Value::String(s) => s.clone(),
                            other => to_text(other),
                        }
                    ))),
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Errors: Retry and Catch

    fn handle_error(&mut self, fid: usize, failure: Failure) -> Step {
        let Some((program, m, s)) = self.state_of(fid) else {
            return Step::Block;
        };
        let state = &program.machines[m].states[s];
        if let Some(idx) = state
            .retry
            .iter()
            .position(|r| error_matches(&r.error_equals, &failure.error))
        {
            let r = &state.retry[idx];
            let attempts = self
                .frame(fid)
                .map(|f| {
                    if f.retry_counts.len() < state.retry.len() {
                        f.retry_counts.resize(state.retry.len(), 0);
                    }
                    f.retry_counts[idx]
                })
                .unwrap_or(0);
            if attempts < r.max_attempts {
                let mut delay = r.interval_seconds * r.backoff_rate.powi(attempts as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max);
                }
                if r.jitter_full {
                    delay *= self.rng.next_f64();
                }
                let token = self.token(fid);
                if let Some(f) = self.frame(fid) {
                    f.retry_counts[idx] += 1;
                    f.retry_total += 1;
                    f.waiting = Waiting::Retry { token };
                }
                self.effects.push(Effect::Sleep {
                    token,
                    seconds: delay,
                });
                return Step::Block;
            }
        }
        if let Some(c) = state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure.error))
        {
            return self.catch(fid, c, &failure);
        }
        Step::Fail(failure)
    }

    fn catch(&mut self, fid: usize, c: &Catcher, failure: &Failure) -> Step {
        let raw = self.raw_input(fid);
        match merge_result(&c.result_path, raw, error_output(failure)) {
            Ok(out) => Step::Goto(c.next, out),
            Err(f) => Step::Fail(f),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Parallel and Map children

    fn start_children(&mut self, fid: usize, mut children: Children) -> Result<Entered, Failure> {
        if children.inputs.is_empty() {
            self.event(); // MapStateSucceeded
            return Ok(Entered::Result(Value::Array(Vec::new())));
        }
        self.launch(fid, &mut children);
        if let Some(f) = self.frame(fid) {
            f.waiting = Waiting::Children(Box::new(children));
        }
        Ok(Entered::Block)
    }

    /// Starts children while the concurrency limit allows.
    fn launch(&mut self, fid: usize, ch: &mut Children) {
        let total = ch.inputs.len();
        while ch.started < total && (ch.max_concurrency == 0 || ch.running < ch.max_concurrency) {
            let slot = ch.started;
            ch.started += 1;
            ch.running += 1;
            let machine = if ch.is_map {
                ch.machines[0]
            } else {
                ch.machines[slot]
            };
            let input = ch.inputs[slot].take().unwrap_or(Value::Null);
            if ch.is_map {
                self.event(); // MapIterationStarted
            }
            let start = self.program.machines[machine].start;
            ch.frames[slot] = Some(self.spawn(machine, start, input, Some((fid, slot))));
        }
    }

    fn finish_frame(&mut self, fid: usize, result: Result<Value, Failure>) {
        let parent = self
            .frames
            .get(fid)
            .and_then(Option::as_ref)
            .and_then(|f| f.parent);
        self.release(fid);
        let Some((pid, slot)) = parent else {
            match result {
                Ok(out) => self.finish(Status::Succeeded, Some(out), None, None),
                Err(f) => self.finish(Status::Failed, None, Some(f.error), f.cause),
            }
            return;
        };
        let Some(parent) = self.frame(pid) else {
            return;
        };
        let Waiting::Children(mut ch) = std::mem::replace(&mut parent.waiting, Waiting::Nothing)
        else {
            return;
        };
        ch.running -= 1;
        ch.finished += 1;
        ch.frames[slot] = None;
        let total = ch.inputs.len();
        let mut failure = None;
        match result {
            Ok(v) => {
                if ch.is_map {
                    self.event(); // MapIterationSucceeded
                }
                ch.results[slot] = Some(v);
            }
            Err(f) => {
                if ch.is_map {
                    self.event(); // MapIterationFailed
                    ch.failed += 1;
                    let over_count = ch.tolerated_count.is_none_or(|c| ch.failed as u64 > c);
                    let over_pct = ch
                        .tolerated_percentage
                        .is_none_or(|p| (ch.failed as f64) * 100.0 / (total as f64) > p);
                    let tolerated =
                        ch.tolerated_count.is_some() || ch.tolerated_percentage.is_some();
                    if over_count && over_pct {
                        failure = Some(if tolerated {
                            Failure::in_state(
                                errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                "The specified tolerated failure threshold was exceeded",
                            )
                        } else {
                            f
                        });
                    } else {
                        ch.results[slot] = Some(error_output(&f));
                    }
                } else {
                    failure = Some(f);
                }
            }
        }
        if let Some(f) = failure {
            for child in ch.frames.iter().flatten() {
                self.cancel_frame(*child);
            }
            if let Some(p) = self.frame(pid) {
                p.resume = Some(Resume::ChildrenDone(Err(f)));
            }
            self.runnable.push_back(pid);
            return;
        }
        if ch.finished == total {
            let results = ch
                .results
                .iter_mut()
                .map(|r| r.take().unwrap_or(Value::Null))
                .collect();
            if let Some(p) = self.frame(pid) {
                p.resume = Some(Resume::ChildrenDone(Ok(results)));
            }
            self.runnable.push_back(pid);
            return;
        }
        self.launch(pid, &mut ch);
        if let Some(p) = self.frame(pid) {
            p.waiting = Waiting::Children(ch);
        }
    }

    /// Cancels a frame and everything below it, telling the driver to drop their work.
    fn cancel_frame(&mut self, fid: usize) {
        let Some(frame) = self.frames.get_mut(fid).and_then(Option::take) else {
            return;
        };
        self.free.push(fid);
        self.runnable.retain(|&r| r != fid);
        match frame.waiting {
            Waiting::Task { token, .. }
            | Waiting::Wait { token, .. }
            | Waiting::Retry { token } => {
                self.tokens.remove(&token);
                self.effects.push(Effect::Cancel { token });
            }
            Waiting::Children(ch) => {
                for child in ch.frames.iter().flatten() {
                    self.cancel_frame(*child);
                }
            }
            Waiting::Nothing => {}
        }
    }

    fn release(&mut self, fid: usize) {
        if let Some(slot) = self.frames.get_mut(fid) {
            if slot.take().is_some() {
                self.free.push(fid);
            }
        }
    }

    fn finish(
        &mut self,
        status: Status,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
    ) {
        if self.status != Status::Running {
            return;
        }
        self.status = status;
        self.output = output;
        self.error = error.filter(|e| !e.is_empty());
        self.cause = cause;
        let mut tokens: Vec<u64> = self.tokens.drain().map(|(t, _)| t).collect();
        tokens.sort_unstable();
        self.effects
            .extend(tokens.into_iter().map(|token| Effect::Cancel { token }));
        self.runnable.clear();
        self.frames.clear();
        self.free.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{compile, MachineType};
    use serde_json::json;

    fn start(def: Value, input: Value) -> Execution {
        let p = compile(&def.to_string(), MachineType::Express).unwrap();
        Execution::new(
            Arc::new(p),
            input,
            ExecContext {
                execution_name: "exec".into(),
                ..Default::default()
            },
            1,
        )
    }

    fn invoke_token(effects: &[Effect]) -> (u64, Value) {
        for e in effects {
            if let Effect::Invoke { token, payload, .. } = e {
                return (*token, payload.clone());
            }
        }
        panic!("no invoke in {effects:?}");
    }

    #[test]
    fn pass_chain_with_io() {
        let mut ex = start(
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"v.$": "$.r.x", "n.$": "$$.Execution.Name"}, "End": true}}}),
            json!({"in": true}),
        );
        assert_eq!(ex.run(0), vec![Effect::Done]);
        assert_eq!(ex.status(), Status::Succeeded);
        assert_eq!(ex.output(), Some(&json!({"v": 1, "n": "exec"})));
        assert_eq!(ex.transitions(), 2);
    }

    #[test]
    fn task_round_trip_and_result_path() {
        let mut ex = start(
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "InputPath": "$.a", "ResultPath": "$.out", "End": true}}}),
            json!({"a": {"b": 1}}),
        );
        let (token, payload) = invoke_token(&ex.run(0));
        assert_eq!(payload, json!({"b": 1}));
        ex.complete(token, json!(42));
        assert_eq!(ex.run(1), vec![Effect::Done]);
        assert_eq!(ex.output(), Some(&json!({"a": {"b": 1}, "out": 42})));
    }

    #[test]
    fn retry_then_catch() {
        let mut ex = start(
            json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                      "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 2}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "C"}], "End": true},
                "C": {"Type": "Pass", "End": true}}}),
            json!({}),
        );
        let (t1, _) = invoke_token(&ex.run(0));
        ex.fail(t1, "Boom".into(), Some("first".into()));
        let effects = ex.run(1);
        let Effect::Sleep { token, seconds } = effects[0] else {
            panic!("{effects:?}")
        };
        assert_eq!(seconds, 2.0);
        ex.wake(token);
        let (t2, _) = invoke_token(&ex.run(2));
        ex.fail(t2, "Boom".into(), Some("second".into()));
        assert_eq!(ex.run(3), vec![Effect::Done]);
        assert_eq!(
            ex.output(),
            Some(&json!({"err": {"Error": "Boom", "Cause": "second"}}))
        );
    }

    #[test]
    fn runtime_errors_carry_state_and_event_id() {
        let mut ex = start(
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "W"},
                "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}),
            json!({"s": -1}),
        );
        ex.run(0);
        assert_eq!(ex.status(), Status::Failed);
        assert_eq!(ex.error(), Some("States.Runtime"));
        assert_eq!(
            ex.cause(),
            Some("An error occurred while executing the state 'W' (entered at the event id #4). The SecondsPath parameter references a negative value: $.s == -1")
        );
    }

    #[test]
    fn infinite_loop_yields() {
        let mut ex = start(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "E"}], "Default": "A"},
                "E": {"Type": "Succeed"}}}),
            json!({}),
        );
        assert_eq!(ex.run(0), vec![Effect::Yield]);
        assert_eq!(ex.status(), Status::Running);
        ex.stop(Some("Stopped".into()), None);
        assert_eq!(ex.run(0), vec![Effect::Done]);
        assert_eq!(ex.status(), Status::Aborted);
    }

    #[test]
    fn parallel_and_map_collect_in_order() {
        let mut ex = start(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "M", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}]},
                "M": {"Type": "Map", "MaxConcurrency": 1, "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
                      "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "End": true}}}),
            json!({}),
        );
        assert_eq!(ex.run(0), vec![Effect::Done]);
        assert_eq!(
            ex.output(),
            Some(&json!([{"i": 0, "v": 1}, {"i": 1, "v": 2}]))
        );
    }

    #[test]
    fn failing_branch_cancels_siblings() {
        let mut ex = start(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}},
                {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}]}}}),
            json!({}),
        );
        let effects = ex.run(0);
        let (token, _) = invoke_token(&effects);
        assert!(effects.contains(&Effect::Cancel { token }));
        assert_eq!(ex.status(), Status::Failed);
        assert_eq!((ex.error(), ex.cause()), (Some("E"), Some("c")));
    }

    #[test]
    fn map_concurrency_is_bounded() {
        let mut ex = start(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}}}}}),
            json!([1, 2, 3, 4, 5]),
        );
        let mut effects = ex.run(0);
        let mut done = Vec::new();
        for step in 0..10 {
            let invokes: Vec<(u64, Value)> = effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Invoke { token, payload, .. } => Some((*token, payload.clone())),
                    _ => None,
                })
                .collect();
            if invokes.is_empty() {
                break;
            }
            assert!(invokes.len() <= 2, "step {step}: {invokes:?}");
            for (t, p) in invokes {
                done.push(p.clone());
                ex.complete(t, p);
            }
            effects = ex.run(step);
        }
        assert_eq!(ex.status(), Status::Succeeded);
        assert_eq!(ex.output(), Some(&json!([1, 2, 3, 4, 5])));
    }

    #[test]
    fn same_inputs_same_result() {
        let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "Parameters": {"u.$": "States.UUID()", "r.$": "States.MathRandom(0, 1000000)", "t.$": "$$.State.EnteredTime"}}}});
        let run = |seed: u64| {
            let p = compile(&def.to_string(), MachineType::Express).unwrap();
            let mut ex = Execution::new(Arc::new(p), json!({}), ExecContext::default(), seed);
            ex.run(1_700_000_000_000);
            ex.output().cloned().unwrap()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert_eq!(run(7)["t"], json!("2023-11-14T22:13:20.000Z"));
    }

    #[test]
    fn oversized_task_result_is_a_data_limit_error_that_can_be_caught() {
        let mut ex = start(
            json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true,
                      "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "ResultPath": "$.e", "Next": "C"}]},
                "C": {"Type": "Pass", "OutputPath": "$.e.Error", "End": true}}}),
            json!({}),
        );
        let (token, _) = invoke_token(&ex.run(0));
        ex.complete(token, json!("x".repeat(MAX_PAYLOAD_BYTES)));
        ex.run(1);
        assert_eq!(ex.output(), Some(&json!("States.DataLimitExceeded")));
    }

    #[test]
    fn parallel_failure_is_caught_with_the_branch_error() {
        let mut ex = start(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "Done",
                "Catch": [{"ErrorEquals": ["BranchError"], "Next": "Caught"}],
                "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "BranchError", "Cause": "why"}}}]},
                "Done": {"Type": "Succeed"}, "Caught": {"Type": "Pass", "End": true}}}),
            json!({"k": 1}),
        );
        ex.run(0);
        assert_eq!(
            ex.output(),
            Some(&json!({"Error": "BranchError", "Cause": "why"}))
        );
    }

    #[test]
    fn map_tolerates_failures_up_to_the_threshold() {
        let def = |count: u64| {
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": count, "End": true,
                "ItemProcessor": {"StartAt": "C", "States": {
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}], "Default": "S"},
                    "F": {"Type": "Fail", "Error": "Two"}, "S": {"Type": "Succeed"}}}}}})
        };
        let mut ok = start(def(1), json!([1, 2, 3]));
        ok.run(0);
        assert_eq!(ok.status(), Status::Succeeded);
        assert_eq!(ok.output().unwrap()[1]["Error"], json!("Two"));
        let mut over = start(def(0), json!([1, 2, 3]));
        over.run(0);
        assert_eq!(over.error(), Some("States.ExceedToleratedFailureThreshold"));
    }
}
