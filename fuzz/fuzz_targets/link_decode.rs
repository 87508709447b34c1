//! The share-link decoder is total: any text gives a configuration or an error. A link
//! that decodes re-encodes to a link that decodes to the same configuration.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = dmgen::link::decode_link(&text) {
        let again = dmgen::link::encode_link(&d.config, d.demo.as_deref())
            .and_then(|link| dmgen::link::decode_link(&link));
        match again {
            Ok(back) => assert_eq!(back.config, d.config),
            Err(e) => panic!("a decoded link must re-encode: {e}"),
        }
    }
});
