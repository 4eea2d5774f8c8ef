//! The labelled taint corpus (`tests/fixtures/taint`, shared with the Python tests; the format
//! is documented in `tests/taint_expectations.py`): every `# sink: CWE-N` line has a finding
//! with that CWE, and no other line has one.
//!
//! One test per fixture file, so one regression is one named failure. Each group (a directory
//! under the corpus) is scanned once, as one project; a file's test compares the findings whose
//! sink is in that file. `every_fixture_file_has_a_test` keeps the list below complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::scan_paths;

mod common;

/// (path relative to the corpus, 1-based line) → CWEs, sorted.
type Lines = BTreeMap<(String, usize), Vec<u32>>;

fn corpus() -> PathBuf {
    common::shared_tests_dir().join("fixtures/taint")
}

/// The expected CWEs of every marked line of one file.
fn expectations(relative: &str) -> Lines {
    let mut expected = BTreeMap::new();
    for (number, line) in std::fs::read_to_string(corpus().join(relative)).unwrap().lines().enumerate() {
        if let Some(position) = line.find("# sink:") {
            let mut cwes: Vec<u32> =
                line[position + 7..].split(',').filter_map(|item| item.trim().strip_prefix("CWE-").and_then(|n| n.parse().ok())).collect();
            cwes.sort_unstable();
            expected.insert((relative.to_string(), number + 1), cwes);
        }
    }
    expected
}

/// The findings of every group, scanned once per test binary.
fn findings() -> &'static Lines {
    static FINDINGS: OnceLock<Lines> = OnceLock::new();
    FINDINGS.get_or_init(|| {
        // The corpus includes local sources (`stdlib/`): threat model `local` on.
        let rules = RuleSet::load_with_threat_models(&[], &[], &["remote".into(), "local".into()]).unwrap();
        let mut groups: Vec<PathBuf> = std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        groups.sort();
        let mut actual = Lines::new();
        for group in groups {
            let name = group.file_name().unwrap().to_string_lossy().into_owned();
            let result = scan_paths(std::slice::from_ref(&group), Some(&group), &rules).unwrap();
            // The non-taint checks have their own corpus (`check_fixtures.rs`).
            for finding in result.findings.iter().filter(|finding| rules.check(&finding.rule_id).is_none()) {
                actual.entry((format!("{name}/{}", finding.sink.path), finding.sink.start_line + 1)).or_default().push(finding.cwe);
            }
        }
        for cwes in actual.values_mut() {
            cwes.sort_unstable();
        }
        actual
    })
}

