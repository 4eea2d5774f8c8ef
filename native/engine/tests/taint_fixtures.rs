//! The labelled taint corpus (`tests/fixtures/taint`, shared with the Python tests; the marker
//! format is documented in `tests/fixtures/taint/README.md` and parsed alike by
//! `tests/taint_expectations.py`): every `# sink[a]: CWE-N` line has a finding with that CWE whose
//! source line is the `# source[a]` line and whose step lines are the `# step[a]` lines; no other
//! line has a finding.
//!
//! One test per fixture file, so one regression is one named failure. Each group (a directory
//! under the corpus) is scanned once, as one project; a file's test compares the findings whose
//! sink is in that file. `every_fixture_file_has_a_test` keeps the list below complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::scan_paths;
use flowsight_engine::taint::Finding;

#[macro_use]
mod common;

/// (path relative to the corpus, 1-based line).
type Place = (String, usize);
/// (the sink's file, label): a labelled path is named in the file of its sink.
type Label = (String, String);

fn corpus() -> PathBuf {
    common::shared_tests_dir().join("fixtures/taint")
}

fn place(place: &Place) -> String {
    format!("{}:{}", place.0, place.1)
}

/// One marker of a line.
#[derive(Debug, PartialEq)]
enum Marker {
    /// `source[a, b@other.py]`: labels as written.
    Source(Vec<String>),
    /// `step[a]`.
    Step(Vec<String>),
    /// `sink[a]: CWE-89, CWE-79`.
    Sink(String, Vec<u32>),
    /// `# ok`.
    Ok,
}

/// Where `keyword` starts in `line` at `from` or later, not preceded by a word character.
fn find_word(line: &str, keyword: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = line[at..].find(keyword) {
        let start = at + found;
        if !line[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return Some(start);
        }
        at = start + keyword.len();
    }
    None
}

/// `CWE-N(, CWE-M)*` at the start of `text`, and what follows it.
fn cwes(text: &str) -> Option<(Vec<u32>, &str)> {
    let mut cwes = Vec::new();
    let mut rest = text;
    loop {
        let after = rest.strip_prefix("CWE-")?;
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        cwes.push(after[..digits].parse().ok()?);
        rest = &after[digits..];
        match rest.trim_start().strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None => return Some((cwes, rest)),
        }
    }
}

/// The markers of one line, or what is wrong with them (a marker of the old format, an empty label).
fn markers(line: &str) -> Result<Vec<Marker>, String> {
    let mut found = Vec::new();
    for keyword in ["source", "step"] {
        // `# source` alone or `# source:` (unlabelled) would otherwise be ignored.
        let mut at = 0;
        while let Some(start) = find_word(line, keyword, at) {
            at = start + keyword.len();
            let rest = &line[at..];
            if line[..start].trim_end().ends_with('#') && (rest.trim().is_empty() || rest.trim_start().starts_with(':')) {
                return Err(format!("`{keyword}` needs a label: `{keyword}[a]`"));
            }
            if let Some(inside) = rest.strip_prefix('[') {
                let Some(end) = inside.find(']') else { return Err(format!("`{keyword}[` is not closed")) };
                let labels: Vec<String> = inside[..end].split(',').map(|label| label.trim().to_string()).collect();
                if labels.iter().any(String::is_empty) {
                    return Err(format!("`{keyword}[{}]` has an empty label", &inside[..end]));
                }
                found.push(if keyword == "source" { Marker::Source(labels) } else { Marker::Step(labels) });
            }
        }
    }
    let mut at = 0;
    while let Some(start) = find_word(line, "sink", at) {
        at = start + 4;
        let rest = &line[at..];
        if rest.starts_with(':') {
            return Err("`sink:` needs a label: `sink[a]: CWE-N`".to_string());
        }
        let Some(inside) = rest.strip_prefix('[') else { continue };
        let Some(end) = inside.find(']') else { return Err("`sink[` is not closed".to_string()) };
        let label = inside[..end].trim();
        let parsed = inside[end + 1..].strip_prefix(':').and_then(|after| cwes(after.trim_start()));
        match parsed {
            Some((list, _)) if !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                found.push(Marker::Sink(label.to_string(), list));
            }
            _ => return Err(format!("a sink is `sink[label]: CWE-N[, CWE-M]` with a one-word label: `sink{}`", &rest[..end + 2])),
        }
    }
    let ok = line.match_indices('#').any(|(hash, _)| {
        let after = line[hash + 1..].trim_start();
        after.starts_with("ok") && !after[2..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    });
    if ok && !found.iter().any(|m| matches!(m, Marker::Sink(..))) {
        found.push(Marker::Ok);
    }
    Ok(found)
}
/// What the markers say about one label.
#[derive(Default)]
struct Marked {
    sinks: Vec<Place>,
    sources: Vec<Place>,
    steps: BTreeSet<Place>,
}

/// The expectations of one group (a directory of the corpus, analysed as one program).
#[derive(Default)]
struct Expectations {
    /// (sink file, 1-based line, CWE) → how many findings (one, unless a line repeats a CWE).
    sinks: BTreeMap<(String, usize, u32), usize>,
    /// (sink file, 1-based line, CWE) → the label of its path.
    /// The labels of each (sink line, CWE): several when several paths reach one sink.
    labels: BTreeMap<(String, usize, u32), Vec<Label>>,
    paths: BTreeMap<Label, Marked>,
    ok: BTreeSet<Place>,
    /// (the file a problem is reported for, the problem).
    errors: Vec<(String, String)>,
}

/// A label as written in `file`: `a`, or `a@other.py` (relative to the directory of `file`) for a
/// path whose sink is in another file.
fn label(file: &str, written: &str) -> Label {
    match written.split_once('@') {
        None => (file.to_string(), written.to_string()),
        Some((label, other)) => {
            // `../other.py` climbs out of the marker's directory.
            let mut parts: Vec<&str> = file.split('/').collect();
            parts.pop();
            for part in other.split('/') {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    part => parts.push(part),
                }
            }
            (parts.join("/"), label.to_string())
        }
    }
}

