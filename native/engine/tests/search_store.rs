//! The lexical index on disk (`lexical::store`) through the `Workspace`: a restarted workspace
//! reopens it and answers as before without indexing anything; files changed, added or removed
//! while it was stopped are re-indexed or gone; edits after reopening are searchable at once and
//! written back; a damaged, foreign or half-written store is rebuilt or read as its last whole
//! state, never trusted blindly.

use std::path::{Path, PathBuf};

use flowsight_engine::lexical::SearchMode;
use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::PositionEdit;
use flowsight_engine::workspace::Workspace;

const ROOT: &str = "/nonexistent/repo";

const BILLING: &str = "\
def charge(card, amount):
    \"\"\"Charges a card.\"\"\"
    return gateway.send(card, amount)

class RefundController:
    def refund(self, payment):
        return gateway.refund(payment)
";

const USERS: &str = "\
def load_user(request):
    # reads the session cookie
    return request.session['user']
";

const REPORTS: &str = "\
def monthly_report(month):
    return render('report.html', month=month)
";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("flowsight-search-store-{name}-{}-{unique}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn workspace(cache: &Path, files: &[(&str, &str)]) -> Workspace {
    let mut workspace = Workspace::new(Path::new(ROOT));
    for (path, text) in files {
        workspace.update_file(path, text.to_string(), None);
    }
    workspace.set_cache_dir(Some(cache.to_path_buf()));
    workspace
}

const QUERIES: &[&str] = &["charge", "refund", "RefundController", "gateway", "session cookie", "user", "report month", "card"];

/// Every query's hits as (chunk id, lines, score), in order, for both modes.
fn answers(workspace: &mut Workspace) -> Vec<Vec<(String, usize, usize, String)>> {
    let mut all = Vec::new();
    for query in QUERIES {
        for mode in [SearchMode::Text, SearchMode::Symbols] {
            let hits = workspace.search(query, 50, mode).expect("search");
            all.push(hits.into_iter().map(|hit| (hit.chunk_id, hit.start_line, hit.end_line, format!("{:.4}", hit.score))).collect());
        }
    }
    all
}

/// Every query's matching chunk ids, sorted (scores depend on deleted documents until merged).
fn matches(workspace: &mut Workspace) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for query in QUERIES {
        for mode in [SearchMode::Text, SearchMode::Symbols] {
            let mut ids: Vec<String> = workspace.search(query, 50, mode).expect("search").into_iter().map(|hit| hit.chunk_id).collect();
            ids.sort();
            all.push(ids);
        }
    }
    all
}

fn store_files(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache.join("search")).expect("store").flatten().map(|entry| entry.path()).collect();
    files.sort();
    files
}

fn segment_files(cache: &Path) -> Vec<PathBuf> {
    store_files(cache)
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name != "manifest.bin" && name != "lock"
        })
        .collect()
}

#[test]
fn a_restarted_workspace_reopens_the_stored_index_and_answers_the_same() {
    let cache = TempDir::new("restart");
    let files = [("billing.py", BILLING), ("users.py", USERS), ("reports.py", REPORTS)];
    let mut first = workspace(&cache.0, &files);
    let before = answers(&mut first);
    let built = first.search_stats();
    assert!(!built.opened.reopened);
    assert_eq!(built.indexed, built.documents);
    assert!(first.persist_search().expect("written").is_some());
    assert_eq!(first.persist_search().expect("nothing to write"), None, "the disk holds this state already");
    drop(first);

    let mut second = workspace(&cache.0, &files);
    assert_eq!(answers(&mut second), before);
    let stats = second.search_stats();
    assert!(stats.opened.reopened, "{stats:?}");
    assert_eq!((stats.indexed, stats.opened.reused, stats.opened.refreshed_files), (0, built.documents, 0));
    assert_eq!(stats.opened.notice, None);
    assert_eq!(second.persist_search().expect("nothing to write"), None, "reopened unchanged: nothing to write");
}

