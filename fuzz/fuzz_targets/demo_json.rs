//! The JSON demo reader returns a demo or an error for any bytes; a demo it returns
//! passes validation and survives a write/read round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(demo) = dmgen::demo::read_json_demo(data) {
        let text = dmgen::demo::demo_to_json(&demo);
        let again = dmgen::demo::read_json_demo(text.as_bytes());
        assert!(again.is_ok(), "a demo that was read must read back: {again:?}");
    }
});
