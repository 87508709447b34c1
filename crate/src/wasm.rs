//! The JavaScript boundary: the only file that knows wasm-bindgen, js-sys and web-sys.
//!
//! Plain data crosses it: numbers and strings in, numbers, strings and typed
//! arrays out. Rust owns every piece of state; JavaScript holds the exported
//! objects as handles and frees them with `.free()`.
//!
//! A panic anywhere in the core is caught by the hook installed at start-up:
//! it records the message (see [`has_panicked`], [`panic_message`]), logs it,
//! and calls `globalThis.__dmgenOnPanic(message)` when the page defined it, so
//! the page can show a banner instead of freezing.
//!
//! One crate, two modules: the page's (`page`, built without features) and the
//! extras the page loads on first use (`extras`, feature `web-extras`: the LeRobot
//! export, which would not fit the page module's 1 MB budget). Both share the
//! panic reporting above them.

use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let msg = info.to_string();
    PANIC.with(|p| {
        if let Ok(mut slot) = p.try_borrow_mut() {
            if slot.is_none() {
                *slot = Some(msg.clone());
            }
        }
    });
    web_sys::console::error_1(&JsValue::from_str(&format!("dmgen panicked: {msg}")));
    let global = js_sys::global();
    if let Ok(cb) = js_sys::Reflect::get(&global, &JsValue::from_str("__dmgenOnPanic")) {
        if let Some(f) = cb.dyn_ref::<js_sys::Function>() {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_str(&msg));
        }
    }
}

/// Runs once when the module is instantiated (page or worker).
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(report_panic));
}

/// The core's version string.
#[wasm_bindgen]
pub fn version() -> String {
    crate::version().to_string()
}

/// Whether the core has panicked in this instance (it must not be used after that).
#[wasm_bindgen]
pub fn has_panicked() -> bool {
    PANIC.with(|p| p.try_borrow().map(|s| s.is_some()).unwrap_or(true))
}

