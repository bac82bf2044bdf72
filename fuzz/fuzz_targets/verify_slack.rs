//! The slack scheme's verification on arbitrary headers and body (see `inlet_fuzz::verify_target`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| inlet_fuzz::verify_target(
    inlet::catalogue::sources::by_name("slack").expect("slack"),
    data
));
