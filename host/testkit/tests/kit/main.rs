//! The testkit's own tests: its strategies generate what they promise, and
//! its properties fail on deciders that break them.

mod bundled;
mod properties;
mod strategy;
