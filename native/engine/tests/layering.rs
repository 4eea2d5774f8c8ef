//! ARCHITECTURE.md's layering, checked on the source: a module imports only modules of lower
//! layers (test modules excluded), so the analyses never import the chunker and neither
//! taint nor slicing imports the other.

use std::collections::BTreeMap;

/// Layer of each module, lowest first.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("line_index", 0),
    ("syntax", 0),
    ("safe_open", 0),
    ("framing", 0),
    ("parse", 1),
    ("templates", 1),
    ("chunks", 2),
    ("program", 2),
    ("source", 3),
    ("scopes", 3),
    ("ir", 3),
    ("rules", 3),
    ("lexical", 3),
    ("cfg", 4),
    ("walk", 4),
    ("frameworks", 4),
    ("pdg", 5),
    ("taint", 6),
    ("slice", 6),
    ("index", 7),
    ("persist", 7),
    ("merge", 7),
    ("scan", 8),
    ("workspace", 8),
];

#[test]
fn modules_import_only_lower_layers() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&source).expect("src is readable") {
        let path = entry.expect("entry").path();
        let Some(module) = path.file_stem().and_then(|s| s.to_str()).filter(|m| *m != "lib") else { continue };
        let layer = *layers.get(module).unwrap_or_else(|| panic!("{module} has no layer in this test and ARCHITECTURE.md"));
        // A module is a file `name.rs` or a directory `name/` whose files all belong to it.
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path).expect("module directory is readable").map(|entry| entry.expect("entry").path()).collect()
        } else {
            vec![path.clone()]
        };
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable");
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(&text);
            for (at, _) in code.match_indices("crate::") {
                let name: String = code[at + "crate::".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let Some(&imported) = layers.get(name.as_str()) else { continue };
                if imported >= layer && name != module {
                    problems.push(format!("{module} (layer {layer}) imports {name} (layer {imported}) in {}", file.display()));
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= LAYERS.len(), "only {checked} modules found");
    assert!(problems.is_empty(), "{problems:#?}");
}
