//! `dmgen link encode|decode`: share links from the command line (format: docs/links.md).

use dmgen::config::{sha256_hex, DemoRef, GenerationConfig};
use dmgen::demo::{check_demo_size, read_demo_auto};
use dmgen::link::{decode_link, encode_link, LINK_VERSION};

#[derive(clap::Args, Debug)]
pub struct LinkArgs {
    #[command(subcommand)]
    pub command: LinkCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum LinkCommand {
    /// Print the share link (URL fragment, or a full URL with --base) of a configuration
    Encode {
        /// Generation configuration (JSON)
        #[arg(long, value_name = "FILE")]
        config: String,
        /// An uploaded demo file: the link references it by SHA-256 and embeds it when small
        #[arg(long, value_name = "FILE")]
        demo: Option<String>,
        /// Print a full URL on this page address instead of the bare fragment
        #[arg(long, value_name = "URL")]
        base: Option<String>,
    },
    /// Print the canonical configuration JSON of a share link (full URL or fragment)
    Decode {
        /// The link
        link: String,
        /// Save the demo file the link embeds here
        #[arg(long, value_name = "FILE")]
        demo_out: Option<String>,
    },
}

pub fn run(a: LinkArgs) -> Result<(), String> {
    match a.command {
        LinkCommand::Encode { config, demo, base } => {
            encode(&config, demo.as_deref(), base.as_deref())
        }
        LinkCommand::Decode { link, demo_out } => decode(&link, demo_out.as_deref()),
    }
}

/// Print the link fragment (or the full URL with `--base`) for a configuration file.
/// `--demo FILE` makes the configuration reference that uploaded file by SHA-256 and
/// embeds it when it is small enough.
fn encode(config_path: &str, demo_path: Option<&str>, base: Option<&str>) -> Result<(), String> {
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
fn decode(link: &str, demo_out: Option<&str>) -> Result<(), String> {
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
