//! Behaviour tests of `dmgen link encode|decode`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn dmgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmgen"))
        .args(args)
        .output()
        .expect("run dmgen")
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dmgen-link-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn encode_then_decode_gives_the_canonical_config() {
    let cfg = scratch("cfg.json");
    std::fs::write(
        &cfg,
        r#"{ "task": "lift", "seed": 42, "episodes": 7,
            "dmp": {"bases": 40, "alpha": 25, "goal_filter_alpha": 0, "scaling": "axis"} }"#,
    )
    .unwrap();
    let link = stdout_of(&dmgen(&[
        "link",
        "encode",
        "--config",
        cfg.to_str().unwrap(),
    ]));
    assert!(link.starts_with("#v=1&c="), "{link}");
    let json = stdout_of(&dmgen(&["link", "decode", &link]));
    let expect =
        dmgen::config::GenerationConfig::from_json(&std::fs::read_to_string(&cfg).unwrap())
            .unwrap()
            .to_canonical_json()
            .unwrap();
    assert_eq!(json, expect);
    // A full URL works too, and --base makes one.
    let url = stdout_of(&dmgen(&[
        "link",
        "encode",
        "--config",
        cfg.to_str().unwrap(),
        "--base",
        "https://example.org/play/",
    ]));
    assert_eq!(url, format!("https://example.org/play/{link}"));
    assert_eq!(stdout_of(&dmgen(&["link", "decode", &url])), expect);
}

#[test]
fn uploaded_demo_is_embedded_and_restored() {
    let cfg = scratch("cfg_demo.json");
    std::fs::write(&cfg, "{}").unwrap();
    let demo = fixture("stack_mimicgen.hdf5");
    let link = stdout_of(&dmgen(&[
        "link",
        "encode",
        "--config",
        cfg.to_str().unwrap(),
        "--demo",
        &demo,
    ]));
    assert!(link.contains("&d="), "{link}");
    let out_path = scratch("restored.hdf5");
    let json = stdout_of(&dmgen(&[
        "link",
        "decode",
        &link,
        "--demo-out",
        out_path.to_str().unwrap(),
    ]));
    let original = std::fs::read(&demo).unwrap();
    assert_eq!(std::fs::read(&out_path).unwrap(), original);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["demo"]["kind"], "sha256");
    assert_eq!(v["demo"]["name"], "stack_mimicgen.hdf5");
    assert_eq!(v["demo"]["sha256"], dmgen::config::sha256_hex(&original));
}

#[test]
fn bad_links_and_files_fail_with_a_message() {
    let out = dmgen(&["link", "decode", "#v=1&c=not!base64"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not valid base64url"), "{err}");
    let out = dmgen(&["link", "decode", "#v=9&c=AA"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer than this playground"), "{err}");
    // A file that is not a demo is not shared.
    let cfg = scratch("cfg_bad.json");
    std::fs::write(&cfg, "{}").unwrap();
    let junk = scratch("junk.csv");
    std::fs::write(&junk, "a,b,c\n1,2,3\n").unwrap();
    let out = dmgen(&[
        "link",
        "encode",
        "--config",
        cfg.to_str().unwrap(),
        "--demo",
        junk.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.csv") && err.contains("expected 't'"),
        "{err}"
    );
    let out = dmgen(&["link", "frobnicate"]);
    assert!(!out.status.success());
}
