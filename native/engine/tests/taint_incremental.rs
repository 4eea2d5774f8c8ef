//! Incremental taint analysis by function identity: what an edit costs (how many functions are
//! analysed again) and that the result always equals a from-scratch analysis.
//!
//! - Typing inside the first of 200 functions analyses that function (and what depends on its
//!   summary), not the 199 below it, whose places only moved.
//! - An edit examines, for places to move, only the results that hold a place in the edited
//!   file, not those of the other files.
//! - Adding or removing a file nothing imports analyses only that file's functions.
//! - Renaming a function analyses the functions that referenced the old or the new name.
//! - Imports found through a script's directory or a `sys.path` addition follow files added,
//!   changed and removed.
//! - A name a package re-exports follows the package's `__init__` as it changes.
//! - Changing a class's bases analyses its methods, its subclasses' methods and their callers.
//! - Calls dispatched on names follow the candidates a module or a dispatch table gains or loses.
//! - A class attribute that a class body or module-level code taints or cleans (`root = …` in
//!   `class Conf`, `Conf.root = …`) analyses again what reads it by name, through `self`/`cls`
//!   and in subclasses, in other files too.
//! - The autoescaping of a Jinja2 environment a Tornado application keeps in its settings is
//!   decided at the join: editing the app module's `autoescape=` makes the handler's template
//!   finding appear and go without analysing the handler again.
//! - Random edits at random places of several files (lambdas among them: module-level, in a
//!   dispatch table, nested), several edits per change, broken text in
//!   between: incremental findings (steps included) equal a from-scratch analysis every time.

use std::path::Path;

use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::PositionEdit;
use flowsight_engine::rules::RuleSet;
use flowsight_engine::taint::{AnalysisStats, Finding};
use flowsight_engine::workspace::Workspace;
use proptest::prelude::*;

fn workspace_of(files: &[(&str, String)]) -> Workspace {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    for (path, text) in files {
        workspace.update_file(path, text.clone(), Some(1));
    }
    workspace
}

fn from_scratch(workspace: &Workspace) -> Vec<Finding> {
    let files: Vec<(String, String)> = workspace
        .files()
        .into_iter()
        .map(|path| (path.clone(), workspace.document(&path).unwrap().text().to_string()))
        .chain(workspace.template_files())
        .collect();
    let mut fresh = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    for (path, text) in files {
        fresh.update_file(&path, text, Some(1));
    }
    fresh.analyze_taint(&RuleSet::builtin())
}

/// Analyses `workspace` again; checks the result against a fresh analysis; returns the stats.
fn reanalyse(workspace: &mut Workspace) -> (Vec<Finding>, AnalysisStats) {
    let findings = workspace.analyze_taint(&RuleSet::builtin());
    assert_eq!(findings, from_scratch(workspace), "incremental differs from scratch");
    (findings, workspace.last_analysis())
}

/// 200 functions: each of the first 199 passes its argument on to the next; the last runs it.
/// A view at the end feeds the first with user input: one finding through all of them.
fn long_module() -> String {
    let mut text = String::from("import os\nfrom flask import request\n\n\n");
    for index in 0..200 {
        let body = if index == 199 { "    os.system(command)\n".to_string() } else { format!("    step_{}(command)\n", index + 1) };
        text.push_str(&format!("def step_{index}(command):\n    label = 'step {index}'\n{body}\n\n"));
    }
    text.push_str("def view():\n    step_0(request.args['q'])\n");
    text
}

#[test]
fn an_edit_examines_only_the_results_holding_places_in_the_edited_file() {
    // Ten modules of their own (each a view reaching a sink: results with places), and one
    // helper module the first view calls into (its result holds places in both files).
    let mut files: Vec<(String, String)> = (0..10)
        .map(|index| {
            let text = format!("import os\nfrom flask import request\n\n\ndef view_{index}():\n    os.system(request.args['q'])\n");
            (format!("app/module_{index}.py"), text)
        })
        .collect();
    files.push(("app/helper.py".into(), "import os\n\n\ndef run(command):\n    os.system(command)\n".into()));
    files[0].1.push_str("\n\ndef calls_helper():\n    from app.helper import run\n    run(request.args['q'])\n");
    let files: Vec<(&str, String)> = files.iter().map(|(path, text)| (path.as_str(), text.clone())).collect();
    let mut workspace = workspace_of(&files);
    let (before, stats) = reanalyse(&mut workspace);
    assert_eq!(before.len(), 11, "{before:#?}");
    let scopes = stats.scopes;
    // A line typed above `run`, twice (the first edit after a run from scratch, then one after
    // an incremental run): the helper's results and the caller holding a path through it are
    // examined, the other modules' are not.
    for version in [2, 3] {
        insert_at(&mut workspace, "app/helper.py", version, (1, 0), "# note\n");
        let (after, stats) = reanalyse(&mut workspace);
        assert_eq!(after.len(), 11);
        assert!(stats.rebase_examined >= 2, "`run` and `calls_helper`: {stats:?}");
        assert!(stats.rebase_examined <= 3, "the helper module's body, `run` and `calls_helper` at most: {stats:?}");
        assert!(stats.rebase_examined < scopes);
    }
}

