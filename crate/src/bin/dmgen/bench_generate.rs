//! `dmgen bench generate` and `dmgen bench results`.
//!
//! `generate`: validated episodes per second per task with 1 and 2 threads (D-MG,
//! static variant, built-in demo), and where one thread's time goes: the physics step
//! (`World::step`), the IK (`World::command`), the generator itself (DMP steps, goal
//! updates, observation recording) and the dataset export. The split replays every
//! attempt's recorded commands in a fresh world with the clock around `command` and
//! `step`; the generator's share is the attempt's time minus that replay.
//!
//! `results`: success rates of D-MG and the MimicGen baseline for every task and
//! variant over the same attempts (the table in docs/results.md).

use crate::generate_cmd::generate;
use crate::parallel::{run_ordered, Flow};
use dmgen::config::{DemoRef, GenerationConfig, Method, Variant};
use dmgen::generate::{object_poses_from_state, Attempt, DatasetAssembler, Generator};
use dmgen::sim::{PandaWorld, PhysicsSettings, World};
use dmgen::task::TASK_IDS;
use std::time::Instant;

fn config(task: &str, method: Method, variant: Variant, episodes: u32) -> GenerationConfig {
    GenerationConfig {
        task: task.into(),
        demo: DemoRef::Builtin { id: task.into() },
        method,
        variant,
        episodes,
        ..GenerationConfig::default()
    }
}

fn parse_flag(args: &[String], flag: &str, default: u32) -> Result<u32, String> {
    match args.iter().position(|a| a == flag) {
        Some(i) => {
            let v = args.get(i + 1).ok_or(format!("{flag} needs a value"))?;
            v.parse()
                .map_err(|_| format!("{flag}: '{v}' is not a number"))
        }
        None => Ok(default),
    }
}

fn only_task(args: &[String]) -> Vec<String> {
    match args.iter().position(|a| a == "--task") {
        Some(i) if i + 1 < args.len() => vec![args[i + 1].clone()],
        _ => TASK_IDS.iter().map(|s| s.to_string()).collect(),
    }
}

/// Seconds in `World::command` and `World::step` when replaying an attempt.
fn replay_split(g: &Generator, a: &Attempt) -> (f64, f64) {
    let Some(first) = a.episode.steps.first() else {
        return (0.0, 0.0);
    };
    let Ok(poses) = object_poses_from_state(g.task(), &first.obs.state) else {
        return (0.0, 0.0);
    };
    let Ok(mut w) = PandaWorld::with_poses(g.task(), PhysicsSettings::default(), &poses) else {
        return (0.0, 0.0);
    };
    let (mut ik, mut phys) = (0.0, 0.0);
    for s in &a.episode.steps {
        let t = Instant::now();
        let _ = w.command(&s.target, s.gripper_closed);
        ik += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = w.step();
        phys += t.elapsed().as_secs_f64();
    }
    (ik, phys)
}

pub fn run_generate(args: &[String]) -> Result<(), String> {
    let episodes = parse_flag(args, "--episodes", 20)?;
    println!("generate bench: D-MG, static variant, built-in demos, {episodes} validated episodes per run");
    println!(
        "{:<11} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "task", "ep/s 1t", "ep/s 2t", "2t/1t", "physics", "IK", "gen", "export", "overhead"
    );
    for task in only_task(args) {
        let cfg = config(&task, Method::Dmg, Variant::Static, episodes);
        let mut rates = Vec::new();
        for threads in [1usize, 2] {
            let out = generate(
                &cfg,
                None,
                threads,
                &mut std::io::Cursor::new(Vec::new()),
                |_| {},
            )?;
            rates.push(out.kept as f64 / out.seconds);
        }
        // One thread, timed by part.
        let g = Generator::new(&cfg, None).map_err(|e| e.to_string())?;
        let mut asm = DatasetAssembler::new(&cfg).map_err(|e| e.to_string())?;
        let (mut attempt_s, mut export_s, mut ik_s, mut phys_s) = (0.0, 0.0, 0.0, 0.0);
        let mut i = 0;
        while !asm.is_done() {
            let t = Instant::now();
            let a = g.attempt(i);
            attempt_s += t.elapsed().as_secs_f64();
            let (ik, phys) = replay_split(&g, &a);
            ik_s += ik;
            phys_s += phys;
            let t = Instant::now();
            asm.push(&a).map_err(|e| e.to_string())?;
            export_s += t.elapsed().as_secs_f64();
            i += 1;
        }
        let t = Instant::now();
        asm.finish().map_err(|e| e.to_string())?;
        export_s += t.elapsed().as_secs_f64();
        let gen_s = (attempt_s - ik_s - phys_s).max(0.0);
        let total = attempt_s + export_s;
        let pct = |x: f64| format!("{:.1}%", 100.0 * x / total);
        println!(
            "{:<11} {:>9.2} {:>9.2} {:>7.2} {:>8} {:>8} {:>8} {:>8} {:>9}",
            task,
            rates[0],
            rates[1],
            rates[1] / rates[0],
            pct(phys_s),
            pct(ik_s),
            pct(gen_s),
            pct(export_s),
            pct(total - phys_s),
        );
    }
    println!("overhead = everything but the physics step (IK + generator + export)");
    Ok(())
}

pub fn run_results(args: &[String]) -> Result<(), String> {
    let n = u64::from(parse_flag(args, "--attempts", 50)?);
    let threads = parse_flag(args, "--threads", 2)? as usize;
    let variants = [
        Variant::Static,
        Variant::Dmg,
        Variant::MovingTarget,
        Variant::Push,
    ];
    println!("Success rate over attempts 0..{n} (seed 0, built-in demos)\n");
    println!("| task | variant | D-MG | MimicGen | D-MG main failure | MimicGen main failure |");
    println!("|---|---|---|---|---|---|");
    for task in only_task(args) {
        for v in variants {
            let mut cells = Vec::new();
            let mut reasons = Vec::new();
            for m in [Method::Dmg, Method::MimicGen] {
                let cfg = config(&task, m, v, 1);
                let g = Generator::new(&cfg, None).map_err(|e| e.to_string())?;
                let mut ok = 0u64;
                let mut why: std::collections::BTreeMap<&'static str, u64> = Default::default();
                run_ordered(
                    threads,
                    n,
                    |i| g.attempt(i),
                    |_, a| {
                        if a.success {
                            ok += 1;
                        } else if let Some(f) = a.failure {
                            *why.entry(f.as_str()).or_default() += 1;
                        }
                        Flow::Continue
                    },
                );
                cells.push(format!("{:.0}%", 100.0 * ok as f64 / n as f64));
                reasons.push(
                    why.iter()
                        .max_by_key(|(_, c)| **c)
                        .map(|(r, c)| format!("{r} ({c})"))
                        .unwrap_or_else(|| "-".into()),
                );
            }
            println!(
                "| {task} | {} | {} | {} | {} | {} |",
                v.as_str(),
                cells[0],
                cells[1],
                reasons[0],
                reasons[1]
            );
        }
    }
    Ok(())
}
