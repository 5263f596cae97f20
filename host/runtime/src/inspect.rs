//! Admission of a component without configuring it: what `riskgate policy
//! build` checks before it writes a component, and how a tool learns a
//! policy's name and version without a configuration to give it.
//!
//! [`inspect`] runs every check [`Policy::load`](crate::Policy::load) runs
//! on the bytes — size, header, compilation, the import allow-list, the
//! `gate-policy` world — then instantiates the component once (setup fuel,
//! memory cap) and calls its `info` export. `configure` is never called.

use crate::engine::{Runtime, SETUP_FUEL};
use crate::exports::Bound;
use crate::host::HostState;
use crate::policy::{LoadError, check_imports, check_magic, describe, store_limits, valid_name};
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::component::Component;

/// The largest component a policy may be: far above any policy (the
/// bundled ones are about 100-200 KiB, an unoptimised debug build a few
/// MiB), low enough that a mistaken file is refused before compiling.
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;

/// The world every policy implements, at the contract's version.
pub const WORLD: &str = "riskgate:policy/gate-policy@0.1.2";
/// The same world at each version this host serves (see
/// [`crate::policy::SERVED_VERSIONS`]).
pub const WORLDS: [&str; 3] = [
    "riskgate:policy/gate-policy@0.1.0",
    "riskgate:policy/gate-policy@0.1.1",
    "riskgate:policy/gate-policy@0.1.2",
];

/// The world `component` was built against: the version of its `policy`
/// export (the latest when it cannot tell).
fn world_of(component: &Component, engine: &wasmtime::Engine) -> &'static str {
    let ty = component.component_type();
    for (name, _) in ty.exports(engine) {
        if let Some(version) = name.strip_prefix("riskgate:policy/policy@")
            && let Some(world) = WORLDS.iter().find(|w| w.ends_with(&format!("@{version}")))
        {
            return world;
        }
    }
    WORLD
}

/// What a component reports of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Its `info().name`, checked as the gate checks it.
    pub name: String,
    /// Its `info().version` (at most 64 characters kept, as the gate does).
    pub version: String,
    /// The world it implements, at the version it was built against (one
    /// of [`WORLDS`]).
    pub world: &'static str,
}

/// Refuses components over [`MAX_COMPONENT_BYTES`].
pub fn check_size(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge(bytes.len()));
    }
    Ok(())
}

/// Checks `bytes` as a policy component and asks its name and version,
/// without configuring it.
pub fn inspect(runtime: &Arc<Runtime>, bytes: &[u8]) -> Result<Inspected, LoadError> {
    check_size(bytes)?;
    check_magic(bytes)?;
    let engine = runtime.engine();
    let component = Component::new(engine, bytes).map_err(|e| LoadError::Compile(describe(&e)))?;
    check_imports(&component, engine)?;
    let world = world_of(&component, engine);
    let (pre, exports) = crate::exports::prepare(engine, &component)?;

    let mut store = Store::new(engine, HostState::new(store_limits(runtime)));
    store.limiter(|s| s.limits_mut());
    let setup = |store: &mut Store<HostState>| {
        store.set_epoch_deadline(runtime.setup_deadline_ticks());
        store
            .set_fuel(SETUP_FUEL.max(runtime.limits().fuel))
            .map_err(|e| LoadError::Instantiate(describe(&e)))
    };
    setup(&mut store)?;
    let instance = pre
        .instantiate(&mut store)
        .map_err(|e| LoadError::Instantiate(describe(&e)))?;
    let bound =
        Bound::bind(&instance, &mut store, &exports).map_err(|e| LoadError::WrongWorld(e.0))?;
    setup(&mut store)?;
    let info = bound
        .info(&mut store)
        .map_err(|e| LoadError::Instantiate(format!("info(): {}", describe(&e))))?;
    if !valid_name(&info.name) || info.name == "gate" {
        return Err(LoadError::WrongWorld(format!(
            "policy name `{}` must be 1-32 lowercase ASCII letters, digits, `_` or `-`, and not `gate`",
            info.name
        )));
    }
    Ok(Inspected {
        name: info.name,
        version: info.version.chars().take(64).collect(),
        world,
    })
}
