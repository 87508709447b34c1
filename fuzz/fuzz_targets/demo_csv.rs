//! The CSV demo reader returns a demo or an error for any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dmgen::demo::read_csv_demo(data);
});