fn insert_at(workspace: &mut Workspace, path: &str, version: i64, (line, column): (usize, usize), text: &str) {
    let edit = PositionEdit { range: Some(((line, column), (line, column))), new_text: text.to_string() };
    workspace.apply_edits(path, version, &[edit], Encoding::Utf16).expect("edit applies");
}

#[test]
fn typing_in_the_first_of_two_hundred_functions_analyses_only_it() {
    let mut workspace = workspace_of(&[("long.py", long_module())]);
    let (first, stats) = reanalyse(&mut workspace);
    assert_eq!(first.len(), 1);
    assert_eq!(stats.scopes, 202);
    // Typing a comment, then a new statement, character by character, into `step_0`'s body.
    let line = 4; // "    label = 'step 0'"
    let mut version = 1;
    for (column, character) in "  # why".chars().enumerate() {
        version += 1;
        insert_at(&mut workspace, "long.py", version, (line, 20 + column), &character.to_string());
        let (findings, stats) = reanalyse(&mut workspace);
        assert_eq!(findings.len(), 1);
        assert!(stats.analysed <= 1, "typing re-analysed {} functions: {stats:?}", stats.analysed);
    }
    version += 1;
    insert_at(&mut workspace, "long.py", version, (line + 1, 0), "    extra = len(command)\n");
    let (before, stats) = reanalyse(&mut workspace);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].sink.start_line, first[0].sink.start_line + 1, "the finding moved with its text");
    assert!(stats.analysed <= 5, "a new line re-analysed {} functions: {stats:?}", stats.analysed);
    // A new line above everything moves every function and statement: none is analysed.
    insert_at(&mut workspace, "long.py", version + 1, (0, 0), "\n\n");
    let (findings, stats) = reanalyse(&mut workspace);
    assert_eq!(findings[0].sink.start_line, before[0].sink.start_line + 2, "the finding moved with its text");
    assert_eq!(stats.analysed, 0, "{stats:?}");
}

/// 200 functions that call nothing: what one of them does changes no other's analysis.
fn independent_module() -> String {
    let mut text = String::from("import os\n\n\n");
    for index in 0..200 {
        text.push_str(&format!("def handler_{index}(command):\n    label = 'handler {index}'\n    os.system(command + label)\n\n\n"));
    }
    text
}

/// A syntax error typed into one function, then fixed: the file switches between having syntax
/// errors and having none. Only the edited function (and the module body, whose key covers the
/// whole parse while the file is broken) is analysed again, not the 199 functions around it
/// whose text and parse did not change (all 201 were, while keys covered every function's parse
/// whenever the file had an error anywhere).
#[test]
fn a_syntax_error_in_one_function_analyses_only_that_function() {
    let mut workspace = workspace_of(&[("many.py", independent_module())]);
    let (_, stats) = reanalyse(&mut workspace);
    assert_eq!(stats.scopes, 201);
    let line_of =
        |workspace: &Workspace, wanted: &str| workspace.document("many.py").unwrap().text().lines().position(|l| l == wanted).unwrap();
    let broken = |workspace: &Workspace| workspace.document("many.py").unwrap().root().has_error();
    let mut version = 1;
    // Typed one character at a time into `handler_50`: the file breaks and heals several times.
    let line = line_of(&workspace, "    label = 'handler 50'");
    let typed = " if x else 1";
    let mut states = Vec::new();
    for (column, character) in typed.char_indices() {
        version += 1;
        insert_at(&mut workspace, "many.py", version, (line, 24 + column), &character.to_string());
        let (_, stats) = reanalyse(&mut workspace);
        states.push(broken(&workspace));
        assert!(stats.analysed <= 2, "after {:?} (broken: {}): {stats:?}", &typed[..=column], states[column]);
    }
    assert!(states.windows(2).filter(|pair| pair[0] != pair[1]).count() >= 2, "the file broke and healed: {states:?}");
    assert_eq!(states.last(), Some(&false));
    // A statement typed into `handler_120`: `if value` is broken until its `: pass`.
    let line = line_of(&workspace, "    label = 'handler 120'") + 1;
    for (at, text, is_broken) in [((line, 0), "    if value\n", true), ((line, 12), ": pass", false)] {
        version += 1;
        insert_at(&mut workspace, "many.py", version, at, text);
        let (_, stats) = reanalyse(&mut workspace);
        assert_eq!(broken(&workspace), is_broken, "after {text:?}");
        assert!(stats.analysed <= 2, "after {text:?}: {stats:?}");
    }
}

