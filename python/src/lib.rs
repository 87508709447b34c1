//! `dmgen._core`: the dmgen core for Python (PyO3). A thin face like the CLI and the page:
//! every rollout, dataset byte and check is the core's; this file converts arguments,
//! releases the GIL around long work and turns the core's errors into `DmgenError`
//! (a `ValueError`) carrying the core's message. Nothing here panics on bad input.

use dmgen::config::GenerationConfig;
use dmgen::export::{
    action_columns, low_dim_width, observe, push_low_dim, unit_poses, ObjectLayout, Observation,
    LOW_DIM_KEYS, OBJECT_LAYOUT,
};
use dmgen::generate::{run, shard, Attempt};
use dmgen::geom::Pose;
use dmgen::policy::eval::{Evaluator, PolicyRollout};
use dmgen::policy::EvalConfig;
use dmgen::sim::CONTROL_DT;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

pyo3::create_exception!(
    _core,
    DmgenError,
    PyValueError,
    "The dmgen core refused an input (a configuration, a demo, a dataset, an action); the message is the core's."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    DmgenError::new_err(e.to_string())
}

/// Parse and validate a generation configuration (JSON text), applying an episode count.
fn parse_config(json: &str, episodes: Option<u32>) -> PyResult<GenerationConfig> {
    let mut cfg =
        GenerationConfig::from_json(json).map_err(|e| err(format!("configuration: {e}")))?;
    if let Some(n) = episodes {
        cfg.set_episodes(n);
        cfg.validate()
            .map_err(|e| err(format!("configuration: {e}")))?;
    }
    Ok(cfg)
}

fn generator(
    cfg: &GenerationConfig,
    demo: Option<&[u8]>,
    demo_name: &str,
) -> PyResult<dmgen::generate::Generator> {
    dmgen::generate::Generator::new(cfg, demo.map(|b| (b, demo_name))).map_err(err)
}

fn threads(t: Option<usize>) -> usize {
    t.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// The core's version.
#[pyfunction]
fn version() -> &'static str {
    dmgen::version()
}

/// Ids of the tasks.
#[pyfunction]
fn task_ids() -> Vec<&'static str> {
    dmgen::task::TASK_IDS.to_vec()
}

/// Read and check a task file's text: `(id, task)`, `task` the task's JSON for a task
/// that is not built in, `None` for a built-in task's own file (a configuration then
/// names it by id and gives the same bytes).
#[pyfunction]
fn read_task(text: &str) -> PyResult<(String, Option<String>)> {
    let task = dmgen::task::Task::from_json(text).map_err(err)?;
    let mut c = dmgen::config::GenerationConfig::default();
    c.set_task(task);
    let custom = match &c.custom_task {
        Some(t) => Some(serde_json::to_string(t).map_err(err)?),
        None => None,
    };
    Ok((c.task, custom))
}

/// The canonical JSON of a configuration (validated; `episodes` applied when given).
#[pyfunction]
#[pyo3(signature = (config, episodes=None))]
fn canonical_config(config: &str, episodes: Option<u32>) -> PyResult<String> {
    parse_config(config, episodes)?
        .to_canonical_json()
        .map_err(err)
}

