//! `dmgen demo --task T [--seed S] [--out FILE.json]`: record the task's scripted
//! demonstration (the built-in demos in `public/demos/` are made this way).

use dmgen::demo::demo_to_json;
use dmgen::task::scripted::scripted_demo;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut task: Option<&str> = None;
    let mut seed = 0u64;
    let mut out: Option<&str> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .map(String::as_str)
                .ok_or(format!("{a} needs a value"))
        };
        match a.as_str() {
            "--task" => task = Some(value()?),
            "--seed" => {
                let v = value()?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: '{v}' is not a non-negative integer"))?;
            }
            "--out" => out = Some(value()?),
            s => return Err(format!("demo: unexpected argument '{s}'")),
        }
    }
    let task = task.ok_or("usage: dmgen demo --task T [--seed S] [--out FILE.json]")?;
    let demo = scripted_demo(task, seed).map_err(|e| format!("{task}: {e}"))?;
    let text = demo_to_json(&demo);
    match out {
        Some(path) => {
            std::fs::write(path, text + "\n").map_err(|e| format!("cannot write '{path}': {e}"))?;
            eprintln!("{task}: {} samples written to {path}", demo.len());
        }
        None => println!("{text}"),
    }
    Ok(())
}
