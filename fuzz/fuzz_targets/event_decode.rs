//! Arbitrary bytes as a Lambda event (see `inlet_fuzz::event_decode_target`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| inlet_fuzz::event_decode_target(data));
