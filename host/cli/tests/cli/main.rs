//! End-to-end tests of the `riskgate` binary (its commands, the service,
//! crash recovery, the load generator), gathered into one test binary: each
//! module is one concern.

mod commands;
mod crash;
mod explain;
mod holds;
mod lists_cli;
mod load;
mod policy_authors;
mod policy_sign;
mod replay;
mod review_page;
mod serve;
mod serve_config;
#[allow(dead_code)]
mod support;
