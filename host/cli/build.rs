//! Packs the policy author's SDK into the binary: the sources of
//! `riskgate-guest` (with the WIT), `riskgate-testkit` and
//! `riskgate-address`, with their manifests made standalone the way
//! `cargo package` makes them (workspace inheritance resolved, path
//! dependencies between them kept as paths with versions, dev-dependencies
//! and lints dropped). `riskgate policy new` and `riskgate policy sdk` write
//! them out, and a new policy crate points a `[patch.crates-io]` at them
//! until the crates are published.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// (directory in the SDK, directory in this workspace, files or
/// directories under it to carry).
const CRATES: [(&str, &str, &[&str]); 4] = [
    ("riskgate-guest", "guest", &["src", "wit", "README.md"]),
    ("riskgate-testkit", "host/testkit", &["src"]),
    ("riskgate-address", "host/address", &["src"]),
    ("riskgate-model", "host/model", &["src"]),
];

/// Files the SDK leaves out: the component harness needs the whole host.
const SKIP: [&str; 1] = ["host/testkit/src/component.rs"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.join("../..").canonicalize().unwrap();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let workspace: Table = read_toml(&root.join("Cargo.toml"));
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let mut entries = Vec::new();
    for (name, dir, carried) in CRATES {
        let crate_dir = root.join(dir);
        let manifest_path = crate_dir.join("Cargo.toml");
        println!("cargo:rerun-if-changed={}", manifest_path.display());
        let manifest = standalone(read_toml(&manifest_path), &workspace, name);
        let written = out.join("sdk").join(name).join("Cargo.toml");
        std::fs::create_dir_all(written.parent().unwrap()).unwrap();
        std::fs::write(&written, manifest).unwrap();
        entries.push((format!("{name}/Cargo.toml"), written));
        for item in carried {
            let path = crate_dir.join(item);
            println!("cargo:rerun-if-changed={}", path.display());
            // A README is optional; the sources are checked by the tests.
            if !path.exists() {
                continue;
            }
            let mut files = Vec::new();
            collect(&path, &mut files);
            for file in files {
                let relative = file.strip_prefix(&crate_dir).unwrap();
                if SKIP.iter().any(|s| root.join(s) == file) {
                    continue;
                }
                let shown = relative.to_str().expect("UTF-8 paths").replace('\\', "/");
                entries.push((format!("{name}/{shown}"), file.canonicalize().unwrap()));
            }
        }
    }
    entries.sort();
    let mut code = String::from(
        "/// The SDK's files: (path in the SDK, contents).\npub static SDK_FILES: &[(&str, &[u8])] = &[\n",
    );
    for (path, file) in &entries {
        writeln!(
            code,
            "    ({path:?}, include_bytes!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let names: Vec<String> = CRATES.iter().map(|(n, _, _)| format!("{n:?}")).collect();
    writeln!(
        code,
        "/// The crates of the SDK, as directories under its root.\npub const SDK_CRATES: [&str; {}] = [{}];",
        CRATES.len(),
        names.join(", ")
    )
    .unwrap();
    std::fs::write(out.join("sdk_files.rs"), code).unwrap();
}

fn read_toml(path: &Path) -> Table {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `path` (following symbolic links), or `path` itself.
fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if meta.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let mut children: Vec<_> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    children.sort();
    for child in children {
        collect(&child, files);
    }
}

/// The manifest of SDK crate `name` made standalone.
fn standalone(mut manifest: Table, workspace: &Table, name: &str) -> String {
    let ws = workspace["workspace"].as_table().unwrap();
    let ws_package = ws["package"].as_table().unwrap();
    let ws_deps = ws["dependencies"].as_table().unwrap();
    let sdk_dir = |package: &str| {
        CRATES
            .iter()
            .find(|(n, _, _)| *n == package)
            .map(|(n, _, _)| *n)
    };

    let package = manifest["package"].as_table_mut().unwrap();
    for (key, value) in package.iter_mut() {
        if is_inherited(value) {
            *value = ws_package
                .get(key)
                .unwrap_or_else(|| panic!("{name}: package.{key} is not in [workspace.package]"))
                .clone();
        }
    }
    let version = package["version"].as_str().unwrap().to_string();
    for section in ["dev-dependencies", "build-dependencies", "lints"] {
        manifest.remove(section);
    }

    let mut dropped = Vec::new();
    if let Some(deps) = manifest
        .get_mut("dependencies")
        .and_then(Value::as_table_mut)
    {
        let names: Vec<String> = deps.keys().cloned().collect();
        for dep in names {
            let local = deps[&dep].clone();
            let mut resolved = match &local {
                Value::Table(t) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                    let mut base = match &ws_deps[&dep] {
                        Value::String(v) => {
                            let mut t = Table::new();
                            t.insert("version".into(), Value::String(v.clone()));
                            t
                        }
                        Value::Table(t) => t.clone(),
                        other => panic!("{dep}: {other:?}"),
                    };
                    for (k, v) in t {
                        if k == "workspace" {
                            continue;
                        }
                        if k == "features" {
                            let mut all = base
                                .get("features")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default();
                            all.extend(v.as_array().unwrap().iter().cloned());
                            base.insert(k.clone(), Value::Array(all));
                        } else {
                            base.insert(k.clone(), v.clone());
                        }
                    }
                    base
                }
                Value::Table(t) => t.clone(),
                Value::String(v) => {
                    let mut t = Table::new();
                    t.insert("version".into(), Value::String(v.clone()));
                    t
                }
                other => panic!("{dep}: {other:?}"),
            };
            if resolved.contains_key("path") {
                match sdk_dir(&dep) {
                    Some(dir) => {
                        resolved.insert("path".into(), Value::String(format!("../{dir}")));
                        resolved.insert("version".into(), Value::String(version.clone()));
                    }
                    None => {
                        assert!(
                            resolved.get("optional").and_then(Value::as_bool) == Some(true),
                            "{name} depends on {dep}, which the SDK does not carry"
                        );
                        deps.remove(&dep);
                        dropped.push(dep);
                        continue;
                    }
                }
            }
            deps.insert(dep, Value::Table(resolved));
        }
    }
    if let Some(features) = manifest.get_mut("features").and_then(Value::as_table_mut) {
        let uses_dropped = |v: &Value| {
            v.as_array().unwrap().iter().any(|f| {
                let f = f.as_str().unwrap();
                dropped
                    .iter()
                    .any(|d| f == format!("dep:{d}") || f.starts_with(&format!("{d}/")))
            })
        };
        let gone: Vec<String> = features
            .iter()
            .filter(|(_, v)| uses_dropped(v))
            .map(|(k, _)| k.clone())
            .collect();
        for feature in &gone {
            features.remove(feature);
        }
        if !gone.is_empty() {
            // The code still names them in `cfg`s; declare them expected.
            let values = gone
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            let lint: Table = format!(
                "[rust]\nunexpected_cfgs = {{ level = \"warn\", check-cfg = ['cfg(feature, values({values}))'] }}\n"
            )
            .parse()
            .unwrap();
            manifest.insert("lints".into(), Value::Table(lint));
        }
    }
    let mut text = format!(
        "# The riskgate SDK's copy of {name}, written by `riskgate policy new` or\n# `riskgate policy sdk`; do not edit.\n\n"
    );
    text.push_str(&toml::to_string(&manifest).unwrap());
    text
}

fn is_inherited(value: &Value) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(Value::as_bool)
        == Some(true)
}
