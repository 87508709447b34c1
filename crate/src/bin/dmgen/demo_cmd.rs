//! `dmgen demo --task T [--seed S] [--out FILE.json]`: record the task's scripted
//! demonstration (the built-in demos in `public/demos/` are made this way);
//! `--task-file T.json` records a task file's `script`.
//!
//! `dmgen demo --task T --count N --out FILE.hdf5`: N scripted demonstrations (recorder
//! seeds 0, 1, ...; standing in for N human demos) as a robomimic dataset in the layout
//! of a generated one, so "1 demo" and "10 demos" baselines train with the same command.

use dmgen::config::{ActionConvention, GenerationConfig};
use dmgen::demo::demo_to_json;
use dmgen::generate::source_demos_dataset;
use dmgen::task::scripted::scripted_demo_of;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Task id (lift, stack, square, pick_place, conveyor, mug_cleanup)
    #[arg(long, required_unless_present = "task_file")]
    pub task: Option<String>,
    /// A task file (JSON, docs/tasks.md) whose `script` records the demo, instead of --task
    #[arg(long, value_name = "T.json", conflicts_with = "task")]
    pub task_file: Option<String>,
    /// Seed of the scripted recorder's scene (0 gives the built-in demo)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write this many demos (seeds 0..N) as a robomimic HDF5 dataset (needs --out)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub count: Option<u32>,
    /// With --count: what the dataset's `actions` hold
    #[arg(long, value_enum, default_value = "delta", requires = "count")]
    pub actions: ActionsArg,
    /// Write the demo (project JSON format) or, with --count, the dataset here
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ActionsArg {
    Delta,
    Abs,
}

pub fn run(a: DemoArgs) -> Result<(), String> {
    let mut config = GenerationConfig::default();
    match (&a.task, &a.task_file) {
        (_, Some(path)) => config.set_task(crate::read_task_file(path)?),
        (Some(t), None) => config.task = t.clone(),
        (None, None) => return Err("demo needs --task T or --task-file T.json".into()),
    }
    let spec = config.base_task().map_err(|e| e.to_string())?;
    let task = config.task.clone();
    let task = task.as_str();
    if let Some(count) = a.count {
        let out = a
            .out
            .as_deref()
            .ok_or("--count writes an HDF5 dataset: give --out FILE.hdf5")?;
        config.actions = match a.actions {
            ActionsArg::Delta => ActionConvention::Delta,
            ActionsArg::Abs => ActionConvention::Abs,
        };
        let d = source_demos_dataset(&config, count).map_err(|e| format!("{task}: {e}"))?;
        std::fs::write(out, &d.bytes).map_err(|e| format!("cannot write '{out}': {e}"))?;
        eprintln!(
            "{task}: {} scripted demos (seeds {:?}{}) written to {out} ({} bytes)",
            d.seeds.len(),
            d.seeds,
            if d.skipped.is_empty() {
                String::new()
            } else {
                format!("; seeds {:?} skipped: their script failed", d.skipped)
            },
            d.bytes.len()
        );
        println!(
            "{}",
            serde_json::json!({"task": task, "episodes": d.seeds.len(), "seeds": d.seeds,
                "skipped": d.skipped, "out": out, "bytes": d.bytes.len()})
        );
        return Ok(());
    }
    let demo = scripted_demo_of(&spec, a.seed).map_err(|e| format!("{task}: {e}"))?;
    let text = demo_to_json(&demo);
    match a.out {
        Some(path) => {
            std::fs::write(&path, text + "\n")
                .map_err(|e| format!("cannot write '{path}': {e}"))?;
            eprintln!("{task}: {} samples written to {path}", demo.len());
        }
        None => println!("{text}"),
    }
    Ok(())
}
