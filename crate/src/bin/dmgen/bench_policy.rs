//! `dmgen bench policy`: the paper's comparison as a table this tool measures. For one
//! task, policies are trained on
//!   (a) the 1 source demo, (b) 10 source demos (the scripted recorder, seeds 0-9),
//!   (c) N D-MG episodes and (d) N MimicGen episodes generated from the one built-in demo
//!       (generation variant `dmg`: in half the episodes the picked object slides while
//!       the arm reaches for it; both methods with the same assists and a 10x budget),
//! with each algorithm and training seed, and each is evaluated on E episodes of `static`
//! and of `dmg`. One JSON line per (algorithm, data, seed, variant) on stdout as it
//! finishes, then a markdown table pooled over seeds with 95% Wilson intervals.

use crate::generate_cmd::generate_with_failed;
use crate::policy_cmd::evaluate;
use dmgen::config::{DemoRef, GenerationConfig, Method, Variant};
use dmgen::generate::source_demos_dataset;
use dmgen::policy::eval::{EvalConfig, Evaluator};
use dmgen::policy::{Algo, TrainConfig, Trainer};
use std::io::Cursor;
use std::time::Instant;

pub struct PolicyBenchOptions {
    pub task: String,
    /// Generated episodes per method.
    pub episodes: u32,
    /// Evaluation episodes per variant.
    pub eval_episodes: u32,
    pub seeds: Vec<u64>,
    pub algos: Vec<Algo>,
    /// Epochs per algorithm (BC, BC-RNN).
    pub epochs: Vec<u32>,
    pub threads: usize,
    /// Keep the datasets here (file names `<task>_<arm>.hdf5`).
    pub keep: Option<String>,
}

struct Arm {
    id: &'static str,
    label: String,
    bytes: Vec<u8>,
}

fn datasets(o: &PolicyBenchOptions) -> Result<Vec<Arm>, String> {
    let base = GenerationConfig {
        task: o.task.clone(),
        demo: DemoRef::Builtin { id: o.task.clone() },
        ..GenerationConfig::default()
    };
    let mut arms = Vec::new();
    for (id, count) in [("demo1", 1u32), ("demo10", 10)] {
        let d = source_demos_dataset(&base, count).map_err(|e| format!("{}: {e}", o.task))?;
        arms.push(Arm {
            id,
            label: format!(
                "{} source demo{}",
                d.seeds.len(),
                if count == 1 { "" } else { "s" }
            ),
            bytes: d.bytes,
        });
    }
    for (id, method, name) in [
        ("dmg", Method::Dmg, "D-MG"),
        ("mimicgen", Method::MimicGen, "MimicGen"),
    ] {
        let cfg = GenerationConfig {
            variant: Variant::Dmg,
            method,
            episodes: o.episodes,
            max_attempts: Some(o.episodes.saturating_mul(10)),
            ..base.clone()
        };
        cfg.validate().map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let mut out = Cursor::new(Vec::new());
        let run = generate_with_failed(
            &cfg,
            None,
            o.threads,
            &mut out,
            None::<&mut Cursor<Vec<u8>>>,
            |_| {},
        )?;
        eprintln!(
            "{}: {name} kept {} of {} attempts in {:.0} s",
            o.task,
            run.kept,
            run.attempts,
            t0.elapsed().as_secs_f64()
        );
        arms.push(Arm {
            id,
            label: format!("{} {name} episodes", run.kept),
            bytes: out.into_inner(),
        });
    }
    if let Some(dir) = &o.keep {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create '{dir}': {e}"))?;
        for a in &arms {
            let p = format!("{dir}/{}_{}.hdf5", o.task, a.id);
            std::fs::write(&p, &a.bytes).map_err(|e| format!("cannot write '{p}': {e}"))?;
        }
    }
    Ok(arms)
}

#[derive(Default, Clone)]
struct Cell {
    k: u64,
    n: u64,
    per_seed: Vec<u64>,
}

pub fn run_policy(o: &PolicyBenchOptions) -> Result<(), String> {
    let arms = datasets(o)?;
    let variants = [Variant::Static, Variant::Dmg];
    let mut table: Vec<(Algo, usize, [Cell; 2])> = Vec::new();
    for (ai, &algo) in o.algos.iter().enumerate() {
        let epochs = o.epochs.get(ai).or(o.epochs.last()).copied().unwrap_or(50);
        for (arm_i, arm) in arms.iter().enumerate() {
            let mut cells: [Cell; 2] = Default::default();
            for &seed in &o.seeds {
                let train = TrainConfig {
                    algo,
                    epochs,
                    seed,
                    ..TrainConfig::default()
                };
                let t0 = Instant::now();
                let mut trainer = Trainer::new(&arm.bytes, &train).map_err(|e| e.to_string())?;
                let p = trainer.run_to_end(|_| {}).map_err(|e| e.to_string())?;
                let train_s = t0.elapsed().as_secs_f64();
                let policy = trainer
                    .policy()
                    .and_then(|p| p.to_safetensors())
                    .map_err(|e| e.to_string())?;
                for (vi, &variant) in variants.iter().enumerate() {
                    let ev = Evaluator::new(&EvalConfig {
                        task: o.task.clone(),
                        variant,
                        episodes: o.eval_episodes,
                        ..EvalConfig::default()
                    })
                    .map_err(|e| e.to_string())?;
                    let t1 = Instant::now();
                    let s = evaluate(&policy, &ev, u64::from(o.eval_episodes), o.threads, |_| {})?;
                    let c = &mut cells[vi];
                    c.k += s.successes;
                    c.n += s.episodes;
                    c.per_seed.push(s.successes);
                    println!(
                        "{}",
                        serde_json::json!({
                            "task": o.task, "algo": algo.as_str(), "data": arm.id,
                            "train_seed": seed, "epochs": epochs, "variant": variant.as_str(),
                            "successes": s.successes, "episodes": s.episodes,
                            "success_rate": s.success_rate, "ci95": s.ci95,
                            "failure_reasons": s.failure_reasons,
                            "dynamic_episodes": s.dynamic_episodes,
                            "dynamic_successes": s.dynamic_successes,
                            "train_loss": p.train_loss, "valid_loss": p.valid_loss,
                            "train_seconds": train_s,
                            "eval_episodes_per_s": s.episodes as f64 / t1.elapsed().as_secs_f64().max(1e-9),
                        })
                    );
                }
            }
            table.push((algo, arm_i, cells));
        }
    }
    println!(
        "\n| {}: policy | training data | static | dmg | per seed (static / dmg) |\n| --- | --- | --- | --- | --- |",
        o.task
    );
    for (algo, arm_i, cells) in &table {
        let cell = |c: &Cell| {
            let [lo, hi] = dmgen::stats::wilson(c.k, c.n);
            format!(
                "{:.0}% [{:.0}, {:.0}] ({}/{})",
                100.0 * c.k as f64 / c.n.max(1) as f64,
                100.0 * lo,
                100.0 * hi,
                c.k,
                c.n
            )
        };
        let seeds: Vec<String> = (0..o.seeds.len())
            .map(|i| format!("{} / {}", cells[0].per_seed[i], cells[1].per_seed[i]))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} |",
            match algo {
                Algo::Bc => "BC",
                Algo::BcRnn => "BC-RNN",
            },
            arms[*arm_i].label,
            cell(&cells[0]),
            cell(&cells[1]),
            seeds.join(", ")
        );
    }
    Ok(())
}
