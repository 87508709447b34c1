//! `dmgen segment DEMO_FILE [--demo-index I] [--task-file T.json]`: print the automatic
//! task spec.

use dmgen::demo::read_demo_auto;
use dmgen::segment::{segment_in, SegmentParams};

#[derive(clap::Args, Debug)]
pub struct SegmentArgs {
    /// Demo file: JSON, CSV, or robomimic / MimicGen HDF5
    #[arg(value_name = "DEMO_FILE")]
    pub file: String,
    /// Which demo of a multi-demo HDF5 file, in its demo_<i> order
    #[arg(long, default_value_t = 0)]
    pub demo_index: usize,
    /// Measure the hand against this task file's objects (docs/tasks.md) [default: the
    /// built-in task the demo names]
    #[arg(long, value_name = "T.json")]
    pub task_file: Option<String>,
}

pub fn run(a: SegmentArgs) -> Result<(), String> {
    let file = a.file.as_str();
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read '{file}': {e}"))?;
    let demo =
        read_demo_auto(&bytes, Some(file), a.demo_index).map_err(|e| format!("{file}: {e}"))?;
    let task = match &a.task_file {
        Some(path) => Some(crate::read_task_file(path)?),
        None => None,
    };
    let spec = segment_in(&demo, task.as_ref(), &SegmentParams::default(), None)
        .map_err(|e| format!("{file}: {e}"))?;
    println!("{}", spec.to_json());
    Ok(())
}
