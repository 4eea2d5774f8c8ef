//! The slice fixtures (`tests/fixtures/slice`, shared with `tests/test_slices.py`; the format is
//! in its README): the slice from each file's `# criterion` line holds exactly that file's
//! `# slice` lines and the criterion. The directory is one program, so calls between files
//! resolve. One test per fixture file; `every_fixture_file_has_a_test` keeps the list complete.

use std::collections::BTreeSet;
use std::path::PathBuf;

use flowsight_engine::program::{build_parts, Program};
use flowsight_engine::scan::load_documents;
use flowsight_engine::slice::slice_at;

#[macro_use]
mod common;

fn corpus() -> PathBuf {
    std::fs::canonicalize(common::shared_tests_dir().join("fixtures/slice")).expect("the corpus exists")
}

fn check(name: &str) {
    let root = corpus();
    let text = std::fs::read_to_string(root.join(name)).expect("fixture reads");
    let mut criteria = Vec::new();
    let mut expected = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let comment = line.rsplit_once('#').map(|(_, c)| c.trim()).unwrap_or("");
        if let Some(options) = comment.strip_prefix("criterion") {
            let options: Vec<&str> = options.trim_start_matches(':').split_whitespace().collect();
            criteria.push((index, options.contains(&"forward"), options.contains(&"thin")));
            expected.insert(index + 1);
        } else if comment == "slice" {
            expected.insert(index + 1);
        }
    }
    let [(line, forward, thin)] = criteria[..] else { panic!("{name}: exactly one criterion, found {criteria:?}") };
    let (documents, errors) = load_documents(std::slice::from_ref(&root), &root);
    assert!(errors.is_empty(), "{errors:?}");
    let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    let program = Program::from_parts(&parts);
    let result = slice_at(&program, name, line, None, forward, thin).expect("the criterion slices");
    let found: BTreeSet<usize> = result.files.get(name).into_iter().flatten().copied().collect();
    let missing: Vec<&usize> = expected.difference(&found).collect();
    let extra: Vec<&usize> = found.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{name}: lines missing from the slice {missing:?}, lines not expected {extra:?}");
    assert!(result.criterion_lines.contains(&(line + 1)));
}

fixtures! {
    calling_context => "calling_context.py",
    calls => "calls.py",
    class_attribute_forward => "class_attribute_forward.py",
    class_attribute_in_function => "class_attribute_in_function.py",
    class_attribute_overridden => "class_attribute_overridden.py",
    class_attribute_rebound => "class_attribute_rebound.py",
    class_attribute_through_instance => "class_attribute_through_instance.py",
    class_attribute_through_self => "class_attribute_through_self.py",
    class_attributes => "class_attributes.py",
    class_body_criterion => "class_body_criterion.py",
    class_constructor_call => "class_constructor_call.py",
    class_in_local => "class_in_local.py",
    class_passed_whole => "class_passed_whole.py",
    comprehension_clauses => "comprehension_clauses.py",
    comprehension_values => "comprehension_values.py",
    cooperative_super => "cooperative_super.py",
    early_return => "early_return.py",
    effects => "effects.py",
    effects_through_helpers => "effects_through_helpers.py",
    exceptions => "exceptions.py",
    forward => "forward.py",
    function_variables => "function_variables.py",
    generators => "generators.py",
    getattr_calls => "getattr_calls.py",
    globals_and_closures => "globals_and_closures.py",
    imported_by_name => "imported_by_name.py",
    instance_of_either_class => "instance_of_either_class.py",
    jumps => "jumps.py",
    keyword_only_parameters => "keyword_only_parameters.py",
    lambda_called_later => "lambda_called_later.py",
    lambdas => "lambdas.py",
    local_dispatch_table => "local_dispatch_table.py",
    loops => "loops.py",
    method_resolution_order => "method_resolution_order.py",
    method_through_class => "method_through_class.py",
    module_dispatch_table_changed => "module_dispatch_table_changed.py",
    module_global_mutated => "module_global_mutated.py",
    module_level_class_choice => "module_level_class_choice.py",
    overrides => "overrides.py",
    parameterless_method => "parameterless_method.py",
    receivers => "receivers.py",
    super_calls => "super_calls.py",
    super_in_nested_function => "super_in_nested_function.py",
    thin => "thin.py",
    variadic_parameters => "variadic_parameters.py",
}

#[test]
fn every_fixture_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .expect("the corpus lists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".py"))
        .collect();
    files.sort();
    let listed: Vec<String> = FIXTURES.iter().map(|f| f.to_string()).collect();
    assert_eq!(files, listed, "list every fixture file in `fixtures!`");
}
