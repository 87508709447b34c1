//! Shareable links: a [`GenerationConfig`] (and, when small, the uploaded demo file
//! itself) encoded in a URL fragment, so opening the link restores exactly the
//! configuration that produced a dataset. The format is documented for users in
//! `docs/links.md`; this comment is the reference for the code.
//!
//! # Format, version 2 (what [`encode_link`] writes)
//! ```text
//! #v=2&c=<base64url(zlib(canonical config JSON))>[&p=<base64url(zlib(policy JSON))>][&d=<base64url(zlib(demo file bytes))>]
//! ```
//! Version 1 had the same wire format; only the configuration inside changed (see
//! [`migrate_v1_to_v2`]).
//! - `v`: the format version, decimal, no leading zeros.
//! - `c`: [`GenerationConfig::to_canonical_json`], compressed with zlib (DEFLATE plus an
//!   Adler-32 checksum, so a corrupted payload is detected, not silently mis-read) and
//!   encoded as unpadded base64url (RFC 4648 section 5: `A-Z a-z 0-9 - _`, never needs
//!   percent-encoding).
//! - `p` (optional, version 2 only): the policy training and evaluation settings,
//!   [`PolicySettings::to_canonical_json`] (`{"train": {...}, "eval": {...}}`), packed as
//!   `c` is and bounded by [`MAX_POLICY_JSON_BYTES`]. Links without it are unchanged.
//! - `d` (optional): the uploaded demo file, byte for byte, compressed the same way. It is
//!   present only when the configuration's demo is `{"kind": "sha256", ...}` and the
//!   encoded file fits in [`MAX_EMBEDDED_DEMO_CHARS`]; the decoder checks that the bytes
//!   hash to that SHA-256. Without `d`, the page asks for the file and verifies it with
//!   [`verify_demo_bytes`].
//!
//! The fragment never reaches a server. Parameters are `&`-separated `key=value` pairs in
//! any order; unknown or repeated keys are errors.
//!
//! # Versions and migration
//! [`LINK_VERSION`] is the version written; every version from [`OLDEST_LINK_VERSION`] up
//! is read. Decoding turns a link of version `n` into a [`Payload`] (configuration as a
//! JSON value, demo bytes), then applies the steps in [`MIGRATIONS`] (`n -> n+1`, ...)
//! until the payload has the current layout, and only then parses it strictly into a
//! [`GenerationConfig`]. Version 0 is the pre-release layout: `#v=0&json=<percent-encoded
//! JSON>` with a flat object (see [`migrate_v0_to_v1`]).
//!
//! # Limits and safety
//! Every input is bounded before it is expanded: the whole link ([`MAX_LINK_CHARS`]), the
//! decompressed configuration ([`MAX_CONFIG_JSON_BYTES`]) and the decompressed demo
//! ([`MAX_LINK_DEMO_BYTES`]). Decoding is total: any string gives `Ok` or a [`LinkError`]
//! whose message says what is wrong; it never panics. Decoded text is data only: JSON
//! parsed into typed fields, bytes handed to the demo readers.

use crate::config::{sha256_hex, ConfigError, DemoRef, GenerationConfig};
use crate::policy_settings::{PolicyError, PolicySettings};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use std::fmt;

/// The link format version [`encode_link`] writes.
pub const LINK_VERSION: u32 = 2;
/// The oldest link format version that still decodes.
pub const OLDEST_LINK_VERSION: u32 = 0;

/// Longest link (or fragment) accepted, in characters: 64 KiB. Checked before anything
/// else is done with the input. Chromium and Firefox keep fragments far longer than this.
pub const MAX_LINK_CHARS: usize = 64 * 1024;
/// An uploaded demo is embedded only if its encoded `d` parameter has at most this many
/// characters (48 KiB, about 36 KiB compressed: typically a demo file of 150-300 kB).
/// Larger demos are referenced by SHA-256 only.
pub const MAX_EMBEDDED_DEMO_CHARS: usize = 48 * 1024;
/// Largest decompressed configuration JSON accepted from a link (1 MiB).
pub const MAX_CONFIG_JSON_BYTES: usize = 1024 * 1024;
/// Largest decompressed embedded demo accepted from a link (4 MiB).
pub const MAX_LINK_DEMO_BYTES: usize = 4 * 1024 * 1024;
/// Largest decompressed policy settings JSON accepted from a link (64 KiB).
pub const MAX_POLICY_JSON_BYTES: usize = 64 * 1024;

/// zlib compression level used by the encoder (0-10). The decoder accepts any level.
const ZLIB_LEVEL: u8 = 9;

