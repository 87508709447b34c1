//! `dmgen generate`: run the generator on a few threads and write the dataset.
//!
//! Attempts run in parallel but reach the [`DatasetAssembler`] strictly in index
//! order, so the file's bytes do not depend on `--threads`. Progress goes to stderr;
//! stdout gets one JSON summary line. Next to `FILE.hdf5` the command writes
//! `FILE.json` with the configuration and the statistics (including wall-clock seconds,
//! which the HDF5 file leaves at 0 to stay reproducible).

use dmgen::config::{ActionConvention, DemoRef, GenerationConfig, Method, Variant};
use dmgen::generate::{run, DatasetAssembler, Generator};
use std::io::{Seek, Write};
use std::time::Instant;

/// Default master seed when neither `--seed` nor a config file gives one.
pub const DEFAULT_SEED: u64 = 0;

/// Variants on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum VariantArg {
    /// Objects stay where the reset put them
    Static,
    /// D-MG's protocol: in about half of the episodes the picked object slides during the
    /// first half of its grasp subtask
    Dmg,
    /// As dmg, and the place target slides during the first half of the place subtask
    #[value(name = "moving_target")]
    MovingTarget,
    /// The place target (lift: the picked object) is pushed during its subtask
    Push,
}

impl From<VariantArg> for Variant {
    fn from(v: VariantArg) -> Variant {
        match v {
            VariantArg::Static => Variant::Static,
            VariantArg::Dmg => Variant::Dmg,
            VariantArg::MovingTarget => Variant::MovingTarget,
            VariantArg::Push => Variant::Push,
        }
    }
}

/// Methods on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    /// DynaMimicGen: DMP rollouts with live goals
    Dmg,
    /// The MimicGen baseline: rigid segment transforms read once per subtask
    Mimicgen,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Method {
        match m {
            MethodArg::Dmg => Method::Dmg,
            MethodArg::Mimicgen => Method::MimicGen,
        }
    }
}

/// What a dataset's `actions` hold, on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ActionsArg {
    /// robomimic's normalised delta pose; absolute targets in actions_abs
    Delta,
    /// Diffusion Policy's absolute position, rotation vector and gripper; delta actions in
    /// actions_delta
    Abs,
}

impl From<ActionsArg> for ActionConvention {
    fn from(a: ActionsArg) -> ActionConvention {
        match a {
            ActionsArg::Delta => ActionConvention::Delta,
            ActionsArg::Abs => ActionConvention::Abs,
        }
    }
}

/// Output formats on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormatArg {
    /// robomimic HDF5 (one file)
    #[default]
    Robomimic,
    /// LeRobot dataset v3.0 (a directory, or one archive when --out ends in .zip)
    Lerobot,
}

