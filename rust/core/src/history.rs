//! Execution history: the events of AWS's GetExecutionHistory, recorded only when asked for with
//! [`crate::Execution::record_history`], and rendered as AWS's JSON.
//!
//! The execution counts event ids whether or not it records (error causes quote "entered at the
//! event id #N"); a recorded event takes the id the count gave it, so the two always agree.
//! Payloads are kept as their compact JSON text, as AWS shows them.

use crate::errors;

/// One history event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: u64,
    /// The event this one follows: the previous event of the same branch or iteration, or the
    /// last event recorded when a parent goes on after its children (0 for none).
    pub previous: u64,
    /// Epoch milliseconds: the time of the `run` call in which the event happened.
    pub timestamp_ms: i64,
    pub kind: EventKind,
}

/// What happened. JSON payloads (`input`, `output`, `parameters`) are compact JSON text.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    ExecutionStarted {
        input: String,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: String,
    },
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    /// `<state_type>StateEntered`.
    StateEntered {
        state_type: &'static str,
        name: String,
        input: String,
    },
    /// `<state_type>StateExited`.
    StateExited {
        state_type: &'static str,
        name: String,
        output: String,
        /// The variables the state assigned: name and value as JSON text.
        assigned: Option<Vec<(String, String)>>,
    },
    /// TaskScheduled, or LambdaFunctionScheduled for a Lambda function ARN.
    TaskScheduled {
        resource: String,
        parameters: String,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
    },
    /// TaskStarted, or LambdaFunctionStarted.
    TaskStarted {
        resource: String,
    },
    /// TaskSubmitted: a `.waitForTaskToken` task's call went out; the task now waits for its
    /// token to come back.
    TaskSubmitted {
        resource: String,
        output: String,
    },
    /// TaskSucceeded, or LambdaFunctionSucceeded.
    TaskSucceeded {
        resource: String,
        output: String,
    },
    /// TaskFailed, or TaskTimedOut when the error is `States.Timeout` or `States.HeartbeatTimeout`
    /// (LambdaFunction* likewise).
    TaskFailed {
        resource: String,
        error: String,
        cause: Option<String>,
    },
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    MapStateStarted {
        length: usize,
    },
    MapStateSucceeded,
    MapStateFailed,
    MapIteration {
        what: Iteration,
        /// The Map state's name.
        name: String,
        index: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Iteration {
    Started,
    Succeeded,
    Failed,
    Aborted,
}

impl Iteration {
    fn as_str(self) -> &'static str {
        match self {
            Iteration::Started => "Started",
            Iteration::Succeeded => "Succeeded",
            Iteration::Failed => "Failed",
            Iteration::Aborted => "Aborted",
        }
    }
}

/// The events recorded so far and, per frame, the last event of that frame.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) events: Vec<Event>,
    frame_last: Vec<u64>,
}

impl History {
    /// The id of the last event recorded (0: none).
    pub(crate) fn last(&self) -> u64 {
        self.events.last().map(|e| e.id).unwrap_or(0)
    }

    /// The previous event of frame `fid`, which event `id` now becomes.
    pub(crate) fn follow(&mut self, fid: usize, id: u64) -> u64 {
        if self.frame_last.len() <= fid {
            self.frame_last.resize(fid + 1, 0);
        }
        std::mem::replace(&mut self.frame_last[fid], id)
    }

    /// The last event of frame `fid` (0: none).
    pub(crate) fn last_of(&self, fid: usize) -> u64 {
        self.frame_last.get(fid).copied().unwrap_or(0)
    }

    /// Sets the event the next event of frame `fid` follows.
    pub(crate) fn set_last(&mut self, fid: usize, id: u64) {
        self.follow(fid, id);
    }

    pub(crate) fn push(&mut self, id: u64, previous: u64, timestamp_ms: i64, kind: EventKind) {
        self.events.push(Event {
            id,
            previous,
            timestamp_ms,
            kind,
        });
    }
}

