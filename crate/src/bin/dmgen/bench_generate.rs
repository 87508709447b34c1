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

use dmgen::config::{DemoRef, GenerationConfig, Method, Variant};
use dmgen::generate::parallel::{run_ordered, Flow};
use dmgen::generate::{object_poses_from_state, Attempt, DatasetAssembler, Generator};
use dmgen::sim::{PandaWorld, PhysicsSettings, World};
use dmgen::task::TASK_IDS;
use std::sync::OnceLock;
use std::time::Instant;

/// Physics settings of every world the benches build (`--physics`; default: the defaults).
static PHYSICS: OnceLock<PhysicsSettings> = OnceLock::new();

/// Use `settings` in every world of this run's benches (call once, before any bench).
pub fn set_physics(settings: PhysicsSettings) -> Result<(), String> {
    PHYSICS
        .set(settings)
        .map_err(|_| "physics settings were already chosen".to_string())
}

pub fn physics() -> PhysicsSettings {
    PHYSICS.get().cloned().unwrap_or_default()
}

/// A demo file and a base configuration for `bench results` (`--demo`, `--config`): the
/// tables then measure that demo (a file recorded elsewhere) instead of the built-in ones.
pub struct DemoSource {
    /// The demo file's bytes and name (`None`: the built-in demos).
    pub file: Option<(Vec<u8>, String)>,
    pub base: GenerationConfig,
}

static DEMO: std::sync::OnceLock<DemoSource> = std::sync::OnceLock::new();

/// Measure `source` instead of the built-in demos (once per process).
pub fn set_demo(source: DemoSource) -> Result<(), String> {
    DEMO.set(source)
        .map_err(|_| "the demo was already chosen".to_string())
}

/// A generator for `cfg` (the built-in demo, or `--demo`'s file) in the bench's physics.
fn generator(cfg: &GenerationConfig) -> Result<Generator, String> {
    let file = DEMO
        .get()
        .and_then(|d| d.file.as_ref())
        .map(|(b, n)| (b.as_slice(), n.as_str()));
    Ok(Generator::new(cfg, file)
        .map_err(|e| e.to_string())?
        .with_physics(physics()))
}

/// Validated episodes per second of `cfg` on `threads` threads: `dmgen generate`'s run in
/// the bench's physics, the file built in memory and dropped.
fn episodes_per_second(cfg: &GenerationConfig, threads: usize) -> Result<f64, String> {
    let t0 = Instant::now();
    let g = generator(cfg)?;
    let out = crate::generate_cmd::generate_on::<_, std::io::Cursor<Vec<u8>>>(
        &g,
        cfg,
        threads,
        &mut std::io::Cursor::new(Vec::new()),
        None,
        |_| {},
        t0,
    )?;
    Ok(out.kept as f64 / out.seconds)
}

fn config(task: &str, method: Method, variant: Variant, episodes: u32) -> GenerationConfig {
    GenerationConfig {
        task: task.into(),
        demo: DemoRef::Builtin { id: task.into() },
        method,
        variant,
        episodes,
        ..DEMO.get().map(|d| d.base.clone()).unwrap_or_default()
    }
}

/// Task `id` as the measured runs see it: the base configuration's task file when it
/// describes `id` (`--task-file`), else the built-in task.
fn base_task(id: &str) -> Result<dmgen::task::Task, String> {
    let mut c = DEMO.get().map(|d| d.base.clone()).unwrap_or_default();
    c.task = id.to_string();
    if c.custom_task.as_ref().is_some_and(|t| t.id != id) {
        c.custom_task = None;
    }
    c.base_task().map_err(|e| e.to_string())
}

fn tasks(only: &Option<String>) -> Vec<String> {
    match only {
        Some(t) => vec![t.clone()],
        None => TASK_IDS.iter().map(|s| s.to_string()).collect(),
    }
}

