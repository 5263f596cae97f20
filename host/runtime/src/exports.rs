//! The `policy` export of a component, found once per component and bound
//! once per instance.
//!
//! `bindgen!`'s typed pre-instance would require every function of the
//! contract's latest `policy` interface, so a policy built against an
//! earlier 0.1.x (no `evaluate-packed`) could not load. This resolves the
//! functions every 0.1.x policy exports (`info`, `configure`, `evaluate`)
//! and, when present, the 0.1.2 `evaluate-packed`; wasmtime matches the
//! interface's name to any semver-compatible version the component has.

use crate::bindings::GatePolicy;
use crate::bindings::riskgate::policy::types as wit;
use crate::host::HostState;
use crate::policy::{LoadError, describe};
use wasmtime::component::{
    Component, ComponentExportIndex, Func, HasSelf, Instance, InstancePre, Linker, TypedFunc,
};
use wasmtime::{AsContextMut, Engine, Result};

/// The interface every policy exports, named at the contract's version.
const POLICY_INTERFACE: &str = "riskgate:policy/policy@0.1.2";

/// Where a component's `policy` functions are.
#[derive(Clone)]
pub(crate) struct PolicyExports {
    info: ComponentExportIndex,
    configure: ComponentExportIndex,
    evaluate: ComponentExportIndex,
    evaluate_packed: Option<ComponentExportIndex>,
}

/// Links the gate's imports and resolves the `policy` export: the
/// component can then be instantiated and called.
pub(crate) fn prepare(
    engine: &Engine,
    component: &Component,
) -> Result<(InstancePre<HostState>, PolicyExports), LoadError> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    GatePolicy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(|e| LoadError::Instantiate(describe(&e)))?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| LoadError::WrongWorld(describe(&e)))?;
    let interface = component
        .get_export_index(None, POLICY_INTERFACE)
        .ok_or_else(|| {
            LoadError::WrongWorld(format!(
                "no exported instance named `{POLICY_INTERFACE}` (nor an earlier 0.1.x)"
            ))
        })?;
    let func = |name: &str| component.get_export_index(Some(&interface), name);
    let required = |name: &str| {
        func(name).ok_or_else(|| {
            LoadError::WrongWorld(format!(
                "`{POLICY_INTERFACE}` has no function export `{name}`"
            ))
        })
    };
    let exports = PolicyExports {
        info: required("info")?,
        configure: required("configure")?,
        evaluate: required("evaluate")?,
        evaluate_packed: func("evaluate-packed"),
    };
    Ok((pre, exports))
}

impl PolicyExports {
    /// Whether the component exports `evaluate-packed`.
    pub(crate) fn packed(&self) -> bool {
        self.evaluate_packed.is_some()
    }
}

/// One instance's `policy` functions, their types checked.
pub(crate) struct Bound {
    info: Func,
    configure: Func,
    evaluate: Func,
    evaluate_packed: Option<Func>,
}

/// An export whose type is not the contract's.
#[derive(Debug)]
pub(crate) struct WrongType(pub String);

impl Bound {
    /// Finds the functions in `instance` and checks each one's type.
    pub(crate) fn bind(
        instance: &Instance,
        mut store: impl AsContextMut<Data = HostState>,
        exports: &PolicyExports,
    ) -> std::result::Result<Self, WrongType> {
        let wrong = |name: &str, e: wasmtime::Error| {
            WrongType(format!(
                "`{name}` of `{POLICY_INTERFACE}`: {}",
                describe(&e)
            ))
        };
        let info = *instance
            .get_typed_func::<(), (wit::PolicyInfo,)>(&mut store, &exports.info)
            .map_err(|e| wrong("info", e))?
            .func();
        let configure = *instance
            .get_typed_func::<(&str,), (std::result::Result<(), String>,)>(
                &mut store,
                &exports.configure,
            )
            .map_err(|e| wrong("configure", e))?
            .func();
        let evaluate = *instance
            .get_typed_func::<(&wit::Withdrawal,), (wit::Decision,)>(&mut store, &exports.evaluate)
            .map_err(|e| wrong("evaluate", e))?
            .func();
        let evaluate_packed = match &exports.evaluate_packed {
            Some(index) => Some(
                *instance
                    .get_typed_func::<(&wit::PackedWithdrawal,), (wit::Decision,)>(
                        &mut store, index,
                    )
                    .map_err(|e| wrong("evaluate-packed", e))?
                    .func(),
            ),
            None => None,
        };
        Ok(Bound {
            info,
            configure,
            evaluate,
            evaluate_packed,
        })
    }

    pub(crate) fn info(&self, store: impl AsContextMut) -> Result<wit::PolicyInfo> {
        // SAFETY: `bind` checked this function's type.
        let f = unsafe { TypedFunc::<(), (wit::PolicyInfo,)>::new_unchecked(self.info) };
        Ok(f.call(store, ())?.0)
    }

    pub(crate) fn configure(
        &self,
        store: impl AsContextMut,
        config: &str,
    ) -> Result<std::result::Result<(), String>> {
        // SAFETY: `bind` checked this function's type.
        let f = unsafe {
            TypedFunc::<(&str,), (std::result::Result<(), String>,)>::new_unchecked(self.configure)
        };
        Ok(f.call(store, (config,))?.0)
    }

    pub(crate) fn evaluate(
        &self,
        store: impl AsContextMut,
        withdrawal: &wit::Withdrawal,
    ) -> Result<wit::Decision> {
        // SAFETY: `bind` checked this function's type.
        let f = unsafe {
            TypedFunc::<(&wit::Withdrawal,), (wit::Decision,)>::new_unchecked(self.evaluate)
        };
        Ok(f.call(store, (withdrawal,))?.0)
    }

    /// `evaluate-packed`; `None` when the policy does not export it.
    pub(crate) fn evaluate_packed(
        &self,
        store: impl AsContextMut,
        withdrawal: &wit::PackedWithdrawal,
    ) -> Option<Result<wit::Decision>> {
        let func = self.evaluate_packed?;
        // SAFETY: `bind` checked this function's type.
        let f = unsafe {
            TypedFunc::<(&wit::PackedWithdrawal,), (wit::Decision,)>::new_unchecked(func)
        };
        Some(f.call(store, (withdrawal,)).map(|(d,)| d))
    }
}
