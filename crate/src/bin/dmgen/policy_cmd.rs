//! `dmgen train` and `dmgen eval`: behaviour cloning on a dataset, and closed-loop
//! evaluation of the trained policy in the task's physics.
//!
//! `train` prints progress on stderr and one JSON line on stdout (final losses, sizes,
//! speed). `eval` runs episodes on a few threads, handed back in index order, so its
//! numbers do not depend on `--threads`; progress on stderr, a JSON summary as the last
//! stdout line.

use crate::generate_cmd::VariantArg;
use dmgen::generate::parallel::{run_ordered, Flow};
use dmgen::policy::eval::{EvalConfig, EvalEpisode, EvalSummary, Evaluator, DEFAULT_EVAL_SEED};
use dmgen::policy::{ActionSpace, Algo, InputKind, LrSchedule, Policy, TrainConfig, Trainer};
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgoArg {
    /// robomimic BC: an MLP from one observation to one action
    Bc,
    /// robomimic BC-RNN: an LSTM over 10-step sequences
    BcRnn,
    /// BC with action chunks: 2 observations in, 16 actions out, 8 executed
    BcChunk,
    /// Diffusion Policy: the 16-action chunk drawn from noise by a denoiser (DDIM)
    Diffusion,
}

impl From<AlgoArg> for Algo {
    fn from(a: AlgoArg) -> Algo {
        match a {
            AlgoArg::Bc => Algo::Bc,
            AlgoArg::BcRnn => Algo::BcRnn,
            AlgoArg::BcChunk => Algo::BcChunk,
            AlgoArg::Diffusion => Algo::Diffusion,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputArg {
    /// The policy stage's features: 6-D hand rotation, headings modulo each object's symmetry, relative vectors
    Features,
    /// The dataset's observation keys as they are (robomimic's input)
    Keys,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionSpaceArg {
    /// The hand's target pose: position, 6-D rotation, gripper (from the file's absolute actions)
    Absolute,
    /// The dataset's actions as they are (delta actions by default)
    Dataset,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictionArg {
    /// The clean action chunk (measured far ahead at this tool's budgets)
    Sample,
    /// The noise (Diffusion Policy's default)
    Epsilon,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleArg {
    /// The same learning rate throughout
    Constant,
    /// Linear warm-up, then cosine decay to 0
    Cosine,
}

/// `dmgen train`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Budgets are gradient steps (--steps), the same for every dataset size; --epochs sets the budget in passes \
over the data instead. Training uses mask/train, the validation loss mask/valid. With --validate-every N the policy is \
run in closed loop every N steps on validation scenes (seed 2000000, neither generation's nor evaluation's) and the best \
one is written too (OUT with .best before the extension). The same data, settings and seed give the same weights."
)]
pub struct TrainArgs {
    /// robomimic HDF5 dataset (this tool's, or any with the same keys)
    #[arg(long, value_name = "D.hdf5")]
    pub data: String,
    /// Algorithm
    #[arg(long, value_enum, default_value = "bc-chunk")]
    pub algo: AlgoArg,
    /// Training budget in gradient steps, 1-10000000
    #[arg(long, default_value_t = 5_000)]
    pub steps: u64,
    /// Budget in passes over the training split instead of --steps, 1-10000
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Samples (bc, bc-chunk, diffusion) or sequences (bc-rnn) per step
    #[arg(long, default_value_t = 256)]
    pub batch_size: u32,
    /// Learning rate (AdamW)
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Learning-rate schedule [default: bc, bc-rnn constant; bc-chunk, diffusion cosine]
    #[arg(long, value_enum)]
    pub lr_schedule: Option<ScheduleArg>,
    /// Warm-up steps of the cosine schedule (at most a tenth of the budget)
    #[arg(long, default_value_t = 500)]
    pub warmup: u32,
    /// AdamW weight decay
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Hidden layer sizes, comma-separated [default: bc 1024,1024; bc-rnn 400,400; bc-chunk 512,512,512; diffusion 256,256,256,256]
    #[arg(long, value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// GMM action head components (bc, bc-rnn; 0: squared-error regression) [default: bc 0, bc-rnn 5]
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub gmm_modes: Option<u32>,
    /// What the network sees
    #[arg(long, value_enum, default_value = "features")]
    pub input: InputArg,
    /// Observation keys for --input keys, comma-separated [default: robomimic's low-dim four]
    #[arg(long, value_delimiter = ',')]
    pub obs_keys: Vec<String>,
    /// Observations a chunked policy sees [default: 2]
    #[arg(long)]
    pub obs_horizon: Option<u32>,
    /// Actions a chunked policy predicts [default: 16]
    #[arg(long)]
    pub chunk: Option<u32>,
    /// Actions executed per prediction [default: 8]
    #[arg(long)]
    pub exec: Option<u32>,
    /// What the network predicts: absolute target poses (position, 6-D rotation, gripper) or the dataset's actions as they are
    #[arg(long, value_enum, default_value = "absolute")]
    pub action_space: ActionSpaceArg,
    /// Diffusion: what the denoiser predicts
    #[arg(long, value_enum, default_value = "sample")]
    pub prediction: PredictionArg,
    /// Diffusion: DDIM steps when acting (a divisor of 100)
    #[arg(long, default_value_t = 10)]
    pub denoise_steps: u32,
    /// Seed of the initial weights, the batch order and the diffusion noise
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the policy (safetensors with its config in the metadata) here
    #[arg(long, value_name = "POLICY.safetensors")]
    pub out: String,
    /// Run validation rollouts every N gradient steps (0: never)
    #[arg(long, default_value_t = 0)]
    pub validate_every: u64,
    /// Validation episodes per checkpoint
    #[arg(long, default_value_t = 20)]
    pub validate_episodes: u32,
    /// Scene dynamics of the validation rollouts
    #[arg(long, value_enum, default_value = "dmg")]
    pub validate_variant: VariantArg,
    /// Worker threads of the validation rollouts [default: one per logical core]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// No progress on stderr
    #[arg(long)]
    pub quiet: bool,
}

impl TrainArgs {
    /// The training settings these arguments give.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            algo: self.algo.into(),
            steps: self.steps,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            lr_schedule: self.lr_schedule.map(|s| match s {
                ScheduleArg::Constant => LrSchedule::Constant,
                ScheduleArg::Cosine => LrSchedule::Cosine,
            }),
            warmup: self.warmup,
            weight_decay: self.weight_decay,
            hidden: self.hidden.clone(),
            obs_keys: self.obs_keys.clone(),
            gmm_modes: self.gmm_modes,
            input: Some(match self.input {
                InputArg::Features => InputKind::Features,
                InputArg::Keys => InputKind::Keys,
            }),
            obs_horizon: self.obs_horizon.unwrap_or(0),
            chunk: self.chunk.unwrap_or(0),
            exec: self.exec.unwrap_or(0),
            denoise_steps: self.denoise_steps,
            prediction: match self.prediction {
                PredictionArg::Epsilon => dmgen::policy::diffusion::Prediction::Epsilon,
                PredictionArg::Sample => dmgen::policy::diffusion::Prediction::Sample,
            },
            action_space: Some(match self.action_space {
                ActionSpaceArg::Absolute => ActionSpace::Absolute,
                ActionSpaceArg::Dataset => ActionSpace::Dataset,
            }),
            seed: self.seed,
            ..TrainConfig::default()
        }
    }
}

/// The seed of validation scenes (generation's default is 0, evaluation's 1,000,000).
pub const VALIDATION_SEED: u64 = 2_000_000;

/// One point of a training curve: losses, and the validation rollouts' successes.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub steps: u64,
    pub train_loss: Option<f64>,
    pub valid_loss: Option<f64>,
    /// Validation rollouts run at this point, and how many succeeded.
    pub episodes: u64,
    pub successes: u64,
    pub seconds: f64,
}

/// A finished training run: the final policy, the best checkpoint by validation
/// success (the final one when there were no rollouts), and the curve.
pub struct TrainedRun {
    pub final_policy: Vec<u8>,
    pub best_policy: Vec<u8>,
    pub best_steps: u64,
    pub best_successes: u64,
    pub curve: Vec<CurvePoint>,
    pub progress: dmgen::policy::TrainProgress,
    pub seconds: f64,
    pub train_episodes: usize,
    pub train_frames: usize,
}

/// Validation rollouts of a training run.
pub struct Validation {
    pub every: u64,
    pub evaluator: Evaluator,
    pub threads: usize,
}

/// Train on `bytes` with `cfg`; with `validation`, run the policy on validation scenes
/// every `every` steps (and at the end) and keep the best (the earliest of equals).
pub fn train_with_validation(
    bytes: &[u8],
    cfg: &TrainConfig,
    validation: Option<&Validation>,
    mut report: impl FnMut(&dmgen::policy::TrainProgress, Option<&CurvePoint>),
) -> Result<TrainedRun, String> {
    let t0 = Instant::now();
    let mut trainer = Trainer::new(bytes, cfg).map_err(|e| e.to_string())?;
    let c = trainer.config().clone();
    let mut curve = Vec::new();
    let mut best: Option<(u64, u64, Vec<u8>)> = None;
    let mut next_check = validation.map(|v| v.every.max(1)).unwrap_or(u64::MAX);
    let p = loop {
        let until = next_check.saturating_sub(trainer_steps(&trainer));
        let p = trainer.run(until.max(1)).map_err(|e| e.to_string())?;
        let mut point = None;
        if let Some(v) = validation {
            if p.steps >= next_check || p.done {
                next_check = p.steps + v.every.max(1);
                let file = trainer
                    .policy()
                    .and_then(|p| p.to_safetensors())
                    .map_err(|e| e.to_string())?;
                let n = u64::from(v.evaluator.episodes());
                let s = evaluate(&file, &v.evaluator, n, v.threads, |_| {})?;
                let cp = CurvePoint {
                    steps: p.steps,
                    train_loss: p.train_loss,
                    valid_loss: p.valid_loss,
                    episodes: s.episodes,
                    successes: s.successes,
                    seconds: t0.elapsed().as_secs_f64(),
                };
                if best.as_ref().is_none_or(|b| s.successes > b.1) {
                    best = Some((p.steps, s.successes, file));
                }
                curve.push(cp);
                point = curve.last();
            }
        }
        report(&p, point);
        if p.done {
            break p;
        }
    };
    let final_policy = trainer
        .policy()
        .and_then(|p| p.to_safetensors())
        .map_err(|e| e.to_string())?;
    let (best_steps, best_successes, best_policy) =
        best.unwrap_or((p.steps, 0, final_policy.clone()));
    Ok(TrainedRun {
        final_policy,
        best_policy,
        best_steps,
        best_successes,
        curve,
        progress: p,
        seconds: t0.elapsed().as_secs_f64(),
        train_episodes: c.train_episodes,
        train_frames: c.train_frames,
    })
}

fn trainer_steps(t: &Trainer) -> u64 {
    t.steps()
}

/// `OUT` with `.best` before its extension.
pub fn best_path(out: &str) -> String {
    match out.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => format!("{stem}.best.{ext}"),
        _ => format!("{out}.best"),
    }
}