/// A function that never returns (it always raises) guards its callers' values after the `if`.
const GUARDS: &str = "import os\nfrom flask import request\n\n\ndef deny(value):\n    raise PermissionError(value)\n\n\ndef guarded():\n    value = request.args['q']\n    if value not in ('a', 'b'):\n        deny(value)\n    os.system(value)\n";

fn project() -> Vec<(&'static str, String)> {
    vec![
        ("app/views.py", "import os\nfrom flask import request\nfrom app.helpers import run, clean\n\n\ndef index():\n    run(request.args['q'])\n\n\ndef safe():\n    run(clean(request.args['q']))\n".into()),
        ("app/helpers.py", "import os\nimport shlex\n\n\ndef run(command):\n    os.system(command)\n\n\ndef clean(value):\n    return shlex.quote(value)\n\n\ndef unused(value):\n    return value\n".into()),
        ("app/models.py", "class Base:\n    def save(self, value):\n        return value\n\n\nclass Other:\n    def save(self, value):\n        import shlex\n        return shlex.quote(value)\n\n\nclass Child(Base):\n    def extra(self):\n        return 1\n".into()),
        ("app/api.py", "import os\nfrom flask import request\nfrom app.models import Child\n\n\ndef store():\n    os.system(Child().save(request.args['q']))\n\n\ndef unrelated():\n    return 2\n".into()),
        ("app/lambdas.py", "import os\nfrom flask import request\n\nRUNNER = lambda c: os.system(c)\nTABLE = {'run': lambda c: os.system(c), 'echo': lambda c: c}\n\n\ndef view():\n    RUNNER(request.args['q'])\n    TABLE['run'](request.args['q'])\n    make = lambda p: lambda a: os.system(p + a)\n    make('ls ')(request.args['q'])\n".into()),
        ("app/guards.py", GUARDS.into()),
        ("app/settings.py", SETTINGS.into()),
    ]
}

/// Class attributes (`cfg` inlines class bodies, `taint::env` reads `C.attr` through `self`,
/// `cls` and the class's name), in the project the tests above share.
const SETTINGS: &str = "import os
from flask import request


class Settings:
    root = 'srv'
    mode = request.args['m']

    def start(self):
        os.system(self.root)

    @classmethod
    def mode_of(cls):
        return cls.mode


class Custom(Settings):
    root = 'x'


def view():
    os.system(Settings.mode_of())
    Custom().start()


Settings.root = 'y'
";

/// A class attribute tainted in one file's class body (or by its module-level code) reaches the
/// readers in another file — by name, through `self` in a subclass's method, through `cls` —
/// and cleaning it again removes them: equal to scratch at every step.
#[test]
fn class_attributes_follow_the_class_bodies_and_module_code_that_store_them() {
    let conf = "class Conf:\n    root = 'srv'\n    name = 'fixed'\n";
    let readers = "import os\nfrom app.conf import Conf\n\n\nclass Runner(Conf):\n    def go(self):\n        os.system(self.root)\n\n    @classmethod\n    def named(cls):\n        os.system(cls.name)\n\n\ndef view():\n    os.system(Conf.root)\n    Runner().go()\n";
    let mut workspace = workspace_of(&[("app/conf.py", conf.into()), ("app/readers.py", readers.into())]);
    let (clean, _) = reanalyse(&mut workspace);
    assert!(clean.is_empty(), "{clean:#?}");
    // The class body stores request data under `root`: `Conf.root` and `self.root` read it.
    let tainted = format!("from flask import request\n\n\n{}", conf.replace("root = 'srv'", "root = request.args['r']"));
    workspace.update_file("app/conf.py", tainted, Some(2));
    let (found, _) = reanalyse(&mut workspace);
    let mut lines: Vec<usize> = found.iter().map(|finding| finding.sink.start_line).collect();
    lines.sort_unstable();
    assert_eq!(lines, [6, 14], "{found:#?}");
    // Module-level code stores it under `name` instead: `cls.name` reads it.
    let stored = format!("from flask import request\n\n\n{conf}\n\nConf.name = request.args['n']\n");
    workspace.update_file("app/conf.py", stored, Some(3));
    let (found, _) = reanalyse(&mut workspace);
    let lines: Vec<usize> = found.iter().map(|finding| finding.sink.start_line).collect();
    assert_eq!(lines, [10], "{found:#?}");
    workspace.update_file("app/conf.py", conf.into(), Some(4));
    let (again, _) = reanalyse(&mut workspace);
    assert_eq!(again, clean);
}

