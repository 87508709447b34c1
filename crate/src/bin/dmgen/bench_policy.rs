//! `dmgen bench policy`: the paper's comparison as a table this tool measures. For each
//! task, policies are trained on
//!   (a) the 1 source demo, (b) 10 source demos (the scripted recorder, seeds 0-9),
//!   (c) N D-MG episodes and (d) N MimicGen episodes generated from the one built-in demo
//!       (generation variant `dmg`: in half the episodes the picked object slides while
//!       the arm reaches for it; both methods with the same assists, the same action noise
//!       and a 10x attempt budget),
//! with each algorithm and training seed, all with the same budget of gradient steps.
//! During training the policy runs on validation scenes (seed 2,000,000) at a few
//! checkpoints; the best of them (robomimic's protocol) and the final one (D-MG's) are
//! each evaluated on E test episodes of `static` and of `dmg` (seed 1,000,000).
//!
//! One JSON line per trained policy goes to stdout and to `--log` as it finishes; a run
//! with `--log` skips the policies the log already holds, so a long table can be resumed.
//! At the end, a markdown table per task pooled over seeds with 95% Wilson intervals.

use crate::generate_cmd::generate_with_failed;
use crate::policy_cmd::{evaluate, train_with_validation, CurvePoint, Validation, VALIDATION_SEED};
use dmgen::config::{Assists, DemoRef, GenerationConfig, Method, Variant};
use dmgen::generate::source_demos_dataset;
use dmgen::policy::eval::{EvalConfig, EvalSummary, Evaluator};
use dmgen::policy::{Algo, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::time::Instant;

pub struct PolicyBenchOptions {
    pub tasks: Vec<String>,
    /// Generated episodes per method.
    pub episodes: u32,
    /// Test episodes per variant and checkpoint.
    pub eval_episodes: u32,
    pub seeds: Vec<u64>,
    pub algos: Vec<Algo>,
    /// Gradient steps per algorithm (the last one repeats).
    pub steps: Vec<u64>,
    /// Validation rollouts: checkpoints per run and episodes per checkpoint.
    pub checkpoints: u64,
    pub validate_episodes: u32,
    /// Std of the action noise in generation (both methods).
    pub action_noise: f64,
    /// Data arms to train on (`demo1`, `demo10`, `dmg`, `mimicgen`).
    pub arms: Vec<String>,
    pub threads: usize,
    /// Keep the datasets here (file names `<task>_<arm>.hdf5`), and reuse them.
    pub keep: Option<String>,
    /// Append each finished policy's JSON line here; skip those already in it.
    pub log: Option<String>,
}

pub const ARMS: [&str; 4] = ["demo1", "demo10", "dmg", "mimicgen"];

struct Arm {
    id: String,
    label: String,
    bytes: Vec<u8>,
}

fn dataset(o: &PolicyBenchOptions, task: &str, id: &str) -> Result<Arm, String> {
    let path = o.keep.as_ref().map(|d| format!("{d}/{task}_{id}.hdf5"));
    let base = GenerationConfig {
        task: task.into(),
        demo: DemoRef::Builtin { id: task.into() },
        ..GenerationConfig::default()
    };
    let (count, method, name) = match id {
        "demo1" => (1, None, "source demo"),
        "demo10" => (10, None, "source demos"),
        "dmg" => (o.episodes, Some(Method::Dmg), "D-MG episodes"),
        "mimicgen" => (o.episodes, Some(Method::MimicGen), "MimicGen episodes"),
        other => {
            return Err(format!(
                "unknown data arm '{other}' (known: {})",
                ARMS.join(", ")
            ))
        }
    };
    let label = format!("{count} {name}");
    if let Some(p) = &path {
        if let Ok(bytes) = std::fs::read(p) {
            eprintln!("{task}: {label} from {p}");
            return Ok(Arm {
                id: id.into(),
                label,
                bytes,
            });
        }
    }
    let bytes = match method {
        None => {
            source_demos_dataset(&base, count)
                .map_err(|e| format!("{task}: {e}"))?
                .bytes
        }
        Some(method) => {
            let cfg = GenerationConfig {
                variant: Variant::Dmg,
                method,
                episodes: count,
                max_attempts: Some(count.saturating_mul(10)),
                assists: Assists {
                    action_noise: o.action_noise,
                    ..Assists::default()
                },
                ..base
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
                "{task}: {name}: kept {} of {} attempts in {:.0} s",
                run.kept,
                run.attempts,
                t0.elapsed().as_secs_f64()
            );
            out.into_inner()
        }
    };
    if let Some(p) = &path {
        std::fs::create_dir_all(o.keep.as_deref().unwrap_or("."))
            .map_err(|e| format!("cannot create the folder of '{p}': {e}"))?;
        std::fs::write(p, &bytes).map_err(|e| format!("cannot write '{p}': {e}"))?;
    }
    Ok(Arm {
        id: id.into(),
        label,
        bytes,
    })
}

/// One checkpoint's test results under one variant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestResult {
    pub checkpoint: String,
    pub variant: String,
    pub successes: u64,
    pub episodes: u64,
    pub funnel: Vec<(String, u64)>,
    pub failure_reasons: BTreeMap<String, u64>,
    pub events: BTreeMap<String, u64>,
}

