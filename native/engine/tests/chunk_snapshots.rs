//! Snapshot tests: every `tests/fixtures/chunks/*.py` rendered as a chunk tree.
//! Review changes with `cargo insta review`.

mod common;

use flowsight_engine::parse::Document;

#[test]
fn chunk_trees_of_fixture_files() {
    let directory = common::shared_tests_dir().join("fixtures/chunks");
    let mut fixtures: Vec<_> = std::fs::read_dir(&directory).unwrap().map(|e| e.unwrap().path()).collect();
    fixtures.sort();
    assert!(fixtures.len() >= 5, "fixtures missing in {}", directory.display());
    for fixture in fixtures {
        let name = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&fixture).unwrap();
        let document = Document::new(text);
        let chunks = common::chunks_of(&document, &format!("pkg/{name}.py"));
        insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, common::render_chunks(&chunks));
        });
    }
}