/// Generate a robomimic dataset into `out` (as `dmgen generate --config`), with the
/// statistics beside it; returns the summary JSON the CLI prints.
#[pyfunction]
#[pyo3(signature = (config, out, episodes=None, threads=None, keep_failed=None, demo=None, demo_name=None))]
#[allow(clippy::too_many_arguments)]
fn generate(
    py: Python<'_>,
    config: &str,
    out: &str,
    episodes: Option<u32>,
    threads: Option<usize>,
    keep_failed: Option<String>,
    demo: Option<Vec<u8>>,
    demo_name: Option<String>,
) -> PyResult<String> {
    let cfg = parse_config(config, episodes)?;
    let name = demo_name.unwrap_or_else(|| "the demo".into());
    let n = self::threads(threads);
    let out = out.to_string();
    let result = py.detach(|| {
        // The face's clock (the core never reads one).
        let t0 = std::time::Instant::now();
        let g = dmgen::generate::Generator::new(&cfg, demo.as_deref().map(|b| (b, name.as_str())))
            .map_err(|e| e.to_string())?;
        let side = run::sidecar_path(&out);
        let r = run::generate_file(
            &g,
            &cfg,
            n,
            &out,
            keep_failed.as_deref(),
            &side,
            |_| {},
            &|| t0.elapsed().as_secs_f64(),
        )
        .map_err(|e| e.to_string())?;
        Ok::<_, String>((r, side))
    });
    let (r, side) = result.map_err(err)?;
    let summary = run::Summary::new(&r, "robomimic", 1, r.output.bytes, &r.sha256, &out);
    if r.output.kept < u64::from(cfg.episodes) {
        return Err(err(run::shortfall_message(&cfg, r.output.kept, &side)));
    }
    Ok(summary.to_json())
}

/// The attempts `first..end` of a configuration as shard bytes (`dmgen generate
/// --attempts A..B`'s file); returns `(bytes, successes)`.
#[pyfunction]
#[pyo3(signature = (config, first, end, threads=None, demo=None, demo_name=None))]
fn generate_shard<'py>(
    py: Python<'py>,
    config: &str,
    first: u64,
    end: u64,
    threads: Option<usize>,
    demo: Option<Vec<u8>>,
    demo_name: Option<String>,
) -> PyResult<(Bound<'py, PyBytes>, u64)> {
    if end <= first || end - first > shard::MAX_SHARD_ATTEMPTS {
        return Err(err(format!(
            "the range {first}..{end} must hold 1 to {} attempts",
            shard::MAX_SHARD_ATTEMPTS
        )));
    }
    let cfg = parse_config(config, None)?;
    let name = demo_name.unwrap_or_else(|| "the demo".into());
    let g = generator(&cfg, demo.as_deref(), &name)?;
    let n = self::threads(threads);
    let (bytes, ok) = py
        .detach(|| {
            let attempts = run::attempt_range(&g, first, end, n, |_, _| {});
            let ok = attempts.iter().filter(|a| a.success).count() as u64;
            shard::write_shard(&cfg, first, &attempts).map(|b| (b, ok))
        })
        .map_err(err)?;
    Ok((PyBytes::new(py, &bytes), ok))
}

/// Merge shards (`(bytes, name)` pairs, any order) into the dataset of their first
/// `episodes` successes; returns `(bytes, kept, attempts)`, or raises with the missing
/// range when a gap stops the merge short.
#[pyfunction]
fn merge_shards<'py>(
    py: Python<'py>,
    shards: Vec<(Vec<u8>, String)>,
    episodes: u32,
) -> PyResult<(Bound<'py, PyBytes>, u64, u64)> {
    let m = py
        .detach(|| {
            let mut read = Vec::with_capacity(shards.len());
            for (bytes, name) in shards {
                read.push(shard::read_shard(bytes, &name)?);
            }
            shard::merge_shards(read, episodes)
        })
        .map_err(err)?;
    Ok((PyBytes::new(py, &m.bytes), m.kept, m.attempts))
}

/// `(config_json, attempt, seed)` of episode `demo` of a dataset file this tool wrote.
#[pyfunction]
fn episode_origin(path: &str, demo: &str) -> PyResult<(String, u64, u64)> {
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read '{path}': {e}")))?;
    let o = dmgen::demo::episode_origin(&bytes, demo).map_err(err)?;
    Ok((o.config_json, o.attempt, o.seed))
}

/// The attempt budget of a configuration (`max_attempts`, or the default for its
/// episode count).
#[pyfunction]
fn attempt_budget(config: &str) -> PyResult<u64> {
    Ok(parse_config(config, None)?.attempt_budget())
}