/// How AWS names a Task's resource in history: `arn:aws:states:::SERVICE:ACTION` is resource type
/// SERVICE and resource ACTION (`lambda`, `invoke`; `aws-sdk:s3`, `getObject`). Other resources
/// are split at their last ':' as far as that goes.
fn resource_parts(resource: &str) -> (&str, &str) {
    let rest = match resource.splitn(6, ':').collect::<Vec<_>>()[..] {
        ["arn", _, _, _, _, rest] => rest,
        _ => resource,
    };
    rest.rsplit_once(':').unwrap_or(("", rest))
}

/// Whether a Task resource is a plain Lambda function ARN (AWS's LambdaFunction* events).
pub fn is_lambda_function(resource: &str) -> bool {
    let mut parts = resource.split(':');
    parts.next() == Some("arn")
        && parts.nth(1) == Some("lambda")
        && resource.split(':').nth(5) == Some("function")
}

/// The region of an execution or state machine ARN, else us-east-1.
pub fn region_of(arns: &[&str]) -> String {
    arns.iter()
        .filter_map(|a| a.split(':').nth(3))
        .find(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_string()
}

struct Writer {
    out: String,
    include_data: bool,
}

impl Writer {
    fn string(&mut self, s: &str) {
        // Serialising a str cannot fail.
        self.out
            .push_str(&serde_json::to_string(s).unwrap_or_default());
    }

    fn key(&mut self, first: &mut bool, k: &str) {
        if !*first {
            self.out.push_str(", ");
        }
        *first = false;
        self.string(k);
        self.out.push_str(": ");
    }

    fn field_str(&mut self, first: &mut bool, k: &str, v: &str) {
        self.key(first, k);
        self.string(v);
    }

    fn field_opt(&mut self, first: &mut bool, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.field_str(first, k, v);
        }
    }

    fn field_num(&mut self, first: &mut bool, k: &str, v: u64) {
        self.key(first, k);
        self.out.push_str(&v.to_string());
    }

    /// A payload (`input`, `output`, `parameters`): left out without execution data. `details`
    /// names the `...Details` object that goes with it (always written).
    fn payload(&mut self, first: &mut bool, k: &str, v: &str, details: Option<&str>) {
        if self.include_data {
            self.field_str(first, k, v);
        }
        if let Some(d) = details {
            self.key(first, d);
            self.out.push_str("{\"truncated\": false}");
        }
    }

    fn event(&mut self, e: &Event, region: &str) {
        let (type_name, details_key) = names(&e.kind);
        self.out.push_str("{\"timestamp\": ");
        let sign = if e.timestamp_ms < 0 { "-" } else { "" };
        let ms = e.timestamp_ms.unsigned_abs();
        self.out
            .push_str(&format!("{sign}{}.{:03}", ms / 1000, ms % 1000));
        self.out.push_str(", \"type\": ");
        self.string(&type_name);
        self.out.push_str(&format!(
            ", \"id\": {}, \"previousEventId\": {}",
            e.id, e.previous
        ));
        let Some(details_key) = details_key else {
            self.out.push('}');
            return;
        };
        self.out.push_str(", ");
        self.string(&details_key);
        self.out.push_str(": {");
        let f = &mut true;
        match &e.kind {
            EventKind::ExecutionStarted { input, role_arn } => {
                self.payload(f, "input", input, Some("inputDetails"));
                self.field_str(f, "roleArn", role_arn);
            }
            EventKind::ExecutionSucceeded { output } => {
                self.payload(f, "output", output, Some("outputDetails"));
            }
            EventKind::ExecutionFailed { error, cause }
            | EventKind::ExecutionAborted { error, cause }
            | EventKind::ExecutionTimedOut { error, cause } => {
                self.field_opt(f, "error", error);
                self.field_opt(f, "cause", cause);
            }
            EventKind::StateEntered { name, input, .. } => {
                self.field_str(f, "name", name);
                self.payload(f, "input", input, Some("inputDetails"));
            }
            EventKind::StateExited {
                name,
                output,
                assigned,
                ..
            } => {
                self.field_str(f, "name", name);
                self.payload(f, "output", output, Some("outputDetails"));
                if let Some(vars) = assigned.as_ref().filter(|v| !v.is_empty()) {
                    // assignedVariables: each variable's value as JSON text.
                    if self.include_data {
                        self.key(f, "assignedVariables");
                        self.out.push('{');
                        let inner = &mut true;
                        for (name, value) in vars {
                            self.field_str(inner, name, value);
                        }
                        self.out.push('}');
                    }
                    self.key(f, "assignedVariablesDetails");
                    self.out.push_str("{\"truncated\": false}");
                }
            }
            EventKind::TaskScheduled {
                resource,
                parameters,
                timeout_seconds,
                heartbeat_seconds,
            } => {
                if is_lambda_function(resource) {
                    self.field_str(f, "resource", resource);
                    self.payload(f, "input", parameters, Some("inputDetails"));
                    if let Some(t) = timeout_seconds {
                        self.field_num(f, "timeoutInSeconds", *t);
                    }
                } else {
                    let (rtype, rname) = resource_parts(resource);
                    self.field_str(f, "resourceType", rtype);
                    self.field_str(f, "resource", rname);
                    self.field_str(f, "region", region);
                    self.payload(f, "parameters", parameters, None);
                    if let Some(t) = timeout_seconds {
                        self.field_num(f, "timeoutInSeconds", *t);
                    }
                    if let Some(h) = heartbeat_seconds {
                        self.field_num(f, "heartbeatInSeconds", *h);
                    }
                }
            }
            EventKind::TaskStarted { resource } => {
                let (rtype, rname) = resource_parts(resource);
                self.field_str(f, "resourceType", rtype);
                self.field_str(f, "resource", rname);
            }
            EventKind::TaskSubmitted { resource, output } => {
                let (rtype, rname) = resource_parts(resource);
                self.field_str(f, "resourceType", rtype);
                self.field_str(f, "resource", rname);
                self.payload(f, "output", output, Some("outputDetails"));
            }
            EventKind::TaskSucceeded { resource, output } => {
                if !is_lambda_function(resource) {
                    let (rtype, rname) = resource_parts(resource);
                    self.field_str(f, "resourceType", rtype);
                    self.field_str(f, "resource", rname);
                }
                self.payload(f, "output", output, Some("outputDetails"));
            }
            EventKind::TaskFailed {
                resource,
                error,
                cause,
            } => {
                if !is_lambda_function(resource) {
                    let (rtype, rname) = resource_parts(resource);
                    self.field_str(f, "resourceType", rtype);
                    self.field_str(f, "resource", rname);
                }
                if !error.is_empty() {
                    self.field_str(f, "error", error);
                }
                self.field_opt(f, "cause", cause);
            }
            EventKind::MapStateStarted { length } => {
                self.field_num(f, "length", *length as u64);
            }
            EventKind::MapIteration { name, index, .. } => {
                self.field_str(f, "name", name);
                self.field_num(f, "index", *index as u64);
            }
            EventKind::ParallelStateStarted
            | EventKind::ParallelStateSucceeded
            | EventKind::ParallelStateFailed
            | EventKind::MapStateSucceeded
            | EventKind::MapStateFailed => {}
        }
        self.out.push_str("}}");
    }
}

