//! Stepping a compiled program. An [`Execution`] runs states until every live frame is waiting on
//! the outside world, then returns [`Effect`]s; outcomes come back through [`Execution::complete`],
//! [`Execution::fail`] and [`Execution::wake`], and the next [`Execution::run`] goes on from there.
//!
//! Parallel branches and Map iterations are frames inside the one execution: a parent frame waits
//! while its children run, and the core hands out at most `MaxConcurrency` of them at a time.

pub use crate::context::ExecContext;
use crate::context::{self, StateInfo};
use crate::definition::{
    Assign, Catcher, Cond, Kind, MapRun, NumSource, PercentSource, Program, Source, State,
    StrSource, WaitFor,
};
use crate::errors::{self, error_matches, Failure};
use crate::history::{self, Event, EventKind, History, Iteration};
use crate::intrinsics::{self, Env};
use crate::path::{Path, Root};
use crate::payload::{
    merge_result, merge_undoable, query_field, query_path, select, select_part, Vars,
};
use crate::query::{self, JEnv, JTemplate};
use crate::rng::Rng;
use crate::timestamp;
use crate::value::{
    bound_of, exact_bound, serialized_len, to_text, Bound, Map, Oversize, Value, MAX_PAYLOAD_BYTES,
};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

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
        /// Shared with the frame when it is the state's raw input itself (no InputPath or
        /// Parameters): the frame takes it back, uncopied, once the caller has let it go.
        payload: Arc<Value>,
        timeout_seconds: Option<f64>,
        heartbeat_seconds: Option<f64>,
        state_name: String,
        /// For a `.waitForTaskToken` resource, the token (`$$.Task.Token`) whose return completes
        /// the task: the driver reports the call's response with `submitted`, then the token's
        /// outcome with `complete` or `fail`.
        task_token: Option<String>,
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
    /// A `.waitForTaskToken` task's call went out (with this response): it goes on waiting.
    Submitted(Value),
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
    /// The raw input of the current state (see `lent`).
    input: Value,
    /// The raw input while a Task's call has it as its payload (`input` is then null): shared, not
    /// copied; taken back by `take_input`.
    lent: Option<Arc<Value>>,
    /// Upper bounds of the input's size and depth: outputs are measured exactly only when these
    /// say they might be over the limits.
    bound: Bound,
    entered_event: u64,
    entered_ms: i64,
    /// The `$$.Task.Token` of the `.waitForTaskToken` Task being entered or waited for.
    task_token: Option<String>,
    retry_counts: Vec<u32>,
    retry_total: u32,
    parent: Option<(usize, usize)>,
    waiting: Waiting,
    resume: Option<Resume>,
    /// The workflow variables the frame sees: its own, over a snapshot of its parent's. None
    /// when the program assigns none.
    vars: Option<Arc<Vars>>,
    /// Their size as JSON, kept up to date so that an Assign checks the 10 MiB limit by
    /// measuring only what it assigns and what that replaces.
    vars_bytes: usize,
}

impl Frame {
    /// The raw input, wherever it is (lent to a Task's call or not).
    fn raw(&self) -> &Value {
        self.lent.as_deref().unwrap_or(&self.input)
    }
}

fn vars_ref(vars: &Option<Arc<Vars>>) -> &Vars {
    match vars {
        Some(v) => v,
        None => no_vars(),
    }
}

/// No variables: what every state of a program that assigns none sees.
fn no_vars() -> &'static Vars {
    static EMPTY: OnceLock<Vars> = OnceLock::new();
    EMPTY.get_or_init(Vars::new)
}

/// AWS's limits on variables: one variable's value, one `Assign` block, all of an execution's.
const MAX_VARIABLE_BYTES: usize = 262_144;
const MAX_ASSIGN_BYTES: usize = 262_144;
const MAX_VARIABLES_BYTES: usize = 10 * 1024 * 1024;

/// A Map's run limits, as evaluated when it starts (see `Execution::map_limits`).
struct MapLimits {
    max_concurrency: u64,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
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
    /// Call the Task's resource with `payload` (None: the raw input itself, lent rather than
    /// copied).
    Invoke {
        resource: String,
        payload: Option<Value>,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
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
    /// The recorded history events: None unless [`Execution::record_history`] asked for them.
    history: Option<Box<History>>,
    /// What the state being left assigns (made once its output is settled), and the size of the
    /// frame's variables once it has.
    pending: Option<(Vars, usize)>,
}

/// What a recorded event follows (its previousEventId).
#[derive(Clone, Copy)]
enum After {
    /// The last event of this frame.
    Frame(usize),
    /// The last event recorded, whichever frame it was in.
    Last,
    /// The last event recorded; the event then becomes the frame's last.
    LastInFrame(usize),
}

/// The most history events a STANDARD execution may have.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The resource suffix of a Task that waits for its task token to come back.
const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// A result or state output over AWS's 256 KiB payload limit.
fn data_limit_exceeded(state: &State) -> Failure {
    Failure::plain(
        errors::DATA_LIMIT_EXCEEDED,
        Some(format!(
            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
            state.name
        )),
    )
}

/// Goes on with a state's output (already checked against the limits: see `settle_bound`).
fn transition(state: &State, out: Value) -> Result<Step, Failure> {
    Ok(match state.next {
        Some(n) => Step::Goto(n, out),
        None => Step::End(out),
    })
}

/// The bound of a document after ResultPath put a result of bound `result` into an input of bound
/// `input`.
fn merged_bound(result_path: &Option<Option<Path>>, input: Bound, result: Bound) -> Bound {
    match result_path {
        None => result,
        Some(None) => input,
        Some(Some(p)) if p.is_root() => result,
        Some(Some(p)) => {
            let (bytes, levels) = p.merge_cost();
            Bound {
                size: input.size + result.size + bytes,
                depth: input.depth.max(levels + result.depth),
            }
        }
    }
}

/// A number field: literal, from a path (JSONPath, the field `<field>Path`), or from an
/// expression (JSONata).
fn number(
    src: &Option<NumSource>,
    input: &Value,
    vars: &Vars,
    field: &str,
    jenv: Option<&JEnv<'_>>,
    rng: &mut Rng,
) -> Result<Option<u64>, Failure> {
    match src {
        None => Ok(None),
        Some(Source::Literal(n)) => Ok(Some(*n)),
        Some(Source::Path(p)) => {
            let v = query_path(p, input, &Value::Null, vars)?;
            let n = match &v {
                Value::String(s) => s.trim().parse::<u64>().ok(),
                other => other.as_u64(),
            };
            match n {
                Some(n) => Ok(Some(n)),
                // A whole negative number is an integer, but not one these fields may have.
                None if v.as_i64().is_some_and(|n| n < 0) => {
                    Err(Failure::runtime(format!("{field} cannot be negative.")))
                }
                None => Err(not_a_valid(field, "integer", &v, p)),
            }
        }
        Some(Source::Jsonata(t)) => match jenv {
            Some(env) => whole_number(t, env, field, rng).map(Some),
            None => Ok(None),
        },
    }
}

/// AWS's failure for a `{field}Path` whose value `v` (read at `path`) is not a number of the `kind`
/// the field takes ("integer", "float").
fn not_a_valid(field: &str, kind: &str, v: &Value, path: &Path) -> Failure {
    Failure::runtime(format!(
        "The {field}Path field refers to value \"{}\" which is not a valid {kind}: {}",
        // A string is shown as it is; anything else as JSON.
        v.as_str().map_or_else(|| to_text(v), str::to_string),
        path.text()
    ))
}

/// ToleratedFailurePercentage as the Map starts: a number from 0 to 100, fractions allowed (from a
/// path, a number or a string that reads as one).
fn percentage(
    src: &Option<PercentSource>,
    input: &Value,
    vars: &Vars,
    jenv: Option<&JEnv<'_>>,
    rng: &mut Rng,
) -> Result<Option<f64>, Failure> {
    const FIELD: &str = "ToleratedFailurePercentage";
    let p = match src {
        None => return Ok(None),
        Some(Source::Literal(p)) => *p,
        Some(Source::Path(path)) => {
            let v = query_path(path, input, &Value::Null, vars)?;
            let p = match &v {
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|p| p.is_finite()),
                other => other.as_f64(),
            };
            match p {
                Some(p) => p,
                None => return Err(not_a_valid(FIELD, "float", &v, path)),
            }
        }
        Some(Source::Jsonata(t)) => match jenv {
            Some(env) => {
                let v = t.eval(env, rng)?;
                match v.as_f64() {
                    Some(p) => p,
                    None => return Err(query::wrong_type(t, FIELD, "number", &v)),
                }
            }
            None => return Ok(None),
        },
    };
    if (0.0..=100.0).contains(&p) {
        Ok(Some(p))
    } else {
        Err(Failure::runtime(format!(
            "{FIELD} must be between 0 and 100."
        )))
    }
}

/// A JSONata field that must give a whole number of 0 or more.
fn whole_number(t: &JTemplate, env: &JEnv<'_>, field: &str, rng: &mut Rng) -> Result<u64, Failure> {
    let v = t.eval(env, rng)?;
    match v.as_f64() {
        Some(x) if x >= 0.0 && x.fract() == 0.0 => Ok(x as u64),
        _ => Err(query::wrong_type(t, field, "integer", &v)),
    }
}

