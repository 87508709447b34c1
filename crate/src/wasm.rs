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

use crate::render::Renderer;
use crate::sim::showcase::{BoxDrop, SHOWCASE_DT};
use std::cell::RefCell;
use std::sync::Arc;
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

/// The interactive scene in the page's canvas.
#[wasm_bindgen]
pub struct Viewer {
    renderer: Renderer,
    scene: BoxDrop,
    accumulator: f64,
}

#[wasm_bindgen]
impl Viewer {
    /// Create a viewer drawing into `canvas` through WebGL2.
    #[wasm_bindgen(constructor)]
    pub fn new(canvas: web_sys::HtmlCanvasElement) -> Result<Viewer, JsError> {
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
        Ok(Viewer {
            renderer,
            scene: BoxDrop::new(5, 1),
            accumulator: 0.0,
        })
    }

    /// Advance by `dt` wall seconds (physics runs at its own fixed step,
    /// independent of the frame rate) and draw a frame.
    pub fn frame(&mut self, dt: f64) {
        let dt = if dt.is_finite() {
            dt.clamp(0.0, 0.1)
        } else {
            0.0
        };
        self.accumulator += dt;
        while self.accumulator >= SHOWCASE_DT {
            self.scene.step();
            self.accumulator -= SHOWCASE_DT;
        }
        let shapes = self.scene.visual_shapes();
        self.renderer.draw(&shapes, &Default::default());
    }

    /// The canvas's drawing buffer changed size (device pixels).
    pub fn resize(&mut self, width: u32, height: u32) {
        self.renderer.resize(width, height);
    }

    /// Orbit the camera by a drag of `dx`, `dy` pixels.
    pub fn orbit(&mut self, dx: f32, dy: f32) {
        self.renderer.orbit.rotate(dx, dy);
    }

    /// Pan the camera by a drag of `dx`, `dy` pixels.
    pub fn pan(&mut self, dx: f32, dy: f32) {
        self.renderer.orbit.pan(dx, dy);
    }

    /// Zoom by a wheel delta (positive: away).
    pub fn zoom(&mut self, delta: f32) {
        self.renderer.orbit.zoom(delta);
    }

    /// Start the scene again from seed `seed`.
    pub fn reset(&mut self, seed: u32) {
        self.scene = BoxDrop::new(5, seed as u64);
        self.accumulator = 0.0;
    }

    /// Physics steps taken since the last reset.
    pub fn physics_steps(&self) -> f64 {
        self.scene.steps() as f64
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

// ====================================================================================
// Share links (`crate::link`, format in docs/links.md). A self-contained block: the
// typed wrapper is web/src/link.ts. Every string returned here is data for the page to
// show as text (textContent), never markup.
// ====================================================================================

/// Encode a configuration (JSON text, validated) as a link fragment `#v=1&c=...`.
/// `demo_bytes`: the uploaded demo file when the configuration's demo is
/// `{"kind": "sha256", ...}`; it must hash to that SHA-256 and is embedded when small.
#[wasm_bindgen]
pub fn encode_link(config_json: &str, demo_bytes: Option<Vec<u8>>) -> Result<String, JsError> {
    let config = crate::config::GenerationConfig::from_json(config_json)
        .map_err(|e| JsError::new(&e.to_string()))?;
    crate::link::encode_link(&config, demo_bytes.as_deref())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Decode a link (full URL, `#fragment` or bare fragment) into an object with
/// `config` (string: the canonical configuration JSON), `demo` (Uint8Array of the
/// embedded file, or null), `demoSha256` (string: the SHA-256 of the file the
/// configuration references, or null) and `sourceVersion` (number).
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
