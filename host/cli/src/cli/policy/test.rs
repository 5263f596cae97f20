//! `riskgate policy test`: fixture files run on a compiled component in the
//! real host, reported like `cargo test`.
//!
//! Without `--policy` the policy crate around the current directory (or
//! `--manifest-path`) is built first, as `riskgate policy build` builds it,
//! and its `fixtures/*.toml` are run when no fixture file is named.

use super::EngineArgs;
use super::build::{self, CrateInfo};
use anyhow::{Context, Result, bail};
use clap::Args;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use riskgate_testkit::fixture::{CaseResult, Fixtures, Outcome as CaseOutcome};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct TestArgs {
    /// Fixture files (TOML; see docs/fixtures.md). Default: the policy
    /// crate's `fixtures/*.toml`.
    #[arg(value_name = "FIXTURES")]
    pub fixtures: Vec<PathBuf>,
    /// The component to test. Default: build the policy crate first.
    #[arg(long, value_name = "FILE.wasm")]
    pub policy: Option<PathBuf>,
    /// The policy configuration for every case, instead of the fixtures'
    /// own (JSON text or @FILE).
    #[arg(long, value_name = "JSON|@FILE")]
    pub config: Option<String>,
    /// Also write the results as a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The policy crate's Cargo.toml, when building (default: the one cargo
    /// finds from the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Build the dev profile instead of the release one (the component a
    /// policy ships as).
    #[arg(long)]
    pub debug: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let krate = match (&args.policy, args.fixtures.is_empty()) {
        (Some(_), false) => None,
        _ => Some(build::locate(args.manifest_path.as_deref())?),
    };
    let component = match &args.policy {
        Some(path) => path.clone(),
        None => {
            let krate = krate.as_ref().expect("located above");
            let built = build::build(krate, !args.debug, None, &args.engine)?;
            built.path
        }
    };
    let fixture_files: Vec<PathBuf> = if args.fixtures.is_empty() {
        crate_fixtures(krate.as_ref().expect("located above"))?
    } else {
        args.fixtures.clone()
    }
    .into_iter()
    .map(|p| shown(&p))
    .collect();
    let component = shown(&component);
    let config = match &args.config {
        None => None,
        Some(text) => Some(match text.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).with_context(|| path.to_string())?,
            None => text.clone(),
        }),
    };
    let bytes =
        std::fs::read(&component).with_context(|| format!("reading {}", component.display()))?;

    let mut results: Vec<(PathBuf, Vec<CaseResult>)> = Vec::new();
    for file in &fixture_files {
        let fixtures = Fixtures::load(file)?;
        let cases = riskgate_testkit::component::run_component(
            &fixtures,
            &bytes,
            config.as_deref(),
            args.engine.limits(),
        );
        results.push((file.clone(), cases));
    }
    let total: usize = results.iter().map(|(_, r)| r.len()).sum();
    println!(
        "running {total} case{} from {} file{} on {}",
        plural(total),
        fixture_files.len(),
        plural(fixture_files.len()),
        component.display()
    );
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut failures = Vec::new();
    for (file, cases) in &results {
        for case in cases {
            let ok = matches!(case.outcome, CaseOutcome::Passed);
            println!(
                "case {} :: {} ... {}",
                file.display(),
                case.case,
                if ok { "ok" } else { "FAILED" }
            );
            if ok {
                passed += 1;
            } else {
                failed += 1;
                failures.push((file, case));
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (file, case) in &failures {
            println!("\n---- {} :: {} ----\n{case}", file.display(), case.case);
        }
    }
    println!(
        "\ntest result: {}. {passed} passed, {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if let Some(path) = &args.junit {
        write_junit(path, &component, &results)?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `path` relative to the current directory when it is under it.
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| path.to_path_buf(), Path::to_path_buf)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `fixtures/*.toml` of the crate, sorted; at least one.
fn crate_fixtures(krate: &CrateInfo) -> Result<Vec<PathBuf>> {
    let dir = krate
        .manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("fixtures");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => bail!(
            "{}: {e} (name fixture files, or add fixtures/*.toml)",
            dir.display()
        ),
    };
    files.sort();
    if files.is_empty() {
        bail!("no fixtures: {} has no *.toml file", dir.display());
    }
    Ok(files)
}

/// The results as JUnit XML: one `testsuite` per fixture file.
fn write_junit(
    path: &Path,
    component: &Path,
    results: &[(PathBuf, Vec<CaseResult>)],
) -> Result<()> {
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    let count = |f: &dyn Fn(&CaseOutcome) -> bool| {
        results
            .iter()
            .flat_map(|(_, r)| r)
            .filter(|c| f(&c.outcome))
            .count()
            .to_string()
    };
    let total: usize = results.iter().map(|(_, r)| r.len()).sum();
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "riskgate policy test"));
    suites.push_attribute(("tests", total.to_string().as_str()));
    suites.push_attribute((
        "failures",
        count(&|o| matches!(o, CaseOutcome::Failed { .. })).as_str(),
    ));
    suites.push_attribute((
        "errors",
        count(&|o| matches!(o, CaseOutcome::Error(_))).as_str(),
    ));
    writer.write_event(Event::Start(suites))?;
    for (file, cases) in results {
        let file_name = file.display().to_string();
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", file_name.as_str()));
        suite.push_attribute(("tests", cases.len().to_string().as_str()));
        let failures = cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Failed { .. }))
            .count();
        let errors = cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Error(_)))
            .count();
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", errors.to_string().as_str()));
        writer.write_event(Event::Start(suite))?;
        for case in cases {
            let mut testcase = BytesStart::new("testcase");
            testcase.push_attribute(("name", case.case.as_str()));
            testcase.push_attribute(("classname", file_name.as_str()));
            testcase.push_attribute(("file", component.display().to_string().as_str()));
            let (element, message) = match &case.outcome {
                CaseOutcome::Passed => {
                    writer.write_event(Event::Empty(testcase))?;
                    continue;
                }
                CaseOutcome::Failed { .. } => ("failure", "verdict or reasons differ"),
                CaseOutcome::Error(_) => ("error", "the case could not run"),
            };
            writer.write_event(Event::Start(testcase))?;
            let mut failure = BytesStart::new(element);
            failure.push_attribute(("message", message));
            writer.write_event(Event::Start(failure))?;
            writer.write_event(Event::Text(BytesText::new(&case.to_string())))?;
            writer.write_event(Event::End(BytesEnd::new(element)))?;
            writer.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut xml = writer.into_inner();
    xml.push(b'\n');
    riskgate::storage::write_atomic(path, &xml)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
