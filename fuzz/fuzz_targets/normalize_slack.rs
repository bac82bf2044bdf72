//! A validly signed request of the fuzzer's choosing through the slack scheme's verify and
//! normalize (see `inlet_fuzz::normalize_target`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| inlet_fuzz::normalize_target(
    inlet::catalogue::sources::by_name("slack").expect("slack"),
    data
));