#[test]
fn adding_or_removing_a_file_nothing_imports_analyses_only_its_functions() {
    let files: Vec<(&str, String)> = project().into_iter().collect();
    let mut workspace = workspace_of(&files);
    let (before, _) = reanalyse(&mut workspace);
    // Added before the others in file order (every later file's index moves).
    workspace.update_file("aaa_notes.py", "def note(text):\n    return text.strip()\n\n\ndef other():\n    return 1\n".into(), Some(1));
    let (after, stats) = reanalyse(&mut workspace);
    assert_eq!(before, after);
    assert!(stats.analysed <= 3, "adding a file re-analysed {stats:?}");
    workspace.remove_file("aaa_notes.py").unwrap();
    let (again, stats) = reanalyse(&mut workspace);
    assert_eq!(before, again);
    assert!(stats.analysed <= 1, "removing a file re-analysed {stats:?}");
}

/// Calls dispatched on names (`getattr(module, "do_" + name)`, `globals()[…]`, a module-level
/// dispatch table) resolve again when a candidate appears, changes or goes: a function added to
/// the module, an entry added to the table.
#[test]
fn dispatch_on_names_follows_candidates_that_appear_and_go() {
    let actions = "import os\n\n\ndef do_list(value):\n    return []\n";
    let views = "from flask import request\n\nimport actions\n\n\ndef by_getattr():\n    getattr(actions, 'do_' + request.args['a'])(request.args['v'])\n\n\ndef by_table():\n    TABLE[request.args['a']](request.args['v'])\n\n\ndef by_globals():\n    globals()['cmd_' + request.args['a']](request.args['v'])\n\n\ndef cmd_echo(value):\n    return value\n\n\nTABLE = {'list': actions.do_list}\n";
    let mut workspace = workspace_of(&[("actions.py", actions.to_string()), ("views.py", views.to_string())]);
    let (before, _) = reanalyse(&mut workspace);
    let command_injections = |findings: &[Finding]| findings.iter().filter(|f| f.cwe == 78).count();
    assert_eq!(command_injections(&before), 0);
    // A candidate of the computed `getattr` appears in the other module.
    workspace.update_file("actions.py", format!("{actions}\n\ndef do_run(value):\n    os.system(value)\n"), Some(2));
    let (added, _) = reanalyse(&mut workspace);
    assert_eq!(command_injections(&added), 1, "{added:?}");
    // The table gains the new function; `globals()` a new candidate.
    let grown = views.replace("TABLE = {'list': actions.do_list}", "TABLE = {'list': actions.do_list, 'run': actions.do_run}").replace(
        "def cmd_echo(value):\n    return value",
        "def cmd_echo(value):\n    return value\n\n\ndef cmd_shell(value):\n    import os\n    os.popen(value)",
    );
    workspace.update_file("views.py", grown, Some(2));
    let (grown, _) = reanalyse(&mut workspace);
    assert_eq!(command_injections(&grown), 3, "{grown:?}");
    // Both go again.
    workspace.update_file("views.py", views.to_string(), Some(3));
    workspace.update_file("actions.py", actions.to_string(), Some(3));
    let (after, _) = reanalyse(&mut workspace);
    assert_eq!(after, before);
}

/// Imports found as Python finds them when a script runs (its own directory, constant
/// `sys.path` additions) follow files that appear, change and go: always equal to scratch.
#[test]
fn imports_found_through_a_script_directory_or_sys_path_follow_added_and_removed_files() {
    let serve = "import os\nfrom flask import request\nfrom helpers import archive\n\n\ndef view():\n    archive(request.args['q'])\n";
    let helpers = "import os\n\n\ndef archive(name):\n    os.system('tar ' + name)\n";
    let mut workspace = workspace_of(&[("scripts/serve.py", serve.into())]);
    let (none, _) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
    // The sibling appears: the script's import now finds it.
    workspace.update_file("scripts/helpers.py", helpers.into(), Some(1));
    let (found, _) = reanalyse(&mut workspace);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].sink.path, "scripts/helpers.py");
    // A top-level `helpers` module takes precedence over nothing: the import names it as written.
    workspace.update_file("helpers.py", "def archive(name):\n    return name\n".into(), Some(1));
    let (shadowed, _) = reanalyse(&mut workspace);
    assert!(shadowed.is_empty(), "{shadowed:?}");
    workspace.remove_file("helpers.py").unwrap();
    workspace.remove_file("scripts/helpers.py").unwrap();
    let (gone, _) = reanalyse(&mut workspace);
    assert!(gone.is_empty(), "{gone:?}");
    // The module lives in `vendor/`, which another file adds to `sys.path`.
    workspace.update_file("vendor/helpers.py", helpers.into(), Some(1));
    let (unreachable, _) = reanalyse(&mut workspace);
    assert!(unreachable.is_empty(), "{unreachable:?}");
    let adds = "import os\nimport sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'vendor'))\n";
    workspace.update_file("boot.py", adds.into(), Some(1));
    let (through_sys_path, _) = reanalyse(&mut workspace);
    assert_eq!(through_sys_path.len(), 1, "{through_sys_path:?}");
    assert_eq!(through_sys_path[0].sink.path, "vendor/helpers.py");
    workspace.update_file("boot.py", "import sys\n".into(), Some(2));
    let (removed, _) = reanalyse(&mut workspace);
    assert!(removed.is_empty(), "{removed:?}");
}