/// The event's AWS type and the key of its details object (None: the event has none).
fn names(kind: &EventKind) -> (String, Option<String>) {
    let fixed = |t: &str, d: Option<&str>| (t.to_string(), d.map(str::to_string));
    let task = |resource: &str, what: &str| {
        if is_lambda_function(resource) {
            let t = format!("LambdaFunction{what}");
            let d = (what != "Started").then(|| format!("lambdaFunction{what}EventDetails"));
            (t, d)
        } else {
            (
                format!("Task{what}"),
                Some(format!("task{what}EventDetails")),
            )
        }
    };
    match kind {
        EventKind::ExecutionStarted { .. } => {
            fixed("ExecutionStarted", Some("executionStartedEventDetails"))
        }
        EventKind::ExecutionSucceeded { .. } => {
            fixed("ExecutionSucceeded", Some("executionSucceededEventDetails"))
        }
        EventKind::ExecutionFailed { .. } => {
            fixed("ExecutionFailed", Some("executionFailedEventDetails"))
        }
        EventKind::ExecutionAborted { .. } => {
            fixed("ExecutionAborted", Some("executionAbortedEventDetails"))
        }
        EventKind::ExecutionTimedOut { .. } => {
            fixed("ExecutionTimedOut", Some("executionTimedOutEventDetails"))
        }
        EventKind::StateEntered { state_type, .. } => (
            format!("{state_type}StateEntered"),
            Some("stateEnteredEventDetails".to_string()),
        ),
        EventKind::StateExited { state_type, .. } => (
            format!("{state_type}StateExited"),
            Some("stateExitedEventDetails".to_string()),
        ),
        EventKind::TaskScheduled { resource, .. } => task(resource, "Scheduled"),
        EventKind::TaskStarted { resource } => task(resource, "Started"),
        EventKind::TaskSubmitted { .. } => {
            fixed("TaskSubmitted", Some("taskSubmittedEventDetails"))
        }
        EventKind::TaskSucceeded { resource, .. } => task(resource, "Succeeded"),
        EventKind::TaskFailed {
            resource, error, ..
        } => {
            // A heartbeat that did not come in time is a timeout too (SendTaskHeartbeat's API
            // reference: the history then holds a TaskTimedOut entry).
            if error == errors::TIMEOUT || error == errors::HEARTBEAT_TIMEOUT {
                task(resource, "TimedOut")
            } else {
                task(resource, "Failed")
            }
        }
        EventKind::ParallelStateStarted => fixed("ParallelStateStarted", None),
        EventKind::ParallelStateSucceeded => fixed("ParallelStateSucceeded", None),
        EventKind::ParallelStateFailed => fixed("ParallelStateFailed", None),
        EventKind::MapStateStarted { .. } => {
            fixed("MapStateStarted", Some("mapStateStartedEventDetails"))
        }
        EventKind::MapStateSucceeded => fixed("MapStateSucceeded", None),
        EventKind::MapStateFailed => fixed("MapStateFailed", None),
        EventKind::MapIteration { what, .. } => (
            format!("MapIteration{}", what.as_str()),
            Some(format!("mapIteration{}EventDetails", what.as_str())),
        ),
    }
}

