//! `dmgen`: the native command-line interface to the core.
//!
//! Every subcommand is a variant of [`Command`]; its doc comment is the help text and
//! its options are the fields of its `*Args` struct (clap derive), each with its default
//! and range, so `dmgen <command> --help` documents everything a command accepts.

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

mod bench_cmd;
mod bench_generate;
mod bench_image;
mod bench_policy;
mod bench_sim;
mod convert_cmd;
mod demo_cmd;
mod dmp_cmd;
mod export_cmd;
mod generate_cmd;
mod link_cmd;
mod policy_cmd;
mod segment_cmd;

/// Read a task file (`--task-file`): JSON of a task (docs/tasks.md), checked.
pub fn read_task_file(path: &str) -> Result<dmgen::task::Task, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read task file '{path}': {e}"))?;
    if meta.len() > dmgen::task::MAX_TASK_BYTES as u64 {
        return Err(format!(
            "{path}: {} bytes is more than a task file may have ({})",
            meta.len(),
            dmgen::task::MAX_TASK_BYTES
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read task file '{path}': {e}"))?;
    dmgen::task::Task::from_json(&text).map_err(|e| format!("{path}: {e}"))
}

/// dmgen: turn one robot demonstration into a physically validated dataset (DynaMimicGen).
#[derive(Parser, Debug)]
#[command(
    name = "dmgen",
    version = dmgen::version(),
    propagate_version = true,
    arg_required_else_help = true
)]
#[command(
    after_help = "Run `dmgen <COMMAND> --help` for a command's options, defaults and ranges."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Record a task's scripted demonstration (the built-in demos are made this way)
    Demo(demo_cmd::DemoArgs),
    /// Print the automatic segmentation (task spec with subtasks) of a demo as JSON
    Segment(segment_cmd::SegmentArgs),
    /// Check a task file (docs/tasks.md) and print it in canonical form, or a built-in
    /// task's file by id
    Task {
        /// A task file (JSON), or a built-in task id
        #[arg(value_name = "T.json|ID")]
        task: String,
    },
    /// Fit a position DMP to a t,x,y,z trajectory and write its rollout
    Dmp(dmp_cmd::DmpArgs),
    /// Generate a validated dataset (robomimic HDF5 or LeRobot v3)
    Generate(generate_cmd::GenerateArgs),
    /// Merge shards (`generate --attempts A..B`) into the dataset one run would write
    Merge(generate_cmd::MergeArgs),
    /// Convert a robomimic low-dim HDF5 dataset to LeRobot v3.0
    Convert(convert_cmd::ConvertArgs),
    /// Train a policy (BC or BC-RNN) on a dataset
    Train(policy_cmd::TrainArgs),
    /// Evaluate a trained policy in closed loop in the task's physics
    Eval(policy_cmd::EvalArgs),
    /// Print benchmark numbers
    Bench(bench_cmd::BenchArgs),
    /// Share links: a configuration (and a small demo file) in a URL fragment
    Link(link_cmd::LinkArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// A synthetic dataset for file-format checks (tests/python/check_dataset.py)
    #[command(hide = true)]
    ExportSample(export_cmd::ExportSampleArgs),
}

/// Keep large allocations mapped. glibc serves every buffer over 128 kB with a fresh
/// `mmap` and returns it with `munmap`, and candle allocates and frees its activation and
/// gradient buffers at every training step: measured on chunked BC (stack, batch 256),
/// 5.4k samples/s with glibc's defaults, 10.8k with these thresholds (the same weights).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_allocations() {
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_allocations() {}

fn main() -> ExitCode {
    keep_large_allocations();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo_cmd::run(a),
        Command::Merge(a) => generate_cmd::merge(a),
        Command::Segment(a) => segment_cmd::run(a),
        Command::Task { task } => {
            let t = if std::path::Path::new(&task).exists() || task.ends_with(".json") {
                read_task_file(&task)
            } else {
                dmgen::task::Task::by_id(&task).map_err(|e| e.to_string())
            };
            t.map(|t| print!("{}", t.to_json()))
        }
        Command::Dmp(a) => dmp_cmd::run(a),
        Command::Generate(a) => generate_cmd::run(a),
        Command::Convert(a) => convert_cmd::run(a),
        Command::Train(a) => policy_cmd::train(a),
        Command::Eval(a) => policy_cmd::eval(a),
        Command::Bench(a) => bench_cmd::run(a),
        Command::Link(a) => link_cmd::run(a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "dmgen", &mut std::io::stdout());
            Ok(())
        }
        Command::ExportSample(a) => export_cmd::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
