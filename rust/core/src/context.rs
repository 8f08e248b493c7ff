//! The context object (`$$`): what an execution knows about itself and the current state.

use crate::value::{Map, Value};

/// The facts about an execution that the caller supplies when it starts.
#[derive(Clone, Debug, Default)]
pub struct ExecContext {
    pub execution_id: String,
    pub execution_name: String,
    /// The start time as AWS prints it, e.g. `2024-01-02T03:04:05.678Z`.
    pub start_time: String,
    pub start_time_ms: i64,
    pub role_arn: String,
    pub state_machine_id: String,
    pub state_machine_name: String,
}

/// Where a state stands when its context object is built.
pub struct StateInfo<'a> {
    pub name: &'a str,
    pub entered_time: String,
    pub retry_count: u32,
    /// `$$.Map.Item` while a Map state computes an iteration's input.
    pub map_item: Option<(usize, &'a Value)>,
    /// `$$.Task.Token` in a `.waitForTaskToken` Task.
    pub task_token: Option<&'a str>,
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::with_capacity(pairs.len());
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

/// Builds `$$` for one state. Only states whose definition mentions `$$` pay for this.
pub fn build(exec: &ExecContext, input: &Value, state: &StateInfo) -> Value {
    let mut top = vec![
        (
            "Execution",
            obj(vec![
                ("Id", Value::from(exec.execution_id.as_str())),
                ("Input", input.clone()),
                ("StartTime", Value::from(exec.start_time.as_str())),
                ("Name", Value::from(exec.execution_name.as_str())),
                ("RoleArn", Value::from(exec.role_arn.as_str())),
                ("RedriveCount", Value::from(0)),
            ]),
        ),
        (
            "StateMachine",
            obj(vec![
                ("Id", Value::from(exec.state_machine_id.as_str())),
                ("Name", Value::from(exec.state_machine_name.as_str())),
            ]),
        ),
        (
            "State",
            obj(vec![
                ("Name", Value::from(state.name)),
                ("EnteredTime", Value::from(state.entered_time.as_str())),
                ("RetryCount", Value::from(state.retry_count)),
            ]),
        ),
    ];
    if let Some(token) = state.task_token {
        top.push(("Task", obj(vec![("Token", Value::from(token))])));
    }
    if let Some((index, value)) = state.map_item {
        top.push((
            "Map",
            obj(vec![(
                "Item",
                obj(vec![
                    ("Index", Value::from(index)),
                    ("Value", value.clone()),
                    // Inline Map items always come from the state's input.
                    ("Source", Value::from("STATE_DATA")),
                ]),
            )]),
        ));
    }
    obj(top)
}