/// The Wilson score 95% interval of `k` successes in `n` trials.
#[pyfunction]
fn wilson(k: u64, n: u64) -> (f64, f64) {
    let [lo, hi] = dmgen::stats::wilson(k, n);
    (lo, hi)
}

/// SHA-256 (hex) of bytes, as the core computes file digests.
#[pyfunction]
fn sha256_hex(data: &[u8]) -> String {
    dmgen::config::sha256_hex(data)
}

// ------------------------------------------------------------------ arrays

/// One observation's low-dim values per key, as the dataset writer records them.
fn obs_values(o: &Observation, layout: &ObjectLayout) -> Vec<(&'static str, Vec<f64>)> {
    let (eef, objects) = unit_poses(o);
    LOW_DIM_KEYS
        .iter()
        .map(|k| {
            let mut v = Vec::new();
            push_low_dim(k, &eef, o, &objects, layout, |x| v.extend_from_slice(x));
            (*k, v)
        })
        .collect()
}

fn obs_dict<'py>(
    py: Python<'py>,
    o: &Observation,
    layout: &ObjectLayout,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in obs_values(o, layout) {
        d.set_item(k, PyArray1::from_vec(py, v))?;
    }
    Ok(d)
}

/// `rows` of equal width `w` as a (T, w) array.
fn matrix<'py>(py: Python<'py>, flat: Vec<f64>, w: usize) -> PyResult<Bound<'py, PyAny>> {
    let t = flat.len().checked_div(w).unwrap_or(0);
    Ok(PyArray1::from_vec(py, flat).reshape([t, w])?.into_any())
}

fn attempt_dict<'py>(
    py: Python<'py>,
    a: &Attempt,
    layout: &ObjectLayout,
) -> PyResult<Bound<'py, PyDict>> {
    let ep = &a.episode;
    let d = PyDict::new(py);
    d.set_item("index", a.index)?;
    d.set_item("seed", ep.seed)?;
    d.set_item("success", a.success)?;
    d.set_item("failure", a.failure.map(|f| f.as_str()))?;
    d.set_item("object_names", ep.object_names.clone())?;
    d.set_item("subtask_names", ep.subtask_names.clone())?;
    let obs = PyDict::new(py);
    let per_step: Vec<Vec<(&str, Vec<f64>)>> = ep
        .steps
        .iter()
        .map(|s| obs_values(&s.obs, layout))
        .collect();
    for (j, k) in LOW_DIM_KEYS.iter().enumerate() {
        let w = low_dim_width(k, layout).unwrap_or(0);
        let flat: Vec<f64> = per_step
            .iter()
            .flat_map(|s| s[j].1.iter().copied())
            .collect();
        obs.set_item(*k, matrix(py, flat, w)?)?;
    }
    d.set_item("obs", obs)?;
    let unit = |p: &Pose| Pose::new(p.pos, p.quat.normalized());
    let (actions, actions_abs) = action_columns(
        ep.steps
            .iter()
            .map(|s| (unit(&s.obs.eef), unit(&s.target), s.gripper_closed)),
    );
    d.set_item("actions", matrix(py, actions, 7)?)?;
    d.set_item("actions_abs", matrix(py, actions_abs, 7)?)?;
    d.set_item(
        "rewards",
        PyArray1::from_vec(py, ep.steps.iter().map(|s| s.reward).collect()),
    )?;
    let sl = ep.steps.first().map_or(0, |s| s.obs.state.len());
    d.set_item(
        "states",
        matrix(
            py,
            ep.steps
                .iter()
                .flat_map(|s| s.obs.state.iter().copied())
                .collect(),
            sl,
        )?,
    )?;
    d.set_item(
        "subtask",
        PyArray1::from_vec(py, ep.steps.iter().map(|s| s.subtask as i64).collect()),
    )?;
    Ok(d)
}

