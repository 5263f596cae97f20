//! Durable files, one home for each mechanism: every riskgate crate that
//! writes state to disk (velocity's write-ahead log and checkpoints, the
//! decision log, compiled sets, the AOT cache, key files) goes through
//! these.
