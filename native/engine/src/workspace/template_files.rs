//! The workspace's template files (`templates`): their current text and version, kept apart
//! from the Python files (no tree, no chunks, no program part), and the `TemplateSet` the
//! analysis joins render sites with.
//!
//! Invariant: the set is rebuilt only after a template changed (`set` drops it); an edit of a
//! template re-parses that template alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{EngineError, Result};
use crate::line_index::{Encoding, LineIndex};
use crate::parse::PositionEdit;
use crate::templates::{TemplateFile, TemplateSet};

#[derive(Default)]
pub(super) struct TemplateFiles {
    files: BTreeMap<String, (Option<i64>, Arc<TemplateFile>)>,
    set: Option<Arc<TemplateSet>>,
}

impl TemplateFiles {
    /// Sets a template's whole text.
    pub(super) fn set(&mut self, key: String, text: String, version: Option<i64>) {
        let file = Arc::new(TemplateFile::new(key.clone(), text));
        self.files.insert(key, (version, file));
        self.set = None;
    }

    /// Forgets a template; whether it was known.
    pub(super) fn remove(&mut self, key: &str) -> bool {
        let known = self.files.remove(key).is_some();
        if known {
            self.set = None;
        }
        known
    }

    /// Applies LSP-style edits in order (positions in `encoding`; offsets clamped to the text
    /// and to character boundaries, a reversed range read between its ends).
    pub(super) fn apply_edits(&mut self, key: &str, version: i64, edits: &[PositionEdit], encoding: Encoding) -> Result<()> {
        let (current, file) = self.files.get(key).ok_or_else(|| EngineError::UnknownFile(key.to_string()))?;
        if let Some(current) = current {
            if version <= *current {
                return Err(EngineError::InvalidEdit(format!("{key}: version {version} is not newer than the current version {current}")));
            }
        }
        let mut text = file.text.clone();
        for edit in edits {
            match edit.range {
                None => text = edit.new_text.clone(),
                Some(((start_line, start_column), (end_line, end_column))) => {
                    let lines = LineIndex::new(&text);
                    let clamp = |offset: usize| {
                        let mut offset = offset.min(text.len());
                        while !text.is_char_boundary(offset) {
                            offset -= 1;
                        }
                        offset
                    };
                    let a = clamp(lines.offset(&text, start_line, start_column, encoding));
                    let b = clamp(lines.offset(&text, end_line, end_column, encoding));
                    text.replace_range(a.min(b)..a.max(b), &edit.new_text);
                }
            }
        }
        self.set(key.to_string(), text, Some(version));
        Ok(())
    }

    pub(super) fn text(&self, key: &str) -> Option<&str> {
        self.files.get(key).map(|(_, file)| file.text.as_str())
    }

    pub(super) fn version(&self, key: &str) -> Option<Option<i64>> {
        self.files.get(key).map(|(version, _)| *version)
    }

    pub(super) fn versions(&self) -> impl Iterator<Item = (String, Option<i64>)> + '_ {
        self.files.iter().map(|(key, (version, _))| (key.clone(), *version))
    }

    /// Every template, parsed (built again only after a change).
    pub(super) fn template_set(&mut self) -> Arc<TemplateSet> {
        self.set.get_or_insert_with(|| Arc::new(TemplateSet::new(self.files.values().map(|(_, file)| Arc::clone(file))))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_change_the_text_and_the_set_follows() {
        let mut files = TemplateFiles::default();
        files.set("t/a.html".into(), "<p>{{ x }}</p>\n".into(), Some(1));
        assert_eq!(files.template_set().file("t/a.html").unwrap().parsed.outputs[0].names, ["x"]);
        let edit = PositionEdit { range: Some(((0, 7), (0, 7))), new_text: "|safe".into() };
        files.apply_edits("t/a.html", 2, &[edit], Encoding::Utf16).unwrap();
        assert_eq!(files.text("t/a.html"), Some("<p>{{ x|safe }}</p>\n"));
        assert_eq!(files.template_set().file("t/a.html").unwrap().parsed.outputs[0].filtering, crate::templates::Filtering::Safe);
        assert!(files.apply_edits("t/a.html", 2, &[], Encoding::Utf16).is_err(), "a version not newer is refused");
        assert!(files.remove("t/a.html"));
        assert!(files.template_set().is_empty());
    }

    #[test]
    fn a_workspace_reports_on_the_template_and_follows_its_edits() {
        use crate::rules::RuleSet;
        use crate::workspace::Workspace;
        let mut workspace = Workspace::new(std::path::Path::new("/nonexistent/project"));
        let app = "from flask import Flask, render_template, request\n\napp = Flask(__name__)\n\n\n@app.route('/')\ndef index():\n    return render_template('page.html', q=request.args['q'])\n";
        workspace.update_file("app.py", app.to_string(), Some(1));
        workspace.update_file("templates/page.html", "<p>{{ q|safe }}</p>\n".to_string(), Some(1));
        assert!(workspace.files().iter().all(|file| file.ends_with(".py")), "no chunks or program part for a template");
        let rules = RuleSet::builtin();
        let findings = workspace.analyze_taint(&rules);
        let sinks: Vec<(&str, usize)> = findings.iter().map(|f| (f.sink.path.as_str(), f.sink.start_line)).collect();
        assert_eq!(sinks, [("templates/page.html", 0)]);
        let edit = PositionEdit { range: Some(((0, 7), (0, 12))), new_text: String::new() };
        workspace.apply_edits("templates/page.html", 2, &[edit], Encoding::Utf8).unwrap();
        assert_eq!(workspace.text("templates/page.html").unwrap(), "<p>{{ q }}</p>\n");
        assert!(workspace.analyze_taint(&rules).is_empty(), "escaped now");
        assert_eq!(workspace.last_analysis().analysed, 0, "a template edit re-analyses no function");
        workspace.remove_file("templates/page.html").unwrap();
        assert!(workspace.versions().iter().all(|(file, _)| file == "app.py"));
    }
}
