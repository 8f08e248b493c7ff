//! Runtime failures and the error names of the States language.

use std::fmt;

pub const ALL: &str = "States.ALL";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const RUNTIME: &str = "States.Runtime";
pub const TIMEOUT: &str = "States.Timeout";
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
pub const BRANCH_FAILED: &str = "States.BranchFailed";
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";

/// A failure raised while a state runs. When `in_state` is set, the execution prefixes the
/// cause with AWS's "An error occurred while executing the state ..." sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub error: String,
    pub cause: Option<String>,
    pub in_state: bool,
}

impl Failure {
    /// A failure described relative to the state that raised it (gets the state prefix).
    pub fn in_state(error: &str, detail: impl Into<String>) -> Failure {
        Failure {
            error: error.to_string(),
            cause: Some(detail.into()),
            in_state: true,
        }
    }

    /// A failure whose cause is used as it is.
    pub fn plain(error: impl Into<String>, cause: Option<String>) -> Failure {
        Failure {
            error: error.into(),
            cause,
            in_state: false,
        }
    }

    pub fn runtime(detail: impl Into<String>) -> Failure {
        Failure::in_state(RUNTIME, detail)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause.as_deref().unwrap_or(""))
    }
}

/// Whether a Retry or Catch `ErrorEquals` list matches an error, with AWS's rules:
/// `States.ALL` matches everything but `States.Runtime` and the terminal
/// `States.DataLimitExceeded` (which only its own name matches: the error-handling guide), and
/// `States.TaskFailed` matches everything but `States.Runtime` and `States.Timeout` (as recorded
/// on AWS); `States.Runtime` is never matched, even when named.
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    if error == RUNTIME {
        return false;
    }
    let terminal = error == DATA_LIMIT_EXCEEDED;
    error_equals
        .iter()
        .any(|e| e == error || (e == ALL && !terminal) || (e == TASK_FAILED && error != TIMEOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matching_rules() {
        assert!(error_matches(&v(&["States.ALL"]), "MyError"));
        assert!(error_matches(&v(&["States.ALL"]), "States.Timeout"));
        assert!(!error_matches(&v(&["States.ALL"]), "States.Runtime"));
        assert!(!error_matches(&v(&["States.Runtime"]), "States.Runtime"));
        assert!(error_matches(&v(&["States.TaskFailed"]), "Lambda.Unknown"));
        assert!(!error_matches(&v(&["States.TaskFailed"]), "States.Timeout"));
        assert!(!error_matches(
            &v(&["States.ALL"]),
            "States.DataLimitExceeded"
        ));
        assert!(error_matches(
            &v(&["States.DataLimitExceeded"]),
            "States.DataLimitExceeded"
        ));
        assert!(error_matches(&v(&["A", "B"]), "B"));
        assert!(!error_matches(&v(&["A"]), "B"));
    }
}
