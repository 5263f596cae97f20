//! The integration and property tests of the real compiled policies in the
//! real host, gathered into one test binary (one wasmtime link): each
//! module is one concern.

mod contract;
mod explain;
mod fuel;
mod gate;
mod holds;
mod hostile;
mod keys;
mod ofac_variants;
mod properties;
mod redis;
mod velocity;
