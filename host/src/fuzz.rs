//! Fuzz entry points (used by the cargo-fuzz targets in `fuzz/` and by the
//! smoke tests that run them in CI).