/// The AWS type name of an event, e.g. `PassStateEntered` or `LambdaFunctionScheduled`.
pub fn type_name(kind: &EventKind) -> String {
    names(kind).0
}

/// The events as the JSON array text of GetExecutionHistory's `events`. Without `include_data`
/// the input, output and parameters fields are left out, as with `includeExecutionData=false`.
pub fn render(events: &[Event], include_data: bool, region: &str) -> String {
    let mut w = Writer {
        out: String::with_capacity(64 + events.len() * 160),
        include_data,
    };
    w.out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            w.out.push_str(", ");
        }
        w.event(e, region);
    }
    w.out.push(']');
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names() {
        assert_eq!(
            resource_parts("arn:aws:states:::lambda:invoke"),
            ("lambda", "invoke")
        );
        assert_eq!(
            resource_parts("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            ("sqs", "sendMessage.waitForTaskToken")
        );
        assert_eq!(
            resource_parts("arn:aws:states:::aws-sdk:s3:getObject"),
            ("aws-sdk:s3", "getObject")
        );
        assert!(is_lambda_function(
            "arn:aws:lambda:us-east-1:111111111111:function:f"
        ));
        assert!(!is_lambda_function("arn:aws:states:::lambda:invoke"));
        assert_eq!(
            region_of(&["", "arn:aws:states:eu-west-1:1:x"]),
            "eu-west-1"
        );
        assert_eq!(region_of(&[""]), "us-east-1");
    }

    #[test]
    fn timestamps_are_seconds_with_millis() {
        let e = Event {
            id: 1,
            previous: 0,
            timestamp_ms: 1_732_579_200_123,
            kind: EventKind::ParallelStateStarted,
        };
        assert_eq!(
            render(std::slice::from_ref(&e), true, "us-east-1"),
            r#"[{"timestamp": 1732579200.123, "type": "ParallelStateStarted", "id": 1, "previousEventId": 0}]"#
        );
        let early = Event {
            timestamp_ms: -1,
            ..e
        };
        assert!(render(&[early], true, "").starts_with(r#"[{"timestamp": -0.001,"#));
    }
}