/// `dmgen bench tracking`: the hand's distance (mm) from each control step's commanded
/// pose, the forward kinematics of the joint target the step ended on, over the first
/// `attempts` D-MG attempts (static variant) of each task; mean, 95th percentile and max.
pub fn run_tracking(attempts: u64, only: Option<String>) -> Result<(), String> {
    println!(
        "hand tracking: D-MG, static variant, built-in demos, first {attempts} attempts per task"
    );
    println!("| task | control steps | mean (mm) | 95th percentile (mm) | max (mm) | successes |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for task in tasks(&only) {
        let g = generator(&config(&task, Method::Dmg, Variant::Static, 1))?;
        let (mut errors, mut successes) = (Vec::new(), 0);
        for index in 0..attempts {
            let Ok(mut r) = g.rollout(index) else {
                continue;
            };
            loop {
                let done = r.step();
                errors.push(1e3 * r.world().tracking_error());
                if done {
                    break;
                }
            }
            successes += usize::from(r.finish().success);
        }
        errors.sort_by(f64::total_cmp);
        let n = errors.len().max(1);
        println!(
            "| {task} | {} | {:.2} | {:.2} | {:.2} | {successes}/{attempts} |",
            errors.len(),
            errors.iter().sum::<f64>() / n as f64,
            errors.get((n * 95) / 100).copied().unwrap_or(0.0),
            errors.last().copied().unwrap_or(0.0),
        );
    }
    Ok(())
}

/// Options of `dmgen bench results`.
pub struct ResultsOptions {
    pub attempts: u64,
    pub seeds: u64,
    pub threads: usize,
    pub task: Option<String>,
    pub ablation_only: bool,
    pub table_only: bool,
    /// Print only the table of MimicGen's reset levels (every task that has more than d0).
    pub levels_only: bool,
}