/// `from kit import archive` where `kit/__init__.py` re-exports it: the importer follows the
/// package's import as it appears, changes and goes, always equal to scratch.
#[test]
fn a_name_a_package_reexports_follows_the_package_s_init() {
    let view = "from flask import request\nfrom kit import archive\n\n\ndef view():\n    archive(request.args['q'])\n";
    let tools = "import os\n\n\ndef archive(name):\n    os.system('tar ' + name)\n\n\ndef keep(name):\n    return name\n";
    let mut workspace = workspace_of(&[("app.py", view.into()), ("kit/__init__.py", "\n".into()), ("kit/tools.py", tools.into())]);
    let (none, _) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
    workspace.update_file("kit/__init__.py", "from .tools import archive\n".into(), Some(2));
    let (found, stats) = reanalyse(&mut workspace);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].sink.path, "kit/tools.py");
    assert!(stats.analysed <= 3, "{stats:?}");
    workspace.update_file("kit/__init__.py", "from .tools import keep as archive\n".into(), Some(3));
    let (renamed, _) = reanalyse(&mut workspace);
    assert!(renamed.is_empty(), "{renamed:?}");
}

#[test]
fn a_change_of_a_dispatch_table_in_another_file_re_resolves_its_look_ups() {
    let table = "def quiet(command):\n    return 'true'\n\n\nHANDLERS = {'quiet': quiet}\n";
    let view = "import os\n\nfrom flask import request\n\nfrom table import HANDLERS\n\n\ndef view():\n    os.system(HANDLERS[request.args['k']](request.args['c']))\n";
    let plugin = |body: &str| format!("import os\n\nfrom table import HANDLERS\n\n\ndef shell(command):\n    return command\n\n\n{body}");
    let mut workspace = workspace_of(&[("table.py", table.into()), ("view.py", view.into()), ("plugin.py", plugin("SHELL = 1\n"))]);
    let (none, _) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
    // A module-level store in a third file adds an entry: the command reaches the sink.
    workspace.update_file("plugin.py", plugin("HANDLERS['shell'] = shell\n"), Some(2));
    let (found, _) = reanalyse(&mut workspace);
    assert_eq!(found.len(), 1, "{found:?}");
    // Gone again.
    workspace.update_file("plugin.py", plugin("SHELL = 2\n"), Some(3));
    let (none, _) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
    // Changed in a function: the look-up is an unknown callee, the argument flows through it.
    workspace.update_file("plugin.py", plugin("def install():\n    HANDLERS.update(shell=shell)\n"), Some(4));
    let (found, _) = reanalyse(&mut workspace);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn changing_an_imported_constant_analyses_the_functions_that_read_it() {
    let view = "from flask import Response, request\nfrom types_ import KIND\n\n\ndef view():\n    return Response(request.args['q'], mimetype=KIND)\n";
    let mut workspace = workspace_of(&[("app.py", view.into()), ("types_.py", "KIND = 'application/json'\n".into())]);
    let (none, _) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
    workspace.update_file("types_.py", "KIND = 'text/html'\n".into(), Some(2));
    let (found, stats) = reanalyse(&mut workspace);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(stats.analysed <= 3, "{stats:?}");
    workspace.update_file("types_.py", "KIND = 'text/plain'\n".into(), Some(3));
    let (plain, _) = reanalyse(&mut workspace);
    assert!(plain.is_empty(), "{plain:?}");
}

#[test]
fn a_library_object_a_module_aliases_follows_the_alias_when_it_changes() {
    let view = "from flask import request\nfrom store import files\n\n\ndef view():\n    files.save(request.args['q'], b'')\n";
    let mut workspace = workspace_of(&[
        ("app.py", view.into()),
        ("store.py", "from django.core.files.storage import default_storage\n\nfiles = default_storage\n".into()),
    ]);
    let (found, _) = reanalyse(&mut workspace);
    assert_eq!(found.len(), 1, "{found:?}");
    workspace.update_file("store.py", "from collections import Counter\n\nfiles = Counter\n".into(), Some(2));
    let (none, stats) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
    assert!(stats.analysed <= 3, "{stats:?}");
}

#[test]
fn a_rename_analyses_the_functions_that_referenced_the_old_or_the_new_name() {
    let files: Vec<(&str, String)> =
        project().into_iter().filter(|(path, _)| !["app/lambdas.py", "app/settings.py"].contains(path)).collect();
    let mut workspace = workspace_of(&files);
    let (before, _) = reanalyse(&mut workspace);
    assert_eq!(before.len(), 2, "index and store: {before:#?}");
    // `unused` becomes `run2`: nothing referenced either name, only the renamed scope and its
    // module are analysed.
    let helpers = workspace.document("app/helpers.py").unwrap().text().to_string();
    workspace.update_file("app/helpers.py", helpers.replace("def unused", "def run2"), Some(2));
    let (_, stats) = reanalyse(&mut workspace);
    assert!(stats.analysed <= 2, "{stats:?}");
    // `run` becomes `execute`: `index` and `safe` referenced it (and lose their finding).
    let helpers = workspace.document("app/helpers.py").unwrap().text().to_string();
    workspace.update_file("app/helpers.py", helpers.replace("def run(", "def execute("), Some(3));
    let (after, stats) = reanalyse(&mut workspace);
    assert_eq!(after.len(), 1);
    assert!(stats.analysed <= 4, "helpers' module, execute, index, safe: {stats:?}");
}

#[test]
fn changing_a_class_s_bases_analyses_its_methods_subclasses_and_their_callers() {
    let files: Vec<(&str, String)> = project().into_iter().collect();
    let mut workspace = workspace_of(&files);
    let (before, _) = reanalyse(&mut workspace);
    assert_eq!(before.iter().filter(|f| f.sink.path == "app/api.py").count(), 1);
    // `Child` now derives from `Other`, whose `save` sanitises: `store`'s finding goes.
    let models = workspace.document("app/models.py").unwrap().text().to_string();
    workspace.update_file("app/models.py", models.replace("class Child(Base)", "class Child(Other)"), Some(2));
    let (after, stats) = reanalyse(&mut workspace);
    assert_eq!(after.iter().filter(|f| f.sink.path == "app/api.py").count(), 0);
    // The models module scope, `Child.extra`, and `store` (which looked `Child` up).
    assert!(stats.analysed <= 3, "{stats:?}");
}

const PIECES: &[&str] = &[
    "\n",
    "\n\n",
    "    ",
    "x",
    "request.args['q']",
    "os.system(",
    ")",
    "shlex.quote(",
    "def f(a):\n    return a\n",
    "\n    value = request.args['q']\n    run(value)\n",
    "run(",
    "clean(",
    "lambda c: os.system(c)",
    "RUNNER(",
    "lambda: ",
    "raise ValueError(x)\n    ",
    "return x\n    ",
    "'",
    "#",
    "(",
    "😀",
    "",
];

/// (file, line, column, span lines, piece, second edit in the same change)
fn edit_strategy() -> impl Strategy<Value = (usize, usize, usize, usize, usize, bool)> {
    (0usize..7, 0usize..20, 0usize..30, 0usize..2, 0..PIECES.len(), any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch_after_random_edits_anywhere(edits in proptest::collection::vec(edit_strategy(), 1..12)) {
        let files: Vec<(&str, String)> = project().into_iter().collect();
        let mut workspace = workspace_of(&files);
        workspace.analyze_taint(&RuleSet::builtin());
        for (version, (file, line, column, span, piece, twice)) in edits.into_iter().enumerate() {
            let path = files[file].0;
            let lines = workspace.document(path).unwrap().line_index().line_count();
            let start = (line % (lines + 1), column);
            let end = (start.0 + span, column / 2);
            let mut change = vec![PositionEdit { range: Some((start, end.max(start))), new_text: PIECES[piece].to_string() }];
            if twice {
                change.push(PositionEdit { range: Some(((0, 0), (0, 0))), new_text: "\n".into() });
            }
            workspace.apply_edits(path, version as i64 + 2, &change, Encoding::Utf16).unwrap();
            let incremental = workspace.analyze_taint(&RuleSet::builtin());
            prop_assert_eq!(&incremental, &from_scratch(&workspace));
        }
    }
}

#[test]
fn a_function_that_stops_raising_is_no_longer_a_guard_in_its_callers() {
    let files: Vec<(&str, String)> = project().into_iter().collect();
    let mut workspace = workspace_of(&files);
    let guarded = |findings: &[Finding]| findings.iter().filter(|f| f.sink.path == "app/guards.py").count();
    let (before, _) = reanalyse(&mut workspace);
    assert_eq!(guarded(&before), 0, "`deny` never returns: {before:#?}");
    // `deny` may return now: `guarded`'s value reaches the sink after the `if`.
    workspace.update_file(
        "app/guards.py",
        GUARDS.replace("    raise PermissionError(value)", "    if value:\n        raise PermissionError(value)"),
        Some(2),
    );
    let (after, stats) = reanalyse(&mut workspace);
    assert_eq!(guarded(&after), 1, "{after:#?}");
    assert!(stats.analysed <= 3, "the module, `deny` and its caller: {stats:?}");
    workspace.update_file("app/guards.py", GUARDS.into(), Some(3));
    let (again, _) = reanalyse(&mut workspace);
    assert_eq!(guarded(&again), 0);
}

/// Found by the proptest above: a class's second `save` commented out of it, in two edits. The
/// class's method table keeps its keys while the definition behind `save` changes: a caller of
/// `Child().save` must see the other definition.
#[test]
fn a_method_whose_duplicate_definition_goes_is_resolved_again_in_its_callers() {
    let files: Vec<(&str, String)> = project().into_iter().collect();
    let mut workspace = workspace_of(&files);
    reanalyse(&mut workspace);
    let comment = PositionEdit { range: Some(((4, 10), (5, 5))), new_text: "#".into() };
    workspace.apply_edits("app/models.py", 2, &[comment], Encoding::Utf16).unwrap();
    let (two_saves, _) = reanalyse(&mut workspace);
    assert!(two_saves.iter().all(|finding| finding.sink.path != "app/api.py"), "the last `save` sanitises");
    let newline = PositionEdit { range: Some(((4, 1), (4, 1))), new_text: "\n".into() };
    workspace.apply_edits("app/models.py", 3, &[newline], Encoding::Utf16).unwrap();
    let (one_save, _) = reanalyse(&mut workspace);
    assert_eq!(one_save.iter().filter(|finding| finding.sink.path == "app/api.py").count(), 1, "{one_save:#?}");
}

/// Found by the persistent cache's proptest: a line at column 0 breaks `run` (its sink moves
/// down, the callers' cached findings with it) while a second `index` is defined right after
/// the first. The new `index` was matched to the old one by name and took its place as
/// `run`'s caller, so the first `index` (unchanged, reused) was not analysed again when `run`'s
/// summary changed and kept the finding of the old summary.
#[test]
fn a_callers_twin_defined_beside_it_does_not_hide_it_from_a_changed_callee() {
    let views = "from flask import request\nfrom app.helpers import run\n\n\ndef index():\n    run(request.args['q'])\n";
    let helpers = "import os\n\n\ndef run(command):\n    os.system(command)\n";
    let mut workspace = workspace_of(&[("app/views.py", views.into()), ("app/helpers.py", helpers.into())]);
    let (before, _) = reanalyse(&mut workspace);
    assert_eq!(before.len(), 1);
    workspace.update_file("app/helpers.py", helpers.replace("    os.system", "x = 1\n    os.system"), Some(2));
    workspace.update_file("app/views.py", format!("{views}def index():\n    return 1\n"), Some(2));
    let (after, _) = reanalyse(&mut workspace);
    assert!(after.is_empty(), "{after:#?}");
}

/// A view is a view because a urls.py (another file) names it: editing only urls.py re-analyses
/// the view (its entry point is part of its key), and the result equals a fresh analysis.
#[test]
fn a_route_added_in_urls_py_makes_the_view_an_entry_point_again() {
    let views = "import os\nfrom django.http import HttpResponse\n\n\ndef show(request, name):\n    os.system('cat ' + name)\n    return HttpResponse('ok')\n";
    let urls =
        |route: &str| format!("from django.urls import path\nfrom . import views\n\nurlpatterns = [path(\"{route}\", views.show)]\n");
    let mut workspace = workspace_of(&[("site/views.py", views.to_string()), ("site/urls.py", urls("files/<str:name>/"))]);
    let (findings, _) = reanalyse(&mut workspace);
    assert_eq!(findings.len(), 1, "{findings:?}");
    // An int converter: the argument is clean.
    workspace.update_file("site/urls.py", urls("files/<int:name>/"), Some(2));
    let (findings, stats) = reanalyse(&mut workspace);
    assert!(findings.is_empty(), "{findings:?}");
    assert!(stats.analysed >= 1 && stats.analysed < stats.scopes, "{stats:?}");
    workspace.update_file("site/urls.py", urls("files/<path:name>/"), Some(3));
    let (findings, _) = reanalyse(&mut workspace);
    assert_eq!(findings.len(), 1, "{findings:?}");
}

/// Found by the random edits (`run(` typed before `@classmethod`, which the broken parse drops):
/// whether a method takes its class as the first parameter decides what its callers bind to it,
/// and its summary does not say so. `view`, which calls `Settings.mode_of()`, must be analysed
/// again when the decorator goes and when it comes back.
#[test]
fn a_method_that_stops_or_starts_being_a_classmethod_is_bound_again_in_its_callers() {
    let mut workspace = workspace_of(&[("app/settings.py", SETTINGS.into())]);
    let steps = |findings: &[Finding]| -> Vec<String> {
        findings.iter().filter(|f| f.sink.start_line == 21).flat_map(|f| f.steps.iter().map(|step| step.description.clone())).collect()
    };
    let (classmethod, _) = reanalyse(&mut workspace);
    assert!(steps(&classmethod).contains(&"reads `Settings` as stored elsewhere".to_string()), "{classmethod:#?}");
    workspace.update_file("app/settings.py", SETTINGS.replace("    @classmethod\n", ""), Some(2));
    let (plain, stats) = reanalyse(&mut workspace);
    assert!(!steps(&plain).contains(&"reads `Settings` as stored elsewhere".to_string()), "no receiver passed: {plain:#?}");
    assert!(stats.analysed >= 2, "`mode_of` and its caller `view`: {stats:?}");
    workspace.update_file("app/settings.py", SETTINGS.into(), Some(3));
    let (again, _) = reanalyse(&mut workspace);
    assert_eq!(steps(&again), steps(&classmethod));
}

/// A workspace function that guards its parameter when it returns true (`Summary::guards_when_true`,
/// read by the caller's condition) and stops guarding it, in another file: the caller, whose own
/// text is unchanged, is analysed again and its finding appears; guarding again removes it.
#[test]
fn a_guard_function_that_stops_guarding_is_no_longer_a_guard_in_its_callers() {
    let checks = "def is_safe(value):\n    return value.isdigit()\n";
    let view = "import os\nfrom flask import request\nfrom app.checks import is_safe\n\n\ndef run():\n    value = request.args['q']\n    if is_safe(value):\n        os.system(value)\n";
    let mut workspace = workspace_of(&[("app/checks.py", checks.into()), ("app/view.py", view.into())]);
    let (guarded, _) = reanalyse(&mut workspace);
    assert!(guarded.is_empty(), "`is_safe` guards `value`: {guarded:#?}");
    workspace.update_file("app/checks.py", checks.replace("value.isdigit()", "len(value) > 0"), Some(2));
    let (unguarded, stats) = reanalyse(&mut workspace);
    assert_eq!(unguarded.len(), 1, "{unguarded:#?}");
    assert!(stats.analysed >= 2, "`is_safe` and its caller `run`: {stats:?}");
    workspace.update_file("app/checks.py", checks.into(), Some(3));
    let (again, _) = reanalyse(&mut workspace);
    assert!(again.is_empty(), "{again:#?}");
}

#[test]
fn the_autoescaping_of_an_environment_in_tornado_settings_follows_the_app_module() {
    let handlers = "import tornado.web\n\n\nclass Page(tornado.web.RequestHandler):\n    def get(self):\n        \
                    bio = self.get_argument('bio')\n        \
                    self.write(self.settings['jinja2_env'].get_template('page.html').render(bio=bio))\n";
    let app = |autoescape: &str| {
        format!(
            "import tornado.web\nfrom jinja2 import Environment\n\nfrom handlers import Page\n\n\n\
             def make_app():\n    env = Environment(autoescape={autoescape})\n    \
             return tornado.web.Application([('/', Page)], jinja2_env=env)\n"
        )
    };
    let files = [("handlers.py", handlers.to_string()), ("app.py", app("True")), ("templates/page.html", "<p>{{ bio }}</p>\n".into())];
    let mut workspace = workspace_of(&files);
    let (escaped, _) = reanalyse(&mut workspace);
    assert!(escaped.is_empty(), "{escaped:?}");
    workspace.update_file("app.py", app("False"), Some(2));
    let (found, stats) = reanalyse(&mut workspace);
    assert_eq!(found.iter().map(|f| (f.sink.path.as_str(), f.sink.start_line)).collect::<Vec<_>>(), [("templates/page.html", 0)]);
    assert!(stats.analysed <= 2, "only the app module's scopes: {stats:?}");
    workspace.update_file("app.py", app("True"), Some(3));
    let (none, _) = reanalyse(&mut workspace);
    assert!(none.is_empty(), "{none:?}");
}