/// What can go wrong turning a link into a configuration (or back).
#[derive(Clone, Debug, PartialEq)]
pub enum LinkError {
    /// Nothing to decode (empty string, or a URL whose fragment is empty).
    Empty,
    /// A full URL without a `#` fragment.
    NoFragment,
    /// The input is longer than [`MAX_LINK_CHARS`].
    TooLong { chars: usize, limit: usize },
    /// A character that cannot appear in a link (space, control, non-ASCII).
    BadCharacter { ch: char, position: usize },
    /// The fragment is not a list of `key=value` pairs.
    Syntax(String),
    /// A parameter this version does not know.
    UnknownParam { version: u32, key: String },
    /// A parameter given twice.
    DuplicateParam(String),
    /// A required parameter is absent.
    MissingParam { version: u32, key: &'static str },
    /// `v` is absent.
    MissingVersion,
    /// `v` is not a version number.
    BadVersion(String),
    /// `v` is newer than this build understands.
    UnsupportedVersion(u32),
    /// A parameter is not valid base64url.
    Base64 { param: String, detail: String },
    /// A parameter's compressed data is corrupt or truncated.
    Compression { param: String, detail: String },
    /// A decompressed payload exceeds its limit.
    Oversized { what: &'static str, limit: usize },
    /// The configuration text is not UTF-8 or has an invalid percent escape.
    Text { param: String, detail: String },
    /// Converting an old layout failed.
    Migration { from: u32, message: String },
    /// The configuration (after migration) is invalid.
    Config(ConfigError),
    /// Demo bytes were given but the configuration does not reference an uploaded demo.
    DemoNotExpected { kind: &'static str },
    /// The demo bytes do not hash to the configuration's SHA-256.
    DemoMismatch { expected: String, actual: String },
    /// The encoded link would exceed [`MAX_LINK_CHARS`].
    EncodeTooLarge { chars: usize, limit: usize },
    /// The policy settings (`p`) do not parse or are out of range.
    Policy(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HINT: &str = "the link was probably cut or altered when it was copied";
        match self {
            LinkError::Empty => write!(f, "the link is empty; paste the whole link including the part after '#'"),
            LinkError::NoFragment => write!(
                f,
                "the address has no '#' part, which is where a playground link keeps its configuration; copy the whole link"
            ),
            LinkError::TooLong { chars, limit } => write!(
                f,
                "the link is {chars} characters long, above the {limit}-character limit"
            ),
            LinkError::BadCharacter { ch, position } => write!(
                f,
                "the link contains {ch:?} at position {position}, which a link never contains; {HINT}"
            ),
            LinkError::Syntax(m) => write!(f, "the link is malformed: {m}; {HINT}"),
            LinkError::UnknownParam { version, key } => write!(
                f,
                "the link has an unknown parameter '{key}' (format v{version} knows {})",
                params_of(*version).join(", ")
            ),
            LinkError::DuplicateParam(k) => write!(f, "the link gives parameter '{k}' twice"),
            LinkError::MissingParam { version, key } => write!(
                f,
                "the link (format v{version}) lacks its '{key}' parameter; {HINT}"
            ),
            LinkError::MissingVersion => write!(
                f,
                "the link has no version ('v=...'); it is not a playground link or it was cut"
            ),
            LinkError::BadVersion(v) => {
                write!(f, "the link's version 'v={v}' is not a version number")
            }
            LinkError::UnsupportedVersion(v) => write!(
                f,
                "the link uses format v{v}, newer than this playground understands (v{OLDEST_LINK_VERSION} to v{LINK_VERSION}); open it with a newer version"
            ),
            LinkError::Base64 { param, detail } => write!(
                f,
                "the link's '{param}' data is not valid base64url ({detail}); {HINT}"
            ),
            LinkError::Compression { param, detail } => write!(
                f,
                "the link's '{param}' data is corrupted ({detail}); {HINT}"
            ),
            LinkError::Oversized { what, limit } => write!(
                f,
                "the link's {what} expands to more than {limit} bytes, above the limit"
            ),
            LinkError::Text { param, detail } => {
                write!(f, "the link's '{param}' text is invalid: {detail}")
            }
            LinkError::Migration { from, message } => write!(
                f,
                "the link uses the old format v{from} and cannot be converted: {message}"
            ),
            LinkError::Config(ConfigError::Parse { message, line: 0, .. }) => {
                write!(f, "the link's configuration is not valid: {message}")
            }
            LinkError::Config(e) => write!(f, "the link's {e}"),
            LinkError::DemoNotExpected { kind } => write!(
                f,
                "demo file bytes were given but the configuration's demo is '{kind}', not an uploaded file (kind 'sha256')"
            ),
            LinkError::DemoMismatch { expected, actual } => write!(
                f,
                "the demo file does not match the link: its SHA-256 is {actual}, the link expects {expected}; use the same file that was uploaded when the link was made"
            ),
            LinkError::EncodeTooLarge { chars, limit } => write!(
                f,
                "the configuration would make a {chars}-character link, above the {limit}-character limit; use an uploaded demo (referenced by SHA-256) instead of an inline one"
            ),
            LinkError::Policy(m) => write!(f, "the link's policy settings are not valid: {m}"),
        }
    }
}

impl std::error::Error for LinkError {}

impl From<ConfigError> for LinkError {
    fn from(e: ConfigError) -> Self {
        LinkError::Config(e)
    }
}

/// The parameters each version knows, in the order the encoder writes them.
fn params_of(version: u32) -> &'static [&'static str] {
    match version {
        0 => &["v", "json"],
        1 => &["v", "c", "d"],
        _ => &["v", "c", "p", "d"],
    }
}

/// A decoded link.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedLink {
    /// The validated configuration (migrated to the current layout).
    pub config: GenerationConfig,
    /// The embedded demo file, already checked against `config.demo`'s SHA-256.
    pub demo: Option<Vec<u8>>,
    /// The format version the link was written in (older than [`LINK_VERSION`] means
    /// it was migrated; re-encoding gives a current link).
    pub source_version: u32,
    /// The policy training and evaluation settings (`p`), when the link has them.
    pub policy: Option<PolicySettings>,
}

impl DecodedLink {
    /// The SHA-256 the demo file must have, when the configuration references an
    /// uploaded file (whether or not the link embeds it).
    pub fn demo_sha256(&self) -> Option<&str> {
        match &self.config.demo {
            DemoRef::Sha256 { sha256, .. } => Some(sha256),
            _ => None,
        }
    }
}

/// A link's content before it is parsed into the current configuration type: the
/// configuration as JSON in the layout of `version`, and the embedded demo bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    pub version: u32,
    pub config: Value,
    pub demo: Option<Vec<u8>>,
}

/// One migration step: a payload of version `n` in, version `n + 1` out.
pub type Migration = fn(Payload) -> Result<Payload, LinkError>;

/// `MIGRATIONS[n]` turns version `n` into `n + 1`. To introduce version N+1: bump
/// [`LINK_VERSION`], append the step from N, and, if the wire layout changed, add its
/// reader in [`read_payload`].
pub const MIGRATIONS: [Migration; LINK_VERSION as usize] = [migrate_v0_to_v1, migrate_v1_to_v2];

fn demo_kind(d: &DemoRef) -> &'static str {
    match d {
        DemoRef::Builtin { .. } => "builtin",
        DemoRef::Embedded { .. } => "embedded",
        DemoRef::Sha256 { .. } => "sha256",
    }
}

/// Check that `bytes` is the demo file `config` references (kind `sha256`).
pub fn verify_demo_bytes(config: &GenerationConfig, bytes: &[u8]) -> Result<(), LinkError> {
    match &config.demo {
        DemoRef::Sha256 { sha256, .. } => {
            let actual = sha256_hex(bytes);
            if &actual == sha256 {
                Ok(())
            } else {
                Err(LinkError::DemoMismatch {
                    expected: sha256.clone(),
                    actual,
                })
            }
        }
        other => Err(LinkError::DemoNotExpected {
            kind: demo_kind(other),
        }),
    }
}

fn policy_error(e: PolicyError) -> LinkError {
    LinkError::Policy(match e {
        PolicyError::Config(m) => m,
        other => other.to_string(),
    })
}

fn pack(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec_zlib(
        bytes, ZLIB_LEVEL,
    ))
}

/// Encode `config` as a link fragment (starting with `#`, version [`LINK_VERSION`]).
///
/// `demo_bytes` is the uploaded demo file when `config.demo` is `{"kind": "sha256"}`;
/// it must hash to that SHA-256. It is embedded when its encoding fits
/// [`MAX_EMBEDDED_DEMO_CHARS`] (and the whole link [`MAX_LINK_CHARS`]); otherwise the
/// link carries the SHA-256 only. The same configuration always gives the same string.
pub fn encode_link(
    config: &GenerationConfig,
    demo_bytes: Option<&[u8]>,
) -> Result<String, LinkError> {
    encode_link_with(config, demo_bytes, None)
}

/// [`encode_link`] with the policy training and evaluation settings as well (`p`).
pub fn encode_link_with(
    config: &GenerationConfig,
    demo_bytes: Option<&[u8]>,
    policy: Option<&PolicySettings>,
) -> Result<String, LinkError> {
    config.validate()?;
    if let Some(bytes) = demo_bytes {
        verify_demo_bytes(config, bytes)?;
    }
    let mut out = format!(
        "#v={LINK_VERSION}&c={}",
        pack(config.to_canonical_json()?.as_bytes())
    );
    if let Some(p) = policy {
        p.validate().map_err(policy_error)?;
        let json = p.to_canonical_json().map_err(policy_error)?;
        out.push_str("&p=");
        out.push_str(&pack(json.as_bytes()));
    }
    if out.len() > MAX_LINK_CHARS {
        return Err(LinkError::EncodeTooLarge {
            chars: out.len(),
            limit: MAX_LINK_CHARS,
        });
    }
    if let Some(bytes) = demo_bytes {
        // Cheap bound first: zlib never shrinks data below ~1/1032 of its size.
        if bytes.len() / 1032 <= MAX_EMBEDDED_DEMO_CHARS {
            let d = pack(bytes);
            if d.len() <= MAX_EMBEDDED_DEMO_CHARS && out.len() + 3 + d.len() <= MAX_LINK_CHARS {
                out.push_str("&d=");
                out.push_str(&d);
            }
        }
    }
    Ok(out)
}