fn check(relative: &str) {
    let expected = expectations(relative);
    let actual: Lines = findings().iter().filter(|((path, _), _)| path == relative).map(|(k, v)| (k.clone(), v.clone())).collect();
    let problems: Vec<String> = expected
        .keys()
        .chain(actual.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|key| expected.get(*key) != actual.get(*key))
        .map(|key| format!("{}:{} expected {:?}, found {:?}", key.0, key.1, expected.get(key), actual.get(key)))
        .collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Every `.py` file under `directory`, relative to `root`.
fn python_files(root: &Path, directory: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            python_files(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "py") {
            files.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

macro_rules! fixtures {
    ($($test:ident => $path:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($path);
            }
        )*

        const FIXTURES: &[&str] = &[$($path),*];
    };
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
    let stray: Vec<&(String, usize)> = findings().keys().filter(|(path, _)| !FIXTURES.contains(&path.as_str())).collect();
    assert!(stray.is_empty(), "{stray:?}");
}

fixtures! {
    aiohttp_tornado_aiohttp_handlers => "aiohttp_tornado/aiohttp_handlers.py",
    aiohttp_tornado_tornado_handlers => "aiohttp_tornado/tornado_handlers.py",
    crossfile_pkg_alias_init => "crossfile/pkg_alias/__init__.py",
    crossfile_pkg_alias_app => "crossfile/pkg_alias/app.py",
    crossfile_pkg_alias_exec_utils => "crossfile/pkg_alias/exec_utils.py",
    crossfile_pkg_path_init => "crossfile/pkg_path/__init__.py",
    crossfile_pkg_path_api => "crossfile/pkg_path/api.py",
    crossfile_pkg_path_storage => "crossfile/pkg_path/storage.py",
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
    django_open_path => "django/open_path.py",
    django_os_exec => "django/os_exec.py",
    django_os_popen => "django/os_popen.py",
    django_os_remove => "django/os_remove.py",
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
    flask_compile => "flask/compile.py",
    flask_eval => "flask/eval.py",
    flask_exec => "flask/exec.py",
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
    interprocedural_classmethod_and_static => "interprocedural/classmethod_and_static.py",
    interprocedural_closures_and_module_state => "interprocedural/closures_and_module_state.py",
    interprocedural_constructor => "interprocedural/constructor.py",
    interprocedural_deep_call_chain => "interprocedural/deep_call_chain.py",
    interprocedural_helper_returns_source => "interprocedural/helper_returns_source.py",
    interprocedural_helper_sanitizes => "interprocedural/helper_sanitizes.py",
    interprocedural_helper_sink => "interprocedural/helper_sink.py",
    interprocedural_keyword_arguments => "interprocedural/keyword_arguments.py",
    interprocedural_methods_on_self => "interprocedural/methods_on_self.py",
    interprocedural_mutual_recursion => "interprocedural/mutual_recursion.py",
    interprocedural_nested_functions => "interprocedural/nested_functions.py",
    interprocedural_python_flows => "interprocedural/python_flows.py",
    interprocedural_recursion => "interprocedural/recursion.py",
    interprocedural_returned_function => "interprocedural/returned_function.py",
    interprocedural_two_levels => "interprocedural/two_levels.py",
    precision_aliases => "precision/aliases.py",
    precision_comparison_guards => "precision/comparison_guards.py",
    precision_constant_overwrite => "precision/constant_overwrite.py",
    precision_containers_and_dispatch => "precision/containers_and_dispatch.py",
    precision_dead_branches => "precision/dead_branches.py",
    precision_dict_keys => "precision/dict_keys.py",
    precision_exceptions => "precision/exceptions.py",
    precision_helper_guards => "precision/helper_guards.py",
    precision_list_indexes => "precision/list_indexes.py",
    precision_loops_and_augmented => "precision/loops_and_augmented.py",
    precision_path_guards => "precision/path_guards.py",
    precision_reassigned_sources => "precision/reassigned_sources.py",
    precision_string_building => "precision/string_building.py",
    precision_suppression => "precision/suppression.py",
    precision_ternary => "precision/ternary.py",
    precision_type_conversions => "precision/type_conversions.py",
    precision_wrong_kind_sanitizers => "precision/wrong_kind_sanitizers.py",
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
    stdlib_exec => "stdlib/exec.py",
    stdlib_import_module => "stdlib/import_module.py",
    stdlib_jinja_template => "stdlib/jinja_template.py",
    stdlib_ldap3_search => "stdlib/ldap3_search.py",
    stdlib_log_injection => "stdlib/log_injection.py",
    stdlib_lxml_fromstring => "stdlib/lxml_fromstring.py",
    stdlib_marshal_loads => "stdlib/marshal_loads.py",
    stdlib_open_path => "stdlib/open_path.py",
    stdlib_os_system => "stdlib/os_system.py",
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
    syntax_async_code => "syntax/async_code.py",
    syntax_decorators_and_lambdas => "syntax/decorators_and_lambdas.py",
    syntax_match_statement => "syntax/match_statement.py",
    syntax_pep701_fstrings => "syntax/pep701_fstrings.py",
    syntax_type_statements => "syntax/type_statements.py",
    syntax_walrus_and_comprehensions => "syntax/walrus_and_comprehensions.py",
}
