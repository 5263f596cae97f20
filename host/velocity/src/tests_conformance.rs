//! The store conformance suite ([`crate::conformance`]) on the local
//! stores; the Redis store runs it in the integration tests.

use super::*;
use std::sync::Mutex;

#[test]
fn the_memory_store_conforms() {
    conformance::run(&|retention_ms| Arc::new(MemoryStore::new(retention_ms)));
}

#[test]
fn the_durable_store_conforms() {
    let dirs = Mutex::new(Vec::new());
    conformance::run(&|retention_ms| {
        let dir = tempfile::tempdir().unwrap();
        let options = DurableOptions {
            retention_ms,
            ..DurableOptions::default()
        };
        let (store, _) = DurableStore::open(dir.path(), options).expect("opens");
        lock(&dirs).push(dir);
        Arc::new(store)
    });
}