fn expectations(group: &str) -> Expectations {
    let mut files = Vec::new();
    python_files(&corpus(), &corpus().join(group), &mut files);
    files.sort();
    expectations_of(files.into_iter().map(|file| {
        let text = std::fs::read_to_string(corpus().join(&file)).unwrap();
        (file, text)
    }))
}

/// The expectations of some files: (path, text).
fn expectations_of(files: impl IntoIterator<Item = (String, String)>) -> Expectations {
    let mut found = Expectations::default();
    for (file, text) in files {
        let file = &file;
        for (number, line) in text.lines().enumerate() {
            let here = (file.clone(), number + 1);
            match markers(line) {
                Err(problem) => found.errors.push((file.clone(), format!("{}: {problem}: {}", place(&here), line.trim()))),
                Ok(list) => {
                    for marker in list {
                        match marker {
                            Marker::Sink(name, list) => {
                                let key = (file.clone(), name);
                                found.paths.entry(key.clone()).or_default().sinks.push(here.clone());
                                for cwe in list {
                                    *found.sinks.entry((file.clone(), number + 1, cwe)).or_default() += 1;
                                    found.labels.entry((file.clone(), number + 1, cwe)).or_default().push(key.clone());
                                }
                            }
                            Marker::Source(names) => {
                                for name in names {
                                    found.paths.entry(label(file, &name)).or_default().sources.push(here.clone());
                                }
                            }
                            Marker::Step(names) => {
                                for name in names {
                                    found.paths.entry(label(file, &name)).or_default().steps.insert(here.clone());
                                }
                            }
                            Marker::Ok => {
                                found.ok.insert(here.clone());
                            }
                        }
                    }
                }
            }
        }
    }
    for ((file, name), marked) in &found.paths {
        if marked.sinks.is_empty() {
            for marker in marked.sources.iter().chain(&marked.steps) {
                found.errors.push((marker.0.clone(), format!("{}: no `sink[{name}]` in {file}", place(marker))));
            }
        } else if marked.sources.len() != 1 {
            let sinks: Vec<String> = marked.sinks.iter().map(place).collect();
            let sources: Vec<String> = marked.sources.iter().map(place).collect();
            found.errors.push((
                file.clone(),
                format!(
                    "{}: `sink[{name}]` needs exactly one `source[{name}]` line, found {}",
                    sinks.join(", "),
                    if sources.is_empty() { "none".to_string() } else { sources.join(", ") }
                ),
            ));
        }
    }
    found
}

/// The findings of every group, scanned once per test binary, by (sink file, 1-based line, CWE).
fn findings() -> &'static BTreeMap<(String, usize, u32), Vec<Finding>> {
    static FINDINGS: OnceLock<BTreeMap<(String, usize, u32), Vec<Finding>>> = OnceLock::new();
    FINDINGS.get_or_init(|| {
        // The corpus includes local sources (`stdlib/`): threat model `local` on.
        let rules = RuleSet::load_with_threat_models(&[], &[], &["remote".into(), "local".into()]).unwrap();
        let mut groups: Vec<PathBuf> = std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        groups.sort();
        let mut actual: BTreeMap<_, Vec<Finding>> = BTreeMap::new();
        for group in groups {
            let name = group.file_name().unwrap().to_string_lossy().into_owned();
            let result = scan_paths(std::slice::from_ref(&group), Some(&group), &rules).unwrap();
            // The non-taint checks have their own corpus (`check_fixtures.rs`).
            for mut finding in result.findings.into_iter().filter(|finding| rules.check(&finding.rule_id).is_none()) {
                for location in std::iter::once(&mut finding.source).chain(std::iter::once(&mut finding.sink)) {
                    location.path = format!("{name}/{}", location.path);
                }
                for step in &mut finding.steps {
                    step.location.path = format!("{name}/{}", step.location.path);
                }
                actual.entry((finding.sink.path.clone(), finding.sink.start_line + 1, finding.cwe)).or_default().push(finding);
            }
        }
        actual
    })
}

