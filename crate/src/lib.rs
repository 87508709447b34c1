//! # dmgen: one demonstration in, a physically validated dataset out
//!
//! The pipeline, one module per stage:
//! 1. [`demo`]: read a demonstration (JSON, CSV, robomimic/MimicGen HDF5) and validate it.
//! 2. [`segment`]: split it into object-centric subtasks (a task spec that round-trips through JSON).
//! 3. [`dmp`]: encode each subtask as position + orientation Dynamic Movement Primitives.
//! 4. [`sim`] and [`task`]: the rapier3d world (Panda-like arm, friction gripper) and the task
//!    suite (objects, reset distributions, success, dynamic variants, scripted demos).
//! 5. [`generate`] and [`baseline`]: D-MG rollouts with live goal re-targeting, and the MimicGen baseline.
//! 6. [`export`]: robomimic-compatible HDF5, identical bytes natively and in wasm32.
//! 7. [`policy`] (feature `learn`): behaviour cloning on those files with candle, and
//!    closed-loop evaluation of the trained policy in the same physics; their settings
//!    ([`policy_settings`]) are in every build, so the page validates and shares them.
//!
//! [`config`] holds the typed generation configuration every stage reads; [`link`] turns it
//! into a shareable URL fragment and back.
//!
//! [`geom`] and [`rng`] are the shared f64 geometry and the seeded random streams.
//! The only file that knows about JavaScript is `wasm.rs` (wasm32 only).

pub mod baseline;
pub mod camera;
pub mod config;
pub mod demo;
pub mod dmp;
pub mod export;
pub mod generate;
pub mod geom;
pub mod link;
#[cfg(feature = "learn")]
pub mod policy;
pub mod policy_settings;
pub mod record;
pub mod rng;
pub mod segment;
pub mod session;
pub mod sim;
pub mod stats;
pub mod task;

#[cfg(all(target_arch = "wasm32", not(feature = "web-extras")))]
mod render;
#[cfg(target_arch = "wasm32")]
mod wasm;

/// The core's version, reported by the CLI and by every web worker.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
