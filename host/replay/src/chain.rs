//! The chain a replay decides with: the one a generation record names, a
//! serve configuration file, or policies given on the command line; and
//! the designated sets, matched to the versions the log names.

use crate::ReplayError;
use riskgate::admission::Admission;
use riskgate::bundled;
use riskgate::engine::Limits;
use riskgate::gate::{Gate, GateError, Mode};
use riskgate::lists;
use riskgate::policy::PolicySource;
use riskgate::screening::{DesignatedSet, Screener};
use riskgate::velocity::Velocity;
use riskgate_serve::config::Config;
use riskgate_serve::record::{GenerationLimits, GenerationRecord, ListVersion};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where a part of the replayed chain came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The log's generation record.
    Log,
    /// The serve configuration file given with `--config`.
    ConfigFile,
    /// The candidate configuration file (`--candidate`).
    Candidate,
    /// The command line (`--policy`).
    CommandLine,
    /// The engine's defaults (nothing recorded nor given).
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Log => "log",
            Source::ConfigFile => "--config",
            Source::Candidate => "--candidate",
            Source::CommandLine => "command line",
            Source::Default => "default",
        }
    }
}

/// A policy given on the command line: `bundled:NAME` or a component file,
/// with an optional JSON configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyArg {
    /// `bundled:NAME` or a path.
    pub component: String,
    /// A JSON configuration file (none: `{}`).
    pub config: Option<PathBuf>,
    pub mode: Mode,
}

impl PolicyArg {
    /// Parses `bundled:NAME[=CONFIG.json]` or `FILE.wasm[=CONFIG.json]` (a
    /// whole argument naming an existing file is a file, `=` and all).
    pub fn parse(spec: &str, mode: Mode) -> PolicyArg {
        let (component, config) = match spec.split_once('=') {
            Some((c, config)) if !Path::new(spec).exists() => (c, Some(PathBuf::from(config))),
            _ => (spec, None),
        };
        PolicyArg {
            component: component.to_string(),
            config,
            mode,
        }
    }
}

/// What the candidate chain is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    /// Each decision's own generation, as the log names it.
    Recorded,
    /// These policies, in order, for every decision.
    Policies(Vec<PolicyArg>),
    /// The chain and limits of a serve configuration file, for every
    /// decision.
    Config(PathBuf),
}

/// A policy ready to load.
#[derive(Clone)]
struct PolicySpec {
    origin: String,
    bytes: Arc<[u8]>,
    config: String,
    config_from: Source,
    /// `None`: the limits' fuel.
    fuel: Option<u64>,
    fuel_from: Source,
    mode: Mode,
    /// Checked before loading.
    sha256: Option<[u8; 32]>,
    bundled: bool,
}

/// One policy of a replayed chain, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainPolicy {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub origin: String,
    pub mode: Mode,
    /// Where its configuration came from.
    pub config_from: Source,
    pub fuel: u64,
    pub fuel_from: Source,
}

/// One designated set of a replayed chain, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainList {
    pub name: String,
    /// The version the log names.
    pub version: String,
    /// The version screened against (`None`: the set was not given and
    /// `--allow-missing-lists` let the replay run without it).
    pub used_version: Option<String>,
    /// Where the set screened against was read from.
    pub from: String,
}

/// The limits of a replayed chain, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainLimits {
    pub fuel: u64,
    pub deadline_us: u64,
    pub memory_mib: u64,
    pub from: Source,
}

/// The chain one generation of the log was replayed through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenerationChain {
    /// The generation number the log gives.
    pub generation: u64,
    pub policies: Vec<ChainPolicy>,
    pub lists: Vec<ChainList>,
    pub limits: ChainLimits,
}

/// How the chain is built (from the replay's options).
pub struct ChainOptions {
    pub candidate: Candidate,
    /// A serve configuration file for what the log does not record.
    pub config: Option<PathBuf>,
    /// Set files, `[NAME=]FILE`.
    pub lists: Vec<(Option<String>, PathBuf)>,
    pub allow_missing_lists: bool,
    pub allow_list_mismatch: bool,
    pub cache_dir: Option<PathBuf>,
}

/// A candidate's policies, and its own limits (a configuration file's).
type CandidateChain = (Vec<PolicySpec>, Option<(Limits, Source)>);

