//! Helpers shared by the command-line integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Run the `dmgen` binary built for these tests.
pub fn dmgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmgen"))
        .args(args)
        .output()
        .expect("run dmgen")
}

/// Path of a file in `crate/tests/fixtures`.
pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A scratch path, in a directory of its own per test binary and process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dmgen-{}-test-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