/// Whether [`encode_link`] would embed these demo bytes (given a small configuration).
pub fn demo_fits_in_link(bytes: &[u8]) -> bool {
    bytes.len() / 1032 <= MAX_EMBEDDED_DEMO_CHARS && pack(bytes).len() <= MAX_EMBEDDED_DEMO_CHARS
}

/// Extract the fragment from a full URL, a `#fragment` or a bare fragment.
fn fragment_of(input: &str) -> Result<&str, LinkError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(LinkError::Empty);
    }
    let frag = match s.find('#') {
        Some(i) => &s[i + 1..],
        None if s.contains("://") => return Err(LinkError::NoFragment),
        None => s,
    };
    if frag.is_empty() {
        return Err(LinkError::Empty);
    }
    Ok(frag)
}

/// Split `k=v&k=v` into pairs; keys are checked against the version later.
fn split_params(frag: &str) -> Result<Vec<(&str, &str)>, LinkError> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (i, part) in frag.split('&').enumerate() {
        if part.is_empty() {
            return Err(LinkError::Syntax(format!(
                "parameter {} is empty (two '&' in a row?)",
                i + 1
            )));
        }
        let (k, v) = part.split_once('=').ok_or_else(|| {
            LinkError::Syntax(format!(
                "'{}' is not of the form key=value",
                truncate(part, 24)
            ))
        })?;
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(LinkError::Syntax(format!(
                "'{}' is not a parameter name",
                truncate(k, 24)
            )));
        }
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(LinkError::DuplicateParam(k.to_string()));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn truncate(s: &str, n: usize) -> String {
    let mut t: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        t.push_str("...");
    }
    t
}

fn parse_version(v: &str) -> Result<u32, LinkError> {
    let ok = !v.is_empty()
        && v.len() <= 6
        && v.bytes().all(|b| b.is_ascii_digit())
        && !(v.len() > 1 && v.starts_with('0'));
    if !ok {
        return Err(LinkError::BadVersion(truncate(v, 12)));
    }
    v.parse().map_err(|_| LinkError::BadVersion(v.to_string()))
}

fn unpack(param: &str, text: &str, limit: usize, what: &'static str) -> Result<Vec<u8>, LinkError> {
    let packed = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| LinkError::Base64 {
            param: param.to_string(),
            detail: match e {
                base64::DecodeError::InvalidByte(i, b) => {
                    format!("character {:?} at position {i}", b as char)
                }
                base64::DecodeError::InvalidLength(n) => {
                    format!("{n} characters is not a possible length")
                }
                base64::DecodeError::InvalidLastSymbol(i, _) => {
                    format!("the last character (position {i}) is impossible")
                }
                base64::DecodeError::InvalidPadding => "unexpected '=' padding".to_string(),
            },
        })?;
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&packed, limit).map_err(|e| {
        use miniz_oxide::inflate::TINFLStatus;
        match e.status {
            TINFLStatus::HasMoreOutput => LinkError::Oversized { what, limit },
            TINFLStatus::Adler32Mismatch => LinkError::Compression {
                param: param.to_string(),
                detail: "checksum mismatch".into(),
            },
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                LinkError::Compression {
                    param: param.to_string(),
                    detail: "the compressed data ends too early".into(),
                }
            }
            _ => LinkError::Compression {
                param: param.to_string(),
                detail: "not zlib data".into(),
            },
        }
    })
}

fn json_of(param: &str, bytes: &[u8]) -> Result<Value, LinkError> {
    let text = std::str::from_utf8(bytes).map_err(|_| LinkError::Text {
        param: param.to_string(),
        detail: "not UTF-8".into(),
    })?;
    // Parse as a value first: the typed parse happens after migration.
    serde_json::from_str(text).map_err(|e| {
        LinkError::Config(ConfigError::Parse {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })
    })
}

/// Strict percent-decoding (`%XX` escapes, UTF-8 result) for the v0 layout.
fn percent_decode(param: &str, s: &str) -> Result<Vec<u8>, LinkError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => {
                    return Err(LinkError::Text {
                        param: param.to_string(),
                        detail: format!("'%' at position {i} is not followed by two hex digits"),
                    })
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    if out.len() > MAX_CONFIG_JSON_BYTES {
        return Err(LinkError::Oversized {
            what: "configuration",
            limit: MAX_CONFIG_JSON_BYTES,
        });
    }
    Ok(out)
}

/// Read the wire layout of `version` into a payload of that version.
fn read_payload(version: u32, params: &[(&str, &str)]) -> Result<Payload, LinkError> {
    let known = params_of(version);
    for (k, _) in params {
        if !known.contains(k) {
            return Err(LinkError::UnknownParam {
                version,
                key: k.to_string(),
            });
        }
    }
    let get = |k: &str| params.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    match version {
        0 => {
            let text = get("json").ok_or(LinkError::MissingParam {
                version,
                key: "json",
            })?;
            let bytes = percent_decode("json", text)?;
            Ok(Payload {
                version,
                config: json_of("json", &bytes)?,
                demo: None,
            })
        }
        // Version 2 changed the configuration's layout only, not the wire format.
        1 | 2 => {
            let c = get("c").ok_or(LinkError::MissingParam { version, key: "c" })?;
            let config = json_of(
                "c",
                &unpack("c", c, MAX_CONFIG_JSON_BYTES, "configuration")?,
            )?;
            let demo = match get("d") {
                Some(d) => Some(unpack("d", d, MAX_LINK_DEMO_BYTES, "embedded demo")?),
                None => None,
            };
            Ok(Payload {
                version,
                config,
                demo,
            })
        }
        v => Err(LinkError::UnsupportedVersion(v)),
    }
}

/// Version 1 to 2: the help given to the generators became switches for both methods
/// (`assists`). In version 1, `mimicgen.action_noise` (default 0.05) was MimicGen's alone,
/// and D-MG alone had the in-hand correction, up to 30 settle steps and the goal
/// feed-forward. The migration writes exactly those switches for the link's method, so
/// an old link keeps asking for what it asked for. A configuration that is not an object
/// is left for the strict parse to refuse.
pub fn migrate_v1_to_v2(p: Payload) -> Result<Payload, LinkError> {
    let fail = |message: String| LinkError::Migration { from: 1, message };
    let Value::Object(mut cfg) = p.config else {
        return Ok(Payload { version: 2, ..p });
    };
    let noise = match cfg.get_mut("mimicgen") {
        Some(Value::Object(mg)) => match mg.remove("action_noise") {
            None => crate::config::MIMICGEN_PAPER_ACTION_NOISE,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| fail(format!("mimicgen.action_noise is {v}, not a number")))?,
        },
        _ => crate::config::MIMICGEN_PAPER_ACTION_NOISE,
    };
    let mimicgen = cfg.get("method").and_then(Value::as_str) == Some("mimicgen");
    if !cfg.contains_key("assists") {
        let mut a = Map::new();
        a.insert("in_hand_correction".into(), Value::from(!mimicgen));
        a.insert(
            "settle_steps".into(),
            Value::from(if mimicgen { 0 } else { 30 }),
        );
        a.insert("goal_feedforward".into(), Value::from(!mimicgen));
        a.insert(
            "action_noise".into(),
            Value::from(if mimicgen { noise } else { 0.0 }),
        );
        cfg.insert("assists".into(), Value::Object(a));
    }
    Ok(Payload {
        version: 2,
        config: Value::Object(cfg),
        demo: p.demo,
    })
}

