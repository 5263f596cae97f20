#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| riskgate_lists::fuzz::import_csv(data));