/// `dmgen generate`: options given here override the configuration file or link.
#[derive(clap::Args, Debug, Default)]
#[command(
    after_help = "Without --config or --url, the variant is static, the seed 0 and the demo the task's built-in one. \
Progress goes to stderr; stdout gets one JSON summary line; FILE.json next to the dataset holds the configuration and the statistics."
)]
pub struct GenerateArgs {
    /// Task id (lift, stack, square, pick_place, conveyor, mug_cleanup) [required without --config, --url or --task-file]
    #[arg(long)]
    pub task: Option<String>,
    /// A task file (JSON, docs/tasks.md) instead of --task; the configuration and the
    /// dataset carry the task. Without --demo, a task file with a `script` uses its
    /// scripted demonstration (seed 0)
    #[arg(long, value_name = "T.json", conflicts_with = "task")]
    pub task_file: Option<String>,
    /// Scene dynamics [default: static, or the configuration's]
    #[arg(long, value_enum)]
    pub variant: Option<VariantArg>,
    /// Demo file (JSON, CSV, robomimic / MimicGen HDF5) [default: the task's built-in demo]
    #[arg(long, value_name = "FILE")]
    pub demo: Option<String>,
    /// Generation configuration (JSON; every key optional, see docs/dataset.md)
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// A share link (full URL or #v=... fragment) instead of --config
    #[arg(long, value_name = "LINK")]
    pub url: Option<String>,
    /// Master seed; episode i uses episode_seed(seed, i) [default: 0, or the configuration's]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Successful episodes to keep, 1-1000000 [default: 10, or the configuration's]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub episodes: Option<u32>,
    /// Attempt budget, at least --episodes [default: max(3 x episodes, episodes + 20), or the configuration's]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: Option<u32>,
    /// Generator [default: dmg, or the configuration's]
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Worker threads, 1-1024 (the dataset's bytes do not depend on it) [default: one per logical core]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// Output dataset: robomimic HDF5, or with --format lerobot a new directory or FILE.zip
    #[arg(long, value_name = "FILE.hdf5|DIR|FILE.zip")]
    pub out: String,
    /// Dataset format (the LeRobot dataset is converted from the robomimic file, which
    /// is written to OUT.hdf5.partial and removed)
    #[arg(long, value_enum, default_value_t = FormatArg::Robomimic)]
    pub format: FormatArg,
    /// What `actions` holds [default: delta, or the configuration's]
    #[arg(long, value_enum)]
    pub actions: Option<ActionsArg>,
    /// Std of the Gaussian noise on every sent action, 0-1, both methods (MimicGen's
    /// paper: 0.05; data for policy learning wants it, docs/policy.md) [default: 0, or
    /// the configuration's]
    #[arg(long, value_name = "STD")]
    pub action_noise: Option<f64>,
    /// How widely objects are spread at reset: MimicGen's levels d0, d1, d2 (d1, d2 for
    /// the tasks MimicGen publishes them for: stack d1, square d1 and d2)
    /// [default: d0, or the configuration's]
    #[arg(long, value_name = "LEVEL", value_parser = parse_reset)]
    pub reset: Option<dmgen::config::ResetLevel>,
    /// Object sizes: playground (this tool's) or robosuite (robosuite's cubes, nut and
    /// peg, for demos recorded there) [default: playground, or the configuration's]
    #[arg(long, value_name = "GEOMETRY", value_parser = parse_geometry)]
    pub geometry: Option<dmgen::config::Geometry>,
    /// Where the demo's world puts the robot and table: auto (recognise the table,
    /// centre the objects) or robosuite (Panda base at x = -0.56 m, table top at 0.8 m,
    /// 0.82 m for square; MimicGen's datasets); a rigid transform goes in the configuration's demo_frame
    /// [default: auto, or the configuration's]
    #[arg(long, value_name = "FRAME", value_parser = parse_demo_frame)]
    pub demo_frame: Option<dmgen::config::DemoFrame>,
    /// Map the demo's object names onto the task's: FROM=TO[,FROM=TO...] (MimicGen's own
    /// names, such as square_nut and square_peg, need none) [added to the configuration's]
    #[arg(long, value_name = "FROM=TO,...", value_parser = parse_object_map)]
    pub object_map: Option<ObjectMapArg>,
    /// Camera images in every kept episode, as obs/<camera>_image (T, H, W, 3) uint8:
    /// a comma-separated list of agentview and robot0_eye_in_hand, or none
    /// [default: none, or the configuration's]
    #[arg(long, value_name = "CAMERAS")]
    pub cameras: Option<String>,
    /// Camera image size in pixels, WxH or one number for square images (8 to 256)
    /// [default: 84, or the configuration's]
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub camera_size: Option<(u32, u32)>,
    /// Also record obs/<camera>_depth (T, H, W, 1) float32, metres along the view axis
    #[arg(long)]
    pub camera_depth: bool,
    /// Leave camera images out of next_obs (robomimic's --exclude-next-obs); the file is
    /// about half the size
    #[arg(long)]
    pub exclude_next_obs: bool,
    /// Also write the failed attempts, in the same layout with dmgen_failure_reason and
    /// dmgen_failure_step per episode, to this file
    #[arg(long, value_name = "FILE.hdf5")]
    pub keep_failed: Option<String>,
    /// Write a shard instead of a dataset: attempts A..B (end exclusive), kept and
    /// failed, for `dmgen merge` (docs/scale.md)
    #[arg(long, value_name = "A..B", value_parser = parse_range, conflicts_with_all = ["keep_failed", "format"])]
    pub attempts: Option<(u64, u64)>,
    /// No progress on stderr
    #[arg(long)]
    pub quiet: bool,
}

/// `A..B` (end exclusive), at most `MAX_SHARD_ATTEMPTS` attempts.
/// `WxH` or `N` (square) image size.
fn parse_reset(s: &str) -> Result<dmgen::config::ResetLevel, String> {
    dmgen::config::ResetLevel::parse(s)
        .ok_or_else(|| format!("'{s}' is not a reset level; use d0, d1 or d2"))
}

fn parse_geometry(s: &str) -> Result<dmgen::config::Geometry, String> {
    dmgen::config::Geometry::parse(s)
        .ok_or_else(|| format!("'{s}' is not a geometry; use playground or robosuite"))
}

fn parse_demo_frame(s: &str) -> Result<dmgen::config::DemoFrame, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(dmgen::config::DemoFrame::Auto),
        "robosuite" => Ok(dmgen::config::DemoFrame::Robosuite),
        _ => Err(format!(
            "'{s}' is not a demo frame; use auto or robosuite (a rigid transform goes in the configuration's demo_frame)"
        )),
    }
}