/// A finding's source line, the lines its steps visit other than its source's and its sink's, and
/// how many steps its trace left out (a trace longer than the engine keeps has one `elided` step).
fn path_of(finding: &Finding) -> (Place, BTreeSet<Place>, usize) {
    let source = (finding.source.path.clone(), finding.source.start_line + 1);
    let sink = (finding.sink.path.clone(), finding.sink.start_line + 1);
    let steps = finding
        .steps
        .iter()
        .map(|step| (step.location.path.clone(), step.location.start_line + 1))
        .filter(|line| *line != source && *line != sink)
        .collect();
    let elided = finding
        .steps
        .iter()
        .filter(|step| step.kind == "elided")
        .filter_map(|step| step.description.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    (source, steps, elided)
}

/// How `finding`'s path differs from the markers of its label, one line per difference.
fn path_differences(marked: &Marked, finding: &Finding) -> Vec<String> {
    let (source, steps, elided) = path_of(finding);
    let mut differences = Vec::new();
    if source != marked.sources[0] {
        differences.push(format!("    source   expected {}, found {}", place(&marked.sources[0]), place(&source)));
    }
    let missing: Vec<&Place> = marked.steps.difference(&steps).collect();
    // Lines the trace left out (it says how many steps) are not missing.
    if missing.len() > elided {
        differences.extend(missing.iter().map(|line| format!("    step     missing  {}", place(line))));
    }
    differences.extend(steps.difference(&marked.steps).map(|line| format!("    step     extra    {}", place(line))));
    differences
}

fn describe(finding: &Finding) -> String {
    let (source, steps, _) = path_of(finding);
    let steps: String = steps.iter().map(|line| format!(", step {}", place(line))).collect();
    format!(" (source {}{steps})", place(&source))
}

fn check(relative: &str) {
    let expected = expectations(relative.split('/').next().unwrap());
    let mut problems: Vec<String> =
        expected.errors.iter().filter(|(file, _)| file == relative).map(|(_, problem)| problem.clone()).collect();
    let actual: BTreeMap<&(String, usize, u32), &Vec<Finding>> = findings().iter().filter(|((path, _, _), _)| path == relative).collect();
    for (key, findings) in &actual {
        let Some(labels) = expected.labels.get(*key) else { continue };
        for finding in findings.iter() {
            // The label whose source is the finding's, else the first.
            let source = path_of(finding).0;
            let Some(label) =
                labels.iter().find(|label| expected.paths[*label].sources.first() == Some(&source)).or_else(|| labels.first())
            else {
                continue;
            };
            let marked = &expected.paths[label];
            if marked.sources.len() != 1 {
                continue;
            }
            let differences = path_differences(marked, finding);
            if !differences.is_empty() {
                problems.push(format!(
                    "path       {}:{} CWE-{} [{}] differs from its markers:\n{}",
                    key.0,
                    key.1,
                    key.2,
                    label.1,
                    differences.join("\n")
                ));
            }
        }
    }
    let keys: BTreeSet<&(String, usize, u32)> =
        expected.sinks.keys().filter(|(path, _, _)| path == relative).chain(actual.keys().copied()).collect();
    for key in keys {
        let (wanted, found) = (expected.sinks.get(key).copied().unwrap_or(0), actual.get(key).map_or(0, |f| f.len()));
        let (path, line, cwe) = key;
        if wanted > found {
            problems.push(format!("missed     {path}:{line} CWE-{cwe}"));
        } else if found > wanted {
            let kind = if expected.ok.contains(&(path.clone(), *line)) {
                "ok-line"
            } else if wanted == 0 {
                "unexpected"
            } else {
                "repeated"
            };
            problems.push(format!("{kind:10} {path}:{line} CWE-{cwe}{}", describe(&actual[key][0])));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Every `.py` file and template file (`{# sink[a]: CWE-79 #}` on a template's output line)
/// under `directory`, relative to `root`.
fn python_files(root: &Path, directory: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            python_files(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "py") || flowsight_engine::templates::is_template_path(&path) {
            files.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_fixture_file_has_a_test() {
    let mut files = Vec::new();
    python_files(&corpus(), &corpus(), &mut files);
    let listed: BTreeSet<&str> = FIXTURES.iter().copied().collect();
    let missing: Vec<String> = files
        .iter()
        .filter(|file| !listed.contains(file.as_str()))
        .map(|file| {
            format!(
                "    {} => \"{file}\",",
                file.trim_end_matches(".py")
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join("_")
            )
        })
        .collect();
    assert!(missing.is_empty(), "add to `fixtures!` in tests/taint_fixtures.rs:\n{}", missing.join("\n"));
    let gone: Vec<&&str> = FIXTURES.iter().filter(|path| !files.iter().any(|file| file == *path)).collect();
    assert!(gone.is_empty(), "listed but not in the corpus: {gone:?}");
}

#[test]
fn every_finding_is_in_a_listed_file() {
    let stray: Vec<&(String, usize, u32)> = findings().keys().filter(|(path, _, _)| !FIXTURES.contains(&path.as_str())).collect();
    assert!(stray.is_empty(), "{stray:?}");
}

fixtures! {
    aiohttp_tornado_aiohttp_handlers => "aiohttp_tornado/aiohttp_handlers.py",
    aiohttp_tornado_tornado_handlers => "aiohttp_tornado/tornado_handlers.py",
    aiohttp_tornado_tornado_httpclient => "aiohttp_tornado/tornado_httpclient.py",
    aiohttp_tornado_tornado_xss => "aiohttp_tornado/tornado_xss.py",
    crossfile_pkg_alias_init => "crossfile/pkg_alias/__init__.py",
    crossfile_pkg_alias_app => "crossfile/pkg_alias/app.py",
    crossfile_pkg_alias_exec_utils => "crossfile/pkg_alias/exec_utils.py",
    crossfile_pkg_mixin_init => "crossfile/pkg_mixin/__init__.py",
    crossfile_pkg_mixin_audit => "crossfile/pkg_mixin/audit.py",
    crossfile_pkg_mixin_store => "crossfile/pkg_mixin/store.py",
    crossfile_pkg_mixin_models => "crossfile/pkg_mixin/models.py",
    crossfile_pkg_mixin_views => "crossfile/pkg_mixin/views.py",
    crossfile_pkg_storage_init => "crossfile/pkg_storage/__init__.py",
    crossfile_pkg_storage_storage => "crossfile/pkg_storage/storage.py",
    crossfile_pkg_storage_mock => "crossfile/pkg_storage/mock.py",
    crossfile_pkg_storage_views => "crossfile/pkg_storage/views.py",
    crossfile_pkg_storage_urls => "crossfile/pkg_storage/urls.py",
    crossfile_pkg_path_init => "crossfile/pkg_path/__init__.py",
    crossfile_pkg_path_api => "crossfile/pkg_path/api.py",
    crossfile_pkg_path_storage => "crossfile/pkg_path/storage.py",
    crossfile_pkg_reexport_init => "crossfile/pkg_reexport/__init__.py",
    crossfile_pkg_reexport_tools_init => "crossfile/pkg_reexport/tools/__init__.py",
    crossfile_pkg_reexport_tools_runner => "crossfile/pkg_reexport/tools/runner.py",
    crossfile_pkg_reexport_tools_shell => "crossfile/pkg_reexport/tools/shell.py",
    crossfile_pkg_reexport_views => "crossfile/pkg_reexport/views.py",
    crossfile_pkg_schemas_init => "crossfile/pkg_schemas/__init__.py",
    crossfile_pkg_schemas_api => "crossfile/pkg_schemas/api.py",
    crossfile_pkg_schemas_schemas_init => "crossfile/pkg_schemas/schemas/__init__.py",
    crossfile_pkg_schemas_schemas_search => "crossfile/pkg_schemas/schemas/search.py",
    crossfile_pkg_shell_init => "crossfile/pkg_shell/__init__.py",
    crossfile_pkg_shell_handlers => "crossfile/pkg_shell/handlers.py",
    crossfile_pkg_shell_tools => "crossfile/pkg_shell/tools.py",
    crossfile_pkg_source_init => "crossfile/pkg_source/__init__.py",
    crossfile_pkg_source_context => "crossfile/pkg_source/context.py",
    crossfile_pkg_source_views => "crossfile/pkg_source/views.py",
    crossfile_pkg_sql_init => "crossfile/pkg_sql/__init__.py",
    crossfile_pkg_sql_db => "crossfile/pkg_sql/db.py",
    crossfile_pkg_sql_views => "crossfile/pkg_sql/views.py",
    django_class_based_view => "django/class_based_view.py",
    django_compile => "django/compile.py",
    django_eval => "django/eval.py",
    django_exec => "django/exec.py",
    django_file_response => "django/file_response.py",
    django_getattr => "django/getattr.py",
    django_httpx_get => "django/httpx_get.py",
    django_import_module => "django/import_module.py",
    django_jinja_from_string => "django/jinja_from_string.py",
    django_jinja_template => "django/jinja_template.py",
    django_jsonpickle => "django/jsonpickle.py",
    django_ldap3_search => "django/ldap3_search.py",
    django_ldap_search => "django/ldap_search.py",
    django_log_injection => "django/log_injection.py",
    django_lxml_fromstring => "django/lxml_fromstring.py",
    django_markup => "django/markup.py",
    django_marshal_loads => "django/marshal_loads.py",
    django_models => "django/models.py",
    django_nosql_where => "django/nosql_where.py",
    django_middleware => "django/middleware.py",
    django_open_path => "django/open_path.py",
    django_os_exec => "django/os_exec.py",
    django_os_popen => "django/os_popen.py",
    django_os_remove => "django/os_remove.py",
    django_orm_lookups => "django/orm_lookups.py",
    django_os_system => "django/os_system.py",
    django_pandas_read_sql => "django/pandas_read_sql.py",
    django_pathlib_path => "django/pathlib_path.py",
    django_pickle_loads => "django/pickle_loads.py",
    django_psycopg2_format => "django/psycopg2_format.py",
    django_raw_queries => "django/raw_queries.py",
    django_redirects => "django/redirects.py",
    django_requests_get => "django/requests_get.py",
    django_requests_session => "django/requests_session.py",
    django_rest_framework_view => "django/rest_framework_view.py",
    django_session_and_headers => "django/session_and_headers.py",
    django_shell_argv => "django/shell_argv.py",
    django_shutil_copy => "django/shutil_copy.py",
    django_sqlalchemy_text => "django/sqlalchemy_text.py",
    django_storage_paths => "django/storage_paths.py",
    django_sqlite_concat => "django/sqlite_concat.py",
    django_sqlite_fstring => "django/sqlite_fstring.py",
    django_sqlite_script => "django/sqlite_script.py",
    django_subprocess_argv => "django/subprocess_argv.py",
    django_subprocess_check_output => "django/subprocess_check_output.py",
    django_subprocess_shell => "django/subprocess_shell.py",
    django_tar_extract => "django/tar_extract.py",
    django_template_injection => "django/template_injection.py",
    django_urlopen => "django/urlopen.py",
    django_xpath => "django/xpath.py",
    django_xss_httpresponse => "django/xss_httpresponse.py",
    django_yaml_load => "django/yaml_load.py",
    fastapi_compile => "fastapi/compile.py",
    fastapi_eval => "fastapi/eval.py",
    fastapi_exec => "fastapi/exec.py",
    fastapi_getattr => "fastapi/getattr.py",
    fastapi_html_response => "fastapi/html_response.py",
    fastapi_httpx_get => "fastapi/httpx_get.py",
    fastapi_import_module => "fastapi/import_module.py",
    fastapi_jinja_from_string => "fastapi/jinja_from_string.py",
    fastapi_jinja_template => "fastapi/jinja_template.py",
    fastapi_jsonpickle => "fastapi/jsonpickle.py",
    fastapi_ldap3_search => "fastapi/ldap3_search.py",
    fastapi_ldap_search => "fastapi/ldap_search.py",
    fastapi_log_injection => "fastapi/log_injection.py",
    fastapi_lxml_fromstring => "fastapi/lxml_fromstring.py",
    fastapi_markup => "fastapi/markup.py",
    fastapi_marshal_loads => "fastapi/marshal_loads.py",
    fastapi_nosql_where => "fastapi/nosql_where.py",
    fastapi_open_path => "fastapi/open_path.py",
    fastapi_os_exec => "fastapi/os_exec.py",
    fastapi_os_popen => "fastapi/os_popen.py",
    fastapi_os_remove => "fastapi/os_remove.py",
    fastapi_os_system => "fastapi/os_system.py",
    fastapi_pandas_read_sql => "fastapi/pandas_read_sql.py",
    fastapi_pathlib_path => "fastapi/pathlib_path.py",
    fastapi_pickle_loads => "fastapi/pickle_loads.py",
    fastapi_psycopg2_format => "fastapi/psycopg2_format.py",
    fastapi_pydantic_body => "fastapi/pydantic_body.py",
    fastapi_request_object => "fastapi/request_object.py",
    fastapi_requests_get => "fastapi/requests_get.py",
    fastapi_requests_session => "fastapi/requests_session.py",
    fastapi_shell_argv => "fastapi/shell_argv.py",
    fastapi_shutil_copy => "fastapi/shutil_copy.py",
    fastapi_sqlalchemy_text => "fastapi/sqlalchemy_text.py",
    fastapi_sqlite_concat => "fastapi/sqlite_concat.py",
    fastapi_sqlite_fstring => "fastapi/sqlite_fstring.py",
    fastapi_sqlite_script => "fastapi/sqlite_script.py",
    fastapi_subprocess_argv => "fastapi/subprocess_argv.py",
    fastapi_subprocess_check_output => "fastapi/subprocess_check_output.py",
    fastapi_subprocess_shell => "fastapi/subprocess_shell.py",
    fastapi_tar_extract => "fastapi/tar_extract.py",
    fastapi_typed_parameters => "fastapi/typed_parameters.py",
    fastapi_urlopen => "fastapi/urlopen.py",
    fastapi_xpath => "fastapi/xpath.py",
    fastapi_yaml_load => "fastapi/yaml_load.py",
    frameworks_aiohttp_app => "frameworks/aiohttp_app.py",
    frameworks_aiohttp_middlewares => "frameworks/aiohttp_middlewares.py",
    frameworks_bottle_app => "frameworks/bottle_app.py",
    frameworks_connexion_api_app => "frameworks/connexion_api/app.py",
    frameworks_connexion_api_pets => "frameworks/connexion_api/pets.py",
    frameworks_django_site_urls => "frameworks/django_site/urls.py",
    frameworks_django_site_views => "frameworks/django_site/views.py",
    frameworks_falcon_app => "frameworks/falcon_app.py",
    frameworks_falcon_html => "frameworks/falcon_html.py",
    frameworks_fastapi_app => "frameworks/fastapi_app.py",
    frameworks_flask_app => "frameworks/flask_app.py",
    frameworks_graphql_resolvers => "frameworks/graphql_resolvers.py",
    frameworks_http_server_app => "frameworks/http_server_app.py",
    frameworks_http_server_headers => "frameworks/http_server_headers.py",
    frameworks_pyramid_app => "frameworks/pyramid_app.py",
    frameworks_quart_app => "frameworks/quart_app.py",
    frameworks_starlette_app => "frameworks/starlette_app.py",
    frameworks_tornado_app => "frameworks/tornado_app.py",
    frameworks_wsgi_app => "frameworks/wsgi_app.py",
    flask_compile => "flask/compile.py",
    flask_eval => "flask/eval.py",
    flask_exec => "flask/exec.py",
    flask_js2py_eval => "flask/js2py_eval.py",
    flask_getattr => "flask/getattr.py",
    flask_header_injection => "flask/header_injection.py",
    flask_httpx_get => "flask/httpx_get.py",
    flask_import_module => "flask/import_module.py",
    flask_jinja_from_string => "flask/jinja_from_string.py",
    flask_jinja_template => "flask/jinja_template.py",
    flask_jsonpickle => "flask/jsonpickle.py",
    flask_ldap3_search => "flask/ldap3_search.py",
    flask_ldap_search => "flask/ldap_search.py",
    flask_log_injection => "flask/log_injection.py",
    flask_lxml_fromstring => "flask/lxml_fromstring.py",
    flask_make_response => "flask/make_response.py",
    flask_markup => "flask/markup.py",
    flask_called_value => "flask/called_value.py",
    flask_templates_called_html => "flask/templates/called.html",
    flask_marshal_loads => "flask/marshal_loads.py",
    flask_nosql_where => "flask/nosql_where.py",
    flask_open_path => "flask/open_path.py",
    flask_os_exec => "flask/os_exec.py",
    flask_os_popen => "flask/os_popen.py",
    flask_os_remove => "flask/os_remove.py",
    flask_os_system => "flask/os_system.py",
    flask_pandas_read_sql => "flask/pandas_read_sql.py",
    flask_pathlib_path => "flask/pathlib_path.py",
    flask_pickle_loads => "flask/pickle_loads.py",
    flask_psycopg2_format => "flask/psycopg2_format.py",
    flask_redirect => "flask/redirect.py",
    flask_render_template_string => "flask/render_template_string.py",
    flask_request_files => "flask/request_files.py",
    flask_requests_get => "flask/requests_get.py",
    flask_requests_session => "flask/requests_session.py",
    flask_route_parameters => "flask/route_parameters.py",
    flask_send_file => "flask/send_file.py",
    flask_session_source => "flask/session_source.py",
    flask_session_trust_boundary => "flask/session_trust_boundary.py",
    flask_shell_argv => "flask/shell_argv.py",
    flask_shutil_copy => "flask/shutil_copy.py",
    flask_sqlalchemy_text => "flask/sqlalchemy_text.py",
    flask_sqlite_concat => "flask/sqlite_concat.py",
    flask_sqlite_fstring => "flask/sqlite_fstring.py",
    flask_sqlite_script => "flask/sqlite_script.py",
    flask_subprocess_argv => "flask/subprocess_argv.py",
    flask_subprocess_check_output => "flask/subprocess_check_output.py",
    flask_subprocess_shell => "flask/subprocess_shell.py",
    flask_tar_extract => "flask/tar_extract.py",
    flask_urlopen => "flask/urlopen.py",
    flask_xpath => "flask/xpath.py",
    flask_xss_view_return => "flask/xss_view_return.py",
    flask_yaml_load => "flask/yaml_load.py",
    interprocedural_helper_reached_from_two_routes => "interprocedural/helper_reached_from_two_routes.py",
    interprocedural_classmethod_and_static => "interprocedural/classmethod_and_static.py",
    interprocedural_library_db => "interprocedural/library_db.py",
    interprocedural_library_state => "interprocedural/library_state.py",
    interprocedural_library_views => "interprocedural/library_views.py",
    interprocedural_module_level_instance => "interprocedural/module_level_instance.py",
    interprocedural_module_level_class_choice => "interprocedural/module_level_class_choice.py",
    interprocedural_response_types => "interprocedural/response_types.py",
    interprocedural_imported_content_types => "interprocedural/imported_content_types.py",
    interprocedural_local_imported_constants => "interprocedural/local_imported_constants.py",
    interprocedural_module_instance_method_store => "interprocedural/module_instance_method_store.py",
    interprocedural_method_resolution_order => "interprocedural/method_resolution_order.py",
    interprocedural_method_through_class => "interprocedural/method_through_class.py",
    interprocedural_class_in_local => "interprocedural/class_in_local.py",
    interprocedural_class_attributes => "interprocedural/class_attributes.py",
    interprocedural_instance_of_either_class => "interprocedural/instance_of_either_class.py",
    interprocedural_closures_and_module_state => "interprocedural/closures_and_module_state.py",
    interprocedural_cooperative_super => "interprocedural/cooperative_super.py",
    interprocedural_constructor => "interprocedural/constructor.py",
    interprocedural_deep_call_chain => "interprocedural/deep_call_chain.py",
    interprocedural_helper_returns_source => "interprocedural/helper_returns_source.py",
    interprocedural_helper_sanitizes => "interprocedural/helper_sanitizes.py",
    interprocedural_helper_sink => "interprocedural/helper_sink.py",
    interprocedural_keyword_arguments => "interprocedural/keyword_arguments.py",
    interprocedural_keyword_only_parameters => "interprocedural/keyword_only_parameters.py",
    interprocedural_spread_and_variadic_arguments => "interprocedural/spread_and_variadic_arguments.py",
    interprocedural_methods_on_self => "interprocedural/methods_on_self.py",
    interprocedural_mutual_recursion => "interprocedural/mutual_recursion.py",
    interprocedural_named_lookups => "interprocedural/named_lookups.py",
    interprocedural_callbacks => "interprocedural/callbacks.py",
    interprocedural_lambdas => "interprocedural/lambdas.py",
    interprocedural_local_dispatch_table => "interprocedural/local_dispatch_table.py",
    interprocedural_module_dispatch_table_changed => "interprocedural/module_dispatch_table_changed.py",
    interprocedural_nested_functions => "interprocedural/nested_functions.py",
    interprocedural_python_flows => "interprocedural/python_flows.py",
    interprocedural_recursion => "interprocedural/recursion.py",
    interprocedural_returned_function => "interprocedural/returned_function.py",
    interprocedural_subclass_override => "interprocedural/subclass_override.py",
    interprocedural_super_calls => "interprocedural/super_calls.py",
    interprocedural_super_in_nested_function => "interprocedural/super_in_nested_function.py",
    interprocedural_two_levels => "interprocedural/two_levels.py",
    precision_aliases => "precision/aliases.py",
    precision_bound_later_in_a_loop => "precision/bound_later_in_a_loop.py",
    precision_comparison_guards => "precision/comparison_guards.py",
    precision_comprehensions => "precision/comprehensions.py",
    precision_constant_tables => "precision/constant_tables.py",
    precision_constant_overwrite => "precision/constant_overwrite.py",
    precision_constructed_instances => "precision/constructed_instances.py",
    precision_response_content_type => "precision/response_content_type.py",
    precision_response_headers_content_type => "precision/response_headers_content_type.py",
    precision_response_headers_variable => "precision/response_headers_variable.py",
    precision_conditional_content_types => "precision/conditional_content_types.py",
    precision_containers_and_dispatch => "precision/containers_and_dispatch.py",
    precision_dead_branches => "precision/dead_branches.py",
    precision_dict_get_keys => "precision/dict_get_keys.py",
    precision_dict_keys => "precision/dict_keys.py",
    precision_early_exit_guards => "precision/early_exit_guards.py",
    precision_exceptions => "precision/exceptions.py",
    precision_field_sensitivity => "precision/field_sensitivity.py",
    precision_orm_lookups => "precision/orm_lookups.py",
    precision_helper_guards => "precision/helper_guards.py",
    precision_shadowed_guard_helpers => "precision/shadowed_guard_helpers.py",
    precision_overridden_guard_helpers => "precision/overridden_guard_helpers.py",
    precision_shadowed_constants => "precision/shadowed_constants.py",
    precision_shadowed_module_constants => "precision/shadowed_module_constants.py",
    precision_list_indexes => "precision/list_indexes.py",
    precision_no_return_guards => "precision/no_return_guards.py",
    precision_loops_and_augmented => "precision/loops_and_augmented.py",
    precision_path_guards => "precision/path_guards.py",
    precision_process_handles => "precision/process_handles.py",
    precision_reassigned_sources => "precision/reassigned_sources.py",
    precision_regex_guards => "precision/regex_guards.py",
    precision_string_building => "precision/string_building.py",
    precision_suppression => "precision/suppression.py",
    precision_ternary => "precision/ternary.py",
    precision_type_conversions => "precision/type_conversions.py",
    precision_library_module_state => "precision/library_module_state.py",
    precision_mapping_lookups => "precision/mapping_lookups.py",
    precision_typed_mutators => "precision/typed_mutators.py",
    receivers_chained => "receivers/chained.py",
    receivers_module_attribute_types => "receivers/module_attribute_types.py",
    receivers_passed_on => "receivers/passed_on.py",
    receivers_sql_method_names => "receivers/sql_method_names.py",
    receivers_store => "receivers/store.py",
    receivers_stores => "receivers/stores.py",
    receivers_views => "receivers/views.py",
    precision_wrong_kind_sanitizers => "precision/wrong_kind_sanitizers.py",
    roots_lib_reports_init => "roots/lib/reports/__init__.py",
    roots_lib_reports_render => "roots/lib/reports/render.py",
    roots_plugins_hooks => "roots/plugins/hooks.py",
    roots_plugins_runner => "roots/plugins/runner.py",
    roots_scripts_helpers => "roots/scripts/helpers.py",
    roots_scripts_serve => "roots/scripts/serve.py",
    roots_src_shop_init => "roots/src/shop/__init__.py",
    roots_src_shop_db => "roots/src/shop/db.py",
    roots_src_shop_views => "roots/src/shop/views.py",
    roots_tools_main => "roots/tools/main.py",
    roots_vendor_shellutil => "roots/vendor/shellutil.py",
    sanitizers_bleach_clean => "sanitizers/bleach_clean.py",
    sanitizers_defusedxml => "sanitizers/defusedxml.py",
    sanitizers_escape_filter_chars => "sanitizers/escape_filter_chars.py",
    sanitizers_float_conversion => "sanitizers/float_conversion.py",
    sanitizers_format_html => "sanitizers/format_html.py",
    sanitizers_html_escape => "sanitizers/html_escape.py",
    sanitizers_int_conversion => "sanitizers/int_conversion.py",
    sanitizers_markupsafe_escape => "sanitizers/markupsafe_escape.py",
    sanitizers_psycopg2_literal => "sanitizers/psycopg2_literal.py",
    sanitizers_quote_not_for_sql => "sanitizers/quote_not_for_sql.py",
    sanitizers_re_escape_not_for_xss => "sanitizers/re_escape_not_for_xss.py",
    sanitizers_secure_filename => "sanitizers/secure_filename.py",
    sanitizers_shlex_join => "sanitizers/shlex_join.py",
    sanitizers_shlex_quote => "sanitizers/shlex_quote.py",
    sanitizers_uuid_conversion => "sanitizers/uuid_conversion.py",
    shadowed_filters_app => "shadowed_filters/app.py",
    shadowed_filters_templates_status_html => "shadowed_filters/templates/status.html",
    stdlib_exec => "stdlib/exec.py",
    stdlib_import_module => "stdlib/import_module.py",
    stdlib_jinja_template => "stdlib/jinja_template.py",
    stdlib_ldap3_search => "stdlib/ldap3_search.py",
    stdlib_log_injection => "stdlib/log_injection.py",
    stdlib_lxml_fromstring => "stdlib/lxml_fromstring.py",
    stdlib_marshal_loads => "stdlib/marshal_loads.py",
    stdlib_open_path => "stdlib/open_path.py",
    stdlib_os_system => "stdlib/os_system.py",
    stdlib_pathlib_joins => "stdlib/pathlib_joins.py",
    stdlib_pathlib_path => "stdlib/pathlib_path.py",
    stdlib_pickle_loads => "stdlib/pickle_loads.py",
    stdlib_requests_get => "stdlib/requests_get.py",
    stdlib_shell_argv => "stdlib/shell_argv.py",
    stdlib_sqlalchemy_text => "stdlib/sqlalchemy_text.py",
    stdlib_sqlite_concat => "stdlib/sqlite_concat.py",
    stdlib_sqlite_script => "stdlib/sqlite_script.py",
    stdlib_subprocess_argv => "stdlib/subprocess_argv.py",
    stdlib_subprocess_shell => "stdlib/subprocess_shell.py",
    stdlib_tar_extract => "stdlib/tar_extract.py",
    stdlib_urlopen => "stdlib/urlopen.py",
    dispatch_actions => "dispatch/actions.py",
    dispatch_views => "dispatch/views.py",
    syntax_async_code => "syntax/async_code.py",
    syntax_decorators_and_lambdas => "syntax/decorators_and_lambdas.py",
    syntax_match_statement => "syntax/match_statement.py",
    syntax_pep701_fstrings => "syntax/pep701_fstrings.py",
    syntax_type_statements => "syntax/type_statements.py",
    syntax_walrus_and_comprehensions => "syntax/walrus_and_comprehensions.py",
    templates_gallery_app => "templates/gallery/app.py",
    templates_gallery_templates_gallery_base_html => "templates/gallery/templates/gallery/base.html",
    templates_gallery_templates_gallery_caption_html => "templates/gallery/templates/gallery/caption.html",
    templates_gallery_templates_gallery_legacy_html => "templates/gallery/templates/gallery/legacy.html",
    templates_gallery_templates_gallery_profile_html => "templates/gallery/templates/gallery/profile.html",
    templates_blog_templates_blog_comment_html => "templates/blog/templates/blog/comment.html",
    templates_blog_templates_blog_post_html => "templates/blog/templates/blog/post.html",
    templates_blog_templates_blog_preview_html => "templates/blog/templates/blog/preview.html",
    templates_blog_views => "templates/blog/views.py",
    templates_feeds_app => "templates/feeds/app.py",
    templates_feeds_templates_feeds_book_txt => "templates/feeds/templates/feeds/book.txt",
    templates_feeds_templates_feeds_page_html => "templates/feeds/templates/feeds/page.html",
    templates_forms_app => "templates/forms/app.py",
    templates_forms_templates_forms_banner_html => "templates/forms/templates/forms/banner.html",
    templates_forms_templates_forms_edit_html => "templates/forms/templates/forms/edit.html",
    templates_forms_templates_forms_helpers_jinja => "templates/forms/templates/forms/_helpers.jinja",
    templates_forms_templates_forms_note_html => "templates/forms/templates/forms/note.html",
    templates_forms_templates_forms_status_html => "templates/forms/templates/forms/status.html",
    templates_notes_app => "templates/notes/app.py",
    templates_notes_views_hello_tpl => "templates/notes/views/hello.tpl",
    templates_notes_views_legacy_html => "templates/notes/views/legacy.html",
    templates_notes_views_layout_tpl => "templates/notes/views/layout.tpl",
    templates_notes_views_list_tpl => "templates/notes/views/list.tpl",
    templates_notes_views_note_tpl => "templates/notes/views/note.tpl",
    templates_wiki_templates_diff_jinja2 => "templates/wiki/templates/diff.jinja2",
    templates_wiki_templates_history_jinja2 => "templates/wiki/templates/history.jinja2",
    templates_wiki_templates_page_jinja2 => "templates/wiki/templates/page.jinja2",
    templates_wiki_views => "templates/wiki/views.py",
    templates_portal_app => "templates/portal/app.py",
    templates_portal_templates_portal_badges_html => "templates/portal/templates/portal/badges.html",
    templates_portal_templates_portal_card_html => "templates/portal/templates/portal/card.html",
    templates_portal_templates_portal_card_body_html => "templates/portal/templates/portal/card_body.html",
    templates_portal_templates_portal_layout_html => "templates/portal/templates/portal/layout.html",
    templates_portal_templates_portal_macros_html => "templates/portal/templates/portal/macros.html",
    templates_portal_templates_portal_note_html => "templates/portal/templates/portal/note.html",
    templates_portal_templates_portal_page_html => "templates/portal/templates/portal/page.html",
    templates_portal_templates_portal_plain_badges_html => "templates/portal/templates/portal/plain_badges.html",
    templates_portal_templates_portal_profile_html => "templates/portal/templates/portal/profile.html",
    templates_portal_views => "templates/portal/views.py",
    templates_reports_layouts_report_html => "templates/reports/layouts/report.html",
    templates_reports_render => "templates/reports/render.py",
    templates_school_app => "templates/school/app.py",
    templates_school_templates_school_greet_html => "templates/school/templates/school/greet.html",
    templates_school_templates_school_profile_html => "templates/school/templates/school/profile.html",
    templates_shop_app => "templates/shop/app.py",
    templates_shop_templates_base_html => "templates/shop/templates/base.html",
    templates_shop_templates_mail_txt => "templates/shop/templates/mail.txt",
    templates_shop_templates_shop_bio_html => "templates/shop/templates/shop/bio.html",
    templates_shop_templates_shop_greeting_html => "templates/shop/templates/shop/greeting.html",
    templates_shop_templates_shop_product_html => "templates/shop/templates/shop/product.html",
    templates_shop_templates_shop_row_html => "templates/shop/templates/shop/row.html",
    falcon_options_app => "falcon_options/app.py",
    falcon_pages_app => "falcon_pages/app.py",
    falcon_pages_resources => "falcon_pages/resources.py",
    tornado_pages_app => "tornado_pages/app.py",
    tornado_jinja_app => "tornado_jinja/app.py",
    tornado_jinja_handlers => "tornado_jinja/handlers.py",
    tornado_jinja_templates_legacy_html => "tornado_jinja/templates/legacy.html",
    tornado_jinja_templates_note_html => "tornado_jinja/templates/note.html",
    tornado_jinja_templates_profile_html => "tornado_jinja/templates/profile.html",
    tornado_jinja_templates_snippet_html => "tornado_jinja/templates/snippet.html",
    tornado_pages_templates_welcome_html => "tornado_pages/templates/welcome.html",
    wrappers_context => "wrappers/context.py",
    wrappers_handlers => "wrappers/handlers.py",
    wrappers_payloads => "wrappers/payloads.py",
    wrappers_registry => "wrappers/registry.py",
    wrappers_request_forms => "wrappers/request_forms.py",
    wrappers_stateful => "wrappers/stateful.py",
    wrappers_views => "wrappers/views.py",
}

#[test]
fn markers_of_a_line() {
    assert_eq!(markers("x = 1"), Ok(vec![]));
    assert_eq!(
        markers("os.system(request.args['c'])  # source[a, b@other.py] step[c] sink[a]: CWE-78, CWE-88"),
        Ok(vec![
            Marker::Source(vec!["a".into(), "b@other.py".into()]),
            Marker::Step(vec!["c".into()]),
            Marker::Sink("a".into(), vec![78, 88]),
        ])
    );
    assert_eq!(markers("os.system('uptime')  # flowsight: ignore  # ok"), Ok(vec![Marker::Ok]));
    assert_eq!(markers("x = token  # okay"), Ok(vec![]));
    assert_eq!(markers("<p>{{ name|safe }}</p> {# sink[a]: CWE-79 #}"), Ok(vec![Marker::Sink("a".into(), vec![79])]));
    assert_eq!(markers("<p>{{ name }}</p> {# ok #}"), Ok(vec![Marker::Ok]));
    assert_eq!(markers("resource[a] = 1"), Ok(vec![]));
    for old in ["eval(x)  # sink: CWE-95", "x = request.args  # source", "x = y  # step:", "eval(x)  # sink[a]", "f(x)  # step[]"] {
        assert!(markers(old).is_err(), "{old}");
    }
}

fn expected_of(text: &str) -> Expectations {
    expectations_of([("group/app.py".to_string(), text.to_string())])
}

#[test]
fn a_sink_needs_its_source_marked() {
    let problems: Vec<String> = expected_of("x = 1\nos.system(x)  # sink[a]: CWE-78\n").errors.into_iter().map(|(_, p)| p).collect();
    assert_eq!(problems, ["group/app.py:2: `sink[a]` needs exactly one `source[a]` line, found none"]);
    let problems: Vec<String> = expected_of("x = 1  # step[b]\n").errors.into_iter().map(|(_, p)| p).collect();
    assert_eq!(problems, ["group/app.py:1: no `sink[b]` in group/app.py"]);
    assert!(expected_of("x = s  # source[a]\nos.system(x)  # sink[a]: CWE-78\n").errors.is_empty());
}

#[test]
fn a_wrong_path_is_a_difference() {
    let expected = expected_of("x = s  # source[a]\ny = x  # step[a]\nos.system(y)  # sink[a]: CWE-78\n");
    let marked = &expected.paths[&("group/app.py".to_string(), "a".to_string())];
    let location = |line: usize| flowsight_engine::taint::Location {
        path: "group/app.py".into(),
        start_line: line - 1,
        start_column: 0,
        end_line: line - 1,
        end_column: 1,
    };
    let step = |line: usize, kind: &str, description: &str| flowsight_engine::taint::FindingStep {
        location: location(line),
        kind: kind.into(),
        description: description.into(),
    };
    let finding = |source: usize, steps: Vec<flowsight_engine::taint::FindingStep>| Finding {
        id: String::new(),
        rule_id: "command-injection".into(),
        rule_name: String::new(),
        cwe: 78,
        severity: "error".into(),
        message: String::new(),
        source: location(source),
        sink: location(3),
        steps,
        threat_model: Some("remote".into()),
    };
    let right = finding(1, vec![step(1, "source", ""), step(2, "assignment", ""), step(3, "sink", "")]);
    assert!(path_differences(marked, &right).is_empty());
    let wrong = finding(4, vec![step(4, "source", ""), step(5, "assignment", ""), step(3, "sink", "")]);
    assert_eq!(
        path_differences(marked, &wrong),
        [
            "    source   expected group/app.py:1, found group/app.py:4",
            "    step     missing  group/app.py:2",
            "    step     extra    group/app.py:5"
        ]
    );
    // An elided step stands for the steps it says it left out, no more.
    let elided = finding(1, vec![step(1, "source", ""), step(1, "elided", "1 steps not shown"), step(3, "sink", "")]);
    assert!(path_differences(marked, &elided).is_empty());
    let elided = finding(1, vec![step(1, "source", ""), step(1, "elided", "0 steps not shown"), step(3, "sink", "")]);
    assert_eq!(path_differences(marked, &elided), ["    step     missing  group/app.py:2"]);
}
