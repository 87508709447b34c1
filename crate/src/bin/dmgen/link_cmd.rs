//! `dmgen link encode|decode`: share links from the command line (format: docs/links.md).

use dmgen::config::{sha256_hex, DemoRef, GenerationConfig};
use dmgen::demo::{check_demo_size, read_demo_auto};
use dmgen::link::{decode_link, encode_link, LINK_VERSION};

const USAGE: &str = "\
usage: dmgen link encode --config FILE [--demo FILE] [--base URL]
       dmgen link decode LINK [--demo-out FILE]";

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("encode") => encode(&args[1..]),
        Some("decode") => decode(&args[1..]),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("link: unknown subcommand '{other}'\n{USAGE}")),
    }
}

fn value<'a>(it: &mut std::slice::Iter<'a, String>, opt: &str) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{opt} needs a value"))
}

/// Print the link fragment (or the full URL with `--base`) for a configuration file.
/// `--demo FILE` makes the configuration reference that uploaded file by SHA-256 and
/// embeds it when it is small enough.
fn encode(args: &[String]) -> Result<(), String> {
    let mut config_path = None;
    let mut demo_path = None;
    let mut base = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => config_path = Some(value(&mut it, "--config")?),
            "--demo" => demo_path = Some(value(&mut it, "--demo")?),
            "--base" => base = Some(value(&mut it, "--base")?),
            other => {
                return Err(format!(
                    "link encode: unexpected argument '{other}'\n{USAGE}"
                ))
            }
        }
    }
    let config_path = config_path.ok_or_else(|| format!("link encode needs --config\n{USAGE}"))?;
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| format!("cannot read '{config_path}': {e}"))?;
    let mut config =
        GenerationConfig::from_json(&text).map_err(|e| format!("{config_path}: {e}"))?;
    let demo = match demo_path {
        Some(p) => {
            let size = std::fs::metadata(p)
                .map_err(|e| format!("cannot read '{p}': {e}"))?
                .len();
            check_demo_size(size).map_err(|e| format!("{p}: {e}"))?;
            let bytes = std::fs::read(p).map_err(|e| format!("cannot read '{p}': {e}"))?;
            // Share only a file the playground can read.
            read_demo_auto(&bytes, Some(p), 0).map_err(|e| format!("{p}: {e}"))?;
            let name = std::path::Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            config.demo = DemoRef::Sha256 {
                sha256: sha256_hex(&bytes),
                name,
                index: match &config.demo {
                    DemoRef::Sha256 { index, .. } => *index,
                    _ => 0,
                },
            };
            Some(bytes)
        }
        None => None,
    };
    let fragment = encode_link(&config, demo.as_deref()).map_err(|e| e.to_string())?;
    match (&demo, &config.demo) {
        (Some(b), DemoRef::Sha256 { sha256, .. }) if !fragment.contains("&d=") => eprintln!(
            "note: the {}-byte demo is too large to embed; the link references it by SHA-256 {sha256}, so whoever opens it must supply the same file",
            b.len()
        ),
        (None, DemoRef::Sha256 { sha256, .. }) => eprintln!(
            "note: the link references an uploaded demo by SHA-256 {sha256}; pass --demo FILE to embed it when small"
        ),
        _ => {}
    }
    match base {
        Some(b) => println!("{}{fragment}", b.split('#').next().unwrap_or(b)),
        None => println!("{fragment}"),
    }
    Ok(())
}

/// Print the canonical configuration JSON a link describes; `--demo-out FILE` saves the
/// embedded demo file.
fn decode(args: &[String]) -> Result<(), String> {
    let mut link = None;
    let mut demo_out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--demo-out" => demo_out = Some(value(&mut it, "--demo-out")?),
            s if link.is_none() => link = Some(s),
            other => {
                return Err(format!(
                    "link decode: unexpected argument '{other}'\n{USAGE}"
                ))
            }
        }
    }
    let link = link.ok_or_else(|| format!("link decode needs a LINK\n{USAGE}"))?;
    let d = decode_link(link).map_err(|e| e.to_string())?;
    if d.source_version < LINK_VERSION {
        eprintln!(
            "note: the link uses the older format v{}; it was converted (re-encode it for a v{LINK_VERSION} link)",
            d.source_version
        );
    }
    match (&d.demo, demo_out) {
        (Some(bytes), Some(path)) => {
            std::fs::write(path, bytes).map_err(|e| format!("cannot write '{path}': {e}"))?
        }
        (Some(bytes), None) => eprintln!(
            "note: the link embeds a {}-byte demo file; pass --demo-out FILE to save it",
            bytes.len()
        ),
        (None, Some(_)) => {
            return Err(match d.demo_sha256() {
                Some(sha) => format!(
                    "the link does not embed its demo; it references the file with SHA-256 {sha}"
                ),
                None => "the link does not reference an uploaded demo file".to_string(),
            })
        }
        (None, None) => {
            if let Some(sha) = d.demo_sha256() {
                eprintln!("note: the link references an uploaded demo file with SHA-256 {sha}, not embedded");
            }
        }
    }
    let json = d.config.to_canonical_json().map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