/// `--object-map` pairs (a newtype: clap would read a bare `Vec` as repeated values).
#[derive(Clone, Debug)]
pub struct ObjectMapArg(Vec<(String, String)>);

fn parse_object_map(s: &str) -> Result<ObjectMapArg, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                Ok((a.trim().to_string(), b.trim().to_string()))
            }
            _ => Err(format!("'{p}' is not FROM=TO (e.g. square_nut=nut)")),
        })
        .collect::<Result<_, _>>()
        .map(ObjectMapArg)
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u32>()
            .map_err(|_| format!("'{s}' is not an image size; use WxH (e.g. 84x84) or one number"))
    };
    match s.split_once(['x', 'X']) {
        Some((w, h)) => Ok((num(w)?, num(h)?)),
        None => num(s).map(|n| (n, n)),
    }
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("'{s}' is not a range A..B (for example 0..500)"))?;
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("'{t}' in '{s}' is not a whole number"))
    };
    let (a, b) = (num(a)?, num(b)?);
    if b <= a {
        return Err(format!(
            "the range {a}..{b} is empty (the end is exclusive)"
        ));
    }
    if b - a > dmgen::generate::shard::MAX_SHARD_ATTEMPTS {
        return Err(format!(
            "{} attempts in one shard; at most {} (split the range)",
            b - a,
            dmgen::generate::shard::MAX_SHARD_ATTEMPTS
        ));
    }
    Ok((a, b))
}

/// Write the attempts `first..end` of `cfg` as a shard file at `out`.
fn write_shard_file(
    cfg: &GenerationConfig,
    demo: Option<(&[u8], &str)>,
    (first, end): (u64, u64),
    threads: usize,
    out: &str,
    quiet: bool,
) -> Result<(), String> {
    let t0 = Instant::now();
    let generator = Generator::new(cfg, demo).map_err(|e| e.to_string())?;
    let mut last_print = Instant::now();
    let attempts =
        dmgen::generate::run::attempt_range(&generator, first, end, threads, |done, ok| {
            if !quiet && last_print.elapsed().as_millis() >= 500 {
                last_print = Instant::now();
                eprint!("\r{done}/{} attempts, {ok} successes   ", end - first);
                let _ = std::io::stderr().flush();
            }
        });
    let successes = attempts.iter().filter(|a| a.success).count();
    let bytes =
        dmgen::generate::shard::write_shard(cfg, first, &attempts).map_err(|e| e.to_string())?;
    let partial = format!("{out}.partial");
    std::fs::write(&partial, &bytes).map_err(|e| format!("cannot write '{partial}': {e}"))?;
    std::fs::rename(&partial, out).map_err(|e| format!("cannot write '{out}': {e}"))?;
    let seconds = t0.elapsed().as_secs_f64();
    if !quiet {
        eprintln!("\rshard {first}..{end}: {successes} successes of {} attempts written to {out} ({} bytes)", end - first, bytes.len());
    }
    println!(
        "{}",
        serde_json::json!({"first": first, "end": end, "attempts": end - first,
            "successes": successes, "out": out, "bytes": bytes.len(), "seconds": seconds,
            "attempts_per_second": (end - first) as f64 / seconds.max(1e-9)})
    );
    Ok(())
}

/// `dmgen merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard files written by `dmgen generate --attempts A..B`, in any order
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<String>,
    /// Successful episodes to keep (the first ones in attempt order)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub episodes: u32,
    /// Output dataset (robomimic HDF5)
    #[arg(long, value_name = "FILE.hdf5")]
    pub out: String,
}