/// A Distributed Map's items grouped for its child executions (ItemBatcher): in order, each
/// batch `{"BatchInput": ..., "Items": [...]}` with at most `max_items` items and at most
/// `max_bytes` bytes of JSON, never more than a payload (256 KiB); 0 or no value is no limit of
/// its own. An item too large for a batch by itself fails the state.
fn batches(
    items: Vec<Option<Value>>,
    max_items: Option<u64>,
    max_bytes: Option<u64>,
    batch_input: Option<Value>,
) -> Result<Vec<Option<Value>>, Failure> {
    let max_items = match max_items {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let max_bytes = match max_bytes {
        Some(n) if n > 0 => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(MAX_PAYLOAD_BYTES),
        _ => MAX_PAYLOAD_BYTES,
    };
    // {"BatchInput":<input>,"Items":[]} before any item; then each item and its comma.
    let empty = r#"{"Items":[]}"#.len()
        + batch_input
            .as_ref()
            .map_or(0, |v| r#""BatchInput":,"#.len() + serialized_len(v));
    let make = |items: Vec<Value>| {
        let mut m = Map::new();
        if let Some(v) = &batch_input {
            m.insert("BatchInput".into(), v.clone());
        }
        m.insert("Items".into(), Value::Array(items));
        Some(Value::Object(m))
    };
    let mut out = Vec::new();
    let (mut batch, mut bytes) = (Vec::new(), empty);
    for item in items.into_iter().flatten() {
        let size = serialized_len(&item);
        if empty + size > max_bytes {
            return Err(Failure::runtime(format!(
                "An item of {size} bytes does not fit in a batch of at most {max_bytes} bytes (ItemBatcher)"
            )));
        }
        if !batch.is_empty() && (batch.len() >= max_items || bytes + 1 + size > max_bytes) {
            out.push(make(std::mem::take(&mut batch)));
            bytes = empty;
        }
        bytes += size + usize::from(!batch.is_empty()); // and the comma before it
        batch.push(item);
    }
    if !batch.is_empty() {
        out.push(make(batch));
    }
    Ok(out)
}

/// The retrier of `state` that takes a failure named `error`, and how many attempts it has made
/// (`counts`: per retrier, so far): the first whose ErrorEquals matches, if it has attempts left.
fn retrier_for(state: &State, counts: &[u32], error: &str) -> Option<(usize, u32)> {
    let idx = state
        .retry
        .iter()
        .position(|r| error_matches(&r.error_equals, error))?;
    let attempts = counts.get(idx).copied().unwrap_or(0);
    (attempts < state.retry[idx].max_attempts).then_some((idx, attempts))
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
        // A copy of the input is kept only for `$$.Execution.Input` (or the history, see
        // record_history): copying a large input for nothing is a measurable cost.
        let kept_input = if program.uses_context {
            input.clone()
        } else {
            Value::Null
        };
        let mut ex = Execution {
            program,
            ctx: Arc::new(ctx),
            input: kept_input,
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
            history: None,
            pending: None,
        };
        let start = ex.program.machines[0].start;
        let vars = ex.program.uses_variables.then(|| Arc::new(Vars::new()));
        ex.spawn(0, start, input, None, vars, 0);
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

    /// Records the execution's history events; call it before the first `run` (once any event
    /// has happened it does nothing). Without it, nothing is recorded and
    /// [`Execution::history`] stays empty.
    pub fn record_history(&mut self) {
        if self.history.is_none() && self.event_id == 1 {
            self.history = Some(Box::default());
            if !self.program.uses_context {
                // Not kept by `new`; nothing has run yet, so the first frame still holds it.
                self.input = self.raw_input(0);
            }
        }
    }

    /// The history events recorded so far, in id order.
    pub fn history(&self) -> &[Event] {
        self.history
            .as_deref()
            .map(|h| h.events.as_slice())
            .unwrap_or(&[])
    }

    /// The recorded events as the JSON array text of GetExecutionHistory's `events` ("[]" when
    /// recording is off). `include_data` false leaves out inputs, outputs and parameters.
    pub fn history_json(&self, include_data: bool) -> String {
        let region = history::region_of(&[&self.ctx.execution_id, &self.ctx.state_machine_id]);
        history::render(self.history(), include_data, &region)
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

    /// Whether a failure named `error` of the task `token` would be retried with nothing recording
    /// it: then its cause is never looked at, and a driver need not make one (for a handler's
    /// exception, writing the Lambda-style error document is most of the failure's cost).
    pub fn failure_goes_unseen(&self, token: u64, error: &str) -> bool {
        if self.history.is_some() {
            return false;
        }
        let Some(frame) = self
            .tokens
            .get(&token)
            .and_then(|&fid| self.frames.get(fid))
            .and_then(Option::as_ref)
        else {
            return false;
        };
        let state = &self.program.machines[frame.machine].states[frame.state];
        retrier_for(state, &frame.retry_counts, error).is_some()
    }

    /// Reports that a `.waitForTaskToken` task's call went out (its response, for the history);
    /// the task goes on waiting for `complete` or `fail`.
    pub fn submitted(&mut self, token: u64, response: Value) {
        self.inbox.push((token, Outcome::Submitted(response)));
    }

    /// Reports that a sleep is over.
    pub fn wake(&mut self, token: u64) {
        self.inbox.push((token, Outcome::Wake));
    }

    /// Ends the execution from outside: ABORTED, at the time of the last `run`.
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>) {
        self.stop_at(self.now_ms, error, cause);
    }

    /// Ends the execution from outside at `now_ms` (epoch milliseconds): ABORTED.
    pub fn stop_at(&mut self, now_ms: i64, error: Option<String>, cause: Option<String>) {
        self.now_ms = now_ms;
        self.finish(Status::Aborted, None, error, cause);
    }

    /// Ends the execution because it ran past its time limit: TIMED_OUT, at the time of the last
    /// `run`.
    pub fn time_out(&mut self) {
        self.time_out_at(self.now_ms);
    }

    /// Ends the execution at `now_ms` because it ran past its time limit: TIMED_OUT.
    pub fn time_out_at(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
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
        if self.history.is_some() {
            self.record_started();
        }
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
        vars: Option<Arc<Vars>>,
        vars_bytes: usize,
    ) -> usize {
        let frame = Frame {
            vars,
            vars_bytes,
            machine,
            state,
            bound: bound_of(&input),
            input,
            lent: None,
            entered_event: 0,
            entered_ms: 0,
            task_token: None,
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

    /// A fresh `$$.Task.Token`: opaque text, as AWS's are (base64 of random bytes).
    fn new_task_token(&mut self) -> String {
        use base64::Engine;
        let mut bytes = [0u8; 48];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn event(&mut self) -> u64 {
        self.event_id += 1;
        self.event_id
    }

    fn deliver(&mut self, token: u64, outcome: Outcome) {
        if let Outcome::Submitted(response) = outcome {
            self.task_submitted(token, response);
            return;
        }
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

    fn task_submitted(&mut self, token: u64, response: Value) {
        let Some(&fid) = self.tokens.get(&token) else {
            return;
        };
        if !matches!(
            self.frames.get(fid),
            Some(Some(Frame {
                waiting: Waiting::Task { .. },
                ..
            }))
        ) {
            return;
        }
        let ev = self.event(); // TaskSubmitted
        if self.history.is_some() {
            if let Some((program, machine, state)) = self.state_of(fid) {
                if let Kind::Task { resource, .. } = &program.machines[machine].states[state].kind {
                    let kind = EventKind::TaskSubmitted {
                        resource: resource.clone(),
                        output: to_text(&response),
                    };
                    self.record(ev, After::Frame(fid), kind);
                }
            }
        }
    }

    /// Runs one frame until it blocks, finishes or the budget runs out.
    fn advance(&mut self, fid: usize, budget: &mut u32) {
        loop {
            if self.status != Status::Running {
                return;
            }
            if self.event_id >= MAX_HISTORY_EVENTS
                && self.program.machine_type == crate::definition::MachineType::Standard
            {
                // A STANDARD execution's history holds at most 25,000 events (Express keeps none).
                self.finish(
                    Status::Failed,
                    None,
                    Some(errors::RUNTIME.to_string()),
                    Some(format!(
                        "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
                    )),
                );
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
                Step::Fail(f) => {
                    self.pending = None;
                    self.handle_error(fid, f)
                }
                other => other,
            };
            // What the state assigned, as its StateExited event reports it (history only).
            let mut assigned_texts: Option<Vec<(String, String)>> = None;
            if let Some((assigned, vars_bytes)) = self.pending.take() {
                if matches!(step, Step::Goto(..) | Step::End(_)) {
                    if self.history.is_some() {
                        assigned_texts = Some(
                            assigned
                                .iter()
                                .map(|(k, v)| (k.clone(), to_text(v)))
                                .collect(),
                        );
                    }
                    if let Some(frame) = self.frame(fid) {
                        if let Some(vars) = frame.vars.as_mut() {
                            let vars = Arc::make_mut(vars);
                            for (k, v) in assigned {
                                vars.insert(k, v);
                            }
                            frame.vars_bytes = vars_bytes;
                        }
                    }
                }
            }
            match step {
                Step::Block => return,
                Step::Goto(next, output) => {
                    let ev = self.event(); // <Type>StateExited
                    if self.history.is_some() {
                        self.record_exited(fid, ev, &output, assigned_texts);
                    }
                    let Some(frame) = self.frame(fid) else { return };
                    frame.state = next;
                    frame.input = output;
                    frame.lent = None;
                    frame.task_token = None;
                    frame.retry_counts.clear();
                    frame.retry_total = 0;
                    frame.resume = Some(Resume::Enter);
                }
                Step::End(output) => {
                    let ev = self.event(); // <Type>StateExited
                    if self.history.is_some() {
                        self.record_exited(fid, ev, &output, assigned_texts);
                    }
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
                if self.history.is_some() {
                    self.record_entered(fid, ev, state);
                }
                let now = self.now_ms;
                if let Some(f) = self.frame(fid) {
                    f.entered_event = ev;
                    f.entered_ms = now;
                }
                self.enter(fid, state)
            }
            Resume::Retry => self.enter(fid, state),
            Resume::TaskDone(outcome) => {
                let ev = self.event(); // TaskSucceeded / TaskFailed
                if self.history.is_some() {
                    self.record_task_done(fid, ev, state, &outcome);
                }
                match outcome {
                    Ok(result) => {
                        // The result's bound, measured once: for its own limit check here and,
                        // unless a ResultSelector replaces it, for the state output's bound.
                        let bound = bound_of(&result);
                        if !bound.within_limits() && exact_bound(&result).is_err() {
                            Err(data_limit_exceeded(state))
                        } else {
                            self.finish_bounded(fid, state, result, Some(bound))
                        }
                    }
                    Err(f) => Err(f),
                }
            }
            Resume::WaitDone(effective) => {
                let effective = effective.unwrap_or_else(|| self.take_input(fid));
                self.leave(fid, state, effective)
            }
            Resume::ChildrenDone(outcome) => {
                let ev = self.event(); // ParallelStateSucceeded / MapStateSucceeded (or ...Failed)
                if self.history.is_some() {
                    self.record_children_done(fid, ev, state, outcome.is_ok());
                }
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
        let frame = self.frames.get(fid).and_then(Option::as_ref);
        let (entered_ms, retry_count) = frame
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
                task_token: frame.and_then(|f| f.task_token.as_deref()),
            },
        )
    }

    fn take_input(&mut self, fid: usize) -> Value {
        self.frame(fid)
            .map(|f| match f.lent.take() {
                // Copied only if the call's payload is still held somewhere.
                Some(lent) => Arc::try_unwrap(lent).unwrap_or_else(|held| (*held).clone()),
                None => std::mem::take(&mut f.input),
            })
            .unwrap_or(Value::Null)
    }

    fn put_input(&mut self, fid: usize, input: Value) {
        if let Some(f) = self.frame(fid) {
            f.input = input;
            f.lent = None;
        }
    }

    fn raw_input(&self, fid: usize) -> Value {
        self.frames
            .get(fid)
            .and_then(Option::as_ref)
            .map(|f| f.raw().clone())
            .unwrap_or(Value::Null)
    }

    /// The frame's variables (None: it has none), to read with [`vars_ref`].
    fn vars_of(&self, fid: usize) -> Option<Arc<Vars>> {
        if !self.program.uses_variables {
            return None;
        }
        self.frames
            .get(fid)
            .and_then(Option::as_ref)
            .and_then(|f| f.vars.clone())
    }

    /// Evaluates an `Assign` block (JSONPath: on `input`; JSONata: in `jenv`) into the pending
    /// assignments, checking AWS's limits.
    fn assign(
        &mut self,
        fid: usize,
        assign: &Assign,
        input: &Value,
        context: &Value,
        vars: &Vars,
        jenv: Option<&JEnv<'_>>,
    ) -> Result<(), Failure> {
        let value = match (assign, jenv) {
            (Assign::Path(t), _) => t.eval(input, context, vars, &mut self.rng)?,
            (Assign::Jsonata(t), Some(env)) => t.eval(env, &mut self.rng)?,
            (Assign::Jsonata(_), None) => return Ok(()),
        };
        let Value::Object(assigned) = value else {
            return Ok(());
        };
        let mut block = 0usize;
        for (name, v) in &assigned {
            let size = serialized_len(v);
            if size > MAX_VARIABLE_BYTES {
                return Err(Failure::in_state(
                    errors::RUNTIME,
                    format!("The variable '{name}' has a size exceeding the maximum number of bytes service limit."),
                ));
            }
            block += size;
        }
        if block > MAX_ASSIGN_BYTES {
            return Err(Failure::in_state(
                errors::RUNTIME,
                "The assigned variables have a total size exceeding the maximum number of bytes service limit.",
            ));
        }
        let replaced: usize = assigned
            .keys()
            .filter_map(|name| vars.get(name))
            .map(serialized_len)
            .sum();
        let before = self.frames[fid].as_ref().map_or(0, |f| f.vars_bytes);
        let total = before.saturating_sub(replaced) + block;
        if total > MAX_VARIABLES_BYTES {
            return Err(Failure::in_state(
                errors::RUNTIME,
                "The variables of the execution have a total size exceeding the maximum number of bytes service limit.",
            ));
        }
        self.pending = Some((assigned, total));
        Ok(())
    }

    /// Runs a state from its start (on entry or on a retry). The raw input is taken out of the
    /// frame rather than copied, and put back wherever the state may need it again (a retry, a
    /// catch, ResultPath).
    fn enter(&mut self, fid: usize, state: &State) -> Result<Step, Failure> {
        let raw = self.take_input(fid);
        if matches!(&state.kind, Kind::Task { resource, .. } if resource.ends_with(WAIT_FOR_TASK_TOKEN))
        {
            let token = self.new_task_token();
            if let Some(f) = self.frame(fid) {
                f.task_token = Some(token);
            }
        }
        let context = self.context_for(fid, state, None);
        let vars_arc = self.vars_of(fid);
        let vars = vars_ref(&vars_arc);
        let entered = if state.jsonata {
            self.enter_jsonata(fid, state, &raw, &context, vars)
        } else {
            self.enter_inner(fid, state, &raw, &context, vars)
        };
        match entered {
            Ok(Entered::Result(result)) => {
                self.put_input(fid, raw);
                self.finish_state(fid, state, result)
            }
            Ok(Entered::Leave(next, effective)) => {
                let out = if state.jsonata {
                    let out = effective.unwrap_or(raw);
                    self.settle_bound(fid, state, &out, bound_of(&out))?;
                    out
                } else {
                    select(&state.output_path, effective.unwrap_or(raw), &context, vars)?
                };
                Ok(match next {
                    Some(n) => Step::Goto(n, out),
                    None => Step::End(out),
                })
            }
            Ok(Entered::Block) => {
                self.put_input(fid, raw);
                Ok(Step::Block)
            }
            Ok(Entered::Invoke {
                resource,
                payload,
                timeout,
                heartbeat,
            }) => {
                let payload = match payload {
                    Some(payload) => {
                        self.put_input(fid, raw);
                        Arc::new(payload)
                    }
                    None => {
                        let shared = Arc::new(raw);
                        if let Some(f) = self.frame(fid) {
                            f.lent = Some(Arc::clone(&shared));
                        }
                        shared
                    }
                };
                self.invoke(fid, state, resource, payload, timeout, heartbeat);
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
        vars: &Vars,
    ) -> Result<Entered, Failure> {
        // The effective input: None when it is the raw input itself (no InputPath), so the
        // common case copies nothing.
        let selected = match &state.input_path {
            None => None,
            Some(Some(p)) if p.is_root() && p.root() == Root::Input => None,
            path => Some(select(path, raw.clone(), context, vars)?),
        };
        let effective = selected.as_ref().unwrap_or(raw);
        match &state.kind {
            Kind::Fail { error, cause } => {
                let error = self.string_source(error, raw, context, vars, "ErrorPath", None)?;
                let cause = self.string_source(cause, raw, context, vars, "CausePath", None)?;
                Err(Failure::plain(error.unwrap_or_default(), cause))
            }
            Kind::Pass { result } => {
                let params = self.parameters(state, effective, context, vars)?;
                Ok(Entered::Result(match result {
                    Some(r) => r.clone(),
                    None => params.unwrap_or_else(|| effective.clone()),
                }))
            }
            Kind::Succeed => Ok(Entered::Leave(None, selected)),
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for b in choices {
                    if let Cond::Rule(rule) = &b.cond {
                        if rule.eval(effective, context, vars)? {
                            chosen = Some((b.next, b.assign.as_ref()));
                            break;
                        }
                    }
                }
                let (next, assign) = match (chosen, default) {
                    (Some((next, assign)), _) => (next, assign.or(state.assign.as_deref())),
                    (None, Some(next)) => (*next, state.assign.as_deref()),
                    (None, None) => return Err(self.no_choice(fid, state)),
                };
                if let Some(a) = assign {
                    self.assign(fid, a, effective, context, vars, None)?;
                }
                Ok(Entered::Leave(Some(next), selected))
            }
            Kind::Wait(how) => {
                let seconds = self.wait_seconds(how, effective, vars)?;
                if seconds <= 0.0 {
                    if let Some(a) = &state.assign {
                        self.assign(fid, a, effective, context, vars, None)?;
                    }
                    return Ok(Entered::Leave(state.next, selected));
                }
                self.sleep(fid, seconds, selected);
                Ok(Entered::Block)
            }
            Kind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                let parameters = self.parameters(state, effective, context, vars)?;
                let rng = &mut self.rng;
                let timeout = number(timeout, effective, vars, "TimeoutSeconds", None, rng)?;
                let heartbeat = number(heartbeat, effective, vars, "HeartbeatSeconds", None, rng)?;
                // The payload: Parameters, else the effective input (None: the raw input itself,
                // lent to the call, when there is no InputPath).
                let payload = parameters.or(selected);
                Ok(Entered::Invoke {
                    resource: resource.clone(),
                    payload,
                    timeout,
                    heartbeat,
                })
            }
            Kind::Parallel { branches } => {
                let input = self
                    .parameters(state, effective, context, vars)?
                    .unwrap_or_else(|| effective.clone());
                self.start_parallel(fid, branches, input)
            }
            Kind::Map {
                processor,
                items_path,
                item_selector,
                run,
                ..
            } => {
                let items = match items_path {
                    None => effective.clone(),
                    Some(p) => query_path(p, effective, context, vars)?,
                };
                let Value::Array(items) = items else {
                    return Err(Failure::runtime(format!(
                        "Unable to apply ItemsPath '{}' to the input: the value '{}' is not an array",
                        items_path.as_ref().map(Path::text).unwrap_or("$"),
                        to_text(&items)
                    )));
                };
                let limits = self.map_limits(run, effective, vars, None)?;
                let selector = item_selector.as_ref().or(state.parameters.as_ref());
                let mut inputs = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    inputs.push(Some(match selector {
                        Some(t) => {
                            let ctx = self.context_for(fid, state, Some((i, &item)));
                            t.eval(effective, &ctx, vars, &mut self.rng)?
                        }
                        None => item,
                    }));
                }
                self.start_map(
                    fid, *processor, inputs, limits, run, effective, context, vars, None,
                )
            }
        }
    }

    /// A JSONata state's environment: `$states` (its input, its result or error output where
    /// it has one, and its context when it reads it) and the variables it sees.
    fn jenv<'v>(
        &self,
        state: &State,
        input: &'v Value,
        result: Option<&'v Value>,
        error_output: Option<&'v Value>,
        context: &'v Value,
        vars: &'v Vars,
    ) -> JEnv<'v> {
        let context = state.uses_context.then_some(context);
        JEnv::new(input, result, error_output, context, vars, self.now_ms)
    }

    /// A JSONata state from its start: `raw` is `$states.input`.
    fn enter_jsonata(
        &mut self,
        fid: usize,
        state: &State,
        raw: &Value,
        context: &Value,
        vars: &Vars,
    ) -> Result<Entered, Failure> {
        let env = self.jenv(state, raw, None, None, context, vars);
        match &state.kind {
            Kind::Fail { error, cause } => {
                let error = self.string_source(error, raw, context, vars, "Error", Some(&env))?;
                let cause = self.string_source(cause, raw, context, vars, "Cause", Some(&env))?;
                Err(Failure::plain(error.unwrap_or_default(), cause))
            }
            Kind::Pass { .. } | Kind::Succeed => {
                let out = self.jsonata_leave(fid, state, raw, &env, None, None)?;
                let next = if matches!(state.kind, Kind::Succeed) {
                    None
                } else {
                    state.next
                };
                Ok(Entered::Leave(next, Some(out)))
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for b in choices {
                    let Cond::Jsonata(t) = &b.cond else { continue };
                    match t.eval(&env, &mut self.rng)? {
                        Value::Bool(true) => {
                            chosen = Some(b);
                            break;
                        }
                        Value::Bool(false) => {}
                        other => return Err(query::wrong_type(t, "Condition", "boolean", &other)),
                    }
                }
                let (next, assign, output) = match (chosen, default) {
                    (Some(b), _) => (
                        b.next,
                        b.assign.as_ref().or(state.assign.as_deref()),
                        b.output.as_ref().or(state.output.as_deref()),
                    ),
                    (None, Some(next)) => (*next, state.assign.as_deref(), state.output.as_deref()),
                    (None, None) => return Err(self.no_choice(fid, state)),
                };
                let out = self.jsonata_leave(fid, state, raw, &env, assign, output)?;
                Ok(Entered::Leave(Some(next), Some(out)))
            }
            Kind::Wait(how) => {
                let seconds = match how {
                    WaitFor::SecondsJsonata(t) => {
                        whole_number(t, &env, "Seconds", &mut self.rng)? as f64
                    }
                    WaitFor::TimestampJsonata(t) => {
                        let v = t.eval(&env, &mut self.rng)?;
                        match v.as_str().and_then(timestamp::parse) {
                            Some(instant) => (((instant / 1_000_000) as i64 - self.now_ms) as f64
                                / 1000.0)
                                .max(0.0),
                            None => return Err(query::wrong_type(t, "Timestamp", "timestamp", &v)),
                        }
                    }
                    other => self.wait_seconds(other, raw, vars)?,
                };
                if seconds <= 0.0 {
                    let out = self.jsonata_leave(fid, state, raw, &env, None, None)?;
                    return Ok(Entered::Leave(state.next, Some(out)));
                }
                self.sleep(fid, seconds, None);
                Ok(Entered::Block)
            }
            Kind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                let payload = match &state.arguments {
                    Some(t) => Some(t.eval(&env, &mut self.rng)?),
                    None => None, // the raw input itself, lent to the call
                };
                let rng = &mut self.rng;
                let timeout = number(timeout, raw, vars, "TimeoutSeconds", Some(&env), rng)?;
                let heartbeat = number(heartbeat, raw, vars, "HeartbeatSeconds", Some(&env), rng)?;
                Ok(Entered::Invoke {
                    resource: resource.clone(),
                    payload,
                    timeout,
                    heartbeat,
                })
            }
            Kind::Parallel { branches } => {
                let input = match &state.arguments {
                    Some(t) => t.eval(&env, &mut self.rng)?,
                    None => raw.clone(),
                };
                self.start_parallel(fid, branches, input)
            }
            Kind::Map {
                processor,
                items,
                jitem_selector,
                run,
                ..
            } => {
                let list = match items {
                    Some(t) => match t.eval(&env, &mut self.rng)? {
                        Value::Array(a) => a,
                        other => return Err(query::wrong_type(t, "Items", "array", &other)),
                    },
                    None => match raw {
                        Value::Array(a) => a.clone(),
                        other => {
                            return Err(query::query_error(format!(
                                "Map state input must be an array but was: {}",
                                to_text(other)
                            )))
                        }
                    },
                };
                let limits = self.map_limits(run, raw, vars, Some(&env))?;
                let mut inputs = Vec::with_capacity(list.len());
                for (i, item) in list.into_iter().enumerate() {
                    inputs.push(Some(match jitem_selector {
                        Some(t) => {
                            let ctx = self.context_for(fid, state, Some((i, &item)));
                            let item_env =
                                JEnv::new(raw, None, None, Some(&ctx), vars, self.now_ms);
                            t.eval(&item_env, &mut self.rng)?
                        }
                        None => item,
                    }));
                }
                self.start_map(
                    fid,
                    *processor,
                    inputs,
                    limits,
                    run,
                    raw,
                    context,
                    vars,
                    Some(&env),
                )
            }
        }
    }

    /// A JSONata state's Assign (into the pending assignments) and Output (the state's output;
    /// without one, `default` or else the input).
    fn jsonata_leave(
        &mut self,
        fid: usize,
        state: &State,
        raw: &Value,
        env: &JEnv<'_>,
        assign: Option<&Assign>,
        output: Option<&JTemplate>,
    ) -> Result<Value, Failure> {
        let assign = assign.or(state.assign.as_deref());
        let output = output.or(state.output.as_deref());
        Ok(self
            .jsonata_assign_output(fid, raw, env, assign, output)?
            .unwrap_or_else(|| raw.clone()))
    }

    /// A JSONata `Assign` (into the pending assignments) and `Output`, both evaluated in `env`;
    /// `None` without an `Output` (the caller then knows what the output is).
    fn jsonata_assign_output(
        &mut self,
        fid: usize,
        raw: &Value,
        env: &JEnv<'_>,
        assign: Option<&Assign>,
        output: Option<&JTemplate>,
    ) -> Result<Option<Value>, Failure> {
        if let Some(a) = assign {
            self.assign(fid, a, raw, &Value::Null, env.vars(), Some(env))?;
        }
        output.map(|t| t.eval(env, &mut self.rng)).transpose()
    }

    fn no_choice(&mut self, fid: usize, state: &State) -> Failure {
        Failure::plain(
            errors::NO_CHOICE_MATCHED,
            Some(format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). No Matches!",
                state.name,
                self.frame(fid).map(|f| f.entered_event).unwrap_or(0)
            )),
        )
    }

    fn sleep(&mut self, fid: usize, seconds: f64, effective: Option<Value>) {
        let token = self.token(fid);
        self.effects.push(Effect::Sleep { token, seconds });
        if let Some(f) = self.frame(fid) {
            f.waiting = Waiting::Wait { token, effective };
        }
    }

    fn invoke(
        &mut self,
        fid: usize,
        state: &State,
        resource: String,
        payload: Arc<Value>,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) {
        let scheduled = self.event(); // TaskScheduled
        let started = self.event(); // TaskStarted
        if self.history.is_some() {
            self.record_task_started(
                fid, scheduled, started, &resource, &payload, timeout, heartbeat,
            );
        }
        let timeout_seconds = timeout.map(|x| x as f64);
        let heartbeat_seconds = heartbeat.map(|x| x as f64);
        let token = self.token(fid);
        let task_token = self.frame(fid).and_then(|f| f.task_token.clone());
        self.effects.push(Effect::Invoke {
            token,
            resource,
            payload,
            timeout_seconds,
            heartbeat_seconds,
            state_name: state.name.clone(),
            task_token,
        });
        if let Some(f) = self.frame(fid) {
            f.waiting = Waiting::Task { token };
        }
    }

    fn start_parallel(
        &mut self,
        fid: usize,
        branches: &[usize],
        input: Value,
    ) -> Result<Entered, Failure> {
        let ev = self.event(); // ParallelStateStarted
        if self.history.is_some() {
            self.record(ev, After::Frame(fid), EventKind::ParallelStateStarted);
        }
        let n = branches.len();
        let children = Children {
            is_map: false,
            inputs: (0..n).map(|_| Some(input.clone())).collect(),
            results: vec![None; n],
            frames: vec![None; n],
            machines: branches.to_vec(),
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

    /// A Map's MaxConcurrency and tolerated failures: literal, a `...Path` on `input`, or JSONata
    /// in `jenv`.
    fn map_limits(
        &mut self,
        run: &MapRun,
        input: &Value,
        vars: &Vars,
        jenv: Option<&JEnv<'_>>,
    ) -> Result<MapLimits, Failure> {
        let rng = &mut self.rng;
        Ok(MapLimits {
            max_concurrency: number(
                &run.max_concurrency,
                input,
                vars,
                "MaxConcurrency",
                jenv,
                rng,
            )?
            .unwrap_or(0),
            tolerated_count: number(
                &run.tolerated_count,
                input,
                vars,
                "ToleratedFailureCount",
                jenv,
                rng,
            )?,
            tolerated_percentage: percentage(&run.tolerated_percentage, input, vars, jenv, rng)?,
        })
    }

    /// Starts a Map on its items' inputs, in batches when it has an ItemBatcher (its numbers and
    /// BatchInput made as `map_limits` makes the others).
    #[allow(clippy::too_many_arguments)]
    fn start_map(
        &mut self,
        fid: usize,
        processor: usize,
        mut inputs: Vec<Option<Value>>,
        limits: MapLimits,
        run: &MapRun,
        input: &Value,
        context: &Value,
        vars: &Vars,
        jenv: Option<&JEnv<'_>>,
    ) -> Result<Entered, Failure> {
        let rng = &mut self.rng;
        if let Some(b) = &run.batcher {
            let max_items = number(&b.max_items, input, vars, "MaxItemsPerBatch", jenv, rng)?;
            let max_bytes = number(
                &b.max_bytes,
                input,
                vars,
                "MaxInputBytesPerBatch",
                jenv,
                rng,
            )?;
            let batch_input = match (&b.input, &b.jinput, jenv) {
                (Some(t), _, _) => Some(t.eval(input, context, vars, rng)?),
                (None, Some(t), Some(env)) => Some(t.eval(env, rng)?),
                _ => None,
            };
            inputs = batches(inputs, max_items, max_bytes, batch_input)?;
        }
        let n = inputs.len();
        let ev = self.event(); // MapStateStarted
        if self.history.is_some() {
            self.record(
                ev,
                After::Frame(fid),
                EventKind::MapStateStarted { length: n },
            );
        }
        let children = Children {
            is_map: true,
            inputs,
            results: vec![None; n],
            frames: vec![None; n],
            machines: vec![processor],
            started: 0,
            running: 0,
            finished: 0,
            failed: 0,
            max_concurrency: limits.max_concurrency as usize,
            tolerated_count: limits.tolerated_count,
            tolerated_percentage: limits.tolerated_percentage,
        };
        self.start_children(fid, children)
    }

    fn parameters(
        &mut self,
        state: &State,
        effective: &Value,
        context: &Value,
        vars: &Vars,
    ) -> Result<Option<Value>, Failure> {
        if matches!(state.kind, Kind::Map { .. }) {
            return Ok(None); // a Map's Parameters select each item instead
        }
        match &state.parameters {
            Some(t) => Ok(Some(t.eval(effective, context, vars, &mut self.rng)?)),
            None => Ok(None),
        }
    }

    /// ResultSelector, ResultPath and OutputPath (JSONata: Assign and Output), then the
    /// transition.
    fn finish_state(&mut self, fid: usize, state: &State, result: Value) -> Result<Step, Failure> {
        self.finish_bounded(fid, state, result, None)
    }

    /// `finish_state`, given the result's bound when it is known already.
    fn finish_bounded(
        &mut self,
        fid: usize,
        state: &State,
        result: Value,
        known_bound: Option<Bound>,
    ) -> Result<Step, Failure> {
        if state.jsonata {
            return self.finish_jsonata(fid, state, result);
        }
        let context = self.context_for(fid, state, None);
        let vars_arc = self.vars_of(fid);
        let vars = vars_ref(&vars_arc);
        let (result, known_bound) = match &state.result_selector {
            Some(t) => (t.eval(&result, &context, vars, &mut self.rng)?, None),
            None => (result, known_bound),
        };
        if let Some(a) = &state.assign {
            self.assign(fid, a, &result, &context, vars, None)?;
        }
        let passed_through =
            matches!(state.kind, Kind::Pass { result: None }) && state.parameters.is_none();
        let in_bound = self.frame(fid).map(|f| f.bound).unwrap_or_default();
        // A Pass that only passes its (effective) input on adds nothing the input's bound misses.
        let result_bound = if passed_through {
            in_bound
        } else {
            known_bound.unwrap_or_else(|| bound_of(&result))
        };
        let bound = merged_bound(&state.result_path, in_bound, result_bound);
        let raw = self.take_input(fid);
        let out = self.output_of(fid, state, raw, result, &context, vars, bound)?;
        transition(state, out)
    }

    /// ResultPath, OutputPath and the payload limits: a state's output from its raw input and
    /// its result. When one of them fails, the frame gets its raw input back (a Retry or a Catch
    /// goes on from it), by undoing the merge rather than from a copy kept of every input.
    #[allow(clippy::too_many_arguments)]
    fn output_of(
        &mut self,
        fid: usize,
        state: &State,
        raw: Value,
        result: Value,
        context: &Value,
        vars: &Vars,
        bound: Bound,
    ) -> Result<Value, Failure> {
        let (merged, unmerge) = match merge_undoable(&state.result_path, raw, result) {
            Ok(done) => done,
            Err(failed) => {
                let (failure, raw) = *failed;
                self.put_input(fid, raw);
                return Err(failure);
            }
        };
        let checked = select_part(&state.output_path, &merged, context, vars).and_then(|part| {
            self.settle_bound(fid, state, part.as_ref().unwrap_or(&merged), bound)?;
            Ok(part)
        });
        match checked {
            Ok(part) => Ok(part.unwrap_or(merged)),
            Err(failure) => {
                self.put_input(fid, unmerge.undo(&state.result_path, merged));
                Err(failure)
            }
        }
    }

    /// A JSONata state's result (`$states.result`) through Assign and Output.
    fn finish_jsonata(
        &mut self,
        fid: usize,
        state: &State,
        result: Value,
    ) -> Result<Step, Failure> {
        let context = self.context_for(fid, state, None);
        let vars_arc = self.vars_of(fid);
        let vars = vars_ref(&vars_arc);
        let raw = self.take_input(fid);
        let env = self.jenv(state, &raw, Some(&result), None, &context, vars);
        let (assign, output) = (state.assign.as_deref(), state.output.as_deref());
        let out = self.jsonata_assign_output(fid, &raw, &env, assign, output);
        // (`$states.result` is lent to the expressions; with no Output it is the output.)
        drop(env);
        let out = out.map(|out| out.unwrap_or(result)).and_then(|out| {
            self.settle_bound(fid, state, &out, bound_of(&out))?;
            Ok(out)
        });
        match out {
            Ok(out) => transition(state, out),
            Err(failure) => {
                // A Retry or a Catch goes on from the raw input.
                self.put_input(fid, raw);
                Err(failure)
            }
        }
    }

    /// Records the bound of a state's output for the next state, after checking the output
    /// exactly against the limits when its bound does not show it within them.
    fn settle_bound(
        &mut self,
        fid: usize,
        state: &State,
        out: &Value,
        bound: Bound,
    ) -> Result<(), Failure> {
        let bound = if bound.within_limits() {
            bound
        } else {
            match exact_bound(out) {
                Ok(exact) => exact,
                Err(Oversize::TooLarge) => return Err(data_limit_exceeded(state)),
                Err(Oversize::TooDeep) => {
                    return Err(Failure::plain(
                        errors::RUNTIME,
                        Some(format!(
                            "The output of the state '{}' is nested more than {} levels deep",
                            state.name,
                            crate::value::MAX_DEPTH
                        )),
                    ))
                }
            }
        };
        if let Some(f) = self.frame(fid) {
            f.bound = bound;
        }
        Ok(())
    }

    /// The end of a Wait: Assign, OutputPath (JSONata: Output) and the transition.
    fn leave(&mut self, fid: usize, state: &State, effective: Value) -> Result<Step, Failure> {
        let context = self.context_for(fid, state, None);
        let vars_arc = self.vars_of(fid);
        let vars = vars_ref(&vars_arc);
        if state.jsonata {
            let env = self.jenv(state, &effective, None, None, &context, vars);
            let out = self.jsonata_leave(fid, state, &effective, &env, None, None)?;
            self.settle_bound(fid, state, &out, bound_of(&out))?;
            return transition(state, out);
        }
        if let Some(a) = &state.assign {
            self.assign(fid, a, &effective, &context, vars, None)?;
        }
        let out = select(&state.output_path, effective, &context, vars)?;
        transition(state, out)
    }

    fn string_source(
        &mut self,
        src: &Option<StrSource>,
        input: &Value,
        context: &Value,
        vars: &Vars,
        field: &str,
        jenv: Option<&JEnv<'_>>,
    ) -> Result<Option<String>, Failure> {
        let v = match src {
            None => return Ok(None),
            Some(StrSource::Literal(s)) => return Ok(Some(s.clone())),
            Some(StrSource::Path(p)) => query_field(p, input, context, vars, field)?,
            Some(StrSource::Call(c)) => {
                let mut env = Env {
                    input,
                    context,
                    vars,
                    rng: &mut self.rng,
                };
                intrinsics::eval(c, &mut env, field)?
            }
            Some(StrSource::Jsonata(t)) => match jenv {
                Some(env) => t.eval(env, &mut self.rng)?,
                None => return Ok(None),
            },
        };
        Ok(Some(match v {
            Value::String(s) => s,
            other => to_text(&other),
        }))
    }

    fn wait_seconds(&self, how: &WaitFor, input: &Value, vars: &Vars) -> Result<f64, Failure> {
        let lookup = |p: &Path| query_path(p, input, &Value::Null, vars);
        let until = |instant: timestamp::Instant| {
            ((instant / 1_000_000) as i64 - self.now_ms) as f64 / 1000.0
        };
        match how {
            // Evaluated by the JSONata path of `enter`.
            WaitFor::SecondsJsonata(_) | WaitFor::TimestampJsonata(_) => Ok(0.0),
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
        let counts = self.frames[fid]
            .as_ref()
            .map_or(&[][..], |f| &f.retry_counts[..]);
        if let Some((idx, attempts)) = retrier_for(state, counts, &failure.error) {
            let r = &state.retry[idx];
            let mut delay = r.interval_seconds * r.backoff_rate.powi(attempts as i32);
            if let Some(max) = r.max_delay_seconds {
                delay = delay.min(max);
            }
            if r.jitter_full {
                delay *= self.rng.next_f64();
            }
            let token = self.token(fid);
            if let Some(f) = self.frame(fid) {
                if f.retry_counts.len() < state.retry.len() {
                    f.retry_counts.resize(state.retry.len(), 0);
                }
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
        if let Some(c) = state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure.error))
        {
            return self.catch(fid, state, c, &failure);
        }
        Step::Fail(failure)
    }

    fn catch(&mut self, fid: usize, state: &State, c: &Catcher, failure: &Failure) -> Step {
        match self.catch_inner(fid, state, c, failure) {
            Ok(step) => step,
            Err(f) => Step::Fail(self.locate(fid, state, f)),
        }
    }

    fn catch_inner(
        &mut self,
        fid: usize,
        state: &State,
        c: &Catcher,
        failure: &Failure,
    ) -> Result<Step, Failure> {
        // The state ends here, caught or failed: nothing reads its input after this.
        let raw = self.take_input(fid);
        let error = error_output(failure);
        if state.jsonata || c.assign.is_some() {
            let context = self.context_for(fid, state, None);
            let vars_arc = self.vars_of(fid);
            let vars = vars_ref(&vars_arc);
            if state.jsonata {
                let env = self.jenv(state, &raw, None, Some(&error), &context, vars);
                let (assign, output) = (c.assign.as_ref(), c.output.as_ref());
                let out = self.jsonata_assign_output(fid, &raw, &env, assign, output)?;
                drop(env);
                let out = out.unwrap_or(error);
                self.settle_bound(fid, state, &out, bound_of(&out))?;
                return Ok(Step::Goto(c.next, out));
            }
            if let Some(a) = &c.assign {
                self.assign(fid, a, &error, &context, vars, None)?;
            }
        }
        let in_bound = self.frame(fid).map(|f| f.bound).unwrap_or_default();
        let bound = merged_bound(&c.result_path, in_bound, bound_of(&error));
        let out = merge_result(&c.result_path, raw, error)?;
        self.settle_bound(fid, state, &out, bound)?;
        Ok(Step::Goto(c.next, out))
    }

    // -----------------------------------------------------------------------------------------
    // Parallel and Map children

    fn start_children(&mut self, fid: usize, mut children: Children) -> Result<Entered, Failure> {
        if children.inputs.is_empty() {
            let ev = self.event(); // MapStateSucceeded
            if self.history.is_some() {
                self.record(ev, After::Frame(fid), EventKind::MapStateSucceeded);
            }
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
            let iteration = if ch.is_map {
                self.event() // MapIterationStarted
            } else {
                0
            };
            let start = self.program.machines[machine].start;
            let vars = self.vars_of(fid);
            let vars_bytes = self.frames[fid].as_ref().map_or(0, |f| f.vars_bytes);
            let child = self.spawn(machine, start, input, Some((fid, slot)), vars, vars_bytes);
            ch.frames[slot] = Some(child);
            if self.history.is_some() {
                self.record_launch(fid, child, slot, iteration);
            }
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
                    let ev = self.event(); // MapIterationSucceeded
                    if self.history.is_some() {
                        self.record_iteration(pid, ev, Iteration::Succeeded, slot);
                    }
                }
                ch.results[slot] = Some(v);
            }
            Err(f) => {
                if ch.is_map {
                    let ev = self.event(); // MapIterationFailed
                    if self.history.is_some() {
                        self.record_iteration(pid, ev, Iteration::Failed, slot);
                    }
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
            for (i, child) in ch.frames.iter().enumerate() {
                let Some(child) = *child else { continue };
                if ch.is_map {
                    let ev = self.event(); // MapIterationAborted
                    if self.history.is_some() {
                        self.record_iteration(pid, ev, Iteration::Aborted, i);
                    }
                }
                self.cancel_frame(child);
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
        let ev = self.event(); // ExecutionSucceeded / Failed / Aborted / TimedOut
        if self.history.is_some() {
            self.record_end(ev);
        }
        let mut tokens: Vec<u64> = self.tokens.drain().map(|(t, _)| t).collect();
        tokens.sort_unstable();
        self.effects
            .extend(tokens.into_iter().map(|token| Effect::Cancel { token }));
        self.runnable.clear();
        self.frames.clear();
        self.free.clear();
    }

    // -----------------------------------------------------------------------------------------
    // History recording: only ever called when recording is on, and kept out of line so the
    // hot path pays one branch for it.

    #[cold]
    #[inline(never)]
    fn record(&mut self, id: u64, after: After, kind: EventKind) {
        let now = self.now_ms;
        let Some(h) = self.history.as_deref_mut() else {
            return;
        };
        let previous = match after {
            After::Frame(fid) => h.follow(fid, id),
            After::Last => h.last(),
            After::LastInFrame(fid) => {
                let previous = h.last();
                h.set_last(fid, id);
                previous
            }
        };
        h.push(id, previous, now, kind);
    }

    #[cold]
    #[inline(never)]
    fn record_started(&mut self) {
        if self.history.as_ref().is_some_and(|h| h.events.is_empty()) {
            let kind = EventKind::ExecutionStarted {
                input: to_text(&self.input),
                role_arn: self.ctx.role_arn.clone(),
            };
            let now = self.now_ms;
            if let Some(h) = self.history.as_deref_mut() {
                h.push(1, 0, now, kind); // ExecutionStarted is event #1
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn record_entered(&mut self, fid: usize, id: u64, state: &State) {
        let input = self
            .frames
            .get(fid)
            .and_then(Option::as_ref)
            .map(|f| to_text(f.raw()))
            .unwrap_or_default();
        let kind = EventKind::StateEntered {
            state_type: state.kind.type_name(),
            name: state.name.clone(),
            input,
        };
        self.record(id, After::Frame(fid), kind);
    }

    #[cold]
    #[inline(never)]
    fn record_exited(
        &mut self,
        fid: usize,
        id: u64,
        output: &Value,
        assigned: Option<Vec<(String, String)>>,
    ) {
        let Some((program, m, s)) = self.state_of(fid) else {
            return;
        };
        let state = &program.machines[m].states[s];
        let kind = EventKind::StateExited {
            state_type: state.kind.type_name(),
            name: state.name.clone(),
            output: to_text(output),
            assigned,
        };
        self.record(id, After::Frame(fid), kind);
    }

    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn record_task_started(
        &mut self,
        fid: usize,
        scheduled: u64,
        started: u64,
        resource: &str,
        payload: &Value,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    ) {
        let kind = EventKind::TaskScheduled {
            resource: resource.to_string(),
            parameters: to_text(payload),
            timeout_seconds,
            heartbeat_seconds,
        };
        self.record(scheduled, After::Frame(fid), kind);
        let kind = EventKind::TaskStarted {
            resource: resource.to_string(),
        };
        self.record(started, After::Frame(fid), kind);
    }

    #[cold]
    #[inline(never)]
    fn record_task_done(
        &mut self,
        fid: usize,
        id: u64,
        state: &State,
        outcome: &Result<Value, Failure>,
    ) {
        let Kind::Task { resource, .. } = &state.kind else {
            return;
        };
        let resource = resource.clone();
        let kind = match outcome {
            Ok(v) => EventKind::TaskSucceeded {
                resource,
                output: to_text(v),
            },
            Err(f) => EventKind::TaskFailed {
                resource,
                error: f.error.clone(),
                cause: f.cause.clone(),
            },
        };
        self.record(id, After::Frame(fid), kind);
    }

    #[cold]
    #[inline(never)]
    fn record_children_done(&mut self, fid: usize, id: u64, state: &State, ok: bool) {
        let kind = match (&state.kind, ok) {
            (Kind::Map { .. }, true) => EventKind::MapStateSucceeded,
            (Kind::Map { .. }, false) => EventKind::MapStateFailed,
            (_, true) => EventKind::ParallelStateSucceeded,
            (_, false) => EventKind::ParallelStateFailed,
        };
        self.record(id, After::LastInFrame(fid), kind);
    }

    /// A child frame starts: a Map iteration gets its MapIterationStarted (`iteration`), which
    /// its first event follows; a Parallel branch's first event follows ParallelStateStarted.
    #[cold]
    #[inline(never)]
    fn record_launch(&mut self, parent: usize, child: usize, slot: usize, iteration: u64) {
        if iteration == 0 {
            if let Some(h) = self.history.as_deref_mut() {
                let started = h.last_of(parent);
                h.set_last(child, started);
            }
            return;
        }
        self.record_iteration(parent, iteration, Iteration::Started, slot);
        if let Some(h) = self.history.as_deref_mut() {
            h.set_last(child, iteration);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_iteration(&mut self, map_frame: usize, id: u64, what: Iteration, index: usize) {
        let name = self
            .state_of(map_frame)
            .map(|(program, m, s)| program.machines[m].states[s].name.clone())
            .unwrap_or_default();
        self.record(
            id,
            After::Last,
            EventKind::MapIteration { what, name, index },
        );
    }

    #[cold]
    #[inline(never)]
    fn record_end(&mut self, id: u64) {
        self.record_started();
        let (error, cause) = (self.error.clone(), self.cause.clone());
        let kind = match self.status {
            Status::Succeeded => EventKind::ExecutionSucceeded {
                output: self.output.as_ref().map(to_text).unwrap_or_default(),
            },
            Status::Failed => EventKind::ExecutionFailed { error, cause },
            Status::Aborted => EventKind::ExecutionAborted { error, cause },
            Status::TimedOut | Status::Running => EventKind::ExecutionTimedOut { error, cause },
        };
        self.record(id, After::Last, kind);
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
                return (*token, Value::clone(payload));
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
    fn a_tasks_raw_input_is_lent_to_its_call_and_taken_back() {
        // No InputPath or Parameters: the payload is the raw input itself, shared with the call.
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:1:function:f", "ResultPath": "$.out",
            "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}], "End": true}}});
        for keep_payload in [false, true] {
            let mut ex = start(def.clone(), json!({"a": [1, 2]}));
            let effects = ex.run(0);
            let (token, payload) = invoke_token(&effects);
            assert_eq!(payload, json!({"a": [1, 2]}));
            // A failure retried: the second call gets the same input.
            ex.fail(token, "E".into(), None);
            let held = if keep_payload { Some(effects) } else { None };
            let retried = ex.run(1);
            let sleep = retried.iter().find_map(|e| match e {
                Effect::Sleep { token, .. } => Some(*token),
                _ => None,
            });
            ex.wake(sleep.unwrap_or_default());
            let (token, payload) = invoke_token(&ex.run(2));
            assert_eq!(payload, json!({"a": [1, 2]}));
            ex.complete(token, json!(7));
            assert_eq!(ex.run(3), vec![Effect::Done]);
            // Whether or not the first call's payload was still held, the output is the same.
            assert_eq!(ex.output(), Some(&json!({"a": [1, 2], "out": 7})));
            drop(held);
        }
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
    fn a_standard_execution_ends_at_the_history_limit() {
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": false, "Next": "P"}],
                  "Default": "D"},
            "D": {"Type": "Succeed"}}});
        let p = compile(&def.to_string(), MachineType::Standard).unwrap();
        let mut ex = Execution::new(Arc::new(p), json!({}), ExecContext::default(), 1);
        while ex.status() == Status::Running && ex.transitions() < 100_000 {
            ex.run(0);
        }
        assert_eq!(ex.status(), Status::Failed);
        assert_eq!(ex.error(), Some("States.Runtime"));
        assert_eq!(
            ex.cause(),
            Some("The execution reached the maximum number of history events (25000).")
        );
        // Each state is two events (entered, exited) after ExecutionStarted; the limit is looked
        // at before each state, so the 12,500th state (events 25,000 and 25,001) is the last.
        assert_eq!(ex.transitions(), MAX_HISTORY_EVENTS / 2);
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
                    Effect::Invoke { token, payload, .. } => Some((*token, Value::clone(payload))),
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
    fn a_growing_state_output_ends_at_the_payload_limit() {
        // Each pass doubles the input by nesting it in itself twice: unbounded without the limit.
        let mut ex = start(
            json!({"StartAt": "Grow", "States": {
                "Grow": {"Type": "Pass", "Parameters": {"pad.$": "$.pad", "a.$": "$", "b.$": "$"}, "Next": "Check"},
                "Check": {"Type": "Choice", "Choices": [{"Variable": "$.pad", "IsPresent": true, "Next": "Grow"}],
                          "Default": "Done"},
                "Done": {"Type": "Succeed"}}}),
            json!({"pad": "x".repeat(1000)}),
        );
        ex.run(0);
        assert_eq!(ex.status(), Status::Failed);
        assert_eq!(ex.error(), Some("States.DataLimitExceeded"));
        assert_eq!(
            ex.cause(),
            Some("The state/task 'Grow' returned a result with a size exceeding the maximum number of bytes service limit.")
        );
        // Pass k outputs about (2^(k+1) - 1) kB: the 8th is the first over 256 KiB, after 7
        // passes and 7 choices (and the failing pass's own transition into it).
        assert_eq!(ex.transitions(), 15);
    }

    #[test]
    fn an_output_nested_ever_deeper_ends_at_the_depth_limit() {
        // Values 500 levels deep are within the limit, but unoptimised builds need more stack than
        // a test thread's 2 MiB to copy them (release builds do not).
        let run = || {
            let mut ex = start(
                json!({"StartAt": "Nest", "States": {
                    "Nest": {"Type": "Pass", "ResultPath": "$.again", "Next": "Check"},
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": false, "Next": "Nest"}],
                              "Default": "Done"},
                    "Done": {"Type": "Succeed"}}}),
                json!({}),
            );
            while ex.status() == Status::Running && ex.transitions() < 100_000 {
                ex.run(0);
            }
            (
                ex.status(),
                ex.error().map(String::from),
                ex.cause().map(String::from),
            )
        };
        let (status, error, cause) = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(run)
            .and_then(|t| t.join().map_err(|_| std::io::Error::other("panicked")))
            .unwrap();
        assert_eq!(status, Status::Failed);
        assert_eq!(error.as_deref(), Some("States.Runtime"));
        assert!(cause
            .unwrap_or_default()
            .contains("nested more than 500 levels"));
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
        ex.complete(token, json!("x".repeat(crate::value::MAX_PAYLOAD_BYTES)));
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
    #[test]
    fn a_distributed_map_tolerates_no_failure_by_default() {
        let def = |mode: &str| {
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "ItemProcessor": {"ProcessorConfig": {"Mode": mode}, "StartAt": "F",
                    "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "child"}}}}}})
        };
        let mut inline = start(def("INLINE"), json!([1]));
        inline.run(0);
        assert_eq!(inline.error(), Some("Boom"));
        let mut distributed = start(def("DISTRIBUTED"), json!([1]));
        distributed.run(0);
        assert_eq!(
            distributed.error(),
            Some("States.ExceedToleratedFailureThreshold")
        );
    }

    #[test]
    fn a_distributed_map_batches_its_items() {
        let run = |batcher: Value, input: Value| {
            let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "ItemsPath": "$.items", "ItemBatcher": batcher, "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
            let mut ex = start(def, input);
            ex.run(0);
            ex
        };
        // By count (from a path), with BatchInput made from the state's input; the items are
        // what ItemSelector made of them.
        let ex = run(
            json!({"MaxItemsPerBatchPath": "$.n", "BatchInput": {"tag.$": "$.tag"}}),
            json!({"n": 2, "tag": "t", "items": [1, 2, 3]}),
        );
        assert_eq!(
            ex.output(),
            Some(&json!([
                {"BatchInput": {"tag": "t"}, "Items": [{"v": 1}, {"v": 2}]},
                {"BatchInput": {"tag": "t"}, "Items": [{"v": 3}]}
            ]))
        );
        // By size: {"Items":[{"v":1},{"v":2}]} is 27 bytes; a third item would make it 35.
        let ex = run(
            json!({"MaxInputBytesPerBatch": 30}),
            json!({"items": [1, 2, 3, 4, 5]}),
        );
        assert_eq!(
            ex.output(),
            Some(&json!([
                {"Items": [{"v": 1}, {"v": 2}]},
                {"Items": [{"v": 3}, {"v": 4}]},
                {"Items": [{"v": 5}]}
            ]))
        );
        // Neither limit: one batch (up to the payload limit).
        let ex = run(json!({}), json!({"items": [1, 2, 3]}));
        assert_eq!(
            ex.output(),
            Some(&json!([{"Items": [{"v": 1}, {"v": 2}, {"v": 3}]}]))
        );
        // An item that cannot fit in a batch by itself fails the state.
        let ex = run(json!({"MaxInputBytesPerBatch": 12}), json!({"items": [1]}));
        assert_eq!(ex.error(), Some("States.Runtime"));
        assert!(ex
            .cause()
            .unwrap_or_default()
            .contains("does not fit in a batch of at most 12 bytes"));
    }

    // -----------------------------------------------------------------------------------------
    // History

    fn recording(def: Value, input: Value) -> Execution {
        let mut ex = start(def, input);
        ex.record_history();
        ex
    }

    /// (id, previousEventId, type) of every recorded event, checking that the ids run 1..=n
    /// and agree with the event count.
    fn events(ex: &Execution) -> Vec<(u64, u64, String)> {
        let h = ex.history();
        for (i, e) in h.iter().enumerate() {
            assert_eq!(e.id, i as u64 + 1, "{h:?}");
        }
        assert_eq!(ex.next_event_id(), h.len() as u64 + 1);
        h.iter()
            .map(|e| (e.id, e.previous, history::type_name(&e.kind)))
            .collect()
    }

    fn expect(list: &[(u64, u64, &str)]) -> Vec<(u64, u64, String)> {
        list.iter()
            .map(|(i, p, t)| (*i, *p, t.to_string()))
            .collect()
    }

    fn rendered(ex: &Execution, include_data: bool) -> Vec<Value> {
        let text = ex.history_json(include_data);
        match serde_json::from_str(&text) {
            Ok(Value::Array(a)) => a,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn history_of_pass_task_succeed() {
        let mut ex = recording(
            json!({"StartAt": "P", "States": {
                "P": {"Type": "Pass", "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "TimeoutSeconds": 30, "Next": "S"},
                "S": {"Type": "Succeed"}}}),
            json!({"a": 1}),
        );
        let (token, _) = invoke_token(&ex.run(1_732_579_200_123));
        ex.complete(token, json!({"Payload": 7}));
        assert_eq!(ex.run(1_732_579_201_000), vec![Effect::Done]);
        assert_eq!(
            events(&ex),
            expect(&[
                (1, 0, "ExecutionStarted"),
                (2, 0, "PassStateEntered"),
                (3, 2, "PassStateExited"),
                (4, 3, "TaskStateEntered"),
                (5, 4, "TaskScheduled"),
                (6, 5, "TaskStarted"),
                (7, 6, "TaskSucceeded"),
                (8, 7, "TaskStateExited"),
                (9, 8, "SucceedStateEntered"),
                (10, 9, "SucceedStateExited"),
                (11, 10, "ExecutionSucceeded"),
            ])
        );
        let ts: Vec<i64> = ex.history().iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(ts[..6], [1_732_579_200_123; 6]);
        assert_eq!(ts[6..], [1_732_579_201_000; 5]);

        let all = rendered(&ex, true);
        assert_eq!(
            all[0],
            json!({"timestamp": 1732579200.123, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
                   "executionStartedEventDetails": {"input": "{\"a\":1}", "inputDetails": {"truncated": false}, "roleArn": ""}})
        );
        assert_eq!(
            all[1]["stateEnteredEventDetails"],
            json!({"name": "P", "input": "{\"a\":1}", "inputDetails": {"truncated": false}})
        );
        assert_eq!(
            all[4]["taskScheduledEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
                   "parameters": "{\"FunctionName\":\"f\",\"Payload\":{\"a\":1}}", "timeoutInSeconds": 30})
        );
        assert_eq!(
            all[5]["taskStartedEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke"})
        );
        assert_eq!(
            all[6]["taskSucceededEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "output": "{\"Payload\":7}",
                   "outputDetails": {"truncated": false}})
        );
        assert_eq!(
            all[10],
            json!({"timestamp": 1732579201.0, "type": "ExecutionSucceeded", "id": 11, "previousEventId": 10,
                   "executionSucceededEventDetails": {"output": "{\"Payload\":7}", "outputDetails": {"truncated": false}}})
        );

        let lean = rendered(&ex, false);
        assert_eq!(
            lean[1]["stateEnteredEventDetails"],
            json!({"name": "P", "inputDetails": {"truncated": false}})
        );
        assert_eq!(
            lean[4]["taskScheduledEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "region": "us-east-1", "timeoutInSeconds": 30})
        );
        assert_eq!(
            lean[10]["executionSucceededEventDetails"],
            json!({"outputDetails": {"truncated": false}})
        );
    }

    #[test]
    fn history_of_parallel() {
        let mut ex = recording(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}]}}}),
            json!({}),
        );
        ex.run(0);
        assert_eq!(ex.output(), Some(&json!([1, 2])));
        assert_eq!(
            events(&ex),
            expect(&[
                (1, 0, "ExecutionStarted"),
                (2, 0, "ParallelStateEntered"),
                (3, 2, "ParallelStateStarted"),
                (4, 3, "PassStateEntered"),
                (5, 4, "PassStateExited"),
                (6, 3, "PassStateEntered"),
                (7, 6, "PassStateExited"),
                (8, 7, "ParallelStateSucceeded"),
                (9, 8, "ParallelStateExited"),
                (10, 9, "ExecutionSucceeded"),
            ])
        );
        let all = rendered(&ex, true);
        assert_eq!(
            all[2],
            json!({"timestamp": 0.0, "type": "ParallelStateStarted", "id": 3, "previousEventId": 2})
        );
        assert_eq!(all[6]["stateExitedEventDetails"]["output"], json!("2"));
    }

    #[test]
    fn history_of_map_with_two_items() {
        let mut ex = recording(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}}}}),
            json!(["a", "b"]),
        );
        ex.run(0);
        assert_eq!(
            events(&ex),
            expect(&[
                (1, 0, "ExecutionStarted"),
                (2, 0, "MapStateEntered"),
                (3, 2, "MapStateStarted"),
                (4, 3, "MapIterationStarted"),
                (5, 4, "MapIterationStarted"),
                (6, 4, "PassStateEntered"),
                (7, 6, "PassStateExited"),
                (8, 7, "MapIterationSucceeded"),
                (9, 5, "PassStateEntered"),
                (10, 9, "PassStateExited"),
                (11, 10, "MapIterationSucceeded"),
                (12, 11, "MapStateSucceeded"),
                (13, 12, "MapStateExited"),
                (14, 13, "ExecutionSucceeded"),
            ])
        );
        let all = rendered(&ex, true);
        assert_eq!(all[2]["mapStateStartedEventDetails"], json!({"length": 2}));
        assert_eq!(
            all[4]["mapIterationStartedEventDetails"],
            json!({"name": "M", "index": 1})
        );
        assert_eq!(
            all[10]["mapIterationSucceededEventDetails"],
            json!({"name": "M", "index": 1})
        );
    }

    #[test]
    fn history_of_a_failing_map_aborts_the_running_iterations() {
        let mut ex = recording(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}}),
            json!([1, 2]),
        );
        let (token, _) = invoke_token(&ex.run(0));
        ex.fail(token, "Boom".into(), None);
        ex.run(1);
        assert_eq!(ex.status(), Status::Failed);
        let types: Vec<String> = events(&ex).into_iter().map(|e| e.2).collect();
        assert_eq!(
            types[types.len() - 5..],
            [
                "TaskFailed",
                "MapIterationFailed",
                "MapIterationAborted",
                "MapStateFailed",
                "ExecutionFailed"
            ]
        );
        let all = rendered(&ex, true);
        let last = &all[all.len() - 1];
        assert_eq!(
            last["executionFailedEventDetails"],
            json!({"error": "Boom"})
        );
        assert_eq!(
            all[all.len() - 5]["taskFailedEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "error": "Boom"})
        );
    }

    #[test]
    fn history_of_retry_then_catch() {
        let mut ex = recording(
            json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 2}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "C"}], "End": true},
                "C": {"Type": "Pass", "End": true}}}),
            json!({}),
        );
        let (t1, _) = invoke_token(&ex.run(0));
        ex.fail(t1, "Boom".into(), Some("first".into()));
        let Effect::Sleep { token, .. } = ex.run(1000)[0] else {
            panic!()
        };
        ex.wake(token);
        let (t2, _) = invoke_token(&ex.run(3000));
        ex.fail(t2, "Boom".into(), Some("second".into()));
        ex.run(4000);
        assert_eq!(
            events(&ex),
            expect(&[
                (1, 0, "ExecutionStarted"),
                (2, 0, "TaskStateEntered"),
                (3, 2, "TaskScheduled"),
                (4, 3, "TaskStarted"),
                (5, 4, "TaskFailed"),
                (6, 5, "TaskScheduled"),
                (7, 6, "TaskStarted"),
                (8, 7, "TaskFailed"),
                (9, 8, "TaskStateExited"),
                (10, 9, "PassStateEntered"),
                (11, 10, "PassStateExited"),
                (12, 11, "ExecutionSucceeded"),
            ])
        );
        let ts: Vec<i64> = ex.history().iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(
            ts,
            [0, 0, 0, 0, 1000, 3000, 3000, 4000, 4000, 4000, 4000, 4000]
        );
        let all = rendered(&ex, true);
        assert_eq!(
            all[7]["taskFailedEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "error": "Boom", "cause": "second"})
        );
        assert_eq!(
            all[8]["stateExitedEventDetails"]["output"],
            json!("{\"err\":{\"Error\":\"Boom\",\"Cause\":\"second\"}}")
        );
    }

    #[test]
    fn history_of_a_lambda_function_task() {
        let arn = "arn:aws:lambda:eu-west-1:111111111111:function:f";
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "TimeoutSeconds": 5, "End": true}}});
        let mut ok = recording(def.clone(), json!({"x": 1}));
        let (token, _) = invoke_token(&ok.run(0));
        ok.complete(token, json!("r"));
        ok.run(1);
        assert_eq!(
            events(&ok),
            expect(&[
                (1, 0, "ExecutionStarted"),
                (2, 0, "TaskStateEntered"),
                (3, 2, "LambdaFunctionScheduled"),
                (4, 3, "LambdaFunctionStarted"),
                (5, 4, "LambdaFunctionSucceeded"),
                (6, 5, "TaskStateExited"),
                (7, 6, "ExecutionSucceeded"),
            ])
        );
        let all = rendered(&ok, true);
        assert_eq!(
            all[2]["lambdaFunctionScheduledEventDetails"],
            json!({"resource": arn, "input": "{\"x\":1}", "inputDetails": {"truncated": false}, "timeoutInSeconds": 5})
        );
        assert_eq!(
            all[3],
            json!({"timestamp": 0.0, "type": "LambdaFunctionStarted", "id": 4, "previousEventId": 3})
        );
        assert_eq!(
            all[4]["lambdaFunctionSucceededEventDetails"],
            json!({"output": "\"r\"", "outputDetails": {"truncated": false}})
        );

        let mut late = recording(def, json!({}));
        let (token, _) = invoke_token(&late.run(0));
        late.fail(token, errors::TIMEOUT.into(), Some("too slow".into()));
        late.run(5000);
        let all = rendered(&late, true);
        assert_eq!(all[4]["type"], json!("LambdaFunctionTimedOut"));
        assert_eq!(
            all[4]["lambdaFunctionTimedOutEventDetails"],
            json!({"error": "States.Timeout", "cause": "too slow"})
        );
        assert_eq!(all[5]["type"], json!("ExecutionFailed"));
    }

    #[test]
    fn history_of_stop_and_time_out() {
        let def =
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}});
        let mut stopped = recording(def.clone(), json!({}));
        stopped.run(1000);
        stopped.stop_at(2500, Some("Stopped".into()), None);
        let all = rendered(&stopped, true);
        assert_eq!(
            all.last(),
            Some(
                &json!({"timestamp": 2.5, "type": "ExecutionAborted", "id": 3, "previousEventId": 2,
                         "executionAbortedEventDetails": {"error": "Stopped"}})
            )
        );
        let mut timed_out = recording(def, json!({}));
        timed_out.run(1000);
        timed_out.time_out();
        let last = &rendered(&timed_out, true)[2];
        assert_eq!(last["type"], json!("ExecutionTimedOut"));
        assert_eq!(last["timestamp"], json!(1.0));
        assert_eq!(
            last["executionTimedOutEventDetails"]["error"],
            json!("States.Timeout")
        );
    }

    #[test]
    fn without_recording_there_is_no_history() {
        let mut ex = start(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
            json!({}),
        );
        ex.run(0);
        assert!(ex.history().is_empty());
        assert_eq!(ex.history_json(true), "[]");
        assert_eq!(ex.next_event_id(), 5);
    }

    #[test]
    fn state_exited_events_report_the_assigned_variables() {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"count": 2, "who.$": "$.name"}, "Next": "B"},
            "B": {"Type": "Pass", "End": true}}});
        let mut ex = recording(def, json!({"name": "ada"}));
        ex.run(0);
        let all = rendered(&ex, true);
        assert_eq!(
            all[2]["stateExitedEventDetails"],
            json!({"name": "A", "output": "{\"name\":\"ada\"}", "outputDetails": {"truncated": false},
                   "assignedVariables": {"count": "2", "who": "\"ada\""},
                   "assignedVariablesDetails": {"truncated": false}})
        );
        // A state that assigns nothing reports nothing; without data, only the details.
        assert!(all[4]["stateExitedEventDetails"]
            .get("assignedVariables")
            .is_none());
        let bare = rendered(&ex, false);
        assert_eq!(
            bare[2]["stateExitedEventDetails"],
            json!({"name": "A", "outputDetails": {"truncated": false},
                   "assignedVariablesDetails": {"truncated": false}})
        );
    }

    #[test]
    fn recording_does_not_change_event_ids_in_causes() {
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
        let mut plain = start(def.clone(), json!({"s": -1}));
        plain.run(0);
        let mut recorded = recording(def, json!({"s": -1}));
        recorded.run(0);
        assert_eq!(plain.cause(), recorded.cause());
        assert_eq!(events(&recorded)[3], (4, 3, "WaitStateEntered".to_string()));
    }

    #[test]
    fn assign_sees_the_values_from_before_the_state() {
        let mut ex = start(
            json!({"StartAt": "Init", "States": {
                "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
                "Swap": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "Show"},
                "Show": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": true}}}),
            json!({}),
        );
        ex.run(0);
        assert_eq!(ex.output(), Some(&json!({"x": 2, "y": 1})));
    }

    #[test]
    fn jsonata_task_arguments_assign_and_output() {
        let mut ex = start(
            json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                      "Arguments": {"n": "{% $states.input.v + 1 %}"},
                      "Assign": {"kept": "{% $states.result %}"},
                      "Output": {"r": "{% $states.result %}", "i": "{% $states.input %}"}, "Next": "U"},
                "U": {"Type": "Pass", "Output": "{% $kept %}", "End": true}}}),
            json!({"v": 1}),
        );
        let (token, payload) = invoke_token(&ex.run(0));
        assert_eq!(payload, json!({"n": 2}));
        ex.complete(token, json!("done"));
        ex.run(1);
        assert_eq!(ex.output(), Some(&json!("done")));
    }

    #[test]
    fn map_iterations_read_a_snapshot_of_outer_variables() {
        let mut ex = start(
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
                "A": {"Type": "Pass", "Assign": {"o": "outer"}, "Next": "M"},
                "M": {"Type": "Map", "Items": [1, 2], "Assign": {"o": "changed"},
                      "ItemProcessor": {"StartAt": "I", "States": {
                          "I": {"Type": "Pass", "Assign": {"mine": "{% $o %}"}, "Next": "J"},
                          "J": {"Type": "Pass", "Output": "{% $mine & $string($states.input) %}", "End": true}}},
                      "Next": "B"},
                "B": {"Type": "Pass", "Output": {"r": "{% $states.input %}", "o": "{% $o %}"}, "End": true}}}),
            json!({}),
        );
        ex.run(0);
        assert_eq!(
            ex.output(),
            Some(&json!({"r": ["outer1", "outer2"], "o": "changed"}))
        );
    }

    #[test]
    fn jsonata_undefined_is_a_query_evaluation_error() {
        let mut ex = start(
            json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
                "P": {"Type": "Pass", "Assign": {"r": "{% $nothing %}"}, "End": true}}}),
            json!({}),
        );
        ex.run(0);
        assert_eq!(ex.error(), Some("States.QueryEvaluationError"));
        assert_eq!(
            ex.cause(),
            Some("An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression '$nothing' specified for the field 'Assign/r' returned nothing (undefined).")
        );
    }
}
