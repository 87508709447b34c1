//! Behaviour tests of the `dmgen` command line.

use std::path::PathBuf;
use std::process::Output;

mod common;

use common::{dmgen, fixture, scratch};

fn spec_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("task spec JSON on stdout")
}

#[test]
fn segment_prints_a_task_spec_for_every_fixture_format() {
    for name in ["stack.json", "stack.csv", "stack_mimicgen.hdf5"] {
        let spec = spec_of(&dmgen(&["segment", &fixture(name)]));
        assert_eq!(spec["format"], "dmgen-taskspec/1");
        let subtasks = spec["subtasks"].as_array().unwrap();
        assert!(subtasks.len() >= 2, "{name}: {spec}");
        assert_eq!(subtasks[0]["name"], "grasp cubeA", "{name}");
        assert_eq!(subtasks[1]["name"], "place on cubeB", "{name}");
    }
}

#[test]
fn segment_reports_bad_input_on_stderr_with_failure_status() {
    let out = dmgen(&[
        "segment",
        &fixture("stack_mimicgen.hdf5"),
        "--demo-index",
        "3",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("demo index 3"), "{err}");
    let out = dmgen(&["segment", "no-such-file.json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = dmgen(&["segment", &fixture("stack.json"), "--frobnicate"]);
    assert!(!out.status.success());
}

fn write_traj(path: &PathBuf, n: usize) {
    let mut s = String::from("t,x,y,z\n");
    for k in 0..n {
        let u = k as f64 / (n - 1) as f64;
        let mj = u * u * u * (10.0 - 15.0 * u + 6.0 * u * u);
        s.push_str(&format!(
            "{},{},{},{}\n",
            0.05 * k as f64,
            0.4 + 0.2 * mj,
            -0.1 + 0.2 * mj,
            0.1 + 0.1 * u * (1.0 - u)
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn read_rows(text: &str) -> Vec<[f64; 4]> {
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|c| c.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

#[test]
fn dmp_rolls_out_to_a_new_goal_at_the_same_timestamps() {
    let inp = scratch("traj.csv");
    write_traj(&inp, 80);
    let outp = scratch("out.csv");
    let out = dmgen(&[
        "dmp",
        inp.to_str().unwrap(),
        "--goal",
        "0.7,0.2,0.15",
        "--bases",
        "40",
        "--scaling",
        "axis",
        "--out",
        outp.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = read_rows(&std::fs::read_to_string(&outp).unwrap());
    let src = read_rows(&std::fs::read_to_string(&inp).unwrap());
    assert_eq!(rows.len(), 80);
    for (a, b) in rows.iter().zip(&src) {
        assert_eq!(a[0], b[0]);
    }
    assert_eq!(&rows[0][1..], &src[0][1..]);
    let end = rows[79];
    let err = ((end[1] - 0.7).powi(2) + (end[2] - 0.2).powi(2) + (end[3] - 0.15).powi(2)).sqrt();
    assert!(err < 1e-3, "end error {err}");
    // Without options, stdout reproduces the input closely.
    let out = dmgen(&["dmp", inp.to_str().unwrap()]);
    let rows = read_rows(&String::from_utf8_lossy(&out.stdout));
    let worst = rows
        .iter()
        .zip(&src)
        .map(|(a, b)| (1..4).map(|i| (a[i] - b[i]).abs()).fold(0.0, f64::max))
        .fold(0.0, f64::max);
    assert!(worst < 2e-3, "reproduction error {worst}");
}

#[test]
fn dmp_rejects_bad_options_and_files() {
    let inp = scratch("traj2.csv");
    write_traj(&inp, 30);
    for args in [
        vec!["dmp", inp.to_str().unwrap(), "--scaling", "sideways"],
        vec!["dmp", inp.to_str().unwrap(), "--goal", "1,2"],
        vec!["dmp", inp.to_str().unwrap(), "--bases", "0"],
        vec!["dmp", "missing.csv"],
    ] {
        let out = dmgen(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error:"),
            "{args:?}"
        );
    }
    let bad = scratch("bad.csv");
    std::fs::write(&bad, "t,x,y,z\n0,0,0,0\n0.05,1,1\n").unwrap();
    let out = dmgen(&["dmp", bad.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
}

#[test]
fn bench_rejects_unknown_benchmarks() {
    let out = dmgen(&["bench", "teleport"]);
    assert!(!out.status.success());
}

fn summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("summary line {line:?}: {e}"))
}

#[test]
fn generate_writes_the_same_bytes_with_one_and_two_threads() {
    let mut shas = Vec::new();
    for threads in ["1", "2"] {
        let path = scratch(&format!("gen_t{threads}.hdf5"));
        let p = path.to_str().unwrap();
        let out = dmgen(&[
            "generate",
            "--task",
            "lift",
            "--episodes",
            "4",
            "--seed",
            "3",
            "--threads",
            threads,
            "--variant",
            "dmg",
            "--out",
            p,
            "--quiet",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = summary(&out);
        assert_eq!(s["episodes"], 4);
        assert!(s["attempts"].as_u64().unwrap() >= 4);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(s["sha256"], dmgen::config::sha256_hex(&bytes));
        // The sidecar holds the config and the wall-clock statistics.
        let side: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(side["config"]["task"], "lift");
        assert!(side["stats"]["seconds"].as_f64().unwrap() > 0.0);
        shas.push(s["sha256"].as_str().unwrap().to_string());
    }
    assert_eq!(shas[0], shas[1]);
}

#[test]
fn generate_reports_bad_arguments_and_impossible_budgets() {
    let out = dmgen(&[
        "generate",
        "--task",
        "juggle",
        "--episodes",
        "1",
        "--out",
        "x.hdf5",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("juggle"));
    let out = dmgen(&[
        "generate",
        "--task",
        "lift",
        "--episodes",
        "1",
        "--method",
        "magic",
        "--out",
        "x.hdf5",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--method"));
    let out = dmgen(&["generate", "--task", "lift", "--episodes", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    let demo = scratch("missing.json");
    let out = dmgen(&[
        "generate",
        "--task",
        "lift",
        "--episodes",
        "1",
        "--demo",
        demo.to_str().unwrap(),
        "--out",
        scratch("m.hdf5").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read demo"));
}

#[test]
fn shards_from_split_attempt_ranges_merge_into_the_generate_bytes() {
    let whole = scratch("whole.hdf5");
    let p = |x: &PathBuf| x.to_string_lossy().into_owned();
    let base = ["--task", "stack", "--variant", "dmg", "--quiet"];
    let run = |extra: &[&str]| {
        let mut args = vec!["generate"];
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        let out = dmgen(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(&["--episodes", "5", "--out", &p(&whole), "--threads", "2"]);
    // Two uneven shards, written in the other order, on different thread counts.
    let (s1, s2) = (scratch("s1.hdf5"), scratch("s2.hdf5"));
    let out = run(&["--attempts", "4..9", "--out", &p(&s2), "--threads", "2"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["attempts"], 5);
    run(&["--attempts", "0..4", "--out", &p(&s1), "--threads", "1"]);
    let merged = scratch("merged.hdf5");
    let out = dmgen(&[
        "merge",
        &p(&s2),
        &p(&s1),
        "--episodes",
        "5",
        "--out",
        &p(&merged),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    // One shard alone lacks attempts 4..: the message says which to generate.
    let out = dmgen(&["merge", &p(&s2), "--episodes", "5", "--out", &p(&merged)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("attempts 0..4 are in no shard"), "{err}");
    let out = dmgen(&[
        "generate",
        "--task",
        "stack",
        "--attempts",
        "5..5",
        "--out",
        &p(&s1),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));
}

#[test]
fn generate_takes_object_maps_demo_frames_and_geometry() {
    let out = scratch("foreign.hdf5");
    let fixture_path = fixture("stack_mimicgen.hdf5");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--task",
            "stack",
            "--demo",
            &fixture_path,
            "--episodes",
            "2",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        dmgen(&args)
    };
    let ok = run(&["--demo-frame", "robosuite", "--geometry", "robosuite"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(summary(&ok)["episodes"], 2);
    for (extra, want) in [
        (
            &["--object-map", "cubeA=bolt"][..],
            "'bolt', which is not an object of task 'stack'",
        ),
        (&["--object-map", "cubeA"][..], "is not FROM=TO"),
        (&["--object-map", "cubeA=cubeB"][..], "cubeB"),
        (&["--demo-frame", "sideways"][..], "use auto or robosuite"),
        (&["--geometry", "mujoco"][..], "use playground or robosuite"),
    ] {
        let bad = run(extra);
        assert!(!bad.status.success(), "{extra:?}");
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(want), "{extra:?}: {err}");
    }
}

/// `--task-file`: a built-in task's own file gives the built-in bytes; a new task from a
/// file generates, records its scripted demo and carries the task in its configuration;
/// `dmgen task` prints a file canonically and a bad file fails naming the field.
#[test]
fn task_files_stand_where_task_ids_do() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let stack = root.join("public/tasks/stack.json");
    let stack = stack.to_string_lossy();
    let dir = scratch("task_files");
    std::fs::create_dir_all(&dir).unwrap();
    let out = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let args = ["--episodes", "1", "--max-attempts", "4", "--threads", "1"];
    let by_id = dmgen(
        &[
            &["generate", "--task", "stack", "--out", &out("a.hdf5")],
            &args[..],
        ]
        .concat(),
    );
    let by_file = dmgen(
        &[
            &["generate", "--task-file", &stack, "--out", &out("b.hdf5")],
            &args[..],
        ]
        .concat(),
    );
    assert_eq!(summary(&by_id)["sha256"], summary(&by_file)["sha256"]);

    // A new task: stack with its cubes kept 4 cm apart, under another id.
    let mut t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&*stack).unwrap()).unwrap();
    t["id"] = "stack_wide".into();
    t["min_gap"] = 0.04.into();
    std::fs::write(out("wide.json"), t.to_string()).unwrap();
    let printed = dmgen(&["task", &out("wide.json")]);
    assert!(printed.status.success());
    let canonical = String::from_utf8(printed.stdout).unwrap();
    assert!(canonical.starts_with("{\n  \"dmgen_task\": 1,\n  \"id\": \"stack_wide\""));
    let wide = dmgen(
        &[
            &[
                "generate",
                "--task-file",
                &out("wide.json"),
                "--out",
                &out("w.hdf5"),
            ],
            &args[..],
        ]
        .concat(),
    );
    assert_eq!(summary(&wide)["episodes"], 1);
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out("w.json")).unwrap()).unwrap();
    assert_eq!(side["config"]["custom_task"]["min_gap"], 0.04);
    let demo = dmgen(&[
        "demo",
        "--task-file",
        &out("wide.json"),
        "--seed",
        "2",
        "--out",
        &out("d.json"),
    ]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );

    t["objects"][1]["mass"] = 0.into();
    std::fs::write(out("bad.json"), t.to_string()).unwrap();
    let (bad, x) = (out("bad.json"), out("x.hdf5"));
    let commands: [&[&str]; 2] = [
        &["task", &bad],
        &["generate", "--task-file", &bad, "--out", &x],
    ];
    for cmd in commands {
        let r = dmgen(cmd);
        assert!(!r.status.success());
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            err.contains("objects[1] (cubeB).mass: must be greater than 0"),
            "{err}"
        );
    }
}

/// A drawer task under a new id: segmentation measures the hand against the task file's
/// drawer (its handle), so the pull and the push are found; without the file, they are not.
#[test]
fn segment_measures_against_a_task_files_geometry() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("public/tasks/hammer_cleanup.json")).unwrap();
    let mut t: serde_json::Value = serde_json::from_str(&text).unwrap();
    t["id"] = "hammer_new".into();
    let dir = scratch("segment_task_file");
    std::fs::create_dir_all(&dir).unwrap();
    let (task, demo) = (dir.join("t.json"), dir.join("d.json"));
    std::fs::write(&task, t.to_string()).unwrap();
    let (task, demo) = (task.to_string_lossy(), demo.to_string_lossy());
    let rec = dmgen(&["demo", "--task-file", &task, "--out", &demo]);
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    let names = |args: &[&str]| -> Vec<String> {
        spec_of(&dmgen(args))["subtasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let with = names(&["segment", &demo, "--task-file", &task]);
    assert_eq!(with[0], "pull drawer", "{with:?}");
    assert!(with.contains(&"push drawer".to_string()), "{with:?}");
    let without = names(&["segment", &demo]);
    assert!(!without.contains(&"pull drawer".to_string()), "{without:?}");
}