#[test]
fn files_changed_added_or_removed_while_stopped_are_reindexed_or_gone() {
    let cache = TempDir::new("changed");
    let mut first = workspace(&cache.0, &[("billing.py", BILLING), ("users.py", USERS), ("reports.py", REPORTS)]);
    first.prepare_search().expect("index");
    first.persist_search().expect("written");
    drop(first);

    let edited = BILLING.replace("def charge(", "def charge_card(");
    let added = "def export_ledger(path):\n    return open(path).read()\n";
    let now = [("billing.py", edited.as_str()), ("reports.py", REPORTS), ("ledger.py", added)];
    let mut second = workspace(&cache.0, &now);
    let mut scratch = Workspace::new(Path::new(ROOT));
    for (path, text) in now {
        scratch.update_file(path, text.to_string(), None);
    }
    assert_eq!(matches(&mut second), matches(&mut scratch));
    let found = second.search("charge_card", 5, SearchMode::Text).expect("search");
    assert_eq!(found[0].qualified_name, "billing.charge_card");
    assert!(second.search("load_user", 5, SearchMode::Symbols).expect("search").is_empty(), "users.py is gone");
    assert_eq!(second.search("export_ledger", 5, SearchMode::Text).expect("search")[0].qualified_name, "ledger.export_ledger");
    let stats = second.search_stats();
    assert!(stats.opened.reopened);
    // billing.py and ledger.py re-indexed (their documents are all symbols: modules, functions,
    // a class and a method), reports.py reused.
    let reindexed = second.search("", 100, SearchMode::Symbols).expect("symbols").iter().filter(|hit| hit.path != "reports.py").count();
    assert_eq!(stats.indexed as usize, reindexed, "{stats:?}");
    assert_eq!(stats.opened.refreshed_files, 3, "billing.py, ledger.py and users.py");
    assert_eq!(stats.opened.reused, stats.documents - stats.indexed);
}

#[test]
fn edits_after_reopening_are_searchable_at_once_and_written_back() {
    let cache = TempDir::new("edits");
    let files = [("billing.py", BILLING), ("users.py", USERS)];
    let mut first = workspace(&cache.0, &files);
    first.prepare_search().expect("index");
    let full = first.persist_search().expect("written").expect("a first write");
    drop(first);

    let mut second = workspace(&cache.0, &files);
    assert!(second.search("audit_trail", 5, SearchMode::Text).expect("search").is_empty());
    let edit = PositionEdit { range: Some(((3, 0), (3, 0))), new_text: "def audit_trail(user):\n    return user.log\n\n".to_string() };
    second.apply_edits("users.py", 2, &[edit], Encoding::Utf8).expect("edit applies");
    assert_eq!(second.search("audit_trail", 5, SearchMode::Text).expect("search")[0].qualified_name, "users.audit_trail");
    second.remove_file("billing.py").expect("known file");
    assert!(second.search("RefundController", 5, SearchMode::Text).expect("search").is_empty(), "deleted: gone");
    let delta = second.persist_search().expect("written").expect("changes to write");
    assert!(delta.bytes < full.bytes, "only new segment files are written: {delta:?} after {full:?}");
    let after = answers(&mut second);
    let text = second.document("users.py").expect("file").text().to_string();
    drop(second);

    let mut third = workspace(&cache.0, &[("users.py", &text)]);
    assert_eq!(answers(&mut third), after);
    assert_eq!(third.search_stats().indexed, 0);
}

/// Damages the store in `kind`'s way.
fn damage(cache: &Path, kind: &str) {
    let manifest = cache.join("search/manifest.bin");
    let segment = segment_files(cache).into_iter().max_by_key(|path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)).unwrap();
    match kind {
        "flipped segment byte" => {
            let mut bytes = std::fs::read(&segment).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x5a;
            std::fs::write(&segment, bytes).unwrap();
        }
        "truncated segment" => {
            let bytes = std::fs::read(&segment).unwrap();
            std::fs::write(&segment, &bytes[..bytes.len() / 2]).unwrap();
        }
        "missing segment" => std::fs::remove_file(&segment).unwrap(),
        "truncated manifest" => {
            let bytes = std::fs::read(&manifest).unwrap();
            std::fs::write(&manifest, &bytes[..bytes.len() - 7]).unwrap();
        }
        "garbage manifest" => std::fs::write(&manifest, b"flowsight-index\0 but then nothing sensible").unwrap(),
        "empty manifest" => std::fs::write(&manifest, b"").unwrap(),
        other => panic!("unknown damage {other}"),
    }
}

