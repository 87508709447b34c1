//! The robomimic/MimicGen HDF5 reader returns a demo or an error for any bytes. The
//! signature is prepended so the fuzzer spends its time past the first check.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = Vec::with_capacity(data.len() + 8);
    if !data.starts_with(dmgen::demo::HDF5_SIGNATURE) {
        bytes.extend_from_slice(dmgen::demo::HDF5_SIGNATURE);
    }
    bytes.extend_from_slice(data);
    let _ = dmgen::demo::list_hdf5_demos(&bytes);
    let _ = dmgen::demo::read_hdf5_demo(&bytes, 0);
});
