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

/// `dmgen bench cameras`.
pub fn run_cameras(attempts: u64, task: &str, size: u32) -> Result<(), String> {
    use dmgen::config::GenerationConfig;
    use dmgen::export::DatasetWriter;
    use dmgen::generate::Generator;
    let mut plain = GenerationConfig {
        task: task.into(),
        demo: dmgen::config::DemoRef::Builtin { id: task.into() },
        ..GenerationConfig::default()
    };
    plain.set_episodes(attempts as u32);
    let mut with = plain.clone();
    with.cameras
        .set_names_from_list(&dmgen::config::CAMERA_NAMES.join(","));
    with.cameras.width = size;
    with.cameras.height = size;
    let g0 = Generator::new(&plain, None).map_err(|e| e.to_string())?;
    let g1 = Generator::new(&with, None).map_err(|e| e.to_string())?;
    let mut w0 = DatasetWriter::new(&plain).map_err(|e| e.to_string())?;
    let mut w1 = DatasetWriter::new(&with).map_err(|e| e.to_string())?;
    let (mut t0s, mut t1s, mut kept, mut frames) = (0.0, 0.0, 0u64, 0usize);
    let (mut t0_ok, mut t1_ok) = (0.0, 0.0);
    for i in 0..attempts {
        let t = Instant::now();
        let a0 = g0.attempt(i);
        let d0 = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let a1 = g1.attempt(i);
        let d1 = t.elapsed().as_secs_f64();
        t0s += d0;
        t1s += d1;
        if a1.success {
            t0_ok += d0;
            t1_ok += d1;
            kept += 1;
            frames += a1.episode.steps.len() + 1;
            w0.add_episode(&a0.episode).map_err(|e| e.to_string())?;
            w1.add_episode(&a1.episode).map_err(|e| e.to_string())?;
        }
    }
    let stats = Default::default();
    let b0 = w0.finish(&stats).map_err(|e| e.to_string())?.len() as f64;
    let b1 = w1.finish(&stats).map_err(|e| e.to_string())?.len() as f64;
    let per = kept.max(1) as f64;
    println!("cameras bench: {task}, {attempts} attempts ({kept} kept), two {size}x{size} cameras");
    println!(
        "  attempt time:         {:.1} ms without, {:.1} ms with: +{:.1}% per attempt",
        1e3 * t0s / attempts as f64,
        1e3 * t1s / attempts as f64,
        100.0 * (t1s / t0s - 1.0)
    );
    println!(
        "  successful attempts:  +{:.1}% (failed ones render nothing)",
        100.0 * (t1_ok / t0_ok.max(1e-9) - 1.0)
    );
    println!(
        "  per camera frame:     {:.3} ms (render and deflate)",
        1e3 * (t1_ok - t0_ok) / (2 * frames.max(1)) as f64
    );
    println!(
        "  file bytes / episode: {:.0} without, {:.0} with ({:.0} per frame per camera)",
        b0 / per,
        b1 / per,
        (b1 - b0) / (2 * frames.max(1)) as f64
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Physics settings for `generate`, `results` and `sim` as JSON (a file or inline), over the
    /// defaults: e.g. '{"dt": 0.008333333333333333, "solver_iterations": 4}' to measure a
    /// setting's cost and success rates
    #[arg(long, global = true, value_name = "JSON|FILE")]
    pub physics: Option<String>,
    #[command(subcommand)]
    pub which: BenchCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// DMP fitting and rollout cost
    Dmp,
    /// How fast the physics world replays each task's scripted demo
    Sim {
        /// Replays per task
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        repeats: u64,
        /// Only this task [default: every task]
        #[arg(long)]
        task: Option<String>,
    },
    /// Validated episodes per second with 1 and 2 threads, and where the time goes
    Generate {
        /// Validated episodes per measurement
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        episodes: u32,
        /// Only this task [default: every task]
        #[arg(long)]
        task: Option<String>,
    },
    /// How closely the hand follows its commands: per task, the distance between the hand
    /// at the end of each control step and the forward kinematics of that step's joint
    /// target, over the first attempts of D-MG (static variant)
    Tracking {
        /// Attempts per task
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        attempts: u64,
        /// Only this task [default: every task]
        #[arg(long)]
        task: Option<String>,
    },
    /// What recording camera images costs: attempt time with and without two cameras
    /// (the same attempts, interleaved), and file bytes per episode
    Cameras {
        /// Attempts measured
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        attempts: u64,
        /// Task id
        #[arg(long, default_value = "stack")]
        task: String,
        /// Image side in pixels
        #[arg(long, default_value_t = 84, value_parser = clap::value_parser!(u32).range(8..=256))]
        size: u32,
    },
    /// How fast candle trains an image policy here (robomimic's ResNet-18 encoder and a
    /// small one, two cameras): samples/s of training and inference
    ImagePolicy {
        /// Image side in pixels
        #[arg(long, default_value_t = 84, value_parser = clap::value_parser!(u32).range(16..=256))]
        size: u32,
        /// Batch size (robomimic's: 16)
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
        batch: u32,
        /// Timed steps per encoder
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        steps: u32,
    },
    /// D-MG vs MimicGen success rates with 95% intervals, and the ablation of the assists
    Results {
        /// Attempts per seed and configuration
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        attempts: u64,
        /// Seeds 0..N-1
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
        seeds: u64,
        /// Worker threads (the rates do not depend on it)
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: u64,
        /// Only this task (table and ablation) [default: every task; ablation: stack, square]
        #[arg(long)]
        task: Option<String>,
        /// Only the task this task file describes (docs/tasks.md), from its scripted demo
        /// unless --demo is given
        #[arg(long, value_name = "T.json", conflicts_with = "task")]
        task_file: Option<String>,
        /// Print only the ablation
        #[arg(long, conflicts_with = "table_only")]
        ablation_only: bool,
        /// Print only the table
        #[arg(long)]
        table_only: bool,
        /// Print only the table of MimicGen's reset levels (d0, d1, d2) for the tasks
        /// that have them
        #[arg(long, conflicts_with_all = ["table_only", "ablation_only"])]
        levels_only: bool,
        /// Measure this demo file instead of the built-in demos (with --task; a demo
        /// recorded elsewhere, e.g. a MimicGen source file)
        #[arg(long, value_name = "FILE", requires = "task")]
        demo: Option<String>,
        /// Base configuration for every measured run, JSON inline or a file (e.g.
        /// '{"demo_frame": {"kind": "robosuite"}, "geometry": "robosuite"}'); task, method,
        /// variant and seed are the table's
        #[arg(long, value_name = "JSON|FILE")]
        config: Option<String>,
    },
    /// Policies trained on 1 demo, 10 demos, D-MG and MimicGen data, evaluated static and dmg
    Policy {
        /// Task ids, comma-separated
        #[arg(long, value_delimiter = ',', default_value = "stack")]
        tasks: Vec<String>,
        /// Generated episodes per method (D-MG's training size: 200)
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        episodes: u32,
        /// Test episodes per variant and checkpoint
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        eval_episodes: u32,
        /// Training seeds, comma-separated
        #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
        seeds: Vec<u64>,
        /// Algorithms, comma-separated
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "diffusion,bc-chunk"
        )]
        algo: Vec<crate::policy_cmd::AlgoArg>,
        /// Gradient steps per algorithm, comma-separated (the last one repeats); the same
        /// for every data arm
        #[arg(long, value_delimiter = ',', default_value = "20000")]
        steps: Vec<u64>,
        /// Validation checkpoints per run (rollouts on validation scenes; the best is kept)
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1000))]
        checkpoints: u64,
        /// Validation episodes per checkpoint
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        validate_episodes: u32,
        /// Std of the generation's action noise, both methods (MimicGen's paper: 0.05)
        #[arg(long, default_value_t = 0.05)]
        action_noise: f64,
        /// Data arms, comma-separated (demo1, demo10, dmg, mimicgen)
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "demo1,demo10,dmg,mimicgen"
        )]
        arms: Vec<String>,
        /// Worker threads (the rates do not depend on it)
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1024))]
        threads: u64,
        /// Keep the datasets in this folder (and reuse those already there)
        #[arg(long, value_name = "DIR")]
        keep: Option<String>,
        /// Append each trained policy's results here as a JSON line; policies already in
        /// it are not trained again (a long table can be resumed)
        #[arg(long, value_name = "FILE.jsonl")]
        log: Option<String>,
    },
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    if let Some(p) = &a.physics {
        let text = if p.trim_start().starts_with('{') {
            p.clone()
        } else {
            std::fs::read_to_string(p).map_err(|e| format!("--physics: cannot read '{p}': {e}"))?
        };
        let settings: dmgen::sim::PhysicsSettings =
            serde_json::from_str(&text).map_err(|e| format!("--physics: {e}"))?;
        eprintln!(
            "physics: {}",
            serde_json::to_string(&settings).unwrap_or_default()
        );
        crate::bench_generate::set_physics(settings)?;
    }
    match a.which {
        BenchCommand::Dmp => run_dmp(),
        BenchCommand::Cameras {
            attempts,
            task,
            size,
        } => run_cameras(attempts, &task, size),
        BenchCommand::ImagePolicy { size, batch, steps } => {
            crate::bench_image::run(size, batch, steps)
        }
        BenchCommand::Sim { repeats, task } => crate::bench_sim::run(repeats as usize, task),
        BenchCommand::Generate { episodes, task } => {
            crate::bench_generate::run_generate(episodes, task)
        }
        BenchCommand::Tracking { attempts, task } => {
            crate::bench_generate::run_tracking(attempts, task)
        }
        BenchCommand::Results {
            attempts,
            seeds,
            threads,
            task,
            task_file,
            ablation_only,
            table_only,
            levels_only,
            demo,
            config,
        } => {
            let file_task = match &task_file {
                Some(path) => Some(crate::read_task_file(path)?),
                None => None,
            };
            let task = file_task.as_ref().map(|t| t.id.clone()).or(task);
            if demo.is_some() || config.is_some() || file_task.is_some() {
                let base = match &config {
                    Some(c) => {
                        let text = if c.trim_start().starts_with('{') {
                            c.clone()
                        } else {
                            std::fs::read_to_string(c)
                                .map_err(|e| format!("--config: cannot read '{c}': {e}"))?
                        };
                        dmgen::config::GenerationConfig::from_json(&text)
                            .map_err(|e| format!("--config: {e}"))?
                    }
                    None => Default::default(),
                };
                let mut base = base;
                if let Some(t) = file_task {
                    base.set_task(t);
                }
                let file = match &demo {
                    Some(p) => Some((
                        std::fs::read(p).map_err(|e| format!("--demo: cannot read '{p}': {e}"))?,
                        p.clone(),
                    )),
                    None => None,
                };
                crate::bench_generate::set_demo(crate::bench_generate::DemoSource { file, base })?;
            }
            crate::bench_generate::run_results(&crate::bench_generate::ResultsOptions {
                attempts,
                seeds,
                threads: threads as usize,
                task,
                ablation_only,
                table_only,
                levels_only,
            })
        }
        BenchCommand::Policy {
            tasks,
            episodes,
            eval_episodes,
            seeds,
            algo,
            steps,
            checkpoints,
            validate_episodes,
            action_noise,
            arms,
            threads,
            keep,
            log,
        } => crate::bench_policy::run_policy(&crate::bench_policy::PolicyBenchOptions {
            tasks,
            episodes,
            eval_episodes,
            seeds,
            algos: algo.into_iter().map(Into::into).collect(),
            steps,
            checkpoints,
            validate_episodes,
            action_noise,
            arms,
            threads: threads as usize,
            keep,
            log,
        }),
    }
}
