//! expressway-core: a sans-IO engine for Amazon States Language state machines.
//!
//! The crate has no I/O, no clock and no threads. A definition is compiled once into an
//! immutable [`Program`]; an [`Execution`] steps it until it needs the outside world and then
//! hands back [`Effect`]s (call this task, sleep this long, finished). Outcomes are fed back in
//! with the time at which they happened, so a run is fully determined by its inputs.

pub mod choice;
pub mod context;
pub mod definition;
pub mod diagnostics;
pub mod errors;
pub mod execution;
pub mod history;
pub mod intrinsics;
pub mod jsonata;
pub mod jsonata_check;
pub mod jsonata_fast;
pub mod path;
pub mod payload;
pub mod query;
pub mod rng;
pub mod timestamp;
pub mod value;

pub use definition::{compile, validate, MachineType, Program};
pub use diagnostics::{DefinitionError, Diagnostic, Severity};
pub use execution::{Effect, ExecContext, Execution, Status};
pub use serde_json::Value;
