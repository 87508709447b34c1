//! `dmgen demo --count`, `dmgen train` and `dmgen eval` end to end.

mod common;

use common::{dmgen, fixture, scratch};

fn last_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a JSON line")).expect("JSON on stdout")
}

#[test]
fn scripted_demos_train_a_policy_that_evaluates_the_same_on_any_thread_count() {
    let data = scratch("lift_demos.hdf5");
    let policy = scratch("lift_bc.safetensors");
    let (data_s, policy_s) = (data.to_str().unwrap(), policy.to_str().unwrap());
    let d = last_json(&dmgen(&[
        "demo", "--task", "lift", "--count", "3", "--out", data_s,
    ]));
    assert_eq!(d["episodes"], 3);
    assert_eq!(d["seeds"], serde_json::json!([0, 1, 2]));
    let train = || {
        last_json(&dmgen(&[
            "train",
            "--data",
            data_s,
            "--steps",
            "20",
            "--hidden",
            "32,32",
            "--validate-every",
            "10",
            "--validate-episodes",
            "2",
            "--out",
            policy_s,
            "--quiet",
        ]))
    };
    let t = train();
    assert_eq!(t["algo"], "bc_chunk");
    assert_eq!(t["steps"], 20);
    assert!(t["train_loss"].as_f64().unwrap().is_finite());
    // Two validation checkpoints, and the best written beside the final policy.
    let curve = t["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 2, "{t}");
    assert_eq!(curve[1]["steps"], 20);
    assert!(curve.iter().all(|c| c["episodes"] == 2));
    let best = t["best_out"].as_str().unwrap();
    assert!(best.ends_with("lift_bc.best.safetensors"), "{best}");
    assert!(std::path::Path::new(best).exists());
    // The same command again: the same policy file.
    let again = train();
    assert_eq!(t["sha256"], again["sha256"]);
    let eval = |threads: &str| {
        let mut v = last_json(&dmgen(&[
            "eval",
            "--policy",
            policy_s,
            "--episodes",
            "3",
            "--variant",
            "dmg",
            "--threads",
            threads,
            "--quiet",
        ]));
        for k in ["seconds", "episodes_per_s", "threads"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    let one = eval("1");
    assert_eq!(one["episodes"], 3);
    let funnel = one["funnel"].as_array().unwrap();
    let names: Vec<&str> = funnel.iter().map(|s| s[0].as_str().unwrap()).collect();
    assert_eq!(names, ["grasped cube", "lifted cube", "success"]);
    assert_eq!(
        one["task"], "lift",
        "the task comes from the policy's dataset"
    );
    let reasons: u64 = one["failure_reasons"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(reasons + one["successes"].as_u64().unwrap(), 3);
    assert_eq!(one, eval("2"));
}

#[test]
fn train_and_eval_refuse_bad_files_with_a_message() {
    let err = |args: &[&str]| {
        let out = dmgen(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let p = scratch("x.safetensors");
    let ps = p.to_str().unwrap();
    let m = err(&["train", "--data", &fixture("stack.json"), "--out", ps]);
    assert!(m.contains("HDF5"), "{m}");
    let m = err(&["train", "--data", "no-such.hdf5", "--out", ps]);
    assert!(m.contains("cannot read"), "{m}");
    let m = err(&[
        "eval",
        "--policy",
        &fixture("stack.json"),
        "--task",
        "stack",
    ]);
    assert!(m.contains("not a safetensors file"), "{m}");
    let m = err(&["demo", "--task", "lift", "--count", "2"]);
    assert!(m.contains("--out"), "{m}");
}

#[test]
fn bench_policy_runs_every_arm_of_a_task_with_its_own_demo() {
    let log = scratch("bench_policy.jsonl");
    let _ = std::fs::remove_file(&log);
    let run = || {
        dmgen(&[
            "bench",
            "policy",
            "--tasks",
            "lift",
            "--episodes",
            "3",
            "--eval-episodes",
            "2",
            "--seeds",
            "0",
            "--algo",
            "bc-chunk",
            "--steps",
            "4",
            "--checkpoints",
            "2",
            "--validate-episodes",
            "1",
            "--threads",
            "1",
            "--log",
            log.to_str().unwrap(),
        ])
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 4 training sets, each policy tested at its best and final checkpoint under 2
    // variants on 2 episodes of lift, with the same budget of steps.
    assert_eq!(lines.len(), 4, "{text}");
    for l in &lines {
        assert_eq!(l["task"], "lift");
        assert_eq!(l["steps"], 4);
        assert_eq!(l["curve"].as_array().unwrap().len(), 2);
        let tests = l["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 4);
        assert!(tests.iter().all(|t| t["episodes"] == 2));
    }
    for arm in [
        "1 source demo",
        "10 source demos",
        "3 D-MG episodes",
        "3 MimicGen episodes",
    ] {
        assert!(
            text.contains(&format!("| Chunked BC | {arm} |")),
            "{arm}: {text}"
        );
    }
    // Run again with the log: nothing is trained twice, the table is the same.
    let again = run();
    let text2 = String::from_utf8_lossy(&again.stdout);
    assert!(!text2.lines().any(|l| l.starts_with('{')), "{text2}");
    let table = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with('|'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&text), table(&text2));
}
