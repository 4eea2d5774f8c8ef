//! The persistent cache (`persist`, `scan::scan_paths_cached`):
//!
//! - Persisted-then-loaded equals in memory: a cache encoded, decoded and encoded again gives
//!   the same bytes, and an analysis seeded by the loaded cache gives the same findings, stats
//!   and next cache as one seeded by the cache in memory (generated programs).
//! - A cached scan equals a scan without cache after random edits, added and removed files
//!   on disk; a scan with nothing changed returns the stored result.
//! - A corrupt cache (truncated, random bytes, garbage appended) and a cache of another
//!   project root are rebuilt with a one-line notice; a cache of other rules is rebuilt
//!   silently; a crashed write (a truncated temporary file beside the cache) is never read.
//!   None of them changes a result.
//! - Stored syntax trees are used for unchanged files; a changed file is parsed and its tree
//!   stored; a damaged or foreign tree file is parsed again and rewritten, results unchanged.
//!   A tree lives while runs use it: scans of two sub-directories keep each other's trees (a
//!   scan of the whole project then parses nothing); a tree unused for
//!   `persist::trees::MAX_UNUSED_AGE` is removed, a used one has its age reset.
//! - A workspace (the server) indexes from the stored trees (`read_files` with the trees'
//!   directory) and stores its texts' trees (`persist_trees`), removing those it wrote for texts
//!   it no longer has; a damaged tree is parsed instead; the first edit of a document built from
//!   a tree gives the chunks and findings of a fresh parse.
//! - A change of threat models (part of the rules' fingerprint) invalidates the cache.
//! - A scan of several repositories keeps one cache with each program's analysis: a program of
//!   the same repositories is reused (in another scan of the same display root too).
//! - A workspace (the server) restarted from its cache analyses nothing when nothing changed
//!   and only what changed otherwise, with the findings of a workspace without cache; edits
//!   after the warm start are analysed incrementally and equal an analysis from scratch.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::{Document, PositionEdit};
use flowsight_engine::persist::{self, Snapshot, StoredAnalysis};
use flowsight_engine::program::{build_parts, Program};
use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::{scan_paths, scan_paths_cached, CacheReport, ScanResult, TreeCounts};
use flowsight_engine::taint::{analyze_incrementally, analyze_incrementally_after, AnalysisCache, TextChange};
use flowsight_engine::workspace::Workspace;
use proptest::prelude::*;

const FILES: &[(&str, &str)] = &[
    ("app/views.py", "import os\nfrom flask import request\nfrom app.helpers import run, clean\n\n\ndef index():\n    run(request.args['q'])\n\n\ndef safe():\n    run(clean(request.args['q']))\n"),
    ("app/helpers.py", "import os\nimport shlex\n\n\ndef run(command):\n    os.system(command)\n\n\ndef clean(value):\n    return shlex.quote(value)\n\n\ndef unused(value):\n    return value\n"),
    ("app/models.py", "class Base:\n    def save(self, value):\n        return value\n\n\nclass Child(Base):\n    def extra(self):\n        return 1\n"),
    ("app/api.py", "import os\nimport subprocess\nfrom flask import request\nfrom app.models import Child\n\nLAST = request.args.get('x')\n\n\ndef store():\n    os.system(Child().save(request.args['q']))\n\n\ndef later():\n    subprocess.call(LAST, shell=True)\n"),
    // A local source (argv: counted with the `local` threat model), a non-taint check (weak
    // hash) and a parameter flow into a container (`Summary::param_flow_steps`).
    ("app/tools.py", "import hashlib\nimport os\nimport sys\n\n\ndef collect(items, value):\n    items.append(value)\n\n\ndef main():\n    bucket = []\n    collect(bucket, sys.argv[1])\n    os.system(bucket[0])\n    return hashlib.md5(sys.argv[2].encode()).hexdigest()\n"),
];

/// Pieces inserted by the generated edits: new flows, new functions, broken syntax.
const PIECES: &[&str] = &[
    "\n",
    "x = 1\n",
    "def extra(value):\n    os.system(value)\n",
    "    run(request.form['p'])\n",
    "def index():\n    eval(request.args['z'])\n",
    "LAST = 'constant'\n",
    "def (:\n",
    "from app.helpers import run\n",
    "import hashlib\nDIGEST = hashlib.sha1(b'x').hexdigest()\n",
    "def tool():\n    os.system(sys.argv[0])\n",
];

/// Every threat model: local and database sources count too.
fn all_threat_models() -> RuleSet {
    RuleSet::load_with_threat_models(&[], &[], &["all".to_string()]).unwrap()
}

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("flowsight-persist-{name}-{}-{unique}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_files(root: &Path, files: &[(String, String)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn project_files() -> Vec<(String, String)> {
    FILES.iter().map(|(path, text)| (path.to_string(), text.to_string())).collect()
}

