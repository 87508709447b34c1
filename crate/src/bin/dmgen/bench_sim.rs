//! `dmgen bench sim`: how fast the physics world runs, per task.
//!
//! For each task the built-in scripted demo (seed 0) is recorded once, then
//! replayed open-loop `--repeats` times in fresh worlds. The wall clock lives
//! here only (the core never reads a clock): `World::command` is timed as the
//! IK cost (it validates the target and runs damped-least-squares IK), and
//! `World::step` as the physics cost (collision detection, contact and joint
//! solver, integration).

use dmgen::sim::{PandaWorld, World, CONTROL_DT};
use dmgen::task::{scripted_demo, Task, TASK_IDS};
use std::time::{Duration, Instant};

struct Row {
    task: String,
    sim_seconds: f64,
    ik: Duration,
    physics: Duration,
    setup: Duration,
    successes: usize,
    runs: usize,
}

pub fn run(repeats: usize, only: Option<String>) -> Result<(), String> {
    let repeats = repeats.max(1);
    let ids: Vec<&str> = match &only {
        Some(id) => vec![id.as_str()],
        None => TASK_IDS.to_vec(),
    };
    let settings = crate::bench_generate::physics();
    println!(
        "physics: dt = {:.5} s ({} steps per {} s control step), {} solver iterations; {} replays per task",
        settings.dt,
        (CONTROL_DT / settings.dt).round(),
        CONTROL_DT,
        settings.solver_iterations,
        repeats
    );
    let mut rows = Vec::new();
    for id in ids {
        let task = Task::by_id(id).map_err(|e| e.to_string())?;
        let demo = scripted_demo(id, 0).map_err(|e| format!("{id}: {e}"))?;
        let initial: Vec<_> = demo.objects.iter().map(|o| o.poses[0]).collect();
        let mut row = Row {
            task: id.to_string(),
            sim_seconds: 0.0,
            ik: Duration::ZERO,
            physics: Duration::ZERO,
            setup: Duration::ZERO,
            successes: 0,
            runs: repeats,
        };
        for _ in 0..repeats {
            let t0 = Instant::now();
            let mut world = PandaWorld::with_poses(&task, settings.clone(), &initial)
                .map_err(|e| e.to_string())?;
            let mut tracker = dmgen::task::SuccessTracker::new(&task);
            row.setup += t0.elapsed();
            for k in 0..demo.len() - 1 {
                let t = Instant::now();
                world
                    .command(&demo.eef[k + 1], demo.gripper[k] > 0.5)
                    .map_err(|e| e.to_string())?;
                row.ik += t.elapsed();
                let t = Instant::now();
                world.step().map_err(|e| e.to_string())?;
                row.physics += t.elapsed();
                tracker.update(&task, &world);
            }
            row.sim_seconds += world.time();
            row.successes += usize::from(tracker.succeeded());
        }
        rows.push(row);
    }
    println!();
    println!(
        "| task | simulated s | wall s | wall s per sim s | x real time | physics % | IK % | setup % | replay success |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (mut sim_total, mut wall_total) = (0.0, 0.0);
    for r in &rows {
        let wall = (r.ik + r.physics + r.setup).as_secs_f64();
        sim_total += r.sim_seconds;
        wall_total += wall;
        println!(
            "| {} | {:.1} | {:.3} | {:.4} | {:.0} | {:.1} | {:.1} | {:.1} | {}/{} |",
            r.task,
            r.sim_seconds,
            wall,
            wall / r.sim_seconds,
            r.sim_seconds / wall,
            100.0 * r.physics.as_secs_f64() / wall,
            100.0 * r.ik.as_secs_f64() / wall,
            100.0 * r.setup.as_secs_f64() / wall,
            r.successes,
            r.runs
        );
    }
    if rows.len() > 1 {
        println!(
            "| all | {:.1} | {:.3} | {:.4} | {:.0} | | | | |",
            sim_total,
            wall_total,
            wall_total / sim_total,
            sim_total / wall_total
        );
    }
    Ok(())
}
