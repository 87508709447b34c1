//! Structure-aware link fuzzing: the input is the configuration JSON itself, wrapped into
//! a well-formed link (first byte even: v1 zlib+base64url; odd: v0 percent-encoded), so
//! the fuzzer reaches migration, JSON parsing and validation instead of stopping at the
//! checksum. Decoding never panics, and a decoded link re-encodes to the same config.
#![no_main]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, json)) = data.split_first() else {
        return;
    };
    let link = if mode % 2 == 0 {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(json, 1);
        format!("#v=1&c={}", URL_SAFE_NO_PAD.encode(packed))
    } else {
        let mut s = String::from("#v=0&json=");
        for &b in json {
            if b.is_ascii_alphanumeric() {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
        s
    };
    if let Ok(d) = dmgen::link::decode_link(&link) {
        let again = dmgen::link::encode_link(&d.config, d.demo.as_deref())
            .and_then(|l| dmgen::link::decode_link(&l));
        match again {
            Ok(back) => assert_eq!(back.config, d.config),
            Err(e) => panic!("a decoded link must re-encode: {e}"),
        }
    }
});