/// Everything a scan reports that a cache must not change.
fn outcome(result: &ScanResult) -> impl PartialEq + std::fmt::Debug {
    let errors: Vec<String> = result.errors.iter().map(|error| error.to_string()).collect();
    (result.findings.clone(), errors, result.files, result.functions, result.stats.limits, result.stats.unfinished)
}

fn scan_both(root: &Path, cache: &Path, rules: &RuleSet) -> (ScanResult, ScanResult, CacheReport) {
    let paths = vec![root.join("app")];
    let (cached, report) = scan_paths_cached(&paths, Some(root), rules, Some(cache)).expect("scan");
    let fresh = scan_paths(&paths, Some(root), rules).expect("scan");
    assert_eq!(report.write_error, None);
    (cached, fresh, report)
}

/// Encodes `cache` as a cache file's bytes.
fn bytes_of(cache: AnalysisCache) -> (Vec<u8>, Snapshot) {
    let analyses = vec![StoredAnalysis { repositories: vec!["/root".to_string()], analysis: cache }];
    let snapshot = Snapshot { files: Vec::new(), analyses, scan: None };
    let bytes = persist::encode(&snapshot, Path::new("/root"), "rules").unwrap();
    (bytes, snapshot)
}

fn with_program<T>(files: &[(String, String)], check: impl FnOnce(&Program<'_>) -> T) -> T {
    let documents: Vec<(String, Document)> = files.iter().map(|(path, text)| (path.clone(), Document::new(text.clone()))).collect();
    let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    check(&Program::from_parts(&parts))
}

/// (file, line, piece)
fn edit_strategy() -> impl Strategy<Value = (usize, usize, usize)> {
    (0..FILES.len(), 0usize..16, 0..PIECES.len())
}

fn apply(files: &mut [(String, String)], (file, line, piece): (usize, usize, usize)) {
    let count = files.len();
    let text = &mut files[file % count].1;
    let offsets: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
    let at = offsets[line % offsets.len()];
    text.insert_str(at, PIECES[piece]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn persisted_then_loaded_equals_in_memory(edits in proptest::collection::vec(edit_strategy(), 0..6)) {
        let rules = all_threat_models();
        let mut files = project_files();
        let (_, first, _) = with_program(&files, |program| analyze_incrementally(program, &rules, None));
        for edit in edits {
            apply(&mut files, edit);
        }
        // The cache of the first texts, in memory and through bytes, seeds the same analysis.
        let (bytes, _) = bytes_of(first);
        let analysis_of = |bytes: &[u8]| persist::decode(bytes, Path::new("/root"), "rules").expect("decodes").analyses.pop().expect("analysis").analysis;
        let loaded = analysis_of(&bytes);
        prop_assert_eq!(&bytes_of(analysis_of(&bytes)).0, &bytes);
        let (_, in_memory, _) = with_program(&project_files(), |program| analyze_incrementally(program, &rules, None));
        // Told what changed, as every user of a cache is (the scan and the workspace): the
        // edited files and their text changes, so cached places move with the text.
        let before = project_files();
        let edited: Vec<(&str, TextChange)> = before
            .iter()
            .zip(&files)
            .filter(|((_, old), (_, new))| old != new)
            .map(|((path, old), (_, new))| (path.as_str(), TextChange::between(old, new)))
            .collect();
        let changed: HashSet<String> = edited.iter().map(|(path, _)| path.to_string()).collect();
        let changes: HashMap<String, TextChange> = edited.iter().map(|(path, change)| (path.to_string(), *change)).collect();
        let seeded = |previous: AnalysisCache| {
            with_program(&files, |program| {
                let (result, cache, stats) = analyze_incrementally_after(program, &rules, Some(previous), Some(&changed), &changes);
                (result.findings, stats, bytes_of(cache).0)
            })
        };
        let (from_memory, from_disk) = (seeded(in_memory), seeded(loaded));
        prop_assert_eq!(&from_memory.0, &from_disk.0);
        prop_assert_eq!(from_memory.1, from_disk.1);
        prop_assert!(from_memory.2 == from_disk.2, "the next caches differ");
        let scratch = with_program(&files, |program| analyze_incrementally(program, &rules, None).0.findings);
        prop_assert_eq!(&from_disk.0, &scratch);
    }

    #[test]
    fn a_cached_scan_equals_a_scan_without_cache_after_edits_additions_and_removals(
        steps in proptest::collection::vec((edit_strategy(), 0usize..4), 1..5)
    ) {
        let root = scratch("steps");
        let cache = root.join(".flowsight-cache");
        let rules = all_threat_models();
        let mut files = project_files();
        write_files(&root, &files);
        let (cached, fresh, report) = scan_both(&root, &cache, &rules);
        prop_assert_eq!(outcome(&cached), outcome(&fresh));
        prop_assert!(!report.reused_scan && report.notice.is_none(), "{:?}", report);
        for (edit, action) in steps {
            match action {
                // Add a file (or overwrite it), remove one, or edit one.
                0 => {
                    let path = format!("app/new_{}.py", edit.1);
                    files.retain(|(existing, _)| *existing != path);
                    files.push((path, PIECES[edit.2].to_string()));
                }
                1 if files.len() > 1 => {
                    let (path, _) = files.remove(edit.0 % files.len());
                    std::fs::remove_file(root.join(path)).unwrap();
                }
                _ => apply(&mut files, edit),
            }
            write_files(&root, &files);
            let (cached, fresh, report) = scan_both(&root, &cache, &rules);
            prop_assert_eq!(outcome(&cached), outcome(&fresh));
            prop_assert!(report.notice.is_none(), "{:?}", report);
            // Nothing changed since: the stored result, equal again.
            let (again, _, report) = scan_both(&root, &cache, &rules);
            prop_assert!(report.reused_scan, "{:?}", report);
            prop_assert_eq!(outcome(&again), outcome(&fresh));
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}

/// Writes the project, scans once with a cache; returns (root, cache dir, the no-cache result).
fn scanned_project(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    write_files(&root, &project_files());
    let cache = root.join(".flowsight-cache");
    let (cached, fresh, _) = scan_both(&root, &cache, &RuleSet::builtin());
    assert_eq!(outcome(&cached), outcome(&fresh));
    assert!(!cached.findings.is_empty());
    (root, cache)
}

#[test]
fn corrupt_caches_are_rebuilt_with_a_notice() {
    let (root, cache) = scanned_project("corrupt");
    let file = persist::cache_file(&cache);
    let good = std::fs::read(&file).unwrap();
    let mut random = Vec::with_capacity(4096);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..4096 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        random.push(state as u8);
    }
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let corruptions: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated header", good[..20].to_vec()),
        ("truncated payload", good[..good.len() - 7].to_vec()),
        ("random bytes", random),
        ("random bytes after the magic", [&good[..16], &[0xffu8; 64][..]].concat()),
        ("a flipped byte", flipped),
        ("trailing garbage", [&good[..], b"garbage"].concat()),
    ];
    for (what, bytes) in corruptions {
        std::fs::write(&file, &bytes).unwrap();
        let (cached, fresh, report) = scan_both(&root, &cache, &RuleSet::builtin());
        assert_eq!(outcome(&cached), outcome(&fresh), "{what}");
        let notice = report.notice.unwrap_or_else(|| panic!("{what}: no notice"));
        assert!(notice.contains("rebuilt") && !notice.contains('\n'), "{what}: {notice}");
        // The rebuilt cache is used by the next run.
        let (again, _, report) = scan_both(&root, &cache, &RuleSet::builtin());
        assert!(report.reused_scan && report.notice.is_none(), "{what}: {report:?}");
        assert_eq!(outcome(&again), outcome(&fresh), "{what}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_rule_change_invalidates_the_cache() {
    let (root, cache) = scanned_project("rules");
    let all = RuleSet::builtin();
    let disabled_rule = scan_paths(&[root.join("app")], Some(&root), &all).unwrap().findings[0].rule_id.clone();
    let fewer = RuleSet::load(&[], std::slice::from_ref(&disabled_rule)).unwrap();
    let (cached, fresh, report) = scan_both(&root, &cache, &fewer);
    assert_eq!(outcome(&cached), outcome(&fresh));
    assert!(cached.findings.iter().all(|finding| finding.rule_id != disabled_rule));
    assert!(!report.reused_scan && report.notice.is_none(), "{report:?}");
    let (back, fresh, _) = scan_both(&root, &cache, &all);
    assert_eq!(outcome(&back), outcome(&fresh));
    assert!(back.findings.iter().any(|finding| finding.rule_id == disabled_rule));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_threat_model_change_invalidates_the_cache() {
    let (root, cache) = scanned_project("threat-models");
    let remote = RuleSet::builtin();
    let all = all_threat_models();
    let local = |result: &ScanResult| result.findings.iter().filter(|f| f.threat_model.as_deref() == Some("local")).count();
    // Other threat models, other sources: the stored result and analysis are not used.
    let (cached, fresh, report) = scan_both(&root, &cache, &all);
    assert_eq!(outcome(&cached), outcome(&fresh));
    assert!(!report.reused_scan && report.notice.is_none(), "{report:?}");
    assert!(local(&cached) > 0, "argv is a source with the local threat model: {:?}", cached.findings);
    assert_eq!(cached.stats.reused, 0, "{:?}", cached.stats);
    // Back to remote only: rebuilt again (the cache now holds the other models' results).
    let (back, fresh, report) = scan_both(&root, &cache, &remote);
    assert_eq!(outcome(&back), outcome(&fresh));
    assert!(!report.reused_scan, "{report:?}");
    assert_eq!(local(&back), 0);
    let (again, _, report) = scan_both(&root, &cache, &remote);
    assert!(report.reused_scan, "{report:?}");
    assert_eq!(outcome(&again), outcome(&fresh));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_corpus_exercises_threat_models_checks_and_parameter_flows() {
    let root = scratch("corpus");
    write_files(&root, &project_files());
    let result = scan_paths(&[root.join("app")], Some(&root), &all_threat_models()).unwrap();
    let tools: Vec<_> = result.findings.iter().filter(|f| f.sink.path == "app/tools.py").collect();
    assert!(tools.iter().any(|f| f.rule_id == "weak-hash" && f.threat_model.is_none()), "{tools:?}");
    let through_append = tools.iter().find(|f| f.threat_model.as_deref() == Some("local") && f.sink.start_line == 12);
    assert!(through_append.is_some_and(|f| f.steps.iter().any(|s| s.location.start_line == 6)), "{tools:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// Three repositories: `one` alone; `three` imports `lib`, which only `two` provides, so they
/// are one program.
fn repositories(root: &Path) -> Vec<PathBuf> {
    let files = [
        ("one/svc/__init__.py", ""),
        (
            "one/svc/views.py",
            "import os\nfrom flask import request\n\n\ndef index():\n    os.system(request.args['q'])\n\n\ndef other():\n    return 1\n",
        ),
        ("two/lib/__init__.py", ""),
        ("two/lib/run.py", "import os\n\n\ndef run(command):\n    os.system(command)\n\n\ndef idle(value):\n    return value\n"),
        ("three/web/__init__.py", ""),
        ("three/web/views.py", "from flask import request\nfrom lib.run import run\n\n\ndef page():\n    run(request.args['p'])\n"),
    ];
    write_files(root, &files.iter().map(|(path, text)| (path.to_string(), text.to_string())).collect::<Vec<_>>());
    ["one", "two", "three"].iter().map(|name| root.join(name)).collect()
}

#[test]
fn a_scan_of_several_repositories_keeps_one_cache_with_each_programs_analysis() {
    let root = scratch("repositories");
    let cache = root.join(".flowsight-cache");
    let rules = RuleSet::builtin();
    let paths = repositories(&root);
    let scan = |paths: &[PathBuf]| {
        let (cached, report) = scan_paths_cached(paths, None, &rules, Some(&cache)).unwrap();
        let fresh = scan_paths(paths, None, &rules).unwrap();
        assert_eq!(outcome(&cached), outcome(&fresh));
        assert_eq!(report.write_error, None);
        assert_eq!(report.notice, None);
        (cached, report)
    };
    let (first, report) = scan(&paths);
    assert!(!report.reused_scan);
    let sinks: Vec<&str> = first.findings.iter().map(|f| f.sink.path.as_str()).collect();
    assert!(sinks.contains(&"one/svc/views.py") && sinks.contains(&"two/lib/run.py"), "{sinks:?}");
    // One cache file at the display root's cache directory, with one analysis per program.
    let snapshot = persist::load(&cache, &root, &rules.fingerprint).unwrap();
    let mut programs: Vec<Vec<String>> = snapshot.analyses.iter().map(|stored| stored.repositories.clone()).collect();
    programs.sort();
    let identity = |name: &str| root.join(name).to_string_lossy().into_owned();
    let mut grouped = vec![identity("two"), identity("three")];
    grouped.sort();
    assert_eq!(programs, vec![vec![identity("one")], grouped]);
    let (again, report) = scan(&paths);
    assert!(report.reused_scan, "{report:?}");
    assert_eq!(outcome(&again), outcome(&first));
    // A function of `one` edited: only it is analysed again; the other program is reused whole.
    let views = root.join("one/svc/views.py");
    let text = std::fs::read_to_string(&views).unwrap();
    std::fs::write(&views, text.replace("return 1", "return 2")).unwrap();
    let (edited, report) = scan(&paths);
    assert!(!report.reused_scan);
    assert_eq!(edited.stats.analysed, 1, "{:?}", edited.stats);
    // The same repositories named in another order are the same scan.
    let (reordered, report) = scan(&[root.join("three"), root.join("one"), root.join("two")]);
    assert!(report.reused_scan, "{report:?}");
    assert_eq!(outcome(&reordered), outcome(&edited));
    // A scan of fewer repositories from the same display root reuses the programs it shares.
    let (alone, _) = scan(&paths[..2]);
    assert!(alone.stats.reused > 0 && alone.stats.analysed > 0, "`one` reused, `two` alone is new: {:?}", alone.stats);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_write_killed_midway_leaves_the_old_cache_in_use() {
    let (root, cache) = scanned_project("killed");
    let good = std::fs::read(persist::cache_file(&cache)).unwrap();
    // A write killed before its rename: a truncated temporary file beside the cache.
    std::fs::write(cache.join(format!("analysis.bin.tmp.{}.1", u32::MAX)), &good[..good.len() / 3]).unwrap();
    let (cached, fresh, report) = scan_both(&root, &cache, &RuleSet::builtin());
    assert!(report.reused_scan && report.notice.is_none(), "{report:?}");
    assert_eq!(outcome(&cached), outcome(&fresh));
    // An edit after it: the next write replaces the cache; the temporary file is never read.
    std::fs::write(root.join("app/extra.py"), "import os\nfrom flask import request\nos.system(request.args['c'])\n").unwrap();
    let (cached, fresh, report) = scan_both(&root, &cache, &RuleSet::builtin());
    assert!(!report.reused_scan && report.notice.is_none(), "{report:?}");
    assert_eq!(outcome(&cached), outcome(&fresh));
    assert!(cached.findings.iter().any(|finding| finding.sink.path == "app/extra.py"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_cache_belongs_to_its_project_root() {
    let (root, cache) = scanned_project("foreign");
    let other = scratch("foreign-other");
    write_files(&other, &project_files());
    std::fs::create_dir_all(other.join(".flowsight-cache")).unwrap();
    std::fs::copy(persist::cache_file(&cache), persist::cache_file(&other.join(".flowsight-cache"))).unwrap();
    let (cached, fresh, report) = scan_both(&other, &other.join(".flowsight-cache"), &RuleSet::builtin());
    assert_eq!(outcome(&cached), outcome(&fresh));
    assert!(report.notice.as_deref().is_some_and(|notice| notice.contains("another project root")), "{report:?}");
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}

/// The stored trees (`persist::trees`): a cached scan builds unchanged files from them, parses
/// and stores a changed file's, and rebuilds any tree file that is damaged or foreign — with
/// the result of a scan without cache each time.
#[test]
fn stored_trees_are_used_for_unchanged_files_and_damaged_ones_are_rebuilt() {
    let (root, cache) = scanned_project("trees");
    let trees = persist::trees::trees_dir(&cache);
    let stored = || {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&trees).unwrap().map(|entry| entry.unwrap().path()).collect();
        names.sort();
        names
    };
    assert_eq!(stored().len(), FILES.len(), "one tree per text");
    // One file changed: the others are built from their trees, the changed one parsed and stored,
    // its old tree removed.
    let mut files = project_files();
    files[0].1.push_str(
        "
def more():
    run(request.args['m'])
",
    );
    write_files(&root, &files);
    let (cached, fresh, report) = scan_both(&root, &cache, &RuleSet::builtin());
    assert_eq!(outcome(&cached), outcome(&fresh));
    // The old text's tree stays until no run used it for `MAX_UNUSED_AGE`.
    assert_eq!(report.trees, TreeCounts { loaded: FILES.len() - 1, written: 1, removed: 0 });
    assert_eq!(stored().len(), FILES.len() + 1);
    // Damaged tree files of one unchanged file, with the scan's stored result out of the way (an
    // added file's text changes each time).
    let tree_of = |text: &str| trees.join(persist::text_hash(text).iter().map(|byte| format!("{byte:02x}")).collect::<String>());
    let (target, other) = (tree_of(&files[1].1), tree_of(&files[2].1));
    let good = std::fs::read(&target).unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    // The header's first byte after the magic and its length is the schema (a postcard varint).
    let mut other_schema = good.clone();
    other_schema[20] = other_schema[20].wrapping_add(1);
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("random bytes", (0..good.len()).map(|i| (i * 131 % 251) as u8).collect()),
        ("a flipped byte", flipped),
        ("another text's tree", std::fs::read(&other).unwrap()),
        ("another schema", other_schema),
    ];
    for (step, (what, bytes)) in damages.into_iter().enumerate() {
        std::fs::write(&target, &bytes).unwrap();
        std::fs::write(
            root.join("app/added.py"),
            format!(
                "x = {step}
"
            ),
        )
        .unwrap();
        let (cached, fresh, report) = scan_both(&root, &cache, &RuleSet::builtin());
        assert_eq!(outcome(&cached), outcome(&fresh), "{what}");
        assert!(report.notice.is_none(), "{what}: {report:?}");
        // The damaged tree and the added file's are written; the other files' trees are used.
        assert_eq!((report.trees.loaded, report.trees.written), (FILES.len() - 1, 2), "{what}: {report:?}");
        assert_eq!(std::fs::read(&target).unwrap(), good, "{what}: rewritten");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// A workspace (the server's core) over the files of `root`, using the cache in `cache`.
fn workspace_at(root: &Path, cache: Option<&Path>) -> Workspace {
    let mut workspace = Workspace::new(root);
    let mut paths: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(root.join("app")).unwrap() {
        paths.push(entry.unwrap().path().to_string_lossy().into_owned());
    }
    workspace.load_files(&paths);
    workspace.set_cache_dir(cache.map(Path::to_path_buf));
    workspace
}

/// The findings of a workspace without cache over the files of `root`, `path` with `text`.
fn from_scratch(root: &Path, path: &str, text: &str, rules: &RuleSet) -> Vec<flowsight_engine::taint::Finding> {
    let mut workspace = workspace_at(root, None);
    workspace.update_file(path, text.to_string(), None);
    workspace.analyze_taint(rules)
}

#[test]
fn a_workspace_restarted_from_its_cache_analyses_only_what_changed() {
    let root = scratch("workspace");
    write_files(&root, &project_files());
    let cache = root.join(".flowsight-cache");
    let rules = RuleSet::builtin();
    let mut first = workspace_at(&root, Some(&cache));
    let findings = first.analyze_taint(&rules);
    assert!(!findings.is_empty());
    assert!(first.persist_cache().unwrap().is_some_and(|bytes| bytes > 0));
    // A restart with nothing changed analyses nothing and finds the same.
    let mut second = workspace_at(&root, Some(&cache));
    assert_eq!(second.analyze_taint(&rules), findings);
    let stats = second.last_analysis();
    assert_eq!((stats.analysed, stats.reused), (0, stats.scopes), "{stats:?}");
    assert_eq!(second.take_cache_notice(), None);
    // Edits after the warm start are analysed incrementally against the restored cache, and
    // give a fresh workspace's findings for the same texts: a line inside `unused` (its summary
    // unchanged), then `clean` running its argument (a new finding through its caller).
    let edit =
        |line: usize, column: usize, text: &str| PositionEdit { range: Some(((line, column), (line, column))), new_text: text.to_string() };
    second.apply_edits("app/helpers.py", 1, &[edit(13, 4, "value = value  # edited\n    ")], Encoding::Utf8).unwrap();
    let edited = second.analyze_taint(&rules);
    let stats = second.last_analysis();
    assert!(stats.analysed >= 1 && stats.analysed <= 2, "{stats:?}");
    assert_eq!(edited, from_scratch(&root, "app/helpers.py", second.document("app/helpers.py").unwrap().text(), &rules));
    second.apply_edits("app/helpers.py", 2, &[edit(9, 4, "os.system(value)\n    ")], Encoding::Utf8).unwrap();
    let unclean = second.analyze_taint(&rules);
    let stats = second.last_analysis();
    assert!(stats.analysed < stats.scopes / 2, "{stats:?}");
    assert_eq!(unclean, from_scratch(&root, "app/helpers.py", second.document("app/helpers.py").unwrap().text(), &rules));
    assert!(unclean.len() > edited.len(), "the new sink is found through `safe`: {unclean:?}");
    // A function added at the top of one file while the server was down: that file's functions
    // move (not analysed again), the new one is analysed; the findings are a fresh workspace's.
    let helpers = root.join("app/helpers.py");
    let text = std::fs::read_to_string(&helpers).unwrap();
    std::fs::write(&helpers, format!("def added(value):\n    return value\n\n\n{text}")).unwrap();
    let mut third = workspace_at(&root, Some(&cache));
    let restarted = third.analyze_taint(&rules);
    assert_eq!(restarted, workspace_at(&root, None).analyze_taint(&rules));
    let stats = third.last_analysis();
    assert!(stats.analysed >= 1 && stats.analysed < stats.scopes / 2, "{stats:?}");
    // A corrupt cache: a notice, and the same findings.
    std::fs::write(persist::cache_file(&cache), b"flowsight-cache\0garbage").unwrap();
    let mut fourth = workspace_at(&root, Some(&cache));
    assert_eq!(fourth.analyze_taint(&rules), restarted);
    assert!(fourth.take_cache_notice().is_some_and(|notice| notice.ends_with("rebuilt")));
    std::fs::remove_dir_all(&root).unwrap();
}

/// The tree file of `text` in `trees`.
fn tree_file(trees: &Path, text: &str) -> PathBuf {
    trees.join(persist::trees::hex(&persist::text_hash(text)))
}

/// Sets a file's modification time `days` days back.
fn age_by_days(path: &Path, days: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 24 * 60 * 60);
    std::fs::File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Scans of `app/` and `lib/` (one project, one cache) keep each other's trees: the scan of the
/// whole project then builds every file from a stored tree. A tree no run used for
/// `MAX_UNUSED_AGE` is removed by the next scan that parses; one a scan loaded has its age reset.
#[test]
fn partial_scans_keep_each_others_trees_and_trees_unused_for_long_are_removed() {
    assert_eq!(persist::trees::MAX_UNUSED_AGE.as_secs(), 30 * 24 * 60 * 60);
    let root = scratch("partial");
    let mut files = project_files();
    let lib: Vec<(String, String)> =
        files.iter().map(|(path, text)| (path.replacen("app/", "lib/", 1), format!("{text}\nLIB = 1\n"))).collect();
    files.extend(lib);
    write_files(&root, &files);
    let cache = root.join(".flowsight-cache");
    let trees = persist::trees::trees_dir(&cache);
    let rules = RuleSet::builtin();
    let scan = |target: &str| {
        let paths = vec![root.join(target)];
        let (cached, report) = scan_paths_cached(&paths, Some(&root), &rules, Some(&cache)).expect("scan");
        assert_eq!(outcome(&cached), outcome(&scan_paths(&paths, Some(&root), &rules).expect("scan")), "{target}");
        report.trees
    };
    assert_eq!(scan("app"), TreeCounts { loaded: 0, written: FILES.len(), removed: 0 });
    assert_eq!(scan("lib"), TreeCounts { loaded: 0, written: FILES.len(), removed: 0 }, "app's trees kept");
    assert_eq!(scan("app"), TreeCounts { loaded: FILES.len(), written: 0, removed: 0 }, "lib's trees kept");
    assert_eq!(scan("."), TreeCounts { loaded: 2 * FILES.len(), written: 0, removed: 0 }, "nothing parsed");

    // Ages: lib/'s trees 29 and 31 days unused, app/views.py's 31 days (but the next scan uses it).
    let (young, old, used) =
        (tree_file(&trees, &files[FILES.len()].1), tree_file(&trees, &files[FILES.len() + 1].1), tree_file(&trees, &files[0].1));
    age_by_days(&young, 29);
    age_by_days(&old, 31);
    age_by_days(&used, 31);
    // A scan of app/ with one file changed: it parses, loads the unchanged files' trees and
    // removes the trees unused for 30 days that it does not use.
    let mut changed = files.clone();
    changed[1].1.push_str("\nEXTRA = 2\n");
    write_files(&root, &changed[1..2]);
    assert_eq!(scan("app"), TreeCounts { loaded: FILES.len() - 1, written: 1, removed: 1 });
    assert!(!old.exists(), "unused for 31 days: removed");
    assert!(young.exists(), "unused for 29 days: kept");
    assert!(used.exists() && modified(&used).elapsed().unwrap() < persist::trees::REFRESH_AFTER, "loaded: its age is reset");
    // A tree loaded within `REFRESH_AFTER` keeps its time (no write per run).
    let recent = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(&used).unwrap().set_modified(recent).unwrap();
    write_files(&root, &files[1..2]);
    assert_eq!(scan("app").loaded, FILES.len());
    assert_eq!(modified(&used), recent);
    // The removed tree's file is parsed again by the next scan of lib/, and stored.
    assert_eq!(scan("lib"), TreeCounts { loaded: FILES.len() - 1, written: 1, removed: 0 });
    std::fs::remove_dir_all(&root).unwrap();
}

/// The files of `root/app` as a workspace reads them, with the trees of `cache` if given.
fn read_app(root: &Path, cache: Option<&Path>) -> Workspace {
    let mut workspace = Workspace::new(root);
    let mut paths: Vec<String> =
        std::fs::read_dir(root.join("app")).unwrap().map(|entry| entry.unwrap().path().to_string_lossy().into_owned()).collect();
    paths.sort();
    let trees = cache.map(persist::trees::trees_dir);
    let read = flowsight_engine::workspace::read_files(root, &paths, &[], trees.as_deref());
    workspace.store_read_files(read, None);
    workspace.set_cache_dir(cache.map(Path::to_path_buf));
    workspace
}

/// The server's warm start: a workspace persisting its cache stores its texts' trees; a
/// restarted one builds every file from them (same chunks and findings as parsing), parses a
/// file whose tree is damaged, and the first edit of a document built from a tree (no
/// tree-sitter tree: parsed from scratch, as a document beyond `TREE_SITTER_TREES_KEPT`) gives
/// what a fresh parse gives. Trees it wrote for texts it no longer has are removed.
#[test]
fn a_restarted_workspace_builds_its_files_from_the_stored_trees() {
    let root = scratch("workspace-trees");
    write_files(&root, &project_files());
    let cache = root.join(".flowsight-cache");
    let trees = persist::trees::trees_dir(&cache);
    let rules = RuleSet::builtin();
    let paths: Vec<String> = FILES.iter().map(|(path, _)| path.to_string()).collect();
    let chunks_of = |workspace: &Workspace| -> Vec<_> { paths.iter().map(|path| workspace.chunks(path).unwrap().to_vec()).collect() };

    let mut first = read_app(&root, Some(&cache));
    let findings = first.analyze_taint(&rules);
    assert_eq!(first.tree_counts(), TreeCounts::default(), "no tree stored yet");
    assert_eq!(first.persist_trees(), None, "nothing persisted yet");
    assert!(first.persist_cache().unwrap().is_some());
    assert_eq!(first.persist_trees(), Some(TreeCounts { loaded: 0, written: FILES.len(), removed: 0 }));
    assert_eq!(first.persist_trees(), None, "once per persisted analysis");
    let expected_chunks = chunks_of(&first);

    // A restart: every file built from its tree, the same chunks and findings as parsing.
    let mut second = read_app(&root, Some(&cache));
    assert_eq!(second.tree_counts().loaded, FILES.len());
    assert_eq!(chunks_of(&second), expected_chunks);
    assert_eq!(second.analyze_taint(&rules), findings);
    for path in &paths {
        assert!(!second.document(path).unwrap().keeps_tree_sitter_tree(), "{path}");
    }
    // The first edit of such a document parses from scratch: the chunks and findings of a fresh
    // parse of the edited text.
    let edit = PositionEdit { range: Some(((9, 4), (9, 4))), new_text: "os.system(value)\n    ".to_string() };
    second.apply_edits("app/helpers.py", 1, &[edit], Encoding::Utf8).unwrap();
    let edited = second.document("app/helpers.py").unwrap().text().to_string();
    let mut fresh = workspace_at(&root, None);
    fresh.update_file("app/helpers.py", edited.clone(), Some(1));
    assert_eq!(second.chunks("app/helpers.py").unwrap(), fresh.chunks("app/helpers.py").unwrap());
    assert_eq!(second.document("app/helpers.py").unwrap().root().to_sexp(), Document::new(edited.clone()).root().to_sexp());
    let after_edit = second.analyze_taint(&rules);
    assert_eq!(after_edit, from_scratch(&root, "app/helpers.py", &edited, &rules));
    assert!(after_edit.len() > findings.len());
    // Persisting the edited text stores its tree; the trees this workspace wrote are all of
    // texts it has (the disk's helpers.py tree was written by `first`: kept).
    assert!(second.persist_cache().unwrap().is_some());
    assert_eq!(second.persist_trees(), Some(TreeCounts { loaded: 0, written: 1, removed: 0 }));
    assert!(tree_file(&trees, &edited).is_file() && tree_file(&trees, FILES[1].1).is_file());
    // Another edit: the tree of the previous editor text, written by this workspace, goes.
    let edit = PositionEdit { range: Some(((0, 0), (0, 0))), new_text: "# more\n".to_string() };
    second.apply_edits("app/helpers.py", 2, &[edit], Encoding::Utf8).unwrap();
    second.analyze_taint(&rules);
    assert!(second.persist_cache().unwrap().is_some());
    assert_eq!(second.persist_trees(), Some(TreeCounts { loaded: 0, written: 1, removed: 1 }));
    assert!(!tree_file(&trees, &edited).exists() && tree_file(&trees, FILES[1].1).is_file());

    // A damaged tree: that file is parsed, the others built from theirs; the same result.
    let damaged = tree_file(&trees, FILES[2].1);
    let bytes = std::fs::read(&damaged).unwrap();
    for broken in [bytes[..bytes.len() / 2].to_vec(), b"flowsight-tree\0\0garbage".to_vec(), bytes.iter().map(|byte| byte ^ 0x20).collect()]
    {
        std::fs::write(&damaged, &broken).unwrap();
        let mut third = read_app(&root, Some(&cache));
        assert_eq!(third.tree_counts().loaded, FILES.len() - 1);
        assert!(!damaged.exists(), "a tree that does not check is removed");
        assert_eq!(chunks_of(&third), expected_chunks);
        assert_eq!(third.analyze_taint(&rules), findings);
        assert_eq!(third.take_cache_notice(), None);
        // ... and written again with the next persist.
        assert!(third.persist_cache().unwrap().is_some());
        assert_eq!(third.persist_trees().map(|counts| counts.written), Some(1));
        assert_eq!(std::fs::read(&damaged).unwrap(), bytes);
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// A scan without a cache reads each file as it parses it (`scan::parse_files`), one with a
/// cache reads every file first (to hash it): both report the files they cannot read, or read
/// with problems, alike and in the same order, beside the same findings.
#[test]
#[cfg(unix)]
fn files_read_while_parsing_report_the_errors_of_files_read_first() {
    let root = scratch("unreadable");
    let cache = root.join(".cache");
    write_files(&root, &project_files());
    let app = root.join("app");
    std::os::unix::fs::symlink(app.join("missing-target.py"), app.join("dangling.py")).unwrap();
    std::os::unix::fs::symlink(std::env::temp_dir().join("elsewhere.py"), app.join("outside.py")).unwrap();
    std::fs::create_dir(app.join("folder.py")).unwrap();
    std::fs::write(app.join("blob.py"), b"\x7fELF\x00\x00\x01\x02").unwrap();
    std::fs::write(app.join("latin.py"), b"# caf\xe9\ndef latin():\n    return 1\n").unwrap();
    std::fs::write(app.join("broken.py"), "def broken(:\n    pass\n").unwrap();
    let (cached, fresh, _) = scan_both(&root, &cache, &RuleSet::builtin());
    assert_eq!(outcome(&fresh), outcome(&cached));
    let errors: Vec<(String, String)> = fresh.errors.iter().map(|error| (error.path.clone(), error.kind.as_str().to_string())).collect();
    for (path, kind) in [
        ("app/dangling.py", "io"),
        ("app/outside.py", "io"),
        ("app/blob.py", "binary"),
        ("app/latin.py", "not_utf8"),
        ("app/broken.py", "syntax"),
    ] {
        assert!(errors.contains(&(path.to_string(), kind.to_string())), "{path}: {kind} not in {errors:?}");
    }
    assert!(!fresh.findings.is_empty());
    let _ = std::fs::remove_dir_all(&root);
}
