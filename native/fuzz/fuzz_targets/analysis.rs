#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flowsight_fuzz::analysis(data));