/// Version 0 (pre-release) to 1. The v0 configuration was one flat object, every key
/// optional: `task`, `variant`, `method`, `episodes`, `seed` (as in v1), `speed`
/// (-> `dynamics.speed_mps`), `dynamic_probability` (-> `dynamics.probability`),
/// `dmp_bases`, `dmp_alpha` (-> `dmp.bases`, `dmp.alpha`), `boundaries`
/// (-> `segmentation.boundaries`), and the demo as `demo: "<builtin id>"` or
/// `demo_sha256: "<hex>"`. v0 had no goal filter (the goal jumped), so the migrated
/// configuration sets `dmp.goal_filter_alpha = 0` to keep its behaviour.
pub fn migrate_v0_to_v1(p: Payload) -> Result<Payload, LinkError> {
    let fail = |message: String| LinkError::Migration { from: 0, message };
    let Value::Object(old) = p.config else {
        return Err(fail("the configuration is not a JSON object".into()));
    };
    let mut new = Map::new();
    let mut dynamics = Map::new();
    let mut dmp = Map::new();
    dmp.insert("goal_filter_alpha".into(), Value::from(0));
    let mut segmentation = Map::new();
    let mut demo: Option<Value> = None;
    for (k, v) in old {
        match k.as_str() {
            "task" | "variant" | "method" | "episodes" | "seed" => {
                new.insert(k, v);
            }
            "speed" => {
                dynamics.insert("speed_mps".into(), v);
            }
            "dynamic_probability" => {
                dynamics.insert("probability".into(), v);
            }
            "dmp_bases" => {
                dmp.insert("bases".into(), v);
            }
            "dmp_alpha" => {
                dmp.insert("alpha".into(), v);
            }
            "boundaries" => {
                segmentation.insert("boundaries".into(), v);
            }
            "demo" | "demo_sha256" => {
                if demo.is_some() {
                    return Err(fail("it gives both 'demo' and 'demo_sha256'".into()));
                }
                let Value::String(s) = v else {
                    return Err(fail(format!("'{k}' must be a string")));
                };
                demo = Some(if k == "demo" {
                    serde_json::json!({"kind": "builtin", "id": s})
                } else {
                    serde_json::json!({"kind": "sha256", "sha256": s})
                });
            }
            other => return Err(fail(format!("unknown v0 field '{}'", truncate(other, 40)))),
        }
    }
    if !dynamics.is_empty() {
        new.insert("dynamics".into(), Value::Object(dynamics));
    }
    new.insert("dmp".into(), Value::Object(dmp));
    if !segmentation.is_empty() {
        new.insert("segmentation".into(), Value::Object(segmentation));
    }
    if let Some(d) = demo {
        new.insert("demo".into(), d);
    }
    Ok(Payload {
        version: 1,
        config: Value::Object(new),
        demo: p.demo,
    })
}

/// Decode a link: a full URL, `#fragment` or bare fragment, of any version from
/// [`OLDEST_LINK_VERSION`] to [`LINK_VERSION`]. Strict and total: every problem is a
/// [`LinkError`], nothing panics.
pub fn decode_link(input: &str) -> Result<DecodedLink, LinkError> {
    // Links are ASCII, so bytes and characters agree; counting bytes costs nothing.
    if input.len() > MAX_LINK_CHARS {
        return Err(LinkError::TooLong {
            chars: input.len(),
            limit: MAX_LINK_CHARS,
        });
    }
    let frag = fragment_of(input)?;
    if let Some((position, ch)) = frag
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic())
    {
        return Err(LinkError::BadCharacter { ch, position });
    }
    let params = split_params(frag)?;
    let v = params
        .iter()
        .find(|(k, _)| *k == "v")
        .map(|(_, v)| *v)
        .ok_or(LinkError::MissingVersion)?;
    let version = parse_version(v)?;
    if version > LINK_VERSION {
        return Err(LinkError::UnsupportedVersion(version));
    }
    let mut payload = read_payload(version, &params)?;
    // `p` is known from version 2 on (`read_payload` refused it in older links).
    let policy = match params.iter().find(|(k, _)| *k == "p") {
        Some((_, p)) => {
            let bytes = unpack("p", p, MAX_POLICY_JSON_BYTES, "policy settings")?;
            let text = std::str::from_utf8(&bytes).map_err(|e| LinkError::Text {
                param: "p".into(),
                detail: e.to_string(),
            })?;
            Some(PolicySettings::from_json(text).map_err(policy_error)?)
        }
        None => None,
    };
    while payload.version < LINK_VERSION {
        let from = payload.version;
        payload = MIGRATIONS[from as usize](payload)?;
        debug_assert_eq!(payload.version, from + 1);
    }
    let config: GenerationConfig =
        serde_json::from_value(payload.config).map_err(|e| ConfigError::Parse {
            message: e.to_string(),
            line: 0,
            column: 0,
        })?;
    config.validate()?;
    if let Some(bytes) = &payload.demo {
        verify_demo_bytes(&config, bytes)?;
    }
    Ok(DecodedLink {
        config,
        demo: payload.demo,
        source_version: version,
        policy,
    })
}

