//! Task files: parsing and checking any bytes never panics, and a task that is accepted
//! writes a file that reads back to the same task.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(task) = dmgen::task::Task::from_json(text) {
        let back = dmgen::task::Task::from_json(&task.to_json());
        assert_eq!(back.as_ref(), Ok(&task), "an accepted task must round-trip");
    }
});