/// Builds gates for generations.
pub struct ChainBuilder {
    options: ChainOptions,
    config: Option<Config>,
    candidate: Option<CandidateChain>,
    sets: Vec<(Arc<DesignatedSet>, String)>,
    sample: Arc<DesignatedSet>,
}

fn config_error(e: impl std::fmt::Display) -> ReplayError {
    ReplayError::Chain(e.to_string())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn read_bundled(name: &str) -> Result<Arc<[u8]>, ReplayError> {
    let origin = format!("bundled:{name}");
    bundled::policies()
        .into_iter()
        .find(|s| s.origin == origin)
        .map(|s| s.bytes)
        .ok_or_else(|| {
            ReplayError::Chain(format!(
                "{origin}: no such bundled policy (`sanctions`, `velocity`)"
            ))
        })
}

fn read_file(path: &Path) -> Result<Vec<u8>, ReplayError> {
    std::fs::read(path).map_err(|e| ReplayError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn limits_of(g: GenerationLimits) -> Limits {
    Limits {
        fuel: g.fuel,
        deadline: Duration::from_micros(g.deadline_us),
        memory: usize::try_from(g.memory_mib)
            .unwrap_or(usize::MAX)
            .saturating_mul(1 << 20),
    }
}

/// A serve configuration's policies as specs (`from`: how it was given).
fn config_policies(config: &Config, from: Source) -> Result<Vec<PolicySpec>, ReplayError> {
    let defaults: Vec<riskgate_serve::config::PolicyConfig> = ["sanctions", "velocity"]
        .map(|b| riskgate_serve::config::PolicyConfig {
            bundled: Some(b.into()),
            ..Default::default()
        })
        .into();
    let policies = if config.policies.is_empty() {
        &defaults
    } else {
        &config.policies
    };
    policies
        .iter()
        .map(|p| {
            let (origin, bytes) = match (&p.bundled, &p.path) {
                (Some(name), _) => (format!("bundled:{name}"), read_bundled(name)?),
                (None, Some(path)) => {
                    let path = config.resolve(path);
                    (path.display().to_string(), Arc::from(read_file(&path)?))
                }
                (None, None) => return Err(config_error("a policy has no `path` nor `bundled`")),
            };
            let text = match (&p.config, &p.config_file) {
                (Some(table), _) => serde_json::to_string(table).map_err(config_error)?,
                (None, Some(file)) => {
                    String::from_utf8(read_file(&config.resolve(file))?).map_err(config_error)?
                }
                (None, None) => "{}".to_string(),
            };
            let sha256 = p
                .sha256
                .as_deref()
                .map(|h| {
                    hex::decode(h)
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| config_error(format!("{origin}: bad sha256 pin")))
                })
                .transpose()?;
            Ok(PolicySpec {
                bundled: p.bundled.is_some(),
                origin,
                bytes,
                config: text,
                config_from: from,
                fuel: p.fuel,
                fuel_from: if p.fuel.is_some() {
                    from
                } else {
                    Source::Default
                },
                mode: p.mode,
                sha256,
            })
        })
        .collect()
}

impl ChainBuilder {
    /// Reads the configuration files and set files the options name.
    pub fn new(options: ChainOptions) -> Result<Self, ReplayError> {
        let config = options
            .config
            .as_deref()
            .map(Config::from_file)
            .transpose()
            .map_err(config_error)?;
        let candidate = match &options.candidate {
            Candidate::Recorded => None,
            Candidate::Policies(args) => {
                let specs = args
                    .iter()
                    .map(|a| {
                        let (bytes, bundled) = match a.component.strip_prefix("bundled:") {
                            Some(name) => (read_bundled(name)?, true),
                            None => (Arc::from(read_file(Path::new(&a.component))?), false),
                        };
                        let config = match &a.config {
                            Some(file) => String::from_utf8(read_file(file)?)
                                .map_err(|e| config_error(format!("{}: {e}", file.display())))?,
                            None => "{}".to_string(),
                        };
                        Ok(PolicySpec {
                            origin: a.component.clone(),
                            bytes,
                            config,
                            config_from: Source::CommandLine,
                            fuel: None,
                            fuel_from: Source::Default,
                            mode: a.mode,
                            sha256: None,
                            bundled,
                        })
                    })
                    .collect::<Result<Vec<_>, ReplayError>>()?;
                if specs.is_empty() {
                    return Err(config_error("no policy given"));
                }
                Some((specs, None))
            }
            Candidate::Config(path) => {
                let c = Config::from_file(path).map_err(config_error)?;
                let specs = config_policies(&c, Source::Candidate)?;
                Some((specs, Some((c.engine_limits(), Source::Candidate))))
            }
        };
        let mut sets = Vec::new();
        for (name, path) in &options.lists {
            let (set, _rejected) = lists::open_list(path, name.as_deref(), false, false)
                .map_err(|e| ReplayError::Lists(format!("{}: {e}", path.display())))?;
            if sets
                .iter()
                .any(|(s, _): &(Arc<DesignatedSet>, String)| s.name() == set.name())
            {
                return Err(ReplayError::Lists(format!(
                    "two set files are named `{}`",
                    set.name()
                )));
            }
            sets.push((Arc::new(set), path.display().to_string()));
        }
        Ok(ChainBuilder {
            options,
            config,
            candidate,
            sets,
            sample: Arc::new(bundled::sample_set()),
        })
    }

    /// The recorded chain of `g`, with what the log lacks from `--config`.
    fn recorded(
        &self,
        g: &GenerationRecord,
    ) -> Result<(Vec<PolicySpec>, Limits, Source), ReplayError> {
        let from_config = match &self.config {
            Some(c) => Some(config_policies(c, Source::ConfigFile)?),
            None => None,
        };
        let mut specs = Vec::new();
        for (i, p) in g.policies.iter().enumerate() {
            let what = format!(
                "generation {}, policy {} `{}` ({})",
                g.generation,
                i + 1,
                p.name,
                p.origin
            );
            let (bytes, bundled) = match p.origin.strip_prefix("bundled:") {
                Some(name) => (read_bundled(name)?, true),
                None => (Arc::from(read_file(Path::new(&p.origin))?), false),
            };
            let want = hex::decode(&p.sha256)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| config_error(format!("{what}: bad sha256 in the log")))?;
            let fallback = from_config.as_ref().and_then(|c| c.get(i));
            if let Some(f) = fallback
                && f.origin != p.origin
                && (p.config.is_none() || p.fuel.is_none())
            {
                return Err(config_error(format!(
                    "{what}: the --config file's policy {} is `{}`, not the logged one",
                    i + 1,
                    f.origin
                )));
            }
            let fallback = fallback.filter(|f| f.origin == p.origin);
            let (config, config_from) = match (&p.config, fallback) {
                (Some(c), _) => (c.clone(), Source::Log),
                (None, Some(f)) => (f.config.clone(), Source::ConfigFile),
                (None, None) => {
                    return Err(config_error(format!(
                        "{what}: the log does not record the policy's configuration (written \
                         before generation records carried it): give the serve configuration \
                         it ran with (--config FILE)"
                    )));
                }
            };
            let (fuel, fuel_from) = match (p.fuel, fallback) {
                (Some(f), _) => (Some(f), Source::Log),
                (None, Some(f)) => (f.fuel, f.fuel_from),
                (None, None) => (None, Source::Default),
            };
            specs.push(PolicySpec {
                origin: p.origin.clone(),
                bytes,
                config,
                config_from,
                fuel,
                fuel_from,
                mode: p.mode,
                sha256: Some(want),
                bundled,
            });
        }
        let (limits, from) = match (g.limits, &self.config) {
            (Some(l), _) => (limits_of(l), Source::Log),
            (None, Some(c)) => (c.engine_limits(), Source::ConfigFile),
            (None, None) => (Limits::default(), Source::Default),
        };
        Ok((specs, limits, from))
    }

    /// The sets of a generation, matched to the versions the log names.
    fn screener(
        &self,
        named: &[ListVersion<'_>],
    ) -> Result<(Screener, Vec<ChainList>), ReplayError> {
        let mut sets = Vec::new();
        let mut report = Vec::new();
        for l in named {
            let given = self.sets.iter().find(|(s, _)| s.name() == l.name);
            let sample = (l.name == bundled::SAMPLE_LIST_NAME
                && self.sample.version() == l.version)
                .then_some(&self.sample);
            match (given, sample) {
                (Some((set, path)), _) => {
                    if set.version() != l.version && !self.options.allow_list_mismatch {
                        return Err(ReplayError::Lists(format!(
                            "list `{}`: the log names version {}, {path} is version {} \
                             (accept it with --allow-list-mismatch)",
                            l.name,
                            l.version,
                            set.version()
                        )));
                    }
                    sets.push(set.clone());
                    report.push(ChainList {
                        name: l.name.to_string(),
                        version: l.version.to_string(),
                        used_version: Some(set.version().to_string()),
                        from: path.clone(),
                    });
                }
                (None, Some(sample)) => {
                    sets.push(sample.clone());
                    report.push(ChainList {
                        name: l.name.to_string(),
                        version: l.version.to_string(),
                        used_version: Some(sample.version().to_string()),
                        from: "bundled".into(),
                    });
                }
                (None, None) => {
                    if !self.options.allow_missing_lists {
                        return Err(ReplayError::Lists(format!(
                            "list `{}` version {}: the log names it but no set file of it is \
                             given (--lists FILE); replaying without it would screen against \
                             nothing (accept that with --allow-missing-lists)",
                            l.name, l.version
                        )));
                    }
                    report.push(ChainList {
                        name: l.name.to_string(),
                        version: l.version.to_string(),
                        used_version: None,
                        from: "missing (--allow-missing-lists)".into(),
                    });
                }
            }
        }
        Ok((Screener::from_shared(sets), report))
    }

    /// The gate replaying decisions of generation `g` (its lists: `named`),
    /// over `velocity`.
    pub fn build(
        &self,
        g: &GenerationRecord,
        velocity: Arc<Velocity>,
    ) -> Result<(Gate, GenerationChain), ReplayError> {
        let named: Vec<ListVersion<'_>> = g
            .lists
            .iter()
            .map(|l| ListVersion {
                name: l.name.as_str().into(),
                version: l.version.as_str().into(),
            })
            .collect();
        let (screener, lists) = self.screener(&named)?;
        let (specs, limits, limits_from) = match &self.candidate {
            None => self.recorded(g)?,
            Some((specs, Some((limits, from)))) => (specs.clone(), *limits, *from),
            Some((specs, None)) => {
                let (limits, from) = match (g.limits, &self.config) {
                    (Some(l), _) => (limits_of(l), Source::Log),
                    (None, Some(c)) => (c.engine_limits(), Source::ConfigFile),
                    (None, None) => (Limits::default(), Source::Default),
                };
                (specs.clone(), limits, from)
            }
        };
        let mut builder = Gate::builder()
            .limits(limits)
            .cache_dir(self.options.cache_dir.clone())
            .screener(screener)
            .velocity(velocity)
            .max_clock_skew(None)
            .parallel_calls(1);
        for s in &specs {
            if let Some(want) = s.sha256
                && sha256(&s.bytes) != want
            {
                return Err(ReplayError::Chain(format!(
                    "{}: its sha256 is {}, the log names {} (not the component that decided)",
                    s.origin,
                    hex::encode(sha256(&s.bytes)),
                    hex::encode(want)
                )));
            }
            builder = builder.admitted_policy(
                PolicySource {
                    origin: s.origin.clone(),
                    bytes: s.bytes.clone(),
                    config: s.config.clone(),
                    fuel: s.fuel,
                },
                s.mode,
                Admission {
                    sha256: s.sha256,
                    bundled: s.bundled,
                    ..Admission::default()
                },
            );
        }
        let (gate, _) = builder.build().map_err(|e| match e {
            GateError::Policy { origin, source } => {
                ReplayError::Chain(format!("{origin}: {source}"))
            }
            e => ReplayError::Chain(e.to_string()),
        })?;
        let policies = gate
            .policies()
            .iter()
            .zip(&specs)
            .map(|(p, s)| ChainPolicy {
                name: p.name().to_string(),
                version: p.version().to_string(),
                sha256: hex::encode(p.sha256()),
                origin: s.origin.clone(),
                mode: s.mode,
                config_from: s.config_from,
                fuel: p.fuel(),
                fuel_from: if s.fuel.is_some() {
                    s.fuel_from
                } else {
                    limits_from
                },
            })
            .collect();
        let chain = GenerationChain {
            generation: g.generation,
            policies,
            lists,
            limits: ChainLimits {
                fuel: limits.fuel,
                deadline_us: limits.deadline.as_micros().min(u128::from(u64::MAX)) as u64,
                memory_mib: (limits.memory >> 20) as u64,
                from: limits_from,
            },
        };
        Ok((gate, chain))
    }
}