/// What `dmgen generate --url` calls: the configuration a link describes and the demo
/// file it embeds (`None` when it embeds none: then `config.demo` is a built-in id, an
/// inline demo, or a SHA-256 whose file the caller must supply and check with
/// [`verify_demo_bytes`]).
pub fn config_from_link(s: &str) -> Result<(GenerationConfig, Option<Vec<u8>>), LinkError> {
    let d = decode_link(s)?;
    Ok((d.config, d.demo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DmpScaling, Method, Variant};
    use crate::rng::Rng;

    fn sha_config(bytes: &[u8]) -> GenerationConfig {
        GenerationConfig {
            demo: DemoRef::Sha256 {
                sha256: sha256_hex(bytes),
                name: Some("my demo.json".into()),
                index: 0,
            },
            ..Default::default()
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(p).unwrap()
    }

    fn err(s: &str) -> LinkError {
        decode_link(s).unwrap_err()
    }

    fn random_config(rng: &mut Rng) -> (GenerationConfig, Option<Vec<u8>>) {
        let variants = [
            Variant::Static,
            Variant::Dmg,
            Variant::MovingTarget,
            Variant::Push,
        ];
        let mut axes: Vec<String> = ["x", "y", "z"]
            .iter()
            .filter(|_| rng.bernoulli(0.6))
            .map(|s| s.to_string())
            .collect();
        if axes.is_empty() {
            axes.push("z".into());
        }
        let episodes = 1 + rng.below(5000) as u32;
        let nb = rng.below(4) as usize;
        let mut boundaries = Vec::new();
        let mut at = 0;
        for _ in 0..nb {
            at += 1 + rng.below(100) as usize;
            boundaries.push(at);
        }
        let objects = if rng.bernoulli(0.5) {
            (0..=nb)
                .map(|i| rng.bernoulli(0.5).then(|| format!("obj{i}")))
                .collect()
        } else {
            vec![]
        };
        let mut demo_bytes = None;
        let demo = match rng.below(3) {
            0 => DemoRef::Builtin {
                id: ["stack", "lift", "square"][rng.below(3) as usize].into(),
            },
            1 => {
                let len = rng.below(3000) as usize;
                let bytes: Vec<u8> = (0..len).map(|_| rng.below(8) as u8 + b'0').collect();
                let d = DemoRef::Sha256 {
                    sha256: sha256_hex(&bytes),
                    name: rng.bernoulli(0.5).then(|| "demo.csv".to_string()),
                    index: 0,
                };
                if rng.bernoulli(0.7) {
                    demo_bytes = Some(bytes);
                }
                d
            }
            _ => {
                let mut p = crate::demo::synth::StackParams::default();
                p.pick.pos.0[0] += rng.range(-0.05, 0.05);
                let mut d = crate::demo::synth::stack_demo(&p);
                let keep = 2 + rng.below(10) as usize;
                d.t.truncate(keep);
                d.eef.truncate(keep);
                d.gripper.truncate(keep);
                for o in &mut d.objects {
                    o.poses.truncate(keep);
                }
                d.subtask_term_signals.clear();
                DemoRef::Embedded { demo: Box::new(d) }
            }
        };
        let mut cfg = GenerationConfig {
            task: ["stack", "lift", "square", "mug_cleanup"][rng.below(4) as usize].into(),
            custom_task: None,
            variant: variants[rng.below(4) as usize],
            dynamics: crate::config::DynamicsParams {
                speed_mps: rng.uniform(),
                probability: rng.uniform(),
                axes,
                active_fraction: 1.0 - rng.uniform() * 0.99,
                belt_speed_mps: rng.uniform() * 0.2,
            },
            method: if rng.bernoulli(0.5) {
                Method::Dmg
            } else {
                Method::MimicGen
            },
            episodes,
            max_attempts: rng
                .bernoulli(0.3)
                .then(|| episodes + rng.below(1000) as u32),
            seed: rng.next_u64(),
            dmp: crate::config::DmpParams {
                bases: 2 + rng.below(999) as u32,
                alpha: rng.range(0.001, 1000.0),
                goal_filter_alpha: rng.range(0.0, 1000.0),
                scaling: [DmpScaling::Robust, DmpScaling::Axis, DmpScaling::Fixed]
                    [rng.below(3) as usize],
            },
            segmentation: crate::config::SegmentationOverride {
                boundaries,
                objects,
            },
            demo,
            mimicgen: crate::config::MimicGenParams {
                bridge_steps: rng.below(201) as u32,
                action_noise: None,
            },
            assists: crate::config::Assists {
                in_hand_correction: rng.bernoulli(0.5),
                settle_steps: rng.below(201) as u32,
                goal_feedforward: rng.bernoulli(0.5),
                action_noise: rng.uniform(),
            },
            valid_fraction: rng.range(0.0, 0.5),
            actions: if rng.bernoulli(0.5) {
                crate::config::ActionConvention::Delta
            } else {
                crate::config::ActionConvention::Abs
            },
            cameras: crate::config::CameraSettings {
                names: crate::config::CAMERA_NAMES
                    .iter()
                    .filter(|_| rng.bernoulli(0.5))
                    .map(|s| s.to_string())
                    .collect(),
                width: 8 + rng.below(249) as u32,
                height: 8 + rng.below(249) as u32,
                depth: rng.bernoulli(0.5),
                next_obs: rng.bernoulli(0.5),
            },
            reset: crate::task::ResetLevel::D0,
            geometry: if rng.bernoulli(0.5) {
                crate::task::Geometry::Robosuite
            } else {
                crate::task::Geometry::Playground
            },
            object_map: Default::default(),
            demo_frame: if rng.bernoulli(0.5) {
                crate::config::DemoFrame::Auto
            } else {
                crate::config::DemoFrame::Rigid {
                    base: [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)],
                    yaw: rng.range(-3.0, 3.0),
                    table_z: rng.range(0.0, 1.0),
                }
            },
        };
        // A reset level the task has (another would not validate).
        let levels = crate::task::Task::by_id(&cfg.task)
            .map(|t| t.reset_levels())
            .unwrap_or_default();
        if !levels.is_empty() {
            cfg.reset = levels[rng.below(levels.len() as u64) as usize];
        }
        if cfg.cameras.is_off() {
            // Without cameras their settings are not part of the configuration.
            cfg.cameras = crate::config::CameraSettings::default();
        }
        (cfg, demo_bytes)
    }

    #[test]
    fn roundtrip_random_configs_is_exact_and_canonical() {
        let mut rng = Rng::new(2024);
        for i in 0..300 {
            let (cfg, demo) = random_config(&mut rng);
            cfg.validate()
                .unwrap_or_else(|e| panic!("case {i}: generator made {e}"));
            let link = encode_link(&cfg, demo.as_deref()).unwrap();
            assert!(link.starts_with("#v=2&c="), "{link}");
            assert!(link[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=&".contains(&b)));
            let back = decode_link(&link).unwrap();
            assert_eq!(back.config, cfg, "case {i}");
            assert_eq!(back.demo, demo, "case {i}");
            assert_eq!(back.source_version, LINK_VERSION);
            assert_eq!(
                back.config.to_canonical_json().unwrap(),
                cfg.to_canonical_json().unwrap()
            );
            // Canonical: re-encoding the decoded link gives the same string.
            assert_eq!(
                encode_link(&back.config, back.demo.as_deref()).unwrap(),
                link
            );
            // Full URLs and bare fragments decode the same.
            let url = format!("https://example.org/play/?workers=2{link}");
            assert_eq!(decode_link(&url).unwrap(), back);
            assert_eq!(decode_link(&link[1..]).unwrap(), back);
        }
    }

    /// A version-1 link of the default configuration (what builds before version 2 wrote):
    /// it decodes to D-MG with the extras it had then (in-hand correction, settling,
    /// feed-forward, no noise), and a version-1 MimicGen link keeps its noise.
    #[test]
    fn version_1_links_migrate_to_the_switches_they_stood_for() {
        const V1_DEFAULT: &str = "#v=1&c=eNpVkN1ugzAMRt_F16ii07jhVaYpMsSlHvlTHKoi1HefA0xa75zk8_GJN7DkI_QbsIUepOA4QwMzh3ocFnaFA7wasD7VFLp0R-g_ukvbwIBCAv211XqK6MxN45TNGbq2NSQjOg6T0nIcFik7bA3oeZSdOBZ-kLnlWsQAfXvpGsBnJX_BU2VW-NZZ5IqRRGSNT1JT7WcDSZk4sOOyno3vkU6HUWKJ9hBtwFO5x_o36ydle1aPicKfSQwmRBY6unVsZjuRkUKVWHGifH2txeQpFDysNxjiEixm3sXVOA4_NJb9oG0FZf634Icuxb59-lovM2Mop9zrF1B5hmY";
        let d = decode_link(V1_DEFAULT).unwrap();
        assert_eq!(d.source_version, 1);
        assert_eq!(d.config, GenerationConfig::default());
        let mg = format!(
            "#v=1&c={}",
            packed(r#"{"method":"mimicgen","mimicgen":{"action_noise":0.1,"bridge_steps":5}}"#)
        );
        let d = decode_link(&mg).unwrap();
        assert_eq!(d.config.mimicgen.action_noise, None);
        assert_eq!(
            d.config.assists,
            crate::config::Assists {
                action_noise: 0.1,
                ..crate::config::Assists::none()
            }
        );
        let bad = format!("#v=1&c={}", packed(r#"{"mimicgen":{"action_noise":"x"}}"#));
        assert!(matches!(err(&bad), LinkError::Migration { from: 1, .. }));
    }

    /// The exact string for the default configuration: if this changes, links made by
    /// earlier builds still decode (see the other tests), but the change must be deliberate.
    #[test]
    fn golden_link_of_the_default_configuration() {
        let link = encode_link(&GenerationConfig::default(), None).unwrap();
        assert_eq!(link, GOLDEN_DEFAULT, "new golden: {link}");
        assert_eq!(
            decode_link(GOLDEN_DEFAULT).unwrap().config,
            GenerationConfig::default()
        );
        // The browser test checks the wasm build against the same string.
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/links.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(v["defaultLink"], GOLDEN_DEFAULT);
    }

    const GOLDEN_DEFAULT: &str = "#v=2&c=eNpVkFtuwkAMRffi7wiFtvxkK1U1cjImuMwjGjsUhNh7PSGNyt88fI-PfQcUYVGB7g44KOfkUmYh6Npd28CYMbgjkT_m8oPFQ6dlpgY4uRMm74ZcCi2xvx8h1UBOlCaDvrePBjzFXPlscRDF4QwNnDnVaz9zUE5Qy-K0WITphNC9HWr_HoUMs283Fyun4tai_SIpAwZOo9FK7mfRBXZLGHnY5rqQOxZcTdvdoQG8VvInXE3mBl_Wi4I6mWxYF6u7sT8amIyJPQfW2xp8LTlYM5pYsn-KNhBJT7nO5uNo7MjmMVKqJn1hP27LqVExlnHqYYyUFJ-GVprn5LHwIml2uf-2RS8XiynK-d8yL7YA_zLgvj4WxqSryOMXzJ-jpA";

    /// What `c` of [`GOLDEN_DEFAULT`] holds (checked with Python's zlib and base64 too).
    const GOLDEN_DEFAULT_JSON: &str = r#"{"assists":{"action_noise":0.0,"goal_feedforward":true,"in_hand_correction":true,"settle_steps":30},"demo":{"id":"stack","kind":"builtin"},"dmp":{"alpha":25.0,"bases":100,"goal_filter_alpha":10.0,"scaling":"robust"},"dynamics":{"active_fraction":0.5,"axes":["x","y"],"belt_speed_mps":0.04,"probability":0.5,"speed_mps":0.05},"episodes":10,"method":"dmg","mimicgen":{"bridge_steps":5},"seed":0,"segmentation":{"boundaries":[],"objects":[]},"task":"stack","valid_fraction":0.1,"variant":"dmg"}"#;

    #[test]
    fn golden_payload_is_the_canonical_json() {
        let c = GOLDEN_DEFAULT.strip_prefix("#v=2&c=").unwrap();
        let json = unpack("c", c, MAX_CONFIG_JSON_BYTES, "configuration").unwrap();
        assert_eq!(std::str::from_utf8(&json).unwrap(), GOLDEN_DEFAULT_JSON);
    }

    /// Any zlib stream decodes, whatever compressor and level made it, and keys may
    /// come in any order: this one was made by Python's `zlib.compress(.., 1)`.
    #[test]
    fn links_from_other_encoders_decode() {
        let link = "#v=1&c=eAGrVipOTU1RsjLXUSpJLM5WslLKyUwrUdJRSknNzVeyqlbKzswDSisllWbmlGTmASUyQVywotpaAGGTE68";
        let d = decode_link(link).unwrap();
        assert_eq!(d.config.seed, 7);
        assert_eq!(d.config.task, "lift");
        assert_eq!(d.config.demo, DemoRef::Builtin { id: "lift".into() });
        // Re-encoding gives this build's canonical form.
        assert_ne!(encode_link(&d.config, None).unwrap(), link);
    }

    #[test]
    fn fixture_demos_embed_and_verify() {
        for name in ["stack.json", "stack.csv", "stack_mimicgen.hdf5"] {
            let bytes = fixture(name);
            assert!(demo_fits_in_link(&bytes), "{name}");
            let cfg = sha_config(&bytes);
            let link = encode_link(&cfg, Some(&bytes)).unwrap();
            assert!(link.contains("&d="), "{name}");
            let (back, demo) = config_from_link(&link).unwrap();
            assert_eq!(back, cfg);
            let demo = demo.unwrap();
            assert_eq!(demo, bytes);
            // The embedded bytes are the file: the demo readers accept them.
            crate::demo::read_demo_auto(&demo, Some(name), 0).unwrap();
        }
    }

    #[test]
    fn large_demo_is_referenced_by_sha256_only() {
        // Incompressible bytes: 60 kB encode to ~80 k characters.
        let mut rng = Rng::new(5);
        let bytes: Vec<u8> = (0..60_000).map(|_| rng.next_u64() as u8).collect();
        assert!(!demo_fits_in_link(&bytes));
        let cfg = sha_config(&bytes);
        let link = encode_link(&cfg, Some(&bytes)).unwrap();
        assert!(!link.contains("&d="), "{}", link.len());
        let d = decode_link(&link).unwrap();
        assert_eq!(d.demo, None);
        assert_eq!(d.demo_sha256(), Some(sha256_hex(&bytes).as_str()));
        verify_demo_bytes(&d.config, &bytes).unwrap();
        let e = verify_demo_bytes(&d.config, b"another file").unwrap_err();
        assert!(e.to_string().contains("does not match the link"), "{e}");
        // Even a huge file is cheap to reject from embedding (no compression attempt).
        let huge = vec![0u8; 1032 * (MAX_EMBEDDED_DEMO_CHARS + 1) + 1032];
        assert!(!demo_fits_in_link(&huge));
    }

    #[test]
    fn encoder_checks_demo_bytes_against_the_configuration() {
        let e = encode_link(&GenerationConfig::default(), Some(b"abc")).unwrap_err();
        assert_eq!(e, LinkError::DemoNotExpected { kind: "builtin" });
        let e = encode_link(&sha_config(b"abc"), Some(b"abd")).unwrap_err();
        assert!(matches!(e, LinkError::DemoMismatch { .. }), "{e}");
        let bad = GenerationConfig {
            episodes: 0,
            ..Default::default()
        };
        let e = encode_link(&bad, None).unwrap_err();
        assert!(e.to_string().contains("episodes"), "{e}");
    }

    fn packed(json: &str) -> String {
        pack(json.as_bytes())
    }

    #[test]
    fn input_shape_errors() {
        assert_eq!(err(""), LinkError::Empty);
        assert_eq!(err("  \n"), LinkError::Empty);
        assert_eq!(err("https://example.org/play/#"), LinkError::Empty);
        assert_eq!(err("https://example.org/play/"), LinkError::NoFragment);
        let e = err("#v=1&c=ab cd");
        assert_eq!(
            e,
            LinkError::BadCharacter {
                ch: ' ',
                position: 8
            }
        );
        assert!(e.to_string().contains("' '"), "{e}");
        assert!(matches!(err("#v=1&&c=x"), LinkError::Syntax(_)));
        assert!(matches!(err("#v=1&c"), LinkError::Syntax(_)));
        assert!(matches!(err("#v=1&C=x"), LinkError::Syntax(_)));
        assert_eq!(err("#v=1&v=1"), LinkError::DuplicateParam("v".into()));
        assert_eq!(err("#c=abc"), LinkError::MissingVersion);
        assert_eq!(
            err("#v=1"),
            LinkError::MissingParam {
                version: 1,
                key: "c"
            }
        );
        let e = err(&format!("#v=1&c={}&x=1", packed("{}")));
        assert_eq!(
            e,
            LinkError::UnknownParam {
                version: 1,
                key: "x".into()
            }
        );
        assert!(e.to_string().contains("unknown parameter 'x'"), "{e}");
        // Non-ASCII is refused before anything else looks at it.
        assert!(matches!(
            err("#v=1&c=é"),
            LinkError::BadCharacter { ch: 'é', .. }
        ));
    }

    #[test]
    fn version_errors() {
        for v in ["", "x", "01", "-1", "1.0", "9999999"] {
            let e = err(&format!("#v={v}&c=AA"));
            assert!(matches!(e, LinkError::BadVersion(_)), "{v}: {e}");
            assert!(e.to_string().contains("not a version number"), "{e}");
        }
        let e = err("#v=3&c=AA");
        assert_eq!(e, LinkError::UnsupportedVersion(3));
        assert!(e.to_string().contains("newer than this playground"), "{e}");
    }

    #[test]
    fn corrupted_payload_errors() {
        let good = encode_link(&GenerationConfig::default(), None).unwrap();
        // A character outside base64url.
        let e = err(&good.replacen("c=", "c=!", 1));
        assert!(matches!(e, LinkError::Base64 { .. }), "{e}");
        assert!(e.to_string().contains("not valid base64url"), "{e}");
        assert!(e.to_string().contains("'!' at position 0"), "{e}");
        // Standard-alphabet base64 ('+', '/') or padding is not base64url.
        assert!(matches!(err("#v=1&c=ab+/"), LinkError::Base64 { .. }));
        assert!(matches!(err("#v=1&c=YQ=="), LinkError::Base64 { .. }));
        // Cut short: either an impossible length or a truncated stream.
        for cut in [1, 2, 5, 11] {
            let e = err(&good[..good.len() - cut]);
            assert!(
                matches!(e, LinkError::Base64 { .. } | LinkError::Compression { .. }),
                "cut {cut}: {e}"
            );
            assert!(e.to_string().contains("cut or altered"), "{e}");
        }
        // Valid base64url that is not zlib data.
        let e = err(&format!(
            "#v=1&c={}",
            URL_SAFE_NO_PAD.encode(b"{\"task\":\"stack\"}")
        ));
        assert!(matches!(e, LinkError::Compression { .. }), "{e}");
        assert!(e.to_string().contains("'c' data is corrupted"), "{e}");
        // One flipped character inside the data: the checksum (or the inflater) notices.
        let mut flipped = 0;
        let start = good.find("c=").unwrap() + 2 + 4;
        for i in start..good.len() - 4 {
            let mut s = good.clone().into_bytes();
            s[i] = if s[i] == b'A' { b'B' } else { b'A' };
            let s = String::from_utf8(s).unwrap();
            match decode_link(&s) {
                Ok(d) => assert_eq!(d.config, GenerationConfig::default(), "{s}"),
                Err(_) => flipped += 1,
            }
        }
        assert!(flipped > 0);
    }

    #[test]
    fn oversized_inputs_are_refused_early() {
        let long = format!("#v=1&c={}", "A".repeat(MAX_LINK_CHARS));
        let e = err(&long);
        assert!(matches!(e, LinkError::TooLong { .. }), "{e}");
        assert!(e.to_string().contains("65536-character limit"), "{e}");
        // A zip bomb: 2 MiB of spaces compresses to ~2 kB but expands past the limit.
        let bomb = format!(
            "{{\"task\":\"stack\"{}}}",
            " ".repeat(2 * MAX_CONFIG_JSON_BYTES)
        );
        let link = format!("#v=1&c={}", packed(&bomb));
        assert!(link.len() < MAX_LINK_CHARS);
        let e = err(&link);
        assert_eq!(
            e,
            LinkError::Oversized {
                what: "configuration",
                limit: MAX_CONFIG_JSON_BYTES
            }
        );
        assert!(
            e.to_string().contains("expands to more than 1048576 bytes"),
            "{e}"
        );
        let demo = vec![b'0'; MAX_LINK_DEMO_BYTES + 1];
        let link = format!("#v=1&c={}&d={}", packed("{}"), pack(&demo));
        assert!(matches!(
            err(&link),
            LinkError::Oversized {
                what: "embedded demo",
                ..
            }
        ));
        // The encoder refuses to make a link it could not read back: an inline demo of
        // 2000 noisy samples does not compress below the limit.
        let mut rng = Rng::new(1);
        let n = 2000;
        let noisy = |rng: &mut Rng| {
            let mut p = crate::geom::Pose::IDENTITY;
            p.pos.0 = [rng.uniform(), rng.uniform(), rng.uniform()];
            p
        };
        let d = crate::demo::Demo {
            task: None,
            t: (0..n).map(|k| k as f64 * 0.05).collect(),
            eef: (0..n).map(|_| noisy(&mut rng)).collect(),
            gripper: vec![0.0; n],
            objects: vec![],
            subtask_term_signals: vec![],
        };
        let cfg = GenerationConfig {
            demo: DemoRef::Embedded { demo: Box::new(d) },
            ..Default::default()
        };
        match encode_link(&cfg, None) {
            Err(e @ LinkError::EncodeTooLarge { .. }) => {
                assert!(e.to_string().contains("65536-character limit"), "{e}")
            }
            other => panic!("expected EncodeTooLarge, got {:?}", other.map(|s| s.len())),
        }
    }

    #[test]
    fn config_errors_name_the_field() {
        let e = err(&format!("#v=1&c={}", packed(r#"{"episdoes":3}"#)));
        assert!(
            matches!(e, LinkError::Config(ConfigError::Parse { .. })),
            "{e}"
        );
        assert!(e.to_string().contains("unknown field `episdoes`"), "{e}");
        let e = err(&format!("#v=1&c={}", packed(r#"{"dmp":{"bases":1}}"#)));
        assert!(e.to_string().contains("'dmp.bases'"), "{e}");
        let e = err(&format!("#v=1&c={}", packed(r#"{"seed":"<script>"}"#)));
        assert!(matches!(e, LinkError::Config(_)), "{e}");
        let e = err(&format!("#v=1&c={}", packed("[1,2]")));
        assert!(matches!(e, LinkError::Config(_)), "{e}");
        let e = err(&format!("#v=1&c={}", pack(&[0xff, 0xfe])));
        assert!(matches!(e, LinkError::Text { .. }), "{e}");
        // Deep nesting is an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            err(&format!("#v=1&c={}", packed(&deep))),
            LinkError::Config(_)
        ));
    }

    #[test]
    fn embedded_demo_must_match_the_configuration() {
        let cfg = sha_config(b"the real file");
        let c = pack(cfg.to_canonical_json().unwrap().as_bytes());
        let e = err(&format!("#v=1&c={c}&d={}", pack(b"another file")));
        assert!(matches!(e, LinkError::DemoMismatch { .. }), "{e}");
        assert!(e.to_string().contains("does not match the link"), "{e}");
        let c = pack(
            GenerationConfig::default()
                .to_canonical_json()
                .unwrap()
                .as_bytes(),
        );
        let e = err(&format!("#v=1&c={c}&d={}", pack(b"x")));
        assert_eq!(e, LinkError::DemoNotExpected { kind: "builtin" });
    }

    fn v0(json: &str) -> String {
        let mut s = String::from("#v=0&json=");
        for b in json.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
        s
    }

    #[test]
    fn v0_links_migrate_to_the_current_layout() {
        let sha = "0f".repeat(32);
        let link = v0(&format!(
            r#"{{"task":"square","variant":"static","method":"mimicgen","episodes":25,"seed":9,
                "speed":0.1,"dynamic_probability":1,"dmp_bases":50,"dmp_alpha":30,
                "boundaries":[40,90],"demo_sha256":"{sha}"}}"#
        ));
        let d = decode_link(&link).unwrap();
        assert_eq!(d.source_version, 0);
        let want = GenerationConfig {
            task: "square".into(),
            variant: Variant::Static,
            method: Method::MimicGen,
            episodes: 25,
            seed: 9,
            dynamics: crate::config::DynamicsParams {
                speed_mps: 0.1,
                probability: 1.0,
                ..Default::default()
            },
            dmp: crate::config::DmpParams {
                bases: 50,
                alpha: 30.0,
                goal_filter_alpha: 0.0,
                ..Default::default()
            },
            segmentation: crate::config::SegmentationOverride {
                boundaries: vec![40, 90],
                objects: vec![],
            },
            demo: DemoRef::Sha256 {
                sha256: sha,
                name: None,
                index: 0,
            },
            // MimicGen before version 2: its own action noise, none of the extras.
            assists: crate::config::Assists {
                action_noise: 0.05,
                ..crate::config::Assists::none()
            },
            ..Default::default()
        };
        assert_eq!(d.config, want);
        // Re-encoding upgrades it to the current version.
        let v1 = encode_link(&d.config, None).unwrap();
        assert!(v1.starts_with("#v=2&"));
        assert_eq!(decode_link(&v1).unwrap().config, want);
        // A minimal v0 link and a builtin demo.
        let d = decode_link(&v0(r#"{"demo":"lift","task":"lift"}"#)).unwrap();
        assert_eq!(d.config.demo, DemoRef::Builtin { id: "lift".into() });
        assert_eq!(d.config.dmp.goal_filter_alpha, 0.0);
    }

    #[test]
    fn v0_errors() {
        let e = err(&v0(r#"{"speeed":1}"#));
        assert!(matches!(e, LinkError::Migration { from: 0, .. }), "{e}");
        assert!(e.to_string().contains("unknown v0 field 'speeed'"), "{e}");
        let e = err(&v0(r#"{"demo":"stack","demo_sha256":"x"}"#));
        assert!(e.to_string().contains("both"), "{e}");
        assert!(matches!(err(&v0("[]")), LinkError::Migration { .. }));
        assert!(matches!(
            err(&v0(r#"{"demo":3}"#)),
            LinkError::Migration { .. }
        ));
        let e = err("#v=0&json=%7B%zz");
        assert!(matches!(e, LinkError::Text { .. }), "{e}");
        assert!(e.to_string().contains("two hex digits"), "{e}");
        assert!(matches!(err("#v=0&json=%7B%7"), LinkError::Text { .. }));
        assert!(matches!(err("#v=0&json=%FF"), LinkError::Text { .. }));
        // v0 knows no 'c', v1 no 'json'.
        assert!(matches!(
            err("#v=0&c=AA"),
            LinkError::UnknownParam { version: 0, .. }
        ));
        assert!(matches!(
            err("#v=1&json=%7B%7D"),
            LinkError::UnknownParam { version: 1, .. }
        ));
        // Migrated values are validated like any other.
        let e = err(&v0(r#"{"dmp_bases":1}"#));
        assert!(e.to_string().contains("'dmp.bases'"), "{e}");
    }

    #[test]
    fn migration_table_covers_every_old_version() {
        assert_eq!(MIGRATIONS.len() as u32, LINK_VERSION - OLDEST_LINK_VERSION);
    }

    /// Arbitrary strings never panic (the fuzz target runs this at scale).
    fn policy_settings() -> PolicySettings {
        let mut p = PolicySettings::default();
        p.train.algo = crate::policy_settings::Algo::BcRnn;
        p.train.steps = 7;
        p.train.lr = 0.1 + 0.2; // not a short decimal: must round-trip exactly
        p.train.hidden = vec![64, 32];
        p.eval.task = "lift".into();
        p.eval.variant = Variant::Dmg;
        p.eval.episodes = 30;
        p
    }

    #[test]
    fn policy_settings_roundtrip_and_links_without_them_are_unchanged() {
        let c = GenerationConfig::default();
        let plain = encode_link(&c, None).unwrap();
        assert_eq!(encode_link_with(&c, None, None).unwrap(), plain);
        assert_eq!(decode_link(&plain).unwrap().policy, None);
        let p = policy_settings();
        let link = encode_link_with(&c, None, Some(&p)).unwrap();
        assert!(link.starts_with(&format!("{plain}&p=")), "{link}");
        let d = decode_link(&link).unwrap();
        assert_eq!(d.config, c);
        assert_eq!(d.policy.as_ref(), Some(&p));
        assert_eq!(
            d.policy.unwrap().train.lr.to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        // The demo is still embedded after `p`, and both survive.
        let bytes = fixture("stack.json");
        let sc = sha_config(&bytes);
        let link = encode_link_with(&sc, Some(&bytes), Some(&p)).unwrap();
        let d = decode_link(&link).unwrap();
        assert_eq!(d.demo.as_deref(), Some(&bytes[..]));
        assert_eq!(d.policy, Some(p));
    }

    #[test]
    fn policy_settings_errors() {
        let c = GenerationConfig::default();
        let base = encode_link(&c, None).unwrap();
        // Out of range, on encoding and on decoding.
        let mut bad = policy_settings();
        bad.train.steps = 0;
        let e = encode_link_with(&c, None, Some(&bad)).unwrap_err();
        assert!(e.to_string().contains("steps must be 1..=10000000"), "{e}");
        let e = err(&format!("{base}&p={}", packed(r#"{"train":{"epochs":0}}"#)));
        assert!(
            e.to_string()
                .contains("policy settings are not valid: epochs"),
            "{e}"
        );
        // Unknown fields, an unknown task and bad JSON name what is wrong.
        let e = err(&format!("{base}&p={}", packed(r#"{"train":{"epoch":3}}"#)));
        assert!(e.to_string().contains("unknown field `epoch`"), "{e}");
        let e = err(&format!(
            "{base}&p={}",
            packed(r#"{"eval":{"task":"juggle"}}"#)
        ));
        assert!(
            matches!(e, LinkError::Policy(_)) && e.to_string().contains("juggle"),
            "{e}"
        );
        let e = err(&format!("{base}&p={}", packed("{not json")));
        assert!(matches!(e, LinkError::Policy(_)), "{e}");
        // Corrupt or oversized data, a repeated `p`, and `p` in a version 1 link.
        let e = err(&format!("{base}&p=AAAA"));
        assert!(matches!(e, LinkError::Compression { .. }), "{e}");
        let huge = format!(
            r#"{{"train":{{"hidden":[{}]}}}}"#,
            vec!["1"; 40_000].join(",")
        );
        let e = err(&format!("{base}&p={}", packed(&huge)));
        assert!(matches!(e, LinkError::Oversized { .. }), "{e}");
        let p = packed("{}");
        assert!(matches!(
            err(&format!("{base}&p={p}&p={p}")),
            LinkError::DuplicateParam(_)
        ));
        let v1 = base.replacen("v=2", "v=1", 1);
        let e = err(&format!("{v1}&p={p}"));
        assert!(
            matches!(e, LinkError::UnknownParam { version: 1, .. }),
            "{e}"
        );
        // An empty object is the defaults.
        assert_eq!(
            decode_link(&format!("{base}&p={p}")).unwrap().policy,
            Some(PolicySettings::default())
        );
    }

    #[test]
    fn random_strings_never_panic() {
        let good = encode_link(&sha_config(b"demo"), Some(b"demo")).unwrap();
        let mut rng = Rng::new(77);
        for _ in 0..3000 {
            let mut s = good.clone().into_bytes();
            for _ in 0..1 + rng.below(4) {
                let k = rng.below(s.len() as u64) as usize;
                match rng.below(3) {
                    0 => s[k] = b"AZaz09-_=&#%v"[rng.below(13) as usize],
                    1 => s.truncate(k),
                    _ => {
                        s.remove(k);
                    }
                }
                if s.is_empty() {
                    break;
                }
            }
            let s = String::from_utf8_lossy(&s);
            let _ = decode_link(&s);
        }
    }
}
