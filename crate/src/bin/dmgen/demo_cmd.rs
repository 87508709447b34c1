//! `dmgen demo --task T [--seed S] [--out FILE.json]`: record the task's scripted
//! demonstration (the built-in demos in `public/demos/` are made this way).

use dmgen::demo::demo_to_json;
use dmgen::task::scripted::scripted_demo;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Task id (lift, stack, square, pick_place, conveyor)
    #[arg(long)]
    pub task: String,
    /// Seed of the scripted recorder's scene (0 gives the built-in demo)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the demo (project JSON format) here instead of stdout
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<String>,
}

pub fn run(a: DemoArgs) -> Result<(), String> {
    let task = a.task.as_str();
    let demo = scripted_demo(task, a.seed).map_err(|e| format!("{task}: {e}"))?;
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