/// A generator of one configuration: `attempt(i)` runs attempt `i` (deterministic per
/// index) and returns its arrays.
#[pyclass(module = "dmgen._core", name = "Generator")]
struct PyGenerator {
    g: dmgen::generate::Generator,
    config_json: String,
}

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (config, demo=None, demo_name=None))]
    fn new(config: &str, demo: Option<Vec<u8>>, demo_name: Option<String>) -> PyResult<Self> {
        let cfg = parse_config(config, None)?;
        let name = demo_name.unwrap_or_else(|| "the demo".into());
        Ok(PyGenerator {
            g: generator(&cfg, demo.as_deref(), &name)?,
            config_json: cfg.to_canonical_json().map_err(err)?,
        })
    }

    /// Attempt `index` (kept or not) as a dict of arrays.
    fn attempt<'py>(&self, py: Python<'py>, index: u64) -> PyResult<Bound<'py, PyDict>> {
        let a = py.detach(|| self.g.attempt(index));
        let layout = ObjectLayout::for_task(self.g.task(), OBJECT_LAYOUT);
        attempt_dict(py, &a, &layout)
    }

    /// The configuration, canonical JSON.
    #[getter]
    fn config_json(&self) -> &str {
        &self.config_json
    }

    /// Names of the subtasks the demo was segmented into.
    #[getter]
    fn subtask_names(&self) -> Vec<String> {
        self.g.subtask_names().to_vec()
    }
}

// ------------------------------------------------------------------ environment

/// One task's closed-loop world, stepped at 20 Hz with the dataset's action semantics
/// (the evaluation loop of the policy stage: the same scenes, dynamics and success).
#[pyclass(module = "dmgen._core", name = "EnvCore")]
struct EnvCore {
    ev: Evaluator,
    convention: String,
    rollout: Option<PolicyRollout>,
    last: Option<Observation>,
    layout: ObjectLayout,
}

#[pymethods]
impl EnvCore {
    /// `eval_config`: the policy stage's evaluation settings as JSON (task, variant,
    /// dynamics); `actions`: `delta` or `abs`.
    #[new]
    fn new(eval_config: &str, actions: &str) -> PyResult<Self> {
        let c: EvalConfig = serde_json::from_str(eval_config)
            .map_err(|e| err(format!("environment settings: {e}")))?;
        if !matches!(actions, "delta" | "abs") {
            return Err(err(format!(
                "actions must be 'delta' or 'abs', not '{actions}'"
            )));
        }
        let ev = Evaluator::new(&c).map_err(err)?;
        Ok(EnvCore {
            layout: ObjectLayout::for_task(ev.task(), OBJECT_LAYOUT),
            ev,
            convention: actions.into(),
            rollout: None,
            last: None,
        })
    }