fn write_atomic(path: &str, bytes: &[u8]) -> Result<(), String> {
    let partial = format!("{path}.partial");
    std::fs::write(&partial, bytes).map_err(|e| format!("cannot write '{partial}': {e}"))?;
    std::fs::rename(&partial, path).map_err(|e| format!("cannot write '{path}': {e}"))
}

pub fn default_threads(t: Option<u64>) -> usize {
    t.map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

pub fn train(a: TrainArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.data).map_err(|e| format!("cannot read '{}': {e}", a.data))?;
    let cfg = a.config();
    let validation = if a.validate_every > 0 {
        let task = dmgen::policy::data::dataset_task_spec(&bytes)
            .map_err(|e| format!("{}: {e}", a.data))?
            .ok_or("the dataset names no task of this tool: validation rollouts need one")?;
        let mut generation = dmgen::config::GenerationConfig::default();
        generation.set_task(task);
        let ev = Evaluator::new(&EvalConfig {
            task: generation.task,
            custom_task: generation.custom_task,
            variant: a.validate_variant.into(),
            episodes: a.validate_episodes,
            seed: VALIDATION_SEED,
            ..EvalConfig::default()
        })
        .map_err(|e| e.to_string())?;
        Some(Validation {
            every: a.validate_every,
            evaluator: ev,
            threads: default_threads(a.threads),
        })
    } else {
        None
    };
    let quiet = a.quiet;
    let t0 = Instant::now();
    let mut announced = false;
    let run = train_with_validation(&bytes, &cfg, validation.as_ref(), |p, point| {
        if quiet {
            return;
        }
        if !announced {
            announced = true;
            eprintln!(
                "training {} for {} steps ({:.1} passes over the data)",
                cfg.algo.as_str(),
                p.total_steps,
                p.epochs
            );
        }
        let val = point
            .map(|c| format!("  validation {}/{}", c.successes, c.episodes))
            .unwrap_or_default();
        eprintln!(
            "step {}/{}  train {:.5}{}{}  {:.0} samples/s",
            p.steps,
            p.total_steps,
            p.train_loss.unwrap_or(f64::NAN),
            p.valid_loss
                .map(|v| format!("  valid {v:.5}"))
                .unwrap_or_default(),
            val,
            p.samples as f64 / t0.elapsed().as_secs_f64().max(1e-9)
        );
    })
    .map_err(|e| format!("{}: {e}", a.data))?;
    write_atomic(&a.out, &run.final_policy)?;
    let best_out = validation.as_ref().map(|_| best_path(&a.out));
    if let Some(b) = &best_out {
        write_atomic(b, &run.best_policy)?;
    }
    if !a.quiet {
        eprintln!(
            "policy written to {} ({} bytes)",
            a.out,
            run.final_policy.len()
        );
    }
    let p = &run.progress;
    println!(
        "{}",
        serde_json::json!({
            "algo": cfg.algo.as_str(),
            "steps": p.steps,
            "epochs": p.epoch,
            "samples": p.samples,
            "train_loss": p.train_loss,
            "valid_loss": p.valid_loss,
            "train_episodes": run.train_episodes,
            "train_frames": run.train_frames,
            "seconds": run.seconds,
            "samples_per_s": p.samples as f64 / run.seconds.max(1e-9),
            "out": a.out,
            "bytes": run.final_policy.len(),
            "sha256": dmgen::config::sha256_hex(&run.final_policy),
            "best_out": best_out,
            "best_steps": run.best_steps,
            "best_successes": run.best_successes,
            "curve": run.curve,
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
    /// A task file (JSON, docs/tasks.md) to evaluate in, instead of --task
    #[arg(long, value_name = "T.json", conflicts_with = "task")]
    pub task_file: Option<String>,
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
    /// Write one JSON line per episode here (index, success, failure, the funnel stage
    /// reached, events with their steps)
    #[arg(long, value_name = "FILE.jsonl")]
    pub episodes_out: Option<String>,
    /// Write every rollout here as a robomimic HDF5 file (successes and failures, with
    /// dmgen_success and dmgen_failure_reason per episode)
    #[arg(long, value_name = "FILE.hdf5")]
    pub rollouts_out: Option<String>,
    /// No progress on stderr
    #[arg(long)]
    pub quiet: bool,
}

pub fn eval(a: EvalArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.policy).map_err(|e| format!("cannot read '{}': {e}", a.policy))?;
    let policy = Policy::from_safetensors(&bytes).map_err(|e| format!("{}: {e}", a.policy))?;
    let mut generation = dmgen::config::GenerationConfig::default();
    match (&a.task, &a.task_file) {
        (_, Some(path)) => generation.set_task(crate::read_task_file(path)?),
        (Some(t), None) => generation.task = t.clone(),
        (None, None) => {
            generation.task = policy
                .config()
                .task
                .clone()
                .ok_or("the policy's dataset names no task: give --task or --task-file")?
        }
    }
    let cfg = EvalConfig {
        task: generation.task,
        custom_task: generation.custom_task,
        variant: a.variant.into(),
        episodes: a.episodes,
        seed: a.seed,
        ..EvalConfig::default()
    };
    let ev = Evaluator::new(&cfg).map_err(|e| e.to_string())?;
    ev.check(&policy).map_err(|e| e.to_string())?;
    let threads = default_threads(a.threads);
    let t0 = Instant::now();
    let n = u64::from(cfg.episodes);
    let mut last_print = Instant::now();
    let quiet = a.quiet;
    let stages = ev.stage_names();
    let mut lines = String::new();
    let mut writer = match &a.rollouts_out {
        Some(_) => {
            Some(dmgen::export::DatasetWriter::new(&cfg.generation()).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let mut write_error = None;
    let summary = evaluate_each(&bytes, &ev, n, threads, |e, summary| {
        if a.episodes_out.is_some() {
            lines.push_str(&e.to_json(&stages).to_string());
            lines.push('\n');
        }
        if let Some(w) = writer.as_mut() {
            let r = match e.failure {
                None => w.add_episode(&e.episode),
                Some(f) => w.add_failed_episode(&e.episode, f.as_str()),
            };
            if let Err(err) = r {
                write_error.get_or_insert(format!("episode {}: {err}", e.index));
            }
        }
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
    if let Some(e) = write_error {
        return Err(e);
    }
    if let Some(path) = &a.episodes_out {
        write_atomic(path, lines.as_bytes())?;
    }
    if let (Some(path), Some(w)) = (&a.rollouts_out, writer) {
        let stats = dmgen::export::GenerationStats::default();
        write_atomic(path, &w.finish(&stats).map_err(|e| e.to_string())?)?;
    }
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
    evaluate_each(bytes, ev, n, threads, |_, s| progress(s))
}

/// [`evaluate`], handing each episode (in index order) to `each` with the summary so far.
pub fn evaluate_each(
    bytes: &[u8],
    ev: &Evaluator,
    n: u64,
    threads: usize,
    mut each: impl FnMut(&EvalEpisode, &EvalSummary),
) -> Result<EvalSummary, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    // One policy per thread (a recurrent policy carries state), built on first use and
    // tagged with this call, so a thread reused by a later call never runs an older policy.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static LOCAL: std::cell::RefCell<Option<(u64, Policy)>> = const { std::cell::RefCell::new(None) };
    }
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut summary = ev.summary();
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
                each(&e, &summary);
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
