//! The format-sniffing entry point the page and the CLI use: any bytes give a demo or
//! an error; the first byte of the input picks the demo index (0-3) for HDF5 files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let index = data.first().map_or(0, |b| usize::from(b & 3));
    let _ = dmgen::demo::read_demo_auto(data, Some("fuzz-input"), index);
});
