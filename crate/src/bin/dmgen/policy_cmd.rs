//! `dmgen train` and `dmgen eval`: behaviour cloning on a dataset, and closed-loop
//! evaluation of the trained policy in the task's physics.
//!
//! `train` prints progress on stderr and one JSON line on stdout (final losses, sizes,
//! speed). `eval` runs episodes on a few threads, handed back in index order, so its
//! numbers do not depend on `--threads`; progress on stderr, a JSON summary as the last
//! stdout line.

use crate::generate_cmd::VariantArg;
use dmgen::generate::parallel::{run_ordered, Flow};
use dmgen::policy::eval::{EvalConfig, EvalSummary, Evaluator, DEFAULT_EVAL_SEED};
use dmgen::policy::{Algo, Policy, TrainConfig, Trainer};
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgoArg {
    /// robomimic BC: an MLP
    Bc,
    /// robomimic BC-RNN: an LSTM over 10-step sequences
    BcRnn,
}

/// `dmgen train`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Observations: robot0_eef_pos, robot0_eef_quat, robot0_gripper_qpos and object (robomimic's low-dim keys), \
normalised per key with the training split's mean and std; actions in the dataset's convention. \
Training uses mask/train, the validation loss mask/valid. The same data, settings and seed give the same weights."
)]
pub struct TrainArgs {
    /// robomimic HDF5 dataset (this tool's, or any with the same keys)
    #[arg(long, value_name = "D.hdf5")]
    pub data: String,
    /// Algorithm
    #[arg(long, value_enum, default_value = "bc")]
    pub algo: AlgoArg,
    /// Passes over the training split, 1-10000
    #[arg(long, default_value_t = 50)]
    pub epochs: u32,
    /// Samples (bc) or sequences (bc_rnn) per step
    #[arg(long, default_value_t = 256)]
    pub batch_size: u32,
    /// Learning rate (Adam)
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Hidden layer sizes, comma-separated [default: 256,256]
    #[arg(long, value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// GMM action head components (0: squared-error regression) [default: bc 0, bc-rnn 5]
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub gmm_modes: Option<u32>,
    /// Observation keys, comma-separated [default: robomimic's low-dim four]
    #[arg(long, value_delimiter = ',')]
    pub obs_keys: Vec<String>,
    /// Seed of the initial weights and the batch order
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the policy (safetensors with its config in the metadata) here
    #[arg(long, value_name = "POLICY.safetensors")]
    pub out: String,
    /// No progress on stderr
    #[arg(long)]
    pub quiet: bool,
}

impl From<AlgoArg> for Algo {
    fn from(a: AlgoArg) -> Algo {
        match a {
            AlgoArg::Bc => Algo::Bc,
            AlgoArg::BcRnn => Algo::BcRnn,
        }
    }
}

pub fn train(a: TrainArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.data).map_err(|e| format!("cannot read '{}': {e}", a.data))?;
    let cfg = TrainConfig {
        algo: a.algo.into(),
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        hidden: a.hidden,
        obs_keys: a.obs_keys,
        gmm_modes: a.gmm_modes,
        seed: a.seed,
        ..TrainConfig::default()
    };
    let t0 = Instant::now();
    let mut trainer = Trainer::new(&bytes, &cfg).map_err(|e| format!("{}: {e}", a.data))?;
    let c = trainer.config().clone();
    if !a.quiet {
        eprintln!(
            "training {} {:?}{} on {} episodes ({} frames) of {}; {} steps per epoch",
            c.algo.as_str(),
            c.layers,
            if c.gmm_modes > 0 {
                format!(" with a {}-mode GMM head", c.gmm_modes)
            } else {
                String::new()
            },
            c.train_episodes,
            c.train_frames,
            a.data,
            trainer.steps_per_epoch()
        );
    }
    let quiet = a.quiet;
    let p = trainer
        .run_to_end(|p| {
            if !quiet {
                eprintln!(
                    "epoch {}/{}  train {:.5}{}  {:.0} samples/s",
                    p.epoch,
                    p.epochs,
                    p.train_loss.unwrap_or(f64::NAN),
                    p.valid_loss
                        .map(|v| format!("  valid {v:.5}"))
                        .unwrap_or_default(),
                    p.samples as f64 / t0.elapsed().as_secs_f64().max(1e-9)
                );
            }
        })
        .map_err(|e| e.to_string())?;
    let seconds = t0.elapsed().as_secs_f64();
    let policy = trainer.policy().map_err(|e| e.to_string())?;
    let file = policy.to_safetensors().map_err(|e| e.to_string())?;
    let partial = format!("{}.partial", a.out);
    std::fs::write(&partial, &file).map_err(|e| format!("cannot write '{partial}': {e}"))?;
    std::fs::rename(&partial, &a.out).map_err(|e| format!("cannot write '{}': {e}", a.out))?;
    if !a.quiet {
        eprintln!("policy written to {} ({} bytes)", a.out, file.len());
    }
    println!(
        "{}",
        serde_json::json!({
            "algo": c.algo.as_str(),
            "epochs": p.epoch,
            "steps": p.steps,
            "samples": p.samples,
            "train_loss": p.train_loss,
            "valid_loss": p.valid_loss,
            "train_episodes": c.train_episodes,
            "train_frames": c.train_frames,
            "seconds": seconds,
            "samples_per_s": p.samples as f64 / seconds.max(1e-9),
            "out": a.out,
            "bytes": file.len(),
            "sha256": dmgen::config::sha256_hex(&file),
        })
    );
    Ok(())
}

