//! Behaviour tests of `dmgen link encode|decode`.

use std::process::Output;

mod common;

use common::{dmgen, fixture, scratch};

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
    assert!(link.starts_with("#v=2&c="), "{link}");
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

fn summary_sha(out: &Output) -> String {
    let line = stdout_of(out);
    let v: serde_json::Value = serde_json::from_str(&line).expect("summary JSON");
    v["sha256"].as_str().unwrap().to_string()
}

/// `generate --url` resolves a link to the configuration it was made from: same dataset
/// bytes, whatever the thread count.
#[test]
fn generate_from_a_link_equals_generate_from_its_config() {
    let cfg = scratch("gen_cfg.json");
    std::fs::write(
        &cfg,
        r#"{"task":"stack","variant":"static","episodes":2,"seed":3}"#,
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let a = scratch("gen_a.hdf5");
    let sha_a = summary_sha(&dmgen(&[
        "generate",
        "--config",
        cfg,
        "--out",
        a.to_str().unwrap(),
        "--quiet",
        "--threads",
        "2",
    ]));
    let link = stdout_of(&dmgen(&["link", "encode", "--config", cfg]));
    let url = format!("https://example.org/play/?workers=4{link}");
    let b = scratch("gen_b.hdf5");
    let sha_b = summary_sha(&dmgen(&[
        "generate",
        "--url",
        &url,
        "--out",
        b.to_str().unwrap(),
        "--quiet",
        "--threads",
        "1",
    ]));
    assert_eq!(sha_a, sha_b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // --config and --url together are refused; so is a corrupted link.
    let out = dmgen(&[
        "generate", "--config", cfg, "--url", &link, "--out", "x.hdf5",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not both"));
    let out = dmgen(&[
        "generate",
        "--url",
        &link[..link.len() - 9],
        "--out",
        "x.hdf5",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--url") && err.contains("cut or altered"),
        "{err}"
    );
}

/// A link that embeds the uploaded demo generates without the file; a link that only
/// references it needs the same file.
#[test]
fn generate_from_a_link_with_an_uploaded_demo() {
    let cfg = scratch("gen_demo_cfg.json");
    std::fs::write(
        &cfg,
        r#"{"task":"stack","variant":"static","episodes":2,"seed":5}"#,
    )
    .unwrap();
    let demo = fixture("stack.json");
    let link = stdout_of(&dmgen(&[
        "link",
        "encode",
        "--config",
        cfg.to_str().unwrap(),
        "--demo",
        &demo,
    ]));
    assert!(link.contains("&d="));
    // The configuration the link holds, generated with the file supplied by hand.
    let resolved = scratch("gen_demo_resolved.json");
    std::fs::write(&resolved, stdout_of(&dmgen(&["link", "decode", &link]))).unwrap();
    let a = scratch("gen_demo_a.hdf5");
    let sha_a = summary_sha(&dmgen(&[
        "generate",
        "--config",
        resolved.to_str().unwrap(),
        "--demo",
        &demo,
        "--out",
        a.to_str().unwrap(),
        "--quiet",
    ]));
    let b = scratch("gen_demo_b.hdf5");
    let sha_b = summary_sha(&dmgen(&[
        "generate",
        "--url",
        &link,
        "--out",
        b.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(sha_a, sha_b);
    // Without the embedded part, the file must be supplied, and it must be the same one.
    let reference_only = link.split("&d=").next().unwrap();
    let out = dmgen(&[
        "generate",
        "--url",
        reference_only,
        "--out",
        "x.hdf5",
        "--quiet",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the demo file"));
    let out = dmgen(&[
        "generate",
        "--url",
        reference_only,
        "--demo",
        &fixture("stack.csv"),
        "--out",
        "x.hdf5",
        "--quiet",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("is not the demo this configuration was made with"));
    let c = scratch("gen_demo_c.hdf5");
    let sha_c = summary_sha(&dmgen(&[
        "generate",
        "--url",
        reference_only,
        "--demo",
        &demo,
        "--out",
        c.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(sha_c, sha_a);
}