pub fn merge(a: MergeArgs) -> Result<(), String> {
    let t0 = Instant::now();
    let mut shards = Vec::with_capacity(a.shards.len());
    for p in &a.shards {
        let bytes = std::fs::read(p).map_err(|e| format!("cannot read '{p}': {e}"))?;
        shards.push(dmgen::generate::shard::read_shard(bytes, p).map_err(|e| e.to_string())?);
    }
    let m = dmgen::generate::shard::merge_shards(shards, a.episodes).map_err(|e| e.to_string())?;
    let partial = format!("{}.partial", a.out);
    std::fs::write(&partial, &m.bytes).map_err(|e| format!("cannot write '{partial}': {e}"))?;
    std::fs::rename(&partial, &a.out).map_err(|e| format!("cannot write '{}': {e}", a.out))?;
    println!(
        "{}",
        serde_json::json!({"episodes": m.kept, "attempts": m.attempts, "out": a.out,
            "bytes": m.bytes.len(), "sha256": dmgen::config::sha256_hex(&m.bytes),
            "seconds": t0.elapsed().as_secs_f64()})
    );
    Ok(())
}

/// The demo file a share link embeds, if `--url` was given and the link has one.
fn link_demo(a: &GenerateArgs) -> Result<Option<Vec<u8>>, String> {
    match &a.url {
        Some(link) => dmgen::link::config_from_link(link)
            .map(|(_, demo)| demo)
            .map_err(|e| format!("--url: {e}")),
        None => Ok(None),
    }
}

