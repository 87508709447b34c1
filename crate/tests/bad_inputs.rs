//! Bad inputs a user can hand the playground (a file upload, a pasted link): each gives an
//! error whose message says what is wrong, never a panic.

use dmgen::demo::{check_demo_size, read_demo_auto, Demo, DemoError, MAX_DEMO_BYTES};
use hdf5_pure::{AttrValue, FileBuilder};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn message(r: Result<Demo, DemoError>) -> String {
    match r {
        Ok(d) => panic!("accepted a bad input ({} samples)", d.len()),
        Err(e) => e.to_string(),
    }
}

fn assert_says(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

#[test]
fn truncated_hdf5() {
    let good = fixture("stack_mimicgen.hdf5");
    for keep in [100, good.len() / 2, good.len() - 1000, good.len() - 1] {
        let msg = message(read_demo_auto(&good[..keep], Some("demo.hdf5"), 0));
        assert_says(
            &msg,
            &[
                "HDF5: the file is truncated",
                &format!("declares {} bytes but only {keep} are present", good.len()),
            ],
        );
    }
    // A version 0 superblock (as older h5py/HDF5 libraries write) is understood too:
    // offsets of 8 bytes, base address 0, end-of-file address 4096.
    let mut v0 = b"\x89HDF\r\n\x1a\n".to_vec();
    v0.extend_from_slice(&[0, 0, 0, 0, 0, 8, 8, 0, 4, 0, 16, 0, 0, 0, 0, 0]);
    v0.extend_from_slice(&0u64.to_le_bytes()); // base address
    v0.extend_from_slice(&u64::MAX.to_le_bytes()); // free-space info (undefined)
    v0.extend_from_slice(&4096u64.to_le_bytes()); // end of file
    v0.resize(200, 0);
    let msg = message(read_demo_auto(&v0, None, 0));
    assert_says(&msg, &["truncated", "declares 4096 bytes but only 200"]);
    // Cut inside the superblock: the HDF5 reader's own message.
    for keep in [8, 20] {
        let msg = message(read_demo_auto(&good[..keep], Some("demo.hdf5"), 0));
        assert_says(&msg, &["HDF5: cannot open file"]);
    }
}

/// A robomimic file whose episode has only the datasets named in `obs`.
fn robomimic_with(obs: &[(&str, usize)], with_actions: bool) -> Vec<u8> {
    let t = 5u64;
    let mut fb = FileBuilder::new();
    let mut data = fb.create_group("data");
    data.set_attr("total", AttrValue::I64(t as i64));
    let mut ep = data.create_group("demo_0");
    let mut g = ep.create_group("obs");
    for (name, cols) in obs {
        let mut v = vec![0.0; t as usize * cols];
        if *name == "robot0_eef_quat" {
            for r in v.chunks_mut(4) {
                r[3] = 1.0;
            }
        }
        g.create_dataset(name)
            .with_f64_data(&v)
            .with_shape(&[t, *cols as u64]);
    }
    ep.add_group(g.finish());
    if with_actions {
        ep.create_dataset("actions")
            .with_f64_data(&vec![0.0; t as usize * 7])
            .with_shape(&[t, 7]);
    }
    data.add_group(ep.finish());
    fb.add_group(data.finish());
    fb.finish().unwrap()
}

#[test]
fn hdf5_with_missing_datasets_names_the_path() {
    let complete = robomimic_with(&[("robot0_eef_pos", 3), ("robot0_eef_quat", 4)], true);
    assert_eq!(read_demo_auto(&complete, None, 0).unwrap().len(), 5);
    let msg = message(read_demo_auto(
        &robomimic_with(&[("robot0_eef_pos", 3)], true),
        None,
        0,
    ));
    assert_says(&msg, &["HDF5", "data/demo_0/obs/robot0_eef_quat"]);
    let msg = message(read_demo_auto(
        &robomimic_with(&[("robot0_eef_pos", 3), ("robot0_eef_quat", 4)], false),
        None,
        0,
    ));
    assert_says(&msg, &["data/demo_0/actions"]);
    // A file without the robomimic `data` group.
    let mut fb = FileBuilder::new();
    fb.create_dataset("x")
        .with_f64_data(&[1.0])
        .with_shape(&[1]);
    let msg = message(read_demo_auto(&fb.finish().unwrap(), None, 0));
    assert_says(&msg, &["group 'data'", "robomimic"]);
    // A `data` group without episodes.
    let mut fb = FileBuilder::new();
    let data = fb.create_group("data");
    fb.add_group(data.finish());
    let msg = message(read_demo_auto(&fb.finish().unwrap(), None, 0));
    assert_says(&msg, &["demo index 0", "holds 0 demo(s)"]);
}

#[test]
fn json_with_nan_or_infinity() {
    let good = String::from_utf8(fixture("stack.json")).unwrap();
    assert!(read_demo_auto(good.as_bytes(), None, 0).is_ok());
    // Python's json.dump writes NaN / Infinity / -Infinity unless allow_nan=False.
    for token in ["NaN", "Infinity", "-Infinity"] {
        let bad = good.replacen("\"t\":[0.0,", &format!("\"t\":[{token},"), 1);
        assert_ne!(bad, good);
        let msg = message(read_demo_auto(bad.as_bytes(), Some("demo.json"), 0));
        assert_says(
            &msg,
            &[
                "invalid JSON",
                "NaN or Infinity",
                "line 1",
                "allow_nan=False",
            ],
        );
    }
    // Other syntax errors keep serde_json's own message.
    let msg = message(read_demo_auto(b"{\"format\": }", None, 0));
    assert_says(&msg, &["invalid JSON", "expected value", "column"]);
    // A number too large for f64 is refused as well.
    let bad = good.replacen("\"t\":[0.0,", "\"t\":[1e999,", 1);
    let msg = message(read_demo_auto(bad.as_bytes(), None, 0));
    assert_says(&msg, &["invalid JSON", "number out of range"]);
}

#[test]
fn file_over_the_size_limit() {
    // 200 MB of zeros: the allocation is lazily zeroed, and the reader refuses it by its
    // length before touching a byte.
    let huge = vec![0u8; 200 * 1024 * 1024];
    let msg = message(read_demo_auto(&huge, Some("huge.hdf5"), 0));
    assert_says(&msg, &["209715200 bytes", "67108864-byte limit"]);
    // Callers that know the size up front check it without reading the file.
    let e = check_demo_size(200 * 1024 * 1024).unwrap_err();
    assert_eq!(e, DemoError::TooLarge { bytes: 209_715_200 });
    check_demo_size(MAX_DEMO_BYTES as u64).unwrap();
    assert!(check_demo_size(u64::MAX).is_err());
}

#[test]
fn csv_with_wrong_columns() {
    let good = String::from_utf8(fixture("stack.csv")).unwrap();
    let header = good.lines().next().unwrap().to_string();
    // A base column missing at the end of the header.
    let short = "t,eef_x,eef_y,eef_z,eef_qx,eef_qy,eef_qz,eef_qw\n0,0,0,0,0,0,0,1\n";
    assert_says(
        &message(read_demo_auto(short.as_bytes(), None, 0)),
        &["missing required field", "CSV column 'gripper'"],
    );
    // A misspelt column.
    let bad = good.replacen(",gripper,", ",grip,", 1);
    assert_says(
        &message(read_demo_auto(bad.as_bytes(), None, 0)),
        &["CSV line 1", "column 9 is 'grip', expected 'gripper'"],
    );
    // An incomplete object (5 of its 7 columns).
    let cut: Vec<&str> = header.split(',').collect();
    let bad_header = cut[..cut.len() - 2].join(",");
    let bad = good.replacen(&header, &bad_header, 1);
    assert_says(
        &message(read_demo_auto(bad.as_bytes(), None, 0)),
        &["CSV line 1", "object columns; each object needs 7"],
    );
    // A row with a value missing.
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    let row = lines[3].rsplit_once(',').unwrap().0.to_string();
    lines[3] = row;
    let bad = lines.join("\n");
    assert_says(
        &message(read_demo_auto(bad.as_bytes(), None, 0)),
        &["CSV line 4", "values but the header has"],
    );
    // A cell that is not a number names its column.
    let bad = good.replacen("\n0.05,", "\nzero,", 1);
    assert_says(
        &message(read_demo_auto(bad.as_bytes(), None, 0)),
        &["CSV line 3", "column 't': 'zero' is not a number"],
    );
}

#[test]
fn corrupted_link_payload() {
    let config = dmgen::config::GenerationConfig::default();
    let link = dmgen::link::encode_link(&config, None).unwrap();
    // One character changed in the middle of the compressed data.
    let mid = link.len() / 2;
    let mut bytes = link.clone().into_bytes();
    bytes[mid] = if bytes[mid] == b'x' { b'y' } else { b'x' };
    let changed = String::from_utf8(bytes).unwrap();
    let msg = dmgen::link::decode_link(&changed).unwrap_err().to_string();
    assert_says(&msg, &["'c' data is corrupted", "cut or altered"]);
    // Cut off when it was copied.
    let msg = dmgen::link::decode_link(&link[..link.len() - 20])
        .unwrap_err()
        .to_string();
    assert_says(&msg, &["'c' data", "cut or altered"]);
}