/// `dmgen eval`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Episode i starts from the scene of generation attempt i with the same seed; the default seed (1000000) \
keeps evaluation scenes apart from generation's (seed 0). Results do not depend on --threads."
)]
pub struct EvalArgs {
    /// Policy file written by dmgen train
    #[arg(long, value_name = "POLICY.safetensors")]
    pub policy: String,
    /// Task id [default: the task of the policy's dataset]
    #[arg(long)]
    pub task: Option<String>,
    /// Scene dynamics
    #[arg(long, value_enum, default_value = "static")]
    pub variant: VariantArg,
    /// Episodes, 1-100000
    #[arg(long, default_value_t = 50)]
    pub episodes: u32,
    /// Seed of the evaluation scenes
    #[arg(long, default_value_t = DEFAULT_EVAL_SEED)]
    pub seed: u64,
    /// Worker threads [default: one per logical core]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// No progress on stderr
    #[arg(long)]
    pub quiet: bool,
}

pub fn eval(a: EvalArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.policy).map_err(|e| format!("cannot read '{}': {e}", a.policy))?;
    let policy = Policy::from_safetensors(&bytes).map_err(|e| format!("{}: {e}", a.policy))?;
    let task = a
        .task
        .clone()
        .or_else(|| policy.config().task.clone())
        .ok_or("the policy's dataset names no task: give --task")?;
    let cfg = EvalConfig {
        task,
        variant: a.variant.into(),
        episodes: a.episodes,
        seed: a.seed,
        ..EvalConfig::default()
    };
    let ev = Evaluator::new(&cfg).map_err(|e| e.to_string())?;
    ev.check(&policy).map_err(|e| e.to_string())?;
    let threads = a
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let t0 = Instant::now();
    let n = u64::from(cfg.episodes);
    let mut last_print = Instant::now();
    let quiet = a.quiet;
    let summary = evaluate(&bytes, &ev, n, threads, |summary| {
        if !quiet && (last_print.elapsed().as_secs_f64() > 1.0 || summary.episodes == n) {
            last_print = Instant::now();
            eprintln!(
                "{}/{} episodes  success {:.1}%  {:.2} episodes/s",
                summary.episodes,
                n,
                100.0 * summary.success_rate,
                summary.episodes as f64 / t0.elapsed().as_secs_f64().max(1e-9)
            );
        }
    })?;
    let seconds = t0.elapsed().as_secs_f64();
    let mut v = serde_json::to_value(&summary).map_err(|e| e.to_string())?;
    if let Some(o) = v.as_object_mut() {
        o.insert("task".into(), cfg.task.clone().into());
        o.insert("variant".into(), cfg.variant.as_str().into());
        o.insert("seed".into(), cfg.seed.into());
        o.insert("algo".into(), policy.config().algo.as_str().into());
        o.insert("seconds".into(), seconds.into());
        o.insert(
            "episodes_per_s".into(),
            (summary.episodes as f64 / seconds.max(1e-9)).into(),
        );
        o.insert("threads".into(), threads.into());
    }
    println!("{v}");
    Ok(())
}

/// Evaluate the policy file `bytes` on episodes `0..n` of `ev` on `threads` threads; the
/// summary (and what `progress` sees after each episode) is in index order, so it does not
/// depend on `threads`.
pub fn evaluate(
    bytes: &[u8],
    ev: &Evaluator,
    n: u64,
    threads: usize,
    mut progress: impl FnMut(&EvalSummary),
) -> Result<EvalSummary, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    // One policy per thread (a recurrent policy carries state), built on first use and
    // tagged with this call, so a thread reused by a later call never runs an older policy.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static LOCAL: std::cell::RefCell<Option<(u64, Policy)>> = const { std::cell::RefCell::new(None) };
    }
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut summary = EvalSummary::default();
    let mut error: Option<String> = None;
    run_ordered(
        threads,
        n,
        |i| {
            LOCAL.with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.as_ref().is_none_or(|(c, _)| *c != call) {
                    *slot = Some((
                        call,
                        Policy::from_safetensors(bytes).map_err(|e| e.to_string())?,
                    ));
                }
                let (_, p) = slot.as_mut().ok_or("no policy")?;
                ev.episode(p, i).map_err(|e| e.to_string())
            })
        },
        |_, r| match r {
            Ok(e) => {
                summary.add(&e);
                progress(&summary);
                Flow::Continue
            }
            Err(e) => {
                error = Some(e);
                Flow::Stop
            }
        },
    );
    match error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}