#[test]
fn a_damaged_store_is_rebuilt_never_trusted() {
    let files = [("billing.py", BILLING), ("users.py", USERS), ("reports.py", REPORTS)];
    let mut fresh = Workspace::new(Path::new(ROOT));
    for (path, text) in files {
        fresh.update_file(path, text.to_string(), None);
    }
    let expected = matches(&mut fresh);
    for kind in ["flipped segment byte", "truncated segment", "missing segment", "truncated manifest", "garbage manifest", "empty manifest"]
    {
        let cache = TempDir::new("damaged");
        let mut first = workspace(&cache.0, &files);
        first.prepare_search().expect("index");
        first.persist_search().expect("written");
        drop(first);
        damage(&cache.0, kind);

        let mut second = workspace(&cache.0, &files);
        assert_eq!(matches(&mut second), expected, "{kind}");
        let stats = second.search_stats();
        assert!(!stats.opened.reopened, "{kind}: {stats:?}");
        let notice = stats.opened.notice.clone().unwrap_or_default();
        assert!(notice.contains("rebuilt"), "{kind}: {notice:?}");
        assert_eq!(stats.indexed, stats.documents, "{kind}");
        // The rebuilt index replaces the damaged one on disk.
        second.persist_search().expect("written");
        drop(second);
        let mut third = workspace(&cache.0, &files);
        assert_eq!(matches(&mut third), expected, "{kind}, rewritten");
        assert!(third.search_stats().opened.reopened, "{kind}: the rewritten store is used");
    }
}

#[test]
fn a_store_of_another_root_is_foreign() {
    let cache = TempDir::new("foreign");
    let mut other = Workspace::new(Path::new("/nonexistent/other"));
    other.update_file("billing.py", BILLING.to_string(), None);
    other.set_cache_dir(Some(cache.0.clone()));
    other.prepare_search().expect("index");
    other.persist_search().expect("written");

    let mut mine = workspace(&cache.0, &[("billing.py", BILLING)]);
    let hits = mine.search("charge", 5, SearchMode::Text).expect("search");
    assert_eq!(hits[0].qualified_name, "billing.charge");
    assert!(hits.iter().all(|hit| mine.chunks("billing.py").unwrap().iter().any(|chunk| chunk.id == hit.chunk_id)), "its own chunk ids");
    let notice = mine.search_stats().opened.notice.unwrap_or_default();
    assert!(notice.contains("another project root"), "{notice:?}");
}

#[test]
fn leftovers_of_a_killed_write_are_ignored_and_cleared() {
    let cache = TempDir::new("leftovers");
    let files = [("billing.py", BILLING), ("users.py", USERS)];
    let mut first = workspace(&cache.0, &files);
    let before = answers(&mut first);
    first.persist_search().expect("written");
    drop(first);
    // What a write killed before its manifest leaves: whole new files (renamed into place),
    // a half-written temporary file, and a half-written manifest temporary file.
    let store = cache.0.join("search");
    std::fs::write(store.join("0123456789abcdef0123456789abcdef.idx"), b"a segment no manifest names").unwrap();
    std::fs::write(store.join("0123456789abcdef0123456789abcdef.term.tmp"), b"half").unwrap();
    std::fs::write(store.join("manifest.bin.tmp"), b"flowsight-index\0half").unwrap();

    let mut second = workspace(&cache.0, &files);
    assert_eq!(answers(&mut second), before);
    assert!(second.search_stats().opened.reopened);
    // The next write removes whatever its manifest does not name.
    let edit = PositionEdit { range: Some(((0, 0), (0, 0))), new_text: "# billing\n".to_string() };
    second.apply_edits("billing.py", 2, &[edit], Encoding::Utf8).expect("edit applies");
    second.persist_search().expect("written").expect("a write");
    let names: Vec<String> = store_files(&cache.0).iter().map(|path| path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|name| name.starts_with("0123456789abcdef") || name.ends_with(".tmp")), "{names:?}");
}

#[test]
fn without_a_cache_directory_nothing_is_written() {
    let mut workspace = Workspace::new(Path::new(ROOT));
    workspace.update_file("billing.py", BILLING.to_string(), None);
    assert!(!workspace.search("charge", 5, SearchMode::Text).expect("search").is_empty());
    assert_eq!(workspace.persist_search().expect("no error"), None);
}
