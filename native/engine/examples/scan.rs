//! `cargo run --example scan -- [--root DIR] [--cache-dir DIR] PATH...`: prints findings (a
//! debugging aid for the engine; `--root` names the project root imports resolve from, as
//! `flowsight scan --root`; `--cache-dir` scans with the persistent cache there, as
//! `flowsight scan --cache-dir`, and prints what the cache did).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
fn main() {
    let mut root: Option<std::path::PathBuf> = None;
    let mut cache_dir: Option<std::path::PathBuf> = None;
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => root = args.next().map(Into::into),
            "--cache-dir" => cache_dir = args.next().map(Into::into),
            _ => paths.push(arg.into()),
        }
    }
    let mut phases = flowsight_engine::scan::Phases::start();
    let rules = flowsight_engine::rules::RuleSet::builtin();
    phases.end("rules");
    let (result, report) =
        flowsight_engine::scan::scan_paths_phased(&paths, root.as_deref(), &rules, cache_dir.as_deref(), &mut phases).expect("scan");
    phases.total("the scan");
    if cache_dir.is_some() {
        eprintln!("cache: {report:?}");
    }
    for finding in &result.findings {
        println!("{}:{}: {} [{}] {}", finding.sink.path, finding.sink.start_line + 1, finding.cwe, finding.rule_id, finding.message);
        for step in &finding.steps {
            println!("    {}:{} {} {}", step.location.path, step.location.start_line + 1, step.kind, step.description);
        }
    }
    eprintln!(
        "{} files, {} scopes, {} findings, {} errors, parse {:.3}s analysis {:.3}s, {} batches in {} sweeps, {} analyses of {} scopes, {} widened, {} incomplete {:?}",
        result.files,
        result.functions,
        result.findings.len(),
        result.errors.len(),
        result.parse_seconds,
        result.analysis_seconds,
        result.stats.rounds,
        result.stats.sweeps,
        result.stats.analyses,
        result.stats.analysed,
        result.stats.widened,
        result.stats.incomplete(),
        result.stats.limits
    );
}