/// One trained policy: what the log holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyLine {
    pub task: String,
    pub algo: String,
    pub data: String,
    pub data_label: String,
    pub train_seed: u64,
    pub steps: u64,
    pub epochs: f64,
    pub train_episodes: usize,
    pub train_seconds: f64,
    pub samples_per_s: f64,
    pub final_train_loss: Option<f64>,
    pub final_valid_loss: Option<f64>,
    pub best_steps: u64,
    pub curve: Vec<CurvePoint>,
    pub action_noise: f64,
    pub tests: Vec<TestResult>,
}

impl PolicyLine {
    fn key(&self) -> (String, String, String, u64) {
        (
            self.task.clone(),
            self.algo.clone(),
            self.data.clone(),
            self.train_seed,
        )
    }
}

fn read_log(path: &str) -> Result<Vec<PolicyLine>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read '{path}': {e}")),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("'{path}' line {}: {e}", i + 1)))
        .collect()
}

fn test(
    file: &[u8],
    checkpoint: &str,
    task: &str,
    variant: Variant,
    o: &PolicyBenchOptions,
) -> Result<TestResult, String> {
    let ev = Evaluator::new(&EvalConfig {
        task: task.into(),
        variant,
        episodes: o.eval_episodes,
        ..EvalConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let s: EvalSummary = evaluate(file, &ev, u64::from(o.eval_episodes), o.threads, |_| {})?;
    Ok(TestResult {
        checkpoint: checkpoint.into(),
        variant: variant.as_str().into(),
        successes: s.successes,
        episodes: s.episodes,
        funnel: s.funnel,
        failure_reasons: s.failure_reasons,
        events: s.events,
    })
}

fn train_one(
    o: &PolicyBenchOptions,
    task: &str,
    arm: &Arm,
    algo: Algo,
    steps: u64,
    seed: u64,
) -> Result<PolicyLine, String> {
    let cfg = TrainConfig {
        algo,
        steps,
        seed,
        ..TrainConfig::default()
    };
    let validation = Validation {
        every: steps.div_ceil(o.checkpoints.max(1)),
        evaluator: Evaluator::new(&EvalConfig {
            task: task.into(),
            variant: Variant::Dmg,
            episodes: o.validate_episodes,
            seed: VALIDATION_SEED,
            ..EvalConfig::default()
        })
        .map_err(|e| e.to_string())?,
        threads: o.threads,
    };
    let run = train_with_validation(&arm.bytes, &cfg, Some(&validation), |_, point| {
        if let Some(c) = point {
            eprintln!(
                "  {task} {} {} seed {seed}: step {}  validation {}/{}  ({:.0} s)",
                algo.as_str(),
                arm.id,
                c.steps,
                c.successes,
                c.episodes,
                c.seconds
            );
        }
    })?;
    let train_seconds = run.curve.last().map_or(run.seconds, |c| c.seconds);
    let mut tests = Vec::new();
    for (name, file) in [("best", &run.best_policy), ("final", &run.final_policy)] {
        for variant in [Variant::Static, Variant::Dmg] {
            tests.push(test(file, name, task, variant, o)?);
        }
    }
    let p = &run.progress;
    Ok(PolicyLine {
        task: task.into(),
        algo: algo.as_str().into(),
        data: arm.id.clone(),
        data_label: arm.label.clone(),
        train_seed: seed,
        steps: p.steps,
        epochs: p.epoch,
        train_episodes: run.train_episodes,
        train_seconds,
        samples_per_s: p.samples as f64 / run.seconds.max(1e-9),
        final_train_loss: p.train_loss,
        final_valid_loss: p.valid_loss,
        best_steps: run.best_steps,
        curve: run.curve,
        action_noise: o.action_noise,
        tests,
    })
}

pub fn run_policy(o: &PolicyBenchOptions) -> Result<(), String> {
    let mut lines = match &o.log {
        Some(p) => read_log(p)?,
        None => Vec::new(),
    };
    let mut log = match &o.log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("cannot open '{p}': {e}"))?,
        ),
        None => None,
    };
    for task in &o.tasks {
        for arm_id in &o.arms {
            let todo: Vec<(Algo, u64, u64)> = o
                .algos
                .iter()
                .enumerate()
                .flat_map(|(ai, &algo)| {
                    let steps = o
                        .steps
                        .get(ai)
                        .or(o.steps.last())
                        .copied()
                        .unwrap_or(20_000);
                    o.seeds.iter().map(move |&s| (algo, steps, s))
                })
                .filter(|(algo, _, s)| {
                    !lines.iter().any(|l| {
                        l.key() == (task.clone(), algo.as_str().into(), arm_id.clone(), *s)
                    })
                })
                .collect();
            if todo.is_empty() {
                continue;
            }
            let arm = dataset(o, task, arm_id)?;
            for (algo, steps, seed) in todo {
                let line = train_one(o, task, &arm, algo, steps, seed)?;
                let json = serde_json::to_string(&line).map_err(|e| e.to_string())?;
                println!("{json}");
                if let Some(f) = log.as_mut() {
                    writeln!(f, "{json}").map_err(|e| format!("cannot write the log: {e}"))?;
                }
                lines.push(line);
            }
        }
    }
    for task in &o.tasks {
        print_table(task, &lines, o);
    }
    Ok(())
}