/// Seconds in `World::command` and `World::step` when replaying an attempt.
fn replay_split(g: &Generator, a: &Attempt) -> (f64, f64) {
    let Some(first) = a.episode.steps.first() else {
        return (0.0, 0.0);
    };
    let Ok(poses) = object_poses_from_state(g.task(), &first.obs.state) else {
        return (0.0, 0.0);
    };
    let Ok(mut w) = PandaWorld::with_poses(g.task(), g.physics().clone(), &poses) else {
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

pub fn run_generate(episodes: u32, only: Option<String>) -> Result<(), String> {
    println!("generate bench: D-MG, static variant, built-in demos, {episodes} validated episodes per run");
    println!(
        "{:<11} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "task", "ep/s 1t", "ep/s 2t", "2t/1t", "physics", "IK", "gen", "export", "overhead"
    );
    for task in tasks(&only) {
        let cfg = config(&task, Method::Dmg, Variant::Static, episodes);
        let mut rates = Vec::new();
        for threads in [1usize, 2] {
            rates.push(episodes_per_second(&cfg, threads)?);
        }
        // One thread, timed by part.
        let g = generator(&cfg)?;
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

/// Successes of `cfg` over attempts `0..n` of each seed in `seeds`, with failure counts.
fn measure(cfg: &GenerationConfig, seeds: &[u64], n: u64, threads: usize) -> Result<Rate, String> {
    let mut r = Rate::default();
    for &seed in seeds {
        let cfg = GenerationConfig {
            seed,
            ..cfg.clone()
        };
        let g = generator(&cfg)?;
        let mut ok = 0u64;
        run_ordered(
            threads,
            n,
            |i| g.attempt(i),
            |_, a| {
                if a.success {
                    ok += 1;
                } else if let Some(f) = a.failure {
                    *r.why.entry(f.as_str()).or_default() += 1;
                }
                Flow::Continue
            },
        );
        r.per_seed.push(ok as f64 / n as f64);
        r.ok += ok;
        r.n += n;
    }
    Ok(r)
}

/// The fields of `base` that differ from the default configuration's (the table's own
/// task, method, variant, seed and demo left out), as JSON.
fn base_differences(base: &GenerationConfig) -> String {
    let to_map = |c: &GenerationConfig| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let default = to_map(&GenerationConfig::default());
    let mut out = serde_json::Map::new();
    for (k, v) in to_map(base) {
        let own = [
            "task",
            "custom_task",
            "method",
            "variant",
            "seed",
            "demo",
            "episodes",
        ]
        .contains(&k.as_str());
        if !own && default.get(&k) != Some(&v) {
            out.insert(k, v);
        }
    }
    serde_json::Value::Object(out).to_string()
}

/// One row of a success table: the leading cells, then both methods' pooled rates,
/// per-seed rates and main failures.
fn table_row(lead: &[&str], d: &Rate, m: &Rate) -> String {
    let cells = [
        d.cell(),
        m.cell(),
        d.seeds(),
        m.seeds(),
        d.main_failure(),
        m.main_failure(),
    ];
    format!("| {} | {} |", lead.join(" | "), cells.join(" | "))
}

/// Successes pooled over seeds.
#[derive(Default)]
struct Rate {
    ok: u64,
    n: u64,
    per_seed: Vec<f64>,
    why: std::collections::BTreeMap<&'static str, u64>,
}

impl Rate {
    /// `mean% [lo, hi]`: the pooled rate with its 95% Wilson score interval.
    fn cell(&self) -> String {
        let p = self.ok as f64 / self.n.max(1) as f64;
        let [lo, hi] = dmgen::stats::wilson(self.ok, self.n);
        format!("{:.0}% [{:.0}, {:.0}]", 100.0 * p, 100.0 * lo, 100.0 * hi)
    }
    fn main_failure(&self) -> String {
        self.why
            .iter()
            .max_by_key(|(_, c)| **c)
            .map(|(r, c)| format!("{r} ({c})"))
            .unwrap_or_else(|| "-".into())
    }
    fn seeds(&self) -> String {
        self.per_seed
            .iter()
            .map(|p| format!("{:.0}", 100.0 * p))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Segmentation boundaries of `cfg`'s demo with the grasp-to-place boundary moved to the
/// sample after the first gripper close at which the grasped object has risen 90% of the
/// way to its highest point before the place subtask ends: a boundary there leaves
/// MimicGen's bridge to the place segment in the air. Returns that sample and the
/// boundaries, or `None` when the demo has no such second subtask.
fn lifted_boundaries(cfg: &GenerationConfig) -> Result<Option<(usize, Vec<usize>)>, String> {
    let g = generator(cfg)?;
    let (d, subtasks) = (g.demo(), &g.spec().subtasks);
    let (Some(close), Some(grasp), Some(place)) = (
        d.gripper.iter().position(|v| *v > 0.5),
        subtasks.first(),
        subtasks.get(1),
    ) else {
        return Ok(None);
    };
    let Some(o) = d.object_index(&grasp.object) else {
        return Ok(None);
    };
    let z = |k: usize| d.objects[o].poses[k].pos.z();
    let top = (close..place.end).map(z).fold(f64::MIN, f64::max);
    let z0 = z(close);
    let Some(k) = (close..place.end).find(|&k| z(k) >= z0 + 0.9 * (top - z0)) else {
        return Ok(None);
    };
    // Boundaries are the starts of every subtask after the first.
    let mut b: Vec<usize> = subtasks[1..].iter().map(|s| s.start).collect();
    b[0] = k;
    Ok(Some((k, b)))
}

pub fn run_results(o: &ResultsOptions) -> Result<(), String> {
    let (n, n_seeds, threads) = (o.attempts, o.seeds.max(1), o.threads);
    let seeds: Vec<u64> = (0..n_seeds).collect();
    let (skip_table, skip_ablation) = (o.ablation_only, o.table_only);
    let variants = [
        Variant::Static,
        Variant::Dmg,
        Variant::MovingTarget,
        Variant::Push,
    ];
    let seeds_label = format!(
        "seeds {}",
        seeds
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if o.levels_only {
        println!(
            "Reset levels, {n} attempts x {n_seeds} seeds ({seeds_label}), built-in demos, assists on for both methods (the defaults); pooled rate [95% Wilson interval].\n"
        );
        println!("| task | level | variant | D-MG | MimicGen | D-MG per seed | MimicGen per seed | D-MG main failure | MimicGen main failure |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for task in tasks(&o.task) {
            let levels = base_task(&task)?.reset_levels();
            if levels.len() < 2 {
                continue;
            }
            for level in levels {
                for v in [Variant::Static, Variant::Dmg] {
                    let at = |m: Method| GenerationConfig {
                        reset: level,
                        ..config(&task, m, v, 1)
                    };
                    let d = measure(&at(Method::Dmg), &seeds, n, threads)?;
                    let m = measure(&at(Method::MimicGen), &seeds, n, threads)?;
                    println!(
                        "{}",
                        table_row(&[&task, level.as_str(), v.as_str()], &d, &m)
                    );
                }
            }
        }
        return Ok(());
    }
    if !skip_table {
        let assists = dmgen::config::Assists::default();
        let source = match DEMO.get() {
            Some(d) => format!(
                "{} with {}",
                d.file
                    .as_ref()
                    .map(|(_, n)| format!("demo {n}"))
                    .unwrap_or_else(|| "built-in demos".into()),
                base_differences(&d.base)
            ),
            None => "built-in demos".into(),
        };
        println!(
            "Success rate, {n} attempts x {n_seeds} seeds ({seeds_label}), {source}; pooled rate [95% Wilson interval]; per-seed rates after it."
        );
        println!(
            "Assists on for both methods (the defaults): {}\n",
            assists.label()
        );
        println!("| task | variant | D-MG | MimicGen | D-MG per seed | MimicGen per seed | D-MG main failure | MimicGen main failure |");
        println!("|---|---|---|---|---|---|---|---|");
        for task in tasks(&o.task) {
            for v in variants {
                let d = measure(&config(&task, Method::Dmg, v, 1), &seeds, n, threads)?;
                let m = measure(&config(&task, Method::MimicGen, v, 1), &seeds, n, threads)?;
                println!("{}", table_row(&[&task, v.as_str()], &d, &m));
            }
        }
        println!();
    }
    if skip_ablation {
        return Ok(());
    }
    use dmgen::config::Assists;
    println!("Ablation: each method as its paper describes it, then with each extra ({n} attempts x {n_seeds} seeds).\n");
    println!("| task | variant | configuration | assists | success | per seed | main failure |");
    println!("|---|---|---|---|---|---|---|");
    let ablation_tasks: Vec<String> = match &o.task {
        Some(t) => vec![t.clone()],
        None => vec!["stack".into(), "square".into()],
    };
    for task in ablation_tasks {
        for v in [Variant::Static, Variant::Dmg] {
            let base = |m: Method| config(&task, m, v, 1);
            let mut rows: Vec<(String, GenerationConfig)> = Vec::new();
            let mut paper = base(Method::Dmg);
            paper.assists = Assists::none();
            paper.dmp.goal_filter_alpha = 0.0;
            rows.push((
                "D-MG as in its paper (goal recomputed every step, unfiltered)".into(),
                paper.clone(),
            ));
            let with = |base: &GenerationConfig, f: &dyn Fn(&mut GenerationConfig)| {
                let mut c = base.clone();
                f(&mut c);
                c
            };
            rows.push((
                "D-MG + goal filter (alpha_g 10)".into(),
                with(&paper, &|c| c.dmp.goal_filter_alpha = 10.0),
            ));
            rows.push((
                "D-MG + in-hand correction".into(),
                with(&paper, &|c| c.assists.in_hand_correction = true),
            ));
            rows.push((
                "D-MG + settling".into(),
                with(&paper, &|c| c.assists.settle_steps = 30),
            ));
            rows.push((
                "D-MG + feed-forward".into(),
                with(&paper, &|c| c.assists.goal_feedforward = true),
            ));
            rows.push(("D-MG, tool defaults".into(), base(Method::Dmg)));
            let noise = dmgen::config::MIMICGEN_PAPER_ACTION_NOISE;
            let mg = with(&base(Method::MimicGen), &|c| {
                c.assists = Assists {
                    action_noise: noise,
                    ..Assists::none()
                }
            });
            rows.push((
                format!("MimicGen as in its paper (noise {noise})"),
                mg.clone(),
            ));
            rows.push((
                "MimicGen + in-hand correction".into(),
                with(&mg, &|c| c.assists.in_hand_correction = true),
            ));
            rows.push(("MimicGen, tool defaults".into(), base(Method::MimicGen)));
            if let Some((k, b)) = lifted_boundaries(&mg)? {
                rows.push((
                    format!("MimicGen as in its paper, place segment from demo sample {k} (object lifted)"),
                    with(&mg, &|c| c.segmentation.boundaries = b.clone()),
                ));
            }
            for (label, cfg) in rows {
                let r = measure(&cfg, &seeds, n, threads)?;
                let assists = if cfg.method == Method::Dmg {
                    format!(
                        "{}; alpha_g {}",
                        cfg.assists.label(),
                        cfg.dmp.goal_filter_alpha
                    )
                } else {
                    cfg.assists.label()
                };
                println!(
                    "| {task} | {} | {label} | {assists} | {} | {} | {} |",
                    v.as_str(),
                    r.cell(),
                    r.seeds(),
                    r.main_failure()
                );
            }
        }
    }
    Ok(())
}
