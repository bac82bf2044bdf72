//! A request of the fuzzer's choosing written as each API Gateway event shape, then decoded
//! (see `inlet_fuzz::event_roundtrip_target`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| inlet_fuzz::event_roundtrip_target(data));