/// The configuration the command line describes: the config file or share link (if
/// any), then the flags on top. Without either, the variant defaults to `static` and
/// the demo to the task's built-in one. A link resolves to exactly the configuration
/// the page shows for it (`dmgen::link::config_from_link`).
pub fn build_config(a: &GenerateArgs) -> Result<GenerationConfig, String> {
    let mut cfg = match (&a.config, &a.url) {
        (Some(_), Some(_)) => return Err("generate: give --config or --url, not both".into()),
        (None, Some(link)) => dmgen::link::config_from_link(link)
            .map(|(cfg, _)| cfg)
            .map_err(|e| format!("--url: {e}"))?,
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config '{path}': {e}"))?;
            GenerationConfig::from_json(&text).map_err(|e| format!("{path}: {e}"))?
        }
        (None, None) => GenerationConfig {
            variant: Variant::Static,
            seed: DEFAULT_SEED,
            ..GenerationConfig::default()
        },
    };
    let has_base = a.config.is_some() || a.url.is_some();
    let task = match (&a.task, &a.task_file) {
        (Some(t), _) => {
            cfg.task = t.clone();
            cfg.custom_task = None;
            Some(t.clone())
        }
        (None, Some(path)) => {
            cfg.set_task(crate::read_task_file(path)?);
            Some(cfg.task.clone())
        }
        (None, None) => None,
    };
    if let Some(t) = task {
        if !has_base || matches!(cfg.demo, DemoRef::Builtin { .. }) {
            cfg.demo = DemoRef::Builtin { id: t };
        }
    } else if !has_base {
        return Err(
            "generate needs --task T or --task-file T.json (or --config FILE, or --url LINK)"
                .into(),
        );
    }
    if let Some(v) = a.variant {
        cfg.variant = v.into();
    }
    if let Some(m) = a.method {
        cfg.method = m.into();
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(x) = a.actions {
        cfg.actions = x.into();
    }
    if let Some(n) = a.action_noise {
        cfg.assists.action_noise = n;
    }
    if let Some(level) = a.reset {
        cfg.reset = level;
    }
    if let Some(g) = a.geometry {
        cfg.geometry = g;
    }
    if let Some(f) = a.demo_frame {
        cfg.demo_frame = f;
    }
    for (from, to) in a.object_map.iter().flat_map(|m| &m.0) {
        cfg.object_map.insert(from.clone(), to.clone());
    }
    if let Some(list) = &a.cameras {
        cfg.cameras.set_names_from_list(list);
    }
    if let Some((w, h)) = a.camera_size {
        cfg.cameras.width = w;
        cfg.cameras.height = h;
    }
    if a.camera_depth {
        cfg.cameras.depth = true;
    }
    if a.exclude_next_obs {
        cfg.cameras.next_obs = false;
    }
    if let Some(n) = a.episodes {
        cfg.set_episodes(n);
    }
    if let Some(m) = a.max_attempts {
        cfg.max_attempts = Some(m);
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// What a run produced (the benches' view of it).
pub struct RunOutput {
    pub attempts: u64,
    pub kept: u64,
    pub seconds: f64,
}

/// Run a generation: attempts on `threads` threads, assembled in index order and written
/// to `out` (from its start) as they arrive, so memory does not grow with the run; the
/// failed attempts are streamed into `failed` when given.
pub fn generate_with_failed<W: Write + Seek, F: Write + Seek>(
    cfg: &GenerationConfig,
    demo: Option<(&[u8], &str)>,
    threads: usize,
    out: &mut W,
    failed: Option<&mut F>,
    progress: impl FnMut(&DatasetAssembler),
) -> Result<RunOutput, String> {
    let t0 = Instant::now();
    let generator = Generator::new(cfg, demo).map_err(|e| e.to_string())?;
    generate_on(&generator, cfg, threads, out, failed, progress, t0)
}

/// [`generate_with_failed`] with a prepared generator (the benches pass one with other
/// physics settings); `t0` is when the run started, for its wall-clock seconds.
pub fn generate_on<W: Write + Seek, F: Write + Seek>(
    generator: &Generator,
    cfg: &GenerationConfig,
    threads: usize,
    out: &mut W,
    failed: Option<&mut F>,
    progress: impl FnMut(&DatasetAssembler),
    t0: Instant,
) -> Result<RunOutput, String> {
    let r = run::write_dataset(generator, cfg, threads, out, failed, progress)
        .map_err(|e| e.to_string())?;
    Ok(RunOutput {
        attempts: r.attempts,
        kept: r.kept,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

pub fn run(a: GenerateArgs) -> Result<(), String> {
    let lerobot = a.format == FormatArg::Lerobot;
    let out = if lerobot {
        format!("{}.hdf5.partial", a.out.trim_end_matches('/'))
    } else {
        a.out.clone()
    };
    let cfg = build_config(&a)?;
    // A demo file given with --demo wins; otherwise the one a share link embeds (the
    // generator checks either against the configuration's SHA-256).
    let (demo_bytes, demo_name) = match (&a.demo, link_demo(&a)?) {
        (Some(path), _) => (
            Some(std::fs::read(path).map_err(|e| format!("cannot read demo '{path}': {e}"))?),
            path.clone(),
        ),
        (None, Some(bytes)) => {
            let name = match &cfg.demo {
                DemoRef::Sha256 {
                    name: Some(name), ..
                } => name.clone(),
                _ => "the demo embedded in the link".to_string(),
            };
            (Some(bytes), name)
        }
        (None, None) => (None, String::new()),
    };
    let demo = demo_bytes.as_deref().map(|b| (b, demo_name.as_str()));
    let threads = a
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let quiet = a.quiet;
    if let Some(range) = a.attempts {
        return write_shard_file(&cfg, demo, range, threads, &a.out, quiet);
    }
    let want = cfg.episodes;
    let t0 = Instant::now();
    let generator = Generator::new(&cfg, demo).map_err(|e| e.to_string())?;
    let dest = if lerobot {
        a.out.trim_end_matches('/').to_string()
    } else {
        out.clone()
    };
    let side = run::sidecar_path(&dest);
    let mut last_print = Instant::now();
    let result = run::generate_file(
        &generator,
        &cfg,
        threads,
        &out,
        a.keep_failed.as_deref(),
        &side,
        |asm| {
            if !quiet && (last_print.elapsed().as_millis() >= 500 || asm.is_done()) {
                last_print = Instant::now();
                let s = asm.stats();
                eprint!(
                    "\r{}/{} episodes, {} attempts, success {:.1}%   ",
                    s.kept,
                    want,
                    s.attempts,
                    100.0 * s.success_rate()
                );
                let _ = std::io::stderr().flush();
            }
        },
        &|| t0.elapsed().as_secs_f64(),
    );
    if !quiet {
        eprintln!();
    }
    let result = result.map_err(|e| e.to_string())?;
    let kept = result.output.kept;
    let shortfall = run::shortfall_message(&cfg, kept, &side);
    if lerobot && kept == 0 {
        let _ = std::fs::remove_file(&out);
        return Err(shortfall);
    }
    let (bytes, sha256, files) = if lerobot {
        let h5 = std::fs::read(&out).map_err(|e| format!("cannot read '{out}': {e}"))?;
        let _ = std::fs::remove_file(&out);
        let (_, w) = crate::convert_cmd::convert(
            h5,
            &dmgen::export::lerobot::LeRobotOptions::default(),
            &dest,
        )?;
        (w.bytes, w.sha256, w.files)
    } else {
        (result.output.bytes, result.sha256.clone(), 1)
    };
    let summary = run::Summary::new(
        &result,
        if lerobot { "lerobot" } else { "robomimic" },
        files as u64,
        bytes,
        &sha256,
        &dest,
    )
    .to_json();
    println!("{summary}");
    if kept < u64::from(want) {
        return Err(shortfall);
    }
    Ok(())
}