/// `k/n` pooled as a percentage with its Wilson interval.
fn rate(k: u64, n: u64) -> String {
    if n == 0 {
        return "-".into();
    }
    let [lo, hi] = dmgen::stats::wilson(k, n);
    format!(
        "{:.0}% [{:.0}, {:.0}]",
        100.0 * k as f64 / n as f64,
        100.0 * lo,
        100.0 * hi
    )
}

fn print_table(task: &str, lines: &[PolicyLine], o: &PolicyBenchOptions) {
    println!(
        "\n| {task}: policy | training data | static, best | static, final | dmg, best | dmg, final | successes per seed (static / dmg, best) | steps (best at) | training time per policy |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for algo in &o.algos {
        for arm in &o.arms {
            let rows: Vec<&PolicyLine> = lines
                .iter()
                .filter(|l| l.task == task && l.algo == algo.as_str() && &l.data == arm)
                .filter(|l| o.seeds.contains(&l.train_seed))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let pooled = |ckpt: &str, variant: &str| {
                let (mut k, mut n) = (0, 0);
                for l in &rows {
                    for t in &l.tests {
                        if t.checkpoint == ckpt && t.variant == variant {
                            k += t.successes;
                            n += t.episodes;
                        }
                    }
                }
                rate(k, n)
            };
            let per_seed: Vec<String> = rows
                .iter()
                .map(|l| {
                    let get = |v: &str| {
                        l.tests
                            .iter()
                            .find(|t| t.checkpoint == "best" && t.variant == v)
                            .map_or(0, |t| t.successes)
                    };
                    format!("{} / {}", get("static"), get("dmg"))
                })
                .collect();
            let best_at: Vec<String> = rows.iter().map(|l| l.best_steps.to_string()).collect();
            let secs: f64 = rows.iter().map(|l| l.train_seconds).sum::<f64>() / rows.len() as f64;
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} ({}) | {:.0} s |",
                algo.label(),
                rows[0].data_label,
                pooled("best", "static"),
                pooled("final", "static"),
                pooled("best", "dmg"),
                pooled("final", "dmg"),
                per_seed.join(", "),
                rows[0].steps,
                best_at.join(", "),
                secs
            );
        }
    }
}
