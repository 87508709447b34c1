//! `dmgen bench dmp`: DMP fitting and rollout cost.

use dmgen::dmp::{DmpConfig, PoseDmp, PositionDmp};
use dmgen::geom::{m, Pose, Quat, Vec3};
use std::hint::black_box;
use std::time::Instant;

fn demo(n: usize) -> Vec<Pose> {
    (0..n)
        .map(|k| {
            let s = k as f64 / (n - 1) as f64;
            let a = std::f64::consts::PI * s;
            Pose::new(
                Vec3::new(0.4 + 0.2 * s, 0.1 * m::sin(2.0 * a), 0.1 + 0.15 * m::sin(a)),
                Quat::from_yaw(1.5 * s) * Quat([1.0, 0.0, 0.0, 0.0]),
            )
        })
        .collect()
}

pub fn run_dmp() -> Result<(), String> {
    let n = 1000;
    let poses = demo(n);
    let ys: Vec<Vec3> = poses.iter().map(|p| p.pos).collect();
    let cfg = DmpConfig {
        n_bases: 100,
        ..DmpConfig::default()
    };
    let reps = 10;
    let t0 = Instant::now();
    let mut model = None;
    for _ in 0..reps {
        model = Some(PositionDmp::fit(black_box(&ys), &cfg).map_err(|e| e.to_string())?);
    }
    let fit_ms = t0.elapsed().as_secs_f64() * 1e3 / reps as f64;
    let model = model.ok_or("no model")?;
    let t0 = Instant::now();
    let mut steps = 0usize;
    for r in 0..reps {
        let goal = ys[n - 1] + Vec3::new(0.01 * r as f64, 0.0, 0.0);
        let path = model.rollout(ys[0], black_box(goal), 0);
        steps += path.len() - 1;
        black_box(&path);
    }
    let step_ns = t0.elapsed().as_secs_f64() * 1e9 / steps as f64;
    let t0 = Instant::now();
    let pose_model = PoseDmp::fit(&poses, &cfg).map_err(|e| e.to_string())?;
    let pose_fit_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let mut runner = dmgen::dmp::DmpRunner::new(pose_model, poses[0], poses[n - 1]);
    let mut k = 0usize;
    while !runner.is_done() {
        black_box(runner.step());
        k += 1;
    }
    let pose_step_ns = t0.elapsed().as_secs_f64() * 1e9 / k.max(1) as f64;
    println!("dmp bench: {n}-sample 3-D demo, {} bases", cfg.n_bases);
    println!("  position fit:          {fit_ms:.3} ms");
    println!("  position rollout step: {step_ns:.0} ns");
    println!("  pose (pos+quat) fit:   {pose_fit_ms:.3} ms");
    println!("  pose runner step:      {pose_step_ns:.0} ns");
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(|s| s.as_str()) {
        Some("dmp") => run_dmp(),
        Some("sim") => crate::bench_sim::run(&args[1..]),
        Some("generate") => crate::bench_generate::run_generate(&args[1..]),
        Some("results") => crate::bench_generate::run_results(&args[1..]),
        Some(other) => Err(format!(
            "bench: unknown benchmark '{other}' (try: dmp, sim, generate, results)"
        )),
        None => Err("usage: dmgen bench <dmp|sim|generate|results>".into()),
    }
}