/// The first panic message, if any.
#[wasm_bindgen]
pub fn panic_message() -> Option<String> {
    PANIC.with(|p| p.try_borrow().ok().and_then(|s| s.clone()))
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

// The page's module: everything but the on-demand extras. (wasm-bindgen exports items
// from any module; nothing here is re-exported.)
#[cfg(not(feature = "web-extras"))]
mod page {
    use super::*;
    use crate::config::{DmpParams, GenerationConfig, SegmentationOverride};
    use crate::generate::{
        Attempt, DatasetAssembler as CoreAssembler, Generator as CoreGenerator, Rollout,
    };
    use crate::geom::{Pose, Vec3};
    use crate::record::{Teleop, TeleopInput};
    use crate::render::{Overlay, Renderer};
    use crate::session::{self, Session};
    use crate::sim::showcase::BoxDrop;
    use crate::sim::{panda, PandaWorld, VisualShape, World, CONTROL_DT};
    use crate::task::Task;
    use std::sync::Arc;

    /// Hand over the JSON text of built-in demo `id` (`public/demos/<id>.json`), which the
    /// browser build does not embed; call once per instance before opening a session.
    #[wasm_bindgen]
    pub fn register_builtin_demo(id: &str, json: String) -> Result<(), JsError> {
        crate::generate::register_builtin_demo(id, json).map_err(js_err)
    }

    /// Hand over the text of built-in task `id`'s file (`public/tasks/<id>.json`), which
    /// the page's first module does not embed; call once per instance before opening a
    /// session.
    #[cfg(not(feature = "web-extras"))]
    #[wasm_bindgen]
    pub fn register_builtin_task(id: &str, json: String) -> Result<(), JsError> {
        crate::task::register_builtin_task(id, json).map_err(js_err)
    }

    /// Deliberately panic: lets the page and its tests check that a crash is reported.
    #[wasm_bindgen]
    pub fn debug_panic(reason: &str) {
        panic!("debug panic requested: {reason}");
    }

    /// Determinism probe: run the showcase scene for `steps` physics steps and
    /// return the FNV digest of its body poses as a hex string (must equal the
    /// native digest for the same arguments).
    #[wasm_bindgen]
    pub fn showcase_digest(boxes: u32, seed: u32, steps: u32) -> String {
        let mut s = BoxDrop::new(boxes.min(64) as usize, seed as u64);
        for _ in 0..steps.min(100_000) {
            s.step();
        }
        format!("{:016x}", s.digest())
    }

    /// Ids of the built-in tasks, in the order the page lists them.
    #[wasm_bindgen]
    pub fn task_ids() -> Vec<String> {
        Task::all().into_iter().map(|t| t.id).collect()
    }

    /// The reset levels (`d0`, `d1`, `d2`) task `id` has; empty for an unknown task.
    #[wasm_bindgen]
    pub fn task_reset_levels(id: &str) -> Vec<String> {
        Task::by_id(id)
            .map(|t| {
                t.reset_levels()
                    .iter()
                    .map(|l| l.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Lowercase hex SHA-256 of `bytes` (pins an uploaded demo in a configuration).
    #[wasm_bindgen]
    pub fn sha256_hex(bytes: &[u8]) -> String {
        crate::config::sha256_hex(bytes)
    }

    /// Refuse a demo file from its size alone (the page passes `File.size` before reading
    /// the file); the error says what the limit is.
    #[wasm_bindgen]
    pub fn check_demo_size(bytes: f64) -> Result<(), JsError> {
        let n = if bytes.is_finite() && bytes >= 0.0 {
            bytes as u64
        } else {
            u64::MAX
        };
        crate::demo::check_demo_size(n).map_err(js_err)
    }

    /// Longest wall time one frame may advance the simulation by: a slow frame
    /// (software rendering) still keeps a preview in real time, in larger steps.
    const MAX_FRAME_DT: f64 = 0.5;

    fn finite_dt(dt: f64) -> f64 {
        if dt.is_finite() {
            dt.clamp(0.0, MAX_FRAME_DT)
        } else {
            0.0
        }
    }

    /// What the scene shows.
    enum Mode {
        /// The editable scene: objects at the session's poses, the arm at home.
        Scene,
        /// The demo replayed kinematically at sample `sample`.
        Replay { sample: usize, playing: bool },
        /// A live rollout, stepped at the control rate in real time.
        Preview(Box<Preview>),
        /// A generated episode or a policy rollout replayed (kinematic arm from its joint
        /// positions), playing or paused at `step`.
        Episode {
            attempt: Box<Attempt>,
            step: usize,
            playing: bool,
        },
        /// A demo being recorded by teleoperation, stepped at the control rate in real time.
        Record(Box<Recording>),
    }

    struct Recording {
        teleop: Teleop,
        /// What the person is doing now (held keys), applied at every control step.
        input: TeleopInput,
        /// Wall time not yet simulated (s).
        clock: f64,
        /// End-effector positions so far (drawn as a trail).
        trail: Vec<Vec3>,
        /// Why the recording stopped by itself (too long, physics error).
        error: Option<String>,
        /// Where the person drags the target handle with the mouse (overrides the keys'
        /// motion while set; the target follows at a bounded speed).
        drag: Option<Vec3>,
    }

    impl Recording {
        fn step(&mut self) {
            if self.error.is_some() {
                return;
            }
            let stepped = match self.drag {
                Some(p) => {
                    let to = Pose::new(p, self.teleop.target().quat);
                    self.teleop.step_to(&to, self.input.gripper_closed)
                }
                None => self.teleop.step(&self.input),
            };
            match stepped {
                Ok(()) => self.trail.push(self.teleop.world().eef_pose().pos),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
    }

    struct Preview {
        rollout: Rollout,
        /// Wall time not yet simulated (s).
        clock: f64,
        /// End-effector positions after each control step (for the plot).
        trace: Vec<Vec3>,
    }

    /// The playground in the page's canvas: a [`Session`] (task, demo,
    /// segmentation, scene) and its three-d view.
    ///
    /// Array layouts: poses are 7 numbers `[x, y, z, qx, qy, qz, qw]` (m, unit
    /// quaternion); `plot_data` is `[T, demo x (T), demo y, demo z, dmp x, dmp y, dmp z]`.
    #[wasm_bindgen]
    pub struct Playground {
        renderer: Renderer,
        session: Session,
        fixed: Vec<VisualShape>,
        mode: Mode,
        clock: f64,
        q_hint: [f64; panda::DOF],
        overlay_dirty: bool,
        overlay: Overlay,
        /// Something changed since the last frame was drawn (frames are drawn on demand).
        needs_draw: bool,
        /// The last frame's shapes and hand pose, for the camera panels.
        view: (Vec<VisualShape>, Pose),
    }

    fn make_fixed(session: &Session) -> Result<Vec<VisualShape>, JsError> {
        let world =
            PandaWorld::with_poses(session.task(), Default::default(), session.object_poses())
                .map_err(js_err)?;
        Ok(session::scene_fixed_shapes(
            &world.visual_shapes(),
            session.task(),
        ))
    }

    fn builtin_session(task_id: &str) -> Result<Session, JsError> {
        let task = Task::by_id(task_id).map_err(js_err)?;
        let demo = session::builtin_demo(task_id).map_err(js_err)?;
        Session::new(task, demo).map_err(js_err)
    }

    /// The generator of `cfg`: `demo` empty for the configuration's own demo, else the
    /// uploaded file's bytes, with `demo_json` the demo read from them (HDF5 files).
    fn make_generator(
        cfg: &GenerationConfig,
        demo: &[u8],
        demo_name: &str,
        demo_json: Option<&str>,
    ) -> Result<CoreGenerator, JsError> {
        match demo_json {
            _ if demo.is_empty() => CoreGenerator::new(cfg, None),
            None => CoreGenerator::new(cfg, Some((demo, demo_name))),
            Some(json) => {
                let read = crate::demo::read_demo_transfer(json).map_err(js_err)?;
                CoreGenerator::for_read_file(cfg, demo, demo_name, read)
            }
        }
        .map_err(js_err)
    }

    fn poses_to_f64(poses: &[Pose]) -> Vec<f64> {
        poses
            .iter()
            .flat_map(|p| p.pos.0.into_iter().chain(p.quat.0))
            .collect()
    }

    #[wasm_bindgen]
    impl Playground {
        /// Create the playground drawing into `canvas` through WebGL2, showing
        /// `task_id` with its built-in demo.
        #[wasm_bindgen(constructor)]
        pub fn new(
            canvas: web_sys::HtmlCanvasElement,
            task_id: &str,
        ) -> Result<Playground, JsError> {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"antialias".into(), &JsValue::TRUE);
            let gl = canvas
                .get_context_with_context_options("webgl2", &options)
                .map_err(|_| JsError::new("the browser refused to create a WebGL2 context"))?
                .ok_or_else(|| JsError::new("WebGL2 is not available in this browser"))?
                .dyn_into::<web_sys::WebGl2RenderingContext>()
                .map_err(|_| JsError::new("the canvas returned a context that is not WebGL2"))?;
            let glow = three_d::context::Context::from_webgl2_context(gl);
            // three-d's API takes an Arc; the WebGL context never leaves this thread.
            #[allow(clippy::arc_with_non_send_sync)]
            let shared = Arc::new(glow);
            let context = three_d::Context::from_gl_context(shared)
                .map_err(|e| JsError::new(&format!("could not set up WebGL2: {e}")))?;
            let renderer = Renderer::new(context, canvas.width(), canvas.height());
            let session = builtin_session(task_id)?;
            let fixed = make_fixed(&session)?;
            Ok(Playground {
                renderer,
                session,
                fixed,
                mode: Mode::Scene,
                clock: 0.0,
                q_hint: panda::Q_HOME,
                overlay_dirty: true,
                overlay: Overlay::default(),
                needs_draw: true,
                view: (Vec::new(), panda::fk(&panda::Q_HOME)),
            })
        }

        /// Switch to the task a task file describes (JSON, docs/tasks.md), with its
        /// built-in demo: a built-in task's shipped demo when the file keeps its id, else
        /// the file's scripted demonstration (the reset drawn with seed 0). A task without
        /// a script is refused: load it from the CLI or Python, or give it a script.
        /// Returns the task's id. On error nothing changes.
        pub fn load_task(&mut self, json: &str) -> Result<String, JsError> {
            let task = Task::from_json(json).map_err(js_err)?;
            let demo = match crate::generate::builtin_demo_json(&task.id) {
                Some(_) => session::builtin_demo(&task.id).map_err(js_err)?,
                None => crate::task::scripted::scripted_demo_of(&task, 0)
                    .map(session::scene_demo)
                    .map_err(|e| {
                        JsError::new(&format!(
                            "task '{}' has no demo the page can make ({e}); record one with `dmgen demo --task-file` or add a script",
                            task.id
                        ))
                    })?,
            };
            let id = task.id.clone();
            let session = Session::new(task, demo).map_err(js_err)?;
            self.fixed = make_fixed(&session)?;
            self.session = session;
            self.mode = Mode::Scene;
            self.overlay_dirty = true;
            self.needs_draw = true;
            Ok(id)
        }

        /// The current task's file as JSON (keys sorted: the canonical form links use;
        /// `dmgen task` prints the file's own layout).
        pub fn task_json(&self) -> Result<String, JsError> {
            serde_json::to_value(self.session.task())
                .map(|v| crate::config::canonical_json(&v))
                .map_err(js_err)
        }

        /// Whether the current task is a built-in task exactly as its file has it (links
        /// then name it by id alone).
        pub fn task_is_builtin(&self) -> bool {
            let t = self.session.task();
            Task::by_id(&t.id).is_ok_and(|b| b == *t)
        }

        /// Switch to `task_id` with its built-in demo (on error nothing changes).
        pub fn set_task(&mut self, task_id: &str) -> Result<(), JsError> {
            let session = builtin_session(task_id)?;
            self.fixed = make_fixed(&session)?;
            self.session = session;
            self.mode = Mode::Scene;
            self.overlay_dirty = true;
            self.needs_draw = true;
            Ok(())
        }

        /// Load an uploaded demo (JSON or CSV; an HDF5 file is read by the on-demand
        /// module, whose `hdf5_demo_json` gives `demo_json`). The task becomes the one
        /// the demo names, else stays. On error the current demo stays loaded.
        pub fn load_demo(
            &mut self,
            bytes: &[u8],
            name: &str,
            index: u32,
            demo_json: Option<String>,
        ) -> Result<(), JsError> {
            let demo = match demo_json {
                Some(json) => crate::demo::read_demo_transfer(&json)
                    .map(session::scene_demo)
                    .map_err(js_err)?,
                None => session::load_demo(bytes, name, index as usize).map_err(js_err)?,
            };
            let session = Session::for_demo(demo, &self.session.task().id).map_err(js_err)?;
            self.fixed = make_fixed(&session)?;
            self.session = session;
            self.mode = Mode::Scene;
            self.overlay_dirty = true;
            self.needs_draw = true;
            Ok(())
        }

        /// The current task id.
        pub fn task_id(&self) -> String {
            self.session.task().id.clone()
        }

        /// The task's object names (pose arrays follow this order).
        pub fn object_names(&self) -> Vec<String> {
            self.session.task().object_names()
        }

        /// Number of samples in the demo.
        pub fn demo_len(&self) -> u32 {
            self.session.demo().len() as u32
        }

        /// Demo duration, seconds.
        pub fn demo_duration(&self) -> f64 {
            self.session.demo().t.last().copied().unwrap_or(0.0)
        }

        /// The demo (scene frame) as JSON, for configurations that embed it.
        pub fn demo_json(&self) -> String {
            crate::demo::demo_to_json(self.session.demo())
        }

        /// The current segmentation (task spec) as JSON.
        pub fn spec_json(&self) -> String {
            self.session.spec().to_json()
        }

        /// Apply segmentation corrections (`SegmentationOverride` JSON; `{}` = automatic).
        pub fn set_segmentation(&mut self, json: &str) -> Result<(), JsError> {
            let ov: SegmentationOverride = serde_json::from_str(json).map_err(js_err)?;
            self.session.set_segmentation(ov).map_err(js_err)?;
            self.overlay_dirty = true;
            self.needs_draw = true;
            Ok(())
        }

        /// Apply DMP settings (`DmpParams` JSON).
        pub fn set_dmp(&mut self, json: &str) -> Result<(), JsError> {
            let p: DmpParams = serde_json::from_str(json).map_err(js_err)?;
            self.session.set_dmp(p).map_err(js_err)?;
            self.overlay_dirty = true;
            self.needs_draw = true;
            Ok(())
        }

        /// Demo and DMP reproduction per axis (layout in the type's doc).
        pub fn plot_data(&self) -> Result<Vec<f64>, JsError> {
            let demo = &self.session.demo().eef;
            let rep = self.session.reproduction().map_err(js_err)?;
            let mut out = vec![demo.len() as f64];
            for series in [demo, &rep] {
                for axis in 0..3 {
                    out.extend(series.iter().map(|p| p.pos.0[axis]));
                }
            }
            Ok(out)
        }

        /// Sample a new scene from the task's reset distribution.
        /// Spread objects at MimicGen's reset level `level` (`d0`, `d1`, `d2`) from the next
        /// `randomize` on.
        pub fn set_reset_level(&mut self, level: &str) -> Result<(), JsError> {
            let l = crate::task::ResetLevel::parse(level).ok_or_else(|| {
                JsError::new(&format!("'{level}' is not a reset level (d0, d1, d2)"))
            })?;
            self.session
                .set_reset_level(l)
                .map_err(|e| JsError::new(&e.to_string()))
        }

        pub fn randomize(&mut self, seed: u32) {
            self.session.randomize(seed as u64);
            self.mode = Mode::Scene;
            self.overlay_dirty = true;
            self.needs_draw = true;
        }

        /// Current object poses (7 per object).
        pub fn object_poses(&self) -> Vec<f64> {
            poses_to_f64(&self.current_poses())
        }

        /// Move object `index` to (`x`, `y`) on the table with heading `yaw` (rad).
        pub fn move_object(&mut self, index: u32, x: f64, y: f64, yaw: f64) -> Result<(), JsError> {
            if let Mode::Preview(p) = &mut self.mode {
                // While the robot moves, the object is moved in the live world; the
                // running DMP's goal follows it.
                let world = p.rollout.world_mut();
                let now = world
                    .object_poses()
                    .get(index as usize)
                    .copied()
                    .ok_or_else(|| JsError::new(&format!("no object {index}")))?;
                let pose = Pose::new(
                    Vec3::new(x, y, now.pos.z()),
                    crate::geom::Quat::from_yaw(yaw),
                );
                if world.grasped_object() == Some(index as usize) {
                    return Err(JsError::new("that object is held by the gripper"));
                }
                world.place_object(index as usize, &pose).map_err(js_err)?;
                self.needs_draw = true;
                return Ok(());
            }
            self.session
                .move_object(index as usize, x, y, yaw)
                .map_err(js_err)?;
            self.overlay_dirty = true;
            self.needs_draw = true;
            Ok(())
        }

        /// The object under canvas pixel (`x`, `y`) (device pixels from the top
        /// left), or -1.
        pub fn pick(&self, x: f32, y: f32) -> i32 {
            let (o, d) = self.renderer.ray(x, y);
            let mut best = (-1, f64::INFINITY);
            for (i, (p, spec)) in self
                .current_poses()
                .iter()
                .zip(&self.session.task().objects)
                .enumerate()
            {
                let Some(hit) = ray_plane(o, d, p.pos.z()) else {
                    continue;
                };
                let dist = ((hit[0] - p.pos.x()).powi(2) + (hit[1] - p.pos.y()).powi(2)).sqrt();
                if dist < spec.footprint_radius() + 0.015 && dist < best.1 {
                    best = (i as i32, dist);
                }
            }
            best.0
        }

        /// Where the ray under canvas pixel (`x`, `y`) meets the horizontal plane
        /// at height `z`: `[x, y]`, or empty when it does not.
        pub fn table_point(&self, x: f32, y: f32, z: f64) -> Vec<f64> {
            let (o, d) = self.renderer.ray(x, y);
            ray_plane(o, d, z)
                .map(|h| vec![h[0], h[1]])
                .unwrap_or_default()
        }

        /// Show the demo replay at sample `sample` (paused).
        pub fn show_replay(&mut self, sample: u32) {
            self.needs_draw = true;
            self.mode = Mode::Replay {
                sample: sample as usize,
                playing: false,
            };
        }

        /// Play or pause the demo replay.
        pub fn play_replay(&mut self, playing: bool) {
            self.needs_draw = true;
            let sample = self.replay_sample().max(0) as usize;
            let sample = if playing && sample + 1 >= self.session.demo().len() {
                0
            } else {
                sample
            };
            self.mode = Mode::Replay { sample, playing };
            self.clock = 0.0;
        }

        /// The replayed sample, or -1 when the scene is shown.
        pub fn replay_sample(&self) -> i32 {
            match self.mode {
                Mode::Replay { sample, .. } => sample as i32,
                _ => -1,
            }
        }

        /// Whether the demo replay is playing.
        pub fn replay_playing(&self) -> bool {
            matches!(self.mode, Mode::Replay { playing: true, .. })
        }

        /// Back to the editable scene.
        pub fn show_scene(&mut self) {
            self.needs_draw = true;
            self.mode = Mode::Scene;
        }

        fn refresh_overlay(&mut self) {
            if !self.overlay_dirty {
                return;
            }
            self.overlay = Overlay {
                frames: self.session.goal_frames(),
                paths: vec![(self.session.planned_path(), [240, 120, 20, 255])],
            };
            self.overlay_dirty = false;
        }

        /// Advance by `dt` wall seconds and draw a frame. The replay advances at
        /// the demo's own rate, independent of the frame rate.
        pub fn frame(&mut self, dt: f64) {
            let dt = finite_dt(dt);
            if !(self.needs_draw || self.animating()) {
                return;
            }
            self.needs_draw = false;
            self.refresh_overlay();
            let (shapes, overlay) = match &mut self.mode {
                Mode::Scene => (self.scene_shapes(), self.overlay.clone()),
                Mode::Replay { sample, playing } => {
                    let t = &self.session.demo().t;
                    if *playing && !t.is_empty() {
                        self.clock += dt;
                        while *sample + 1 < t.len() && t[*sample + 1] - t[*sample] <= self.clock {
                            self.clock -= t[*sample + 1] - t[*sample];
                            *sample += 1;
                        }
                        if *sample + 1 >= t.len() {
                            *playing = false;
                        }
                    }
                    let k = *sample;
                    let eef = &self.session.demo().eef;
                    let overlay = Overlay {
                        frames: self.session.goal_frames(),
                        paths: vec![(
                            eef.iter().take(k + 1).map(|p| p.pos).collect::<Vec<Vec3>>(),
                            [40, 110, 220, 255],
                        )],
                    };
                    let shapes = self.session.replay_shapes(&self.fixed, k, &mut self.q_hint);
                    (shapes, overlay)
                }
                Mode::Preview(p) => {
                    if p.rollout.outcome().is_none() {
                        p.clock += dt;
                        while p.clock >= CONTROL_DT {
                            p.clock -= CONTROL_DT;
                            let done = p.rollout.step();
                            p.trace.push(p.rollout.world().eef_pose().pos);
                            if done {
                                break;
                            }
                        }
                    }
                    let overlay = Overlay {
                        frames: p.rollout.goal().into_iter().collect(),
                        paths: vec![(
                            p.rollout.planned_path().iter().map(|q| q.pos).collect(),
                            [240, 120, 20, 255],
                        )],
                    };
                    (p.rollout.world().visual_shapes(), overlay)
                }
                Mode::Record(r) => {
                    r.clock += dt;
                    while r.clock >= CONTROL_DT && r.error.is_none() {
                        r.clock -= CONTROL_DT;
                        r.step();
                    }
                    let overlay = Overlay {
                        frames: vec![r.teleop.target()],
                        paths: vec![(r.trail.clone(), [200, 60, 160, 255])],
                    };
                    (r.teleop.world().visual_shapes(), overlay)
                }
                Mode::Episode {
                    attempt,
                    step,
                    playing,
                } => {
                    let steps = &attempt.episode.steps;
                    if *playing && *step + 1 >= steps.len() {
                        *playing = false;
                    }
                    if *playing {
                        self.clock += dt;
                        while self.clock >= CONTROL_DT && *step + 1 < steps.len() {
                            self.clock -= CONTROL_DT;
                            *step += 1;
                        }
                    }
                    let mut shapes = self.fixed.clone();
                    let path: Vec<Vec3> = steps.iter().map(|r| r.obs.eef.pos).collect();
                    if let Some(r) = steps.get(*step) {
                        let o = &r.obs;
                        shapes.extend(session::robot_shapes(
                            &o.joint_pos,
                            o.finger_qpos[0] - o.finger_qpos[1],
                        ));
                        for (spec, pose) in self.session.task().objects.iter().zip(&o.objects) {
                            shapes.extend(session::object_shapes(&spec.parts, pose, spec.color));
                        }
                    }
                    (
                        shapes,
                        Overlay {
                            frames: Vec::new(),
                            paths: vec![(path, [40, 160, 90, 255])],
                        },
                    )
                }
            };
            self.renderer.draw(&shapes, &overlay);
            let hand = match &self.mode {
                Mode::Scene => panda::fk(&panda::Q_HOME),
                Mode::Replay { sample, .. } => self
                    .session
                    .demo()
                    .eef
                    .get(*sample)
                    .copied()
                    .unwrap_or_else(|| panda::fk(&panda::Q_HOME)),
                Mode::Preview(p) => crate::export::observe(p.rollout.world()).eef,
                Mode::Record(r) => crate::export::observe(r.teleop.world()).eef,
                Mode::Episode { attempt, step, .. } => attempt
                    .episode
                    .steps
                    .get(*step)
                    .map(|s| s.obs.eef)
                    .unwrap_or_else(|| panda::fk(&panda::Q_HOME)),
            };
            self.view = (shapes, hand);
        }

        /// The last drawn frame seen by camera `name` (`agentview` or
        /// `robot0_eye_in_hand`), rendered by the core's CPU renderer exactly as datasets
        /// record it, as `width * height * 4` RGBA bytes for an `ImageData`.
        pub fn camera_view(&self, name: &str, width: u32, height: u32) -> Result<Vec<u8>, JsError> {
            let cam = crate::camera::by_name(name, &self.view.1, width, height).map_err(js_err)?;
            let img = crate::camera::render(&self.view.0, &cam, false).map_err(js_err)?;
            let mut out = Vec::with_capacity(img.rgb.len() / 3 * 4);
            for px in img.rgb.chunks_exact(3) {
                out.extend_from_slice(&[px[0], px[1], px[2], 255]);
            }
            Ok(out)
        }

        /// Start a live preview of episode 0 of `config_json` in the visible scene,
        /// from the objects' current poses (episode 0's dynamics apply). `demo`
        /// empty: the configuration's own demo; else the uploaded file's bytes.
        pub fn start_preview(
            &mut self,
            config_json: &str,
            demo: &[u8],
            demo_name: &str,
            demo_json: Option<String>,
        ) -> Result<(), JsError> {
            let cfg = parse_config(config_json)?;
            let generator = make_generator(&cfg, demo, demo_name, demo_json.as_deref())?;
            let rollout = generator
                .rollout_with_poses(0, self.session.object_poses())
                .map_err(js_err)?;
            self.mode = Mode::Preview(Box::new(Preview {
                rollout,
                clock: 0.0,
                trace: Vec::new(),
            }));
            self.needs_draw = true;
            Ok(())
        }

        /// Whether a preview is running (started and not finished).
        pub fn preview_running(&self) -> bool {
            match &self.mode {
                Mode::Preview(p) => p.rollout.outcome().is_none(),
                _ => false,
            }
        }

        /// Control steps the preview has taken.
        pub fn preview_steps(&self) -> u32 {
            match &self.mode {
                Mode::Preview(p) => p.rollout.steps() as u32,
                _ => 0,
            }
        }

        /// The preview's outcome: `success`, a failure reason (`missed_grasp`, ...),
        /// or nothing while it runs.
        pub fn preview_outcome(&self) -> Option<String> {
            let Mode::Preview(p) = &self.mode else {
                return None;
            };
            p.rollout.outcome().map(|(ok, reason)| {
                if ok {
                    "success".to_string()
                } else {
                    reason.map(|r| r.as_str()).unwrap_or("failed").to_string()
                }
            })
        }

        /// Replay a generated attempt (bytes from a worker) in the scene.
        pub fn show_episode(&mut self, bytes: &[u8]) -> Result<(), JsError> {
            let attempt = Attempt::from_bytes(bytes).map_err(js_err)?;
            if attempt.episode.steps.is_empty() {
                return Err(JsError::new("this attempt recorded no steps"));
            }
            self.mode = Mode::Episode {
                attempt: Box::new(attempt),
                step: 0,
                playing: true,
            };
            self.clock = 0.0;
            self.needs_draw = true;
            Ok(())
        }

        /// Control steps of the episode shown (0 when none is).
        pub fn episode_length(&self) -> u32 {
            match &self.mode {
                Mode::Episode { attempt, .. } => attempt.episode.steps.len() as u32,
                _ => 0,
            }
        }

        /// The episode's step shown, or -1 when no episode is shown.
        pub fn episode_step(&self) -> i32 {
            match &self.mode {
                Mode::Episode { step, .. } => *step as i32,
                _ => -1,
            }
        }

        /// Whether the episode shown is playing.
        pub fn episode_playing(&self) -> bool {
            matches!(self.mode, Mode::Episode { playing: true, .. })
        }

        /// Show the episode at `step` (clamped), paused.
        pub fn show_episode_step(&mut self, at: u32) {
            if let Mode::Episode {
                attempt,
                step,
                playing,
            } = &mut self.mode
            {
                *step = (at as usize).min(attempt.episode.steps.len().saturating_sub(1));
                *playing = false;
                self.needs_draw = true;
            }
        }

        /// Play (from the start when at the end) or pause the episode shown.
        pub fn play_episode(&mut self, play: bool) {
            if let Mode::Episode {
                attempt,
                step,
                playing,
            } = &mut self.mode
            {
                if play && *step + 1 >= attempt.episode.steps.len() {
                    *step = 0;
                }
                *playing = play;
                self.clock = 0.0;
                self.needs_draw = true;
            }
        }

        /// The last preview's end-effector positions: `[n, x (n), y (n), z (n)]`
        /// (`[0]` when there was no preview).
        pub fn preview_trace(&self) -> Vec<f64> {
            let Mode::Preview(p) = &self.mode else {
                return vec![0.0];
            };
            let mut out = vec![p.trace.len() as f64];
            for axis in 0..3 {
                out.extend(p.trace.iter().map(|v| v.0[axis]));
            }
            out
        }

        /// Start recording a demo by teleoperation in the current task, from the objects'
        /// current poses; the end-effector target starts at the hand. Stepped in real time by
        /// [`Playground::frame`] with the input of [`Playground::record_input`].
        pub fn start_recording(&mut self) -> Result<(), JsError> {
            let teleop = Teleop::new(self.session.task(), &self.current_poses()).map_err(js_err)?;
            self.mode = Mode::Record(Box::new(Recording {
                teleop,
                input: TeleopInput::default(),
                clock: 0.0,
                trail: Vec::new(),
                error: None,
                drag: None,
            }));
            self.needs_draw = true;
            Ok(())
        }

        /// What the person does now: end-effector velocity `(vx, vy, vz)` in the scene frame
        /// (m/s), yaw rate (rad/s) and the gripper (closed or open). The core bounds them.
        pub fn record_input(
            &mut self,
            vx: f64,
            vy: f64,
            vz: f64,
            yaw_rate: f64,
            gripper_closed: bool,
        ) {
            if let Mode::Record(r) = &mut self.mode {
                r.input = TeleopInput {
                    velocity: Vec3::new(vx, vy, vz),
                    yaw_rate,
                    gripper_closed,
                };
            }
        }

        /// Whether canvas pixel (`x`, `y`) is on the recording's target handle (within
        /// 24 device pixels of its centre).
        pub fn record_handle_at(&self, x: f32, y: f32) -> bool {
            let Mode::Record(r) = &self.mode else {
                return false;
            };
            let t = r.teleop.target().pos;
            let [px, py] = self.renderer.pixel(t.0);
            let (dx, dy) = (px - f64::from(x), py - f64::from(y));
            (dx * dx + dy * dy).sqrt() <= 24.0
        }

        /// Canvas pixel (device pixels) of world point (`x`, `y`, `z`): `[px, py]`.
        pub fn screen_point(&self, x: f64, y: f64, z: f64) -> Vec<f64> {
            self.renderer.pixel([x, y, z]).to_vec()
        }

        /// Drag the recording's target handle towards world point (`x`, `y`, `z`) (m); the
        /// hand follows at a bounded speed, inside the workspace, until
        /// [`Playground::record_drag_end`]. Non-finite points are ignored.
        pub fn record_drag(&mut self, x: f64, y: f64, z: f64) {
            if let Mode::Record(r) = &mut self.mode {
                let p = Vec3::new(x, y, z);
                if p.is_finite() {
                    r.drag = Some(p);
                }
            }
        }

        /// Release the target handle: the keys drive the target again.
        pub fn record_drag_end(&mut self) {
            if let Mode::Record(r) = &mut self.mode {
                r.drag = None;
            }
        }

        /// Take `steps` control steps at once with the current input (scripted recordings
        /// and tests; the page otherwise steps in real time).
        pub fn record_steps(&mut self, steps: u32) -> Result<(), JsError> {
            let Mode::Record(r) = &mut self.mode else {
                return Err(JsError::new("no recording is running"));
            };
            for _ in 0..steps {
                r.step();
            }
            self.needs_draw = true;
            match &r.error {
                Some(e) => Err(JsError::new(e)),
                None => Ok(()),
            }
        }

        /// Whether a recording is running.
        pub fn recording(&self) -> bool {
            matches!(self.mode, Mode::Record(_))
        }

        /// Samples recorded so far (0 when not recording).
        pub fn record_samples(&self) -> u32 {
            match &self.mode {
                Mode::Record(r) => r.teleop.samples() as u32,
                _ => 0,
            }
        }

        /// The end-effector target during a recording, `[x, y, z, qx, qy, qz, qw]` (empty
        /// when not recording).
        pub fn record_target(&self) -> Vec<f64> {
            match &self.mode {
                Mode::Record(r) => poses_to_f64(&[r.teleop.target()]),
                _ => Vec::new(),
            }
        }

        /// Why the recording stopped by itself, if it did (it then waits for
        /// [`Playground::finish_recording`]).
        pub fn record_error(&self) -> Option<String> {
            match &self.mode {
                Mode::Record(r) => r.error.clone(),
                _ => None,
            }
        }

        /// End the recording: the demo in the project's JSON format, checked for what
        /// segmentation needs (the error explains what is missing). The scene comes back
        /// either way; load the JSON with [`Playground::load_demo`] to use it.
        pub fn finish_recording(&mut self) -> Result<String, JsError> {
            let mode = std::mem::replace(&mut self.mode, Mode::Scene);
            self.needs_draw = true;
            let Mode::Record(r) = mode else {
                self.mode = mode;
                return Err(JsError::new("no recording is running"));
            };
            let demo = r.teleop.finish().map_err(js_err)?;
            Ok(crate::demo::demo_to_json(&demo))
        }

        /// Whether a generated episode is being shown.
        pub fn episode_shown(&self) -> bool {
            matches!(self.mode, Mode::Episode { .. })
        }

        /// Whether the view changes by itself (a replay playing, a preview running).
        fn animating(&self) -> bool {
            match &self.mode {
                Mode::Scene => false,
                Mode::Replay { playing, .. } => *playing,
                Mode::Preview(_) => self.preview_running(),
                Mode::Episode { playing, .. } => *playing,
                Mode::Record(r) => r.error.is_none(),
            }
        }

        /// Current object poses: the live world's during a preview, else the edited scene's.
        fn current_poses(&self) -> Vec<Pose> {
            match &self.mode {
                Mode::Preview(p) => p.rollout.world().object_poses(),
                Mode::Record(r) => r.teleop.world().object_poses(),
                _ => self.session.object_poses().to_vec(),
            }
        }

        fn scene_shapes(&self) -> Vec<VisualShape> {
            let mut out = self.fixed.clone();
            out.extend(session::robot_shapes(
                &panda::Q_HOME,
                2.0 * panda::FINGER_TRAVEL,
            ));
            for (spec, p) in self
                .session
                .task()
                .objects
                .iter()
                .zip(self.session.object_poses())
            {
                out.extend(session::object_shapes(&spec.parts, p, spec.color));
            }
            out
        }

        /// The canvas's drawing buffer changed size (device pixels).
        pub fn resize(&mut self, width: u32, height: u32) {
            self.needs_draw = true;
            self.renderer.resize(width, height);
        }

        /// Orbit the camera by a drag of `dx`, `dy` pixels.
        pub fn orbit(&mut self, dx: f32, dy: f32) {
            self.needs_draw = true;
            self.renderer.orbit.rotate(dx, dy);
        }

        /// Pan the camera by a drag of `dx`, `dy` pixels.
        pub fn pan(&mut self, dx: f32, dy: f32) {
            self.needs_draw = true;
            self.renderer.orbit.pan(dx, dy);
        }

        /// Zoom by a wheel delta (positive: away).
        pub fn zoom(&mut self, delta: f32) {
            self.needs_draw = true;
            self.renderer.orbit.zoom(delta);
        }

        /// Frames drawn so far.
        pub fn frames_drawn(&self) -> f64 {
            self.renderer.frames_drawn() as f64
        }

        /// Camera as `[yaw, pitch, distance]` (for tests and saved views).
        pub fn camera_state(&self) -> Vec<f32> {
            let o = &self.renderer.orbit;
            vec![o.yaw, o.pitch, o.distance]
        }
    }

    fn ray_plane(o: [f64; 3], d: [f64; 3], z: f64) -> Option<[f64; 2]> {
        if d[2].abs() < 1e-9 {
            return None;
        }
        let t = (z - o[2]) / d[2];
        (t > 0.0).then(|| [o[0] + t * d[0], o[1] + t * d[1]])
    }

    // ---------------------------------------------------------------- generation

    fn parse_config(json: &str) -> Result<GenerationConfig, JsError> {
        GenerationConfig::from_json(json).map_err(js_err)
    }

    /// The attempt budget of a generation configuration (JSON); validates it.
    #[wasm_bindgen]
    pub fn attempt_budget(config_json: &str) -> Result<f64, JsError> {
        Ok(parse_config(config_json)?.attempt_budget() as f64)
    }

    /// A worker's generator: one configuration and demo; attempts by index.
    #[wasm_bindgen]
    pub struct Generator {
        inner: CoreGenerator,
        last_success: bool,
        last_failure: String,
    }

    #[wasm_bindgen]
    impl Generator {
        /// `demo` empty: the configuration's own demo (built-in or embedded); else the
        /// uploaded file's bytes (its SHA-256 must match the configuration's), and
        /// `demo_json` the demo read from them when the file is HDF5 (see
        /// `hdf5_demo_json` in the on-demand module).
        #[wasm_bindgen(constructor)]
        pub fn new(
            config_json: &str,
            demo: &[u8],
            demo_name: &str,
            demo_json: Option<String>,
        ) -> Result<Generator, JsError> {
            let cfg = parse_config(config_json)?;
            let inner = make_generator(&cfg, demo, demo_name, demo_json.as_deref())?;
            Ok(Generator {
                inner,
                last_success: false,
                last_failure: String::new(),
            })
        }

        /// Run attempt `index` to its end; returns the attempt's encoded bytes.
        pub fn attempt(&mut self, index: u32) -> Vec<u8> {
            let a = self.inner.attempt(index as u64);
            self.last_success = a.success;
            self.last_failure = a
                .failure
                .map(|f| f.as_str().to_string())
                .unwrap_or_default();
            a.to_bytes()
        }

        /// Whether the last attempt succeeded.
        pub fn last_success(&self) -> bool {
            self.last_success
        }

        /// The last attempt's failure reason (`missed_grasp`, ...; empty on success).
        pub fn last_failure(&self) -> String {
            self.last_failure.clone()
        }
    }

    /// The dataset assembled in the page from attempts pushed in index order: the
    /// same bytes as the CLI for the same configuration. The file streams out: after
    /// each push, `take_output` hands over the newly encoded bytes (the page stores
    /// them outside wasm memory), `finish` returns the last bytes, and `header` then
    /// gives the 48 bytes that go first. File = header ‖ outputs ‖ finish().
    #[wasm_bindgen]
    pub struct DatasetAssembler {
        inner: Option<CoreAssembler>,
        header: Option<Vec<u8>>,
        failed_header: Option<Vec<u8>>,
    }

    fn finished() -> JsError {
        JsError::new("the dataset was already written")
    }

    #[wasm_bindgen]
    impl DatasetAssembler {
        #[wasm_bindgen(constructor)]
        pub fn new(config_json: &str) -> Result<DatasetAssembler, JsError> {
            let cfg = parse_config(config_json)?;
            Ok(DatasetAssembler {
                inner: Some(CoreAssembler::new(&cfg).map_err(js_err)?),
                header: None,
                failed_header: None,
            })
        }

        /// Also write the failed attempts into a second file (same layout, with
        /// `dmgen_failure_reason` and `dmgen_failure_step` per episode); call before the
        /// first `push`.
        pub fn keep_failed(&mut self, config_json: &str) -> Result<(), JsError> {
            let cfg = parse_config(config_json)?;
            let a = self.inner.take().ok_or_else(finished)?;
            self.inner = Some(a.keeping_failed(&cfg).map_err(js_err)?);
            Ok(())
        }

        /// The failed-attempts file's bytes encoded since the last call.
        pub fn take_failed_output(&mut self) -> Result<Vec<u8>, JsError> {
            Ok(self
                .inner
                .as_mut()
                .ok_or_else(finished)?
                .take_failed_output())
        }

        /// The failed-attempts file's last bytes (empty when failed attempts are not
        /// kept); call before `finish`. Its header is then `failed_header()`.
        pub fn finish_failed(&mut self) -> Result<Vec<u8>, JsError> {
            let end = self
                .inner
                .as_mut()
                .ok_or_else(finished)?
                .finish_failed_streaming()
                .map_err(js_err)?;
            Ok(match end {
                Some((rest, header)) => {
                    self.failed_header = Some(header.to_vec());
                    rest
                }
                None => Vec::new(),
            })
        }

        /// The 48 bytes at the start of the failed-attempts file, known after `finish_failed`.
        pub fn failed_header(&self) -> Result<Vec<u8>, JsError> {
            self.failed_header.clone().ok_or_else(|| {
                JsError::new("the failed-attempts header is known only after finish_failed")
            })
        }

        /// Add the next attempt's bytes; true once enough episodes are kept or the budget is spent.
        pub fn push(&mut self, attempt: &[u8]) -> Result<bool, JsError> {
            self.inner
                .as_mut()
                .ok_or_else(finished)?
                .push_bytes(attempt)
                .map_err(js_err)
        }

        /// File bytes encoded since the last call (empty when nothing was kept).
        pub fn take_output(&mut self) -> Result<Vec<u8>, JsError> {
            Ok(self.inner.as_mut().ok_or_else(finished)?.take_output())
        }

        /// Bytes of the file so far (header included).
        pub fn bytes_written(&self) -> f64 {
            self.inner
                .as_ref()
                .map_or(0.0, |a| a.bytes_written() as f64)
        }

        /// The run's statistics as JSON.
        pub fn stats_json(&self) -> String {
            self.inner
                .as_ref()
                .and_then(|a| serde_json::to_string(a.stats()).ok())
                .unwrap_or_else(|| "{}".into())
        }

        /// The file's last bytes (the assembler takes no more attempts afterwards).
        pub fn finish(&mut self) -> Result<Vec<u8>, JsError> {
            let (rest, header) = self
                .inner
                .take()
                .ok_or_else(finished)?
                .finish_streaming()
                .map_err(js_err)?;
            self.header = Some(header.to_vec());
            Ok(rest)
        }

        /// The 48 bytes at the start of the file, known once `finish` has run.
        pub fn header(&self) -> Result<Vec<u8>, JsError> {
            self.header
                .clone()
                .ok_or_else(|| JsError::new("the dataset header is known only after finish"))
        }
    }

    // ====================================================================================
    // Share links (`crate::link`, format in docs/links.md). A self-contained block: the
    // typed wrapper is web/src/link.ts. Every string returned here is data for the page to
    // show as text (textContent), never markup.
    // ====================================================================================

    /// Encode a configuration (JSON text, validated) as a link fragment `#v=1&c=...`.
    /// `demo_bytes`: the uploaded demo file when the configuration's demo is
    /// `{"kind": "sha256", ...}`; it must hash to that SHA-256 and is embedded when small.
    /// `policy_json`: the policy training and evaluation settings (`PolicySettings`),
    /// carried as the link's `p`.
    #[wasm_bindgen]
    pub fn encode_link(
        config_json: &str,
        demo_bytes: Option<Vec<u8>>,
        policy_json: Option<String>,
    ) -> Result<String, JsError> {
        let config = crate::config::GenerationConfig::from_json(config_json)
            .map_err(|e| JsError::new(&e.to_string()))?;
        let policy = match policy_json {
            Some(j) => Some(policy_settings(&j)?),
            None => None,
        };
        crate::link::encode_link_with(&config, demo_bytes.as_deref(), policy.as_ref())
            .map_err(|e| JsError::new(&e.to_string()))
    }

    fn policy_settings(json: &str) -> Result<crate::policy_settings::PolicySettings, JsError> {
        crate::policy_settings::PolicySettings::from_json(json)
            .map_err(|e| JsError::new(&format!("policy {e}")))
    }

    /// Validate policy settings JSON (`{"train": {...}, "eval": {...}}`, absent fields take
    /// their defaults); the canonical JSON, every field written.
    #[wasm_bindgen]
    pub fn policy_settings_canonical(json: &str) -> Result<String, JsError> {
        policy_settings(json)?.to_canonical_json().map_err(js_err)
    }

    /// A success rate's 95% Wilson score interval: `[low, high]`.
    #[wasm_bindgen]
    pub fn success_interval(successes: u32, trials: u32) -> Vec<f64> {
        crate::stats::wilson(u64::from(successes), u64::from(trials)).to_vec()
    }

    /// Decode a link (full URL, `#fragment` or bare fragment) into an object with
    /// `config` (string: the canonical configuration JSON), `demo` (Uint8Array of the
    /// embedded file, or null), `demoSha256` (string: the SHA-256 of the file the
    /// configuration references, or null), `sourceVersion` (number) and `policy` (string:
    /// the canonical policy settings JSON, or null).
    #[wasm_bindgen]
    pub fn decode_link(fragment: &str) -> Result<JsValue, JsError> {
        let d = crate::link::decode_link(fragment).map_err(|e| JsError::new(&e.to_string()))?;
        let config = d
            .config
            .to_canonical_json()
            .map_err(|e| JsError::new(&e.to_string()))?;
        let out = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            js_sys::Reflect::set(&out, &JsValue::from_str(k), v)
                .map(|_| ())
                .map_err(|_| JsError::new("could not build the decoded link object"))
        };
        set("config", &JsValue::from_str(&config))?;
        let demo = match &d.demo {
            Some(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
            None => JsValue::NULL,
        };
        set("demo", &demo)?;
        let sha = d
            .demo_sha256()
            .map(JsValue::from_str)
            .unwrap_or(JsValue::NULL);
        set("demoSha256", &sha)?;
        set(
            "sourceVersion",
            &JsValue::from_f64(f64::from(d.source_version)),
        )?;
        let policy = match &d.policy {
            Some(p) => JsValue::from_str(&p.to_canonical_json().map_err(js_err)?),
            None => JsValue::NULL,
        };
        set("policy", &policy)?;
        Ok(out.into())
    }

    /// Lowercase hex SHA-256 of a file's bytes (what `demoSha256` is compared with).
    #[wasm_bindgen]
    pub fn link_demo_sha256(bytes: &[u8]) -> String {
        crate::config::sha256_hex(bytes)
    }

    /// Check that a file the user supplied is the demo a link references; the error
    /// explains the mismatch.
    #[wasm_bindgen]
    pub fn verify_link_demo(expected_sha256: &str, bytes: &[u8]) -> Result<(), JsError> {
        let actual = crate::config::sha256_hex(bytes);
        if actual == expected_sha256 {
            Ok(())
        } else {
            Err(JsError::new(
                &crate::link::LinkError::DemoMismatch {
                    expected: expected_sha256.chars().take(64).collect(),
                    actual,
                }
                .to_string(),
            ))
        }
    }
}

// The on-demand module (`web/pkg-extras`), loaded by the page when first needed: the
// LeRobot export and policy learning (training with candle, closed-loop evaluation in
// the task's physics), none of which counts against the page module's budget.
#[cfg(feature = "web-extras")]
mod extras {
    use super::*;
    use crate::export::lerobot::{robomimic_to_lerobot, zip_dataset, LeRobotOptions};
    use crate::generate::Attempt;
    use crate::policy::eval::Evaluator;
    use crate::policy::{EvalConfig, Policy, TrainConfig, Trainer};

    /// A robomimic HDF5 dataset (its bytes) as a LeRobot v3.0 dataset in a zip archive
    /// whose top folder is `root` (the bytes `dmgen convert IN.hdf5 --out ROOT.zip` writes).
    #[wasm_bindgen]
    pub fn lerobot_zip(hdf5: Vec<u8>, root: &str) -> Result<Vec<u8>, JsError> {
        let ds = robomimic_to_lerobot(hdf5, &LeRobotOptions::default()).map_err(js_err)?;
        zip_dataset(root, &ds.files).map_err(js_err)
    }

    /// Names of the demos inside a robomimic/MimicGen HDF5 file, in file order.
    #[wasm_bindgen]
    pub fn hdf5_demo_names(bytes: &[u8]) -> Result<Vec<String>, JsError> {
        crate::demo::list_hdf5_demos(bytes).map_err(js_err)
    }

    /// Demo `index` of an HDF5 file (robomimic/MimicGen), read and validated, as the
    /// JSON the page's first module (which has no HDF5 reader) loads, previews and
    /// generates from, with the file's bytes for its SHA-256 (`demo_transfer_json`).
    #[wasm_bindgen]
    pub fn hdf5_demo_json(bytes: &[u8], index: u32) -> Result<String, JsError> {
        let demo = crate::demo::read_hdf5_demo(bytes, index as usize).map_err(js_err)?;
        Ok(crate::demo::demo_transfer_json(&demo))
    }

    /// Behaviour cloning on a dataset (its bytes), a few gradient steps per call so the
    /// worker can report progress and stop between calls.
    #[wasm_bindgen]
    pub struct PolicyTrainer {
        inner: Trainer,
    }

    #[wasm_bindgen]
    impl PolicyTrainer {
        /// `train_json`: a `TrainConfig` (unknown fields are errors, absent ones default).
        #[wasm_bindgen(constructor)]
        pub fn new(dataset: Vec<u8>, train_json: &str) -> Result<PolicyTrainer, JsError> {
            let train: TrainConfig = serde_json::from_str(train_json)
                .map_err(|e| JsError::new(&format!("training settings: {e}")))?;
            train.validate().map_err(js_err)?;
            let inner = Trainer::new(&dataset, &train).map_err(js_err)?;
            Ok(PolicyTrainer { inner })
        }

        /// Up to `max_steps` more gradient steps (never past an epoch's end); the progress
        /// as `TrainProgress` JSON.
        pub fn run(&mut self, max_steps: u32) -> Result<String, JsError> {
            let p = self.inner.run(u64::from(max_steps)).map_err(js_err)?;
            serde_json::to_string(&p).map_err(js_err)
        }

        /// The policy as trained so far: a safetensors file (what `dmgen train` writes).
        pub fn policy(&self) -> Result<Vec<u8>, JsError> {
            self.inner
                .policy()
                .and_then(|p| p.to_safetensors())
                .map_err(js_err)
        }
    }

    /// Closed-loop evaluation of one policy under one `EvalConfig`, episode by episode
    /// (a worker runs the indices it is given; results depend only on the index).
    #[wasm_bindgen]
    pub struct PolicyEvaluator {
        evaluator: Evaluator,
        policy: Policy,
        last: Option<Vec<u8>>,
    }

    #[wasm_bindgen]
    impl PolicyEvaluator {
        #[wasm_bindgen(constructor)]
        pub fn new(policy: Vec<u8>, eval_json: &str) -> Result<PolicyEvaluator, JsError> {
            let c: EvalConfig = serde_json::from_str(eval_json)
                .map_err(|e| JsError::new(&format!("evaluation settings: {e}")))?;
            let evaluator = Evaluator::new(&c).map_err(js_err)?;
            let policy = Policy::from_safetensors(&policy).map_err(js_err)?;
            evaluator.check(&policy).map_err(js_err)?;
            Ok(PolicyEvaluator {
                evaluator,
                policy,
                last: None,
            })
        }

        /// The task's funnel stages, in order (JSON array of names).
        pub fn stages(&self) -> String {
            serde_json::json!(self.evaluator.stage_names()).to_string()
        }

        /// Run episode `index`: [`EvalEpisode::to_json`](crate::policy::eval::EvalEpisode::to_json)
        /// as a string (`reached`: how many funnel stages, in order; `events`:
        /// `{"step", "kind"}`); the rollout itself is then
        /// [`PolicyEvaluator::take_attempt`].
        pub fn episode(&mut self, index: u32) -> Result<String, JsError> {
            let e = self
                .evaluator
                .episode(&mut self.policy, u64::from(index))
                .map_err(js_err)?;
            let json = e.to_json(&self.evaluator.stage_names()).to_string();
            self.last = Some(
                Attempt {
                    index: e.index,
                    success: e.success,
                    failure: e.failure,
                    episode: e.episode,
                }
                .to_bytes(),
            );
            Ok(json)
        }

        /// The last episode as attempt bytes (what `Playground::show_episode` replays).
        pub fn take_attempt(&mut self) -> Vec<u8> {
            self.last.take().unwrap_or_default()
        }
    }
}