    /// Start the scene of generation attempt `index` of a config with seed `seed`;
    /// returns the first observation.
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: u64,
        index: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ev = self.ev.clone().with_seed(seed);
        let mut r = ev.rollout(index).map_err(err)?;
        let o = r.observe().ok_or_else(|| {
            err(format!(
                "the scene of attempt {index} of seed {seed} could not be built"
            ))
        })?;
        let d = obs_dict(py, &o, &self.layout)?;
        self.last = Some(o);
        self.rollout = Some(r);
        Ok(d)
    }

    /// One control step; returns `(obs, reward, terminated, truncated, success, failure)`.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: Vec<f64>,
    ) -> PyResult<(
        Bound<'py, PyDict>,
        f64,
        bool,
        bool,
        bool,
        Option<&'static str>,
    )> {
        if action.len() != 7 {
            return Err(PyValueError::new_err(format!(
                "an action has 7 values (x, y, z, 3 rotation, gripper); got {}",
                action.len()
            )));
        }
        if let Some(i) = action.iter().position(|x| !x.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "action value {i} is {} (actions must be finite)",
                action[i]
            )));
        }
        let (Some(r), Some(obs)) = (self.rollout.as_mut(), self.last.take()) else {
            return Err(PyValueError::new_err(
                "step() before reset(), or after the episode ended; call reset()",
            ));
        };
        let mut ended = r.act(obs, &action, &self.convention);
        let mut truncated = false;
        let next = if ended { None } else { r.observe() };
        if !ended && next.is_none() {
            ended = true;
            truncated = true;
        }
        // A rollout that reset() returned has a world (a rejected scene fails the reset).
        let next = match (next, r.world()) {
            (Some(o), _) => o,
            (None, Some(w)) => observe(w),
            (None, None) => return Err(err("the episode's world is gone")),
        };
        let (success, failure) = r.outcome().unwrap_or((false, None));
        let d = obs_dict(py, &next, &self.layout)?;
        if !ended {
            self.last = Some(next);
        }
        let reward = if success { 1.0 } else { 0.0 };
        let terminated = ended && !truncated;
        Ok((
            d,
            reward,
            terminated,
            truncated,
            success,
            failure.map(|f| f.as_str()),
        ))
    }

    /// An RGB image (H, W, 3) of the current scene from `camera` (`agentview` or
    /// `robot0_eye_in_hand`), rendered on the CPU.
    #[pyo3(signature = (camera="agentview", width=256, height=256))]
    fn render<'py>(
        &self,
        py: Python<'py>,
        camera: &str,
        width: u32,
        height: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let w = self
            .rollout
            .as_ref()
            .and_then(|r| r.world())
            .ok_or_else(|| PyValueError::new_err("render() before reset(); call reset()"))?;
        // The hand pose the dataset's observations (and its wrist images) use.
        let eef = dmgen::export::observe(w).eef;
        let cam = dmgen::camera::by_name(camera, &eef, width, height)
            .map_err(|e| PyValueError::new_err(format!("unknown camera: {e}")))?;
        let shapes = w.visual_shapes();
        let img = py
            .detach(|| dmgen::camera::render(&shapes, &cam, false))
            .map_err(err)?;
        Ok(PyArray1::from_vec(py, img.rgb)
            .reshape([height as usize, width as usize, 3])?
            .into_any())
    }

    /// Control steps before the time limit.
    #[getter]
    fn max_steps(&self) -> usize {
        (self.ev.horizon() / CONTROL_DT - 1e-9).ceil() as usize
    }

    /// The task's object names, in the `object` observation's order.
    #[getter]
    fn object_names(&self) -> Vec<String> {
        self.ev.task().object_names()
    }

    /// `(key, width)` of every observation key, in order.
    #[getter]
    fn obs_widths(&self) -> Vec<(&'static str, usize)> {
        LOW_DIM_KEYS
            .iter()
            .map(|k| (*k, low_dim_width(k, &self.layout).unwrap_or(0)))
            .collect()
    }

    /// Control period (s).
    #[getter]
    fn dt(&self) -> f64 {
        CONTROL_DT
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DmgenError", m.py().get_type::<DmgenError>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(task_ids, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_config, m)?)?;
    m.add_function(wrap_pyfunction!(read_task, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(generate_shard, m)?)?;
    m.add_function(wrap_pyfunction!(merge_shards, m)?)?;
    m.add_function(wrap_pyfunction!(episode_origin, m)?)?;
    m.add_function(wrap_pyfunction!(sha256_hex, m)?)?;
    m.add_function(wrap_pyfunction!(attempt_budget, m)?)?;
    m.add_function(wrap_pyfunction!(wilson, m)?)?;
    m.add("DEFAULT_EVAL_SEED", dmgen::policy::DEFAULT_EVAL_SEED)?;
    m.add("MAX_SHARD_ATTEMPTS", shard::MAX_SHARD_ATTEMPTS)?;
    m.add_class::<PyGenerator>()?;
    m.add_class::<EnvCore>()?;
    Ok(())
}
