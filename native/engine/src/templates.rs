//! The project's template files (Jinja2, Django) and what rendering one writes unescaped.
//!
//! The taint analysis records *render sites* (`RenderSite`: the template's name as a constant,
//! the context variable, the autoescaping the Python side decides) without reading templates;
//! after the solver, `TemplateSet::unescaped` joins each site with the parsed templates. So a
//! template's text never enters a function's analysis key, and a template edit costs the join.
//!
//! Finding a template by name (`TemplateSet::resolve`): every template file whose path ends with
//! the name (on a path-component boundary) is a candidate — loaders look names up below their
//! directories (Flask's `templates/` beside the app and `template_folder=`, Django's app
//! `templates/` and `DIRS`, Jinja's `FileSystemLoader`), and all of them list files below some
//! directory of the project. Of the candidates, those whose loader directory sits beside the
//! rendering module (its parent is an ancestor of the module's directory) win, the nearest
//! first; otherwise every candidate is kept (toward more findings).
//!
//! Invariants:
//! - `extends` and `include` chains are followed to `MAX_TEMPLATE_DEPTH` templates; deeper ones
//!   are counted (`TemplateSet::truncated`), never followed (a cycle ends at the first repeat).
//! - Paths are relative to the program's root with `/` separators, as Python files' are.

pub mod syntax;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::line_index::LineIndex;

pub use syntax::{Block, Filtering, Output, Parsed};

/// Templates pulled in through `extends`/`include` that are followed from one template.
pub const MAX_TEMPLATE_DEPTH: usize = 32;

/// File extensions of template files, anywhere in the project.
const TEMPLATE_EXTENSIONS: &[&str] = &["html", "htm", "jinja", "jinja2", "j2", "jhtml", "djhtml", "xhtml"];
/// Further extensions that are templates only below a `templates` directory (or Bottle's `views`).
const TEMPLATE_DIRECTORY_EXTENSIONS: &[&str] = &["txt", "xml", "svg", "tmpl", "tpl", "stpl", "thtml"];
/// Directories below which `TEMPLATE_DIRECTORY_EXTENSIONS` are templates.
const TEMPLATE_DIRECTORIES: &[&str] = &["templates", "views"];
/// What Bottle appends to a template name without extension (`template("hello")`), in order.
const BOTTLE_EXTENSIONS: &[&str] = &["tpl", "html", "thtml", "stpl"];
/// Extensions Flask (and `select_autoescape`) autoescape.
const AUTOESCAPED_EXTENSIONS: &[&str] = &["html", "htm", "xml", "xhtml", "svg"];

/// Extensions of templates that write markup a browser runs (HTML, XHTML, XML, SVG): what they
/// write unescaped is an XSS sink on the template's line.
const MARKUP_EXTENSIONS: &[&str] = &["html", "htm", "xhtml", "xml", "svg", "jhtml", "djhtml", "thtml"];
/// Extensions that name the template language only (`page.jinja`, `mail.txt.j2`): the extension
/// before it, if any, says what the template writes.
const LANGUAGE_EXTENSIONS: &[&str] = &["jinja", "jinja2", "j2"];
/// Extensions that say nothing of what a template writes: taken as markup (toward findings).
const UNSPECIFIC_EXTENSIONS: &[&str] = &["tmpl", "tpl", "stpl"];

/// Whether the template named `name` (a loader's name or a path) writes markup, by its
/// extension: `.html`, `.htm`, `.xhtml`, `.xml`, `.svg` (what `select_autoescape` and Flask
/// autoescape, and what a browser runs scripts in), a language extension (`.jinja`, `.jinja2`,
/// `.j2`) with such an extension before it or none (`page.jinja`), an extension that says nothing
/// (`.tmpl`, `.tpl`), or no extension at all. Any other (`json.txt`, `feed.json`, `mail.txt.j2`,
/// `style.css`) writes text whose kind its user decides: rendering it is no XSS sink of its own
/// (`taint::render`: its text carries the context's taint to where it is sent).
pub fn writes_markup(name: &str) -> bool {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let Some((stem, extension)) = file.rsplit_once('.') else { return true };
    let extension = extension.to_ascii_lowercase();
    let markup = |extension: &str| MARKUP_EXTENSIONS.contains(&extension) || UNSPECIFIC_EXTENSIONS.contains(&extension);
    if LANGUAGE_EXTENSIONS.contains(&extension.as_str()) {
        return match stem.rsplit_once('.') {
            Some((_, inner)) => markup(&inner.to_ascii_lowercase()),
            None => true,
        };
    }
    markup(&extension)
}

/// Whether the walker lists `path` as a template file.
pub fn is_template_path(path: &std::path::Path) -> bool {
    let Some(extension) = path.extension().and_then(|e| e.to_str()) else { return false };
    let extension = extension.to_ascii_lowercase();
    TEMPLATE_EXTENSIONS.contains(&extension.as_str())
        || (TEMPLATE_DIRECTORY_EXTENSIONS.contains(&extension.as_str())
            && path.components().any(|c| c.as_os_str().to_str().is_some_and(|name| TEMPLATE_DIRECTORIES.contains(&name))))
}

/// Whether autoescaping is on when rendering a template, as the Python side configured it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Autoescape {
    On,
    Off,
    /// On for `.html`, `.htm`, `.xml`, `.xhtml`, `.svg` (Flask, `select_autoescape`).
    ByExtension,
    /// The application's template environment, configured elsewhere in the program
    /// (`aiohttp_jinja2.setup(app, autoescape=…)`): resolved when render sites are joined with
    /// templates (`taint::render::application_autoescape`); unresolved it counts as off.
    Application,
}

impl Autoescape {
    pub fn applies_to(self, path: &str) -> bool {
        match self {
            Autoescape::On => true,
            Autoescape::Off | Autoescape::Application => false,
            Autoescape::ByExtension => path
                .rsplit_once('.')
                .is_some_and(|(_, extension)| AUTOESCAPED_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())),
        }
    }
}

/// A context value handed to a template: which template (`None`: a name the analysis does not
/// know, matching every template), which variable (`None`: any, from a context whose keys are
/// not known), the autoescaping, and the call that rendered it (for messages).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RenderSite {
    pub template: Option<String>,
    /// With no `template`: the position of the rendering function's parameter that holds the
    /// name (a helper `render(name, **context)`); a caller passing a constant names it.
    pub template_param: Option<usize>,
    pub variable: Option<String>,
    pub autoescape: Autoescape,
    pub call: String,
    /// Whether the context value is a form of a `[[template_markup]]` library (whose fields,
    /// called in a template, write escaped markup), as far as the analysis can tell.
    pub form: FormValue,
    /// The application settings key whose Jinja2 environment loaded the template
    /// (`self.settings["jinja2_env"]` in a Tornado handler): its `autoescape` is `Application`,
    /// decided when the site is joined with the templates, by the environment the program
    /// stores under that key (`frameworks::tornado::setting_environment`).
    #[serde(default)]
    pub setting: Option<String>,
}

/// What a context value is to a `[[template_markup]]` form library (see `TemplateModel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum FormValue {
    /// Nothing known of its type (a string, a helper's parameter, an untyped value): calling it
    /// writes what it returns, as `Other` (the documented decision, `docs/RULES.md`).
    #[default]
    Unknown,
    /// An instance of a class deriving from a form library's class, or one of its fields.
    Form,
    /// An instance of a workspace class that derives from none: calling it writes what it returns.
    Other,
}

/// One template file: its path, text, lines and what it outputs.
#[derive(Debug)]
pub struct TemplateFile {
    pub path: String,
    pub text: String,
    pub lines: LineIndex,
    pub parsed: Parsed,
}

impl TemplateFile {
    pub fn new(path: String, text: String) -> TemplateFile {
        let lines = LineIndex::new(&text);
        let parsed = syntax::parse(&text);
        TemplateFile { path, text, lines, parsed }
    }

    /// The text of the line holding byte `offset`.
    pub fn line_text(&self, offset: usize) -> &str {
        let line = self.lines.line_of(offset);
        self.text.get(self.lines.line_start(line)..self.lines.line_end(&self.text, line)).unwrap_or("")
    }
}

/// What the program's Python side says of template expressions, used when render sites are
/// joined with templates (`taint::template_model`). The default knows nothing: every project
/// filter passes its input through and a called value is written as it comes.
#[derive(Clone, Debug, Default)]
pub struct TemplateModel {
    /// The project's own filters (`@app.template_filter`, `env.filters[name] = f`, Django's
    /// `@register.filter`) whose result carries nothing of their input for XSS (no
    /// registration of the name returns its first parameter uncleared), with whether their
    /// other parameters reach the result: then only a use without arguments (`|ago`, not
    /// `|ago(unit)`) is clean.
    pub clean_filters: rustc_hash::FxHashMap<String, bool>,
    /// Every filter name the project registers, clean or not: such a name is the project's
    /// filter, not the built-in one it may shadow (`@app.template_filter("e")` is not escaping
    /// unless its function is clean).
    pub project_filters: rustc_hash::FxHashSet<String>,
    /// A value called with keyword arguments only (`{{ field(**kwargs) }}`) writes escaped
    /// markup: the program uses a form library whose fields render so (`[[template_markup]]`) —
    /// when the render site's value is known to be a form or one of its fields (`FormValue::Form`).
    pub markup_calls: bool,
}

/// An output of a rendered template that writes a tainted variable unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnescapedOutput {
    /// The template file holding the output (the rendered one, or one it extends or includes).
    pub path: String,
    pub start: usize,
    pub end: usize,
    /// Why it is not escaped, for the message.
    pub reason: &'static str,
}

/// Every template file of a program, by path.
#[derive(Debug, Default)]
pub struct TemplateSet {
    files: BTreeMap<String, Arc<TemplateFile>>,
}

impl TemplateSet {
    pub fn new(files: impl IntoIterator<Item = Arc<TemplateFile>>) -> TemplateSet {
        TemplateSet { files: files.into_iter().map(|file| (file.path.clone(), file)).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn file(&self, path: &str) -> Option<&TemplateFile> {
        self.files.get(path).map(Arc::as_ref)
    }

    /// The template files `name` may be when rendered from the module at `from` (see the
    /// module doc). A name without extension that names no file is Bottle's: the first of its
    /// extensions (`.tpl`, `.html`, `.thtml`, `.stpl`) that names one.
    pub fn resolve(&self, name: &str, from: &str) -> Vec<&TemplateFile> {
        let name = name.trim_start_matches("./").trim_start_matches('/');
        if name.is_empty() {
            return Vec::new();
        }
        let found = self.resolve_exactly(name, from);
        if !found.is_empty() || name.rsplit('/').next().is_some_and(|file| file.contains('.')) {
            return found;
        }
        BOTTLE_EXTENSIONS
            .iter()
            .map(|extension| self.resolve_exactly(&format!("{name}.{extension}"), from))
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    }

    fn resolve_exactly(&self, name: &str, from: &str) -> Vec<&TemplateFile> {
        let suffix = format!("/{name}");
        let candidates: Vec<(&str, &TemplateFile)> = self
            .files
            .values()
            .filter_map(|file| {
                if file.path == name {
                    Some(("", file.as_ref()))
                } else {
                    file.path.strip_suffix(suffix.as_str()).map(|directory| (directory, file.as_ref()))
                }
            })
            .collect();
        let from_directory = from.rsplit_once('/').map_or("", |(directory, _)| directory);
        let beside = |directory: &str| {
            let parent = directory.rsplit_once('/').map_or("", |(parent, _)| parent);
            parent.is_empty() || from_directory == parent || from_directory.starts_with(&format!("{parent}/"))
        };
        let nearest = candidates.iter().filter(|(directory, _)| beside(directory)).map(|(directory, _)| directory.len()).max();
        match nearest {
            Some(length) => {
                candidates.into_iter().filter(|(directory, _)| beside(directory) && directory.len() == length).map(|(_, f)| f).collect()
            }
            None => candidates.into_iter().map(|(_, file)| file).collect(),
        }
    }

    /// The outputs of macro bodies that write unescaped a parameter to which a macro call in
    /// `file` passes `site`'s variable (`{{ badge(label) }}` with `{{ text|safe }}` in the body
    /// of `badge(text)`): macros defined in `file` or imported into it (`{% from "m.html" import
    /// badge %}`, `{% import "m.html" as m %}` and `m.badge(…)`). One level: a macro body's own
    /// calls are not followed.
    fn through_macros(
        &self,
        file: &TemplateFile,
        site: &RenderSite,
        (autoescape, model): (bool, &TemplateModel),
        around: Block,
    ) -> Vec<UnescapedOutput> {
        let reads = |names: &[String]| match &site.variable {
            Some(variable) => names.iter().any(|name| name == variable),
            None => !names.is_empty(),
        };
        let mut found = Vec::new();
        for call in &file.parsed.macro_calls {
            // Where the macro is defined: (template files, macro name).
            let (alias, member) = match call.callee.split_once('.') {
                Some((alias, member)) => (alias, member),
                None => (call.callee.as_str(), call.callee.as_str()),
            };
            let imported = file
                .parsed
                .macro_imports
                .iter()
                .find(|import| import.name == alias && (import.member.is_some() != call.callee.contains('.')));
            let (homes, name): (Vec<&TemplateFile>, &str) = match imported {
                Some(import) => (self.resolve(&import.template, &file.path), import.member.as_deref().unwrap_or(member)),
                None if !call.callee.contains('.') => (vec![file], member),
                None => continue,
            };
            for home in homes {
                let Some(definition) = home.parsed.macros.iter().find(|m| m.name == name) else { continue };
                let bound: Vec<&String> = definition
                    .params
                    .iter()
                    .enumerate()
                    .filter(|(index, param)| {
                        call.positional.get(*index).is_some_and(|names| reads(names))
                            || call.keywords.iter().any(|(keyword, names)| keyword == *param && reads(names))
                    })
                    .map(|(_, param)| param)
                    .collect();
                if bound.is_empty() {
                    continue;
                }
                for output in &home.parsed.outputs {
                    let Some((macro_name, params)) = &output.macro_reads else { continue };
                    if macro_name != name || !params.iter().any(|param| bound.contains(&param)) {
                        continue;
                    }
                    let block = if output.block == Block::Inherit { around } else { output.block };
                    let effective = Output { block, ..output.clone() };
                    if effective.unescaped_in(autoescape, model, site.form) {
                        let reason = match (output.filtering, block) {
                            (Filtering::Safe, _) => "marked safe in a macro",
                            (_, Block::Off) => "in an autoescape-off block of a macro",
                            _ => "autoescaping is off",
                        };
                        found.push(UnescapedOutput { path: home.path.clone(), start: output.start, end: output.end, reason });
                    }
                }
            }
        }
        found
    }

    /// The outputs that write `site`'s variable unescaped when the site's template is rendered
    /// from module `from`, through `extends` and `include`; and how many joins were incomplete:
    /// templates not followed past `MAX_TEMPLATE_DEPTH`, or (1) a site whose template name and
    /// variable are both unknown, which is not joined (every unescaped output of every template
    /// would match it: noise, not findings).
    pub fn unescaped(&self, site: &RenderSite, from: &str, model: &TemplateModel) -> (Vec<UnescapedOutput>, usize) {
        let roots: Vec<&TemplateFile> = match (&site.template, &site.variable) {
            (Some(name), _) => self.resolve(name, from),
            (None, Some(_)) => self.files.values().map(Arc::as_ref).collect(),
            (None, None) => return (Vec::new(), 1),
        };
        let mut found = Vec::new();
        let mut truncated = 0;
        for root in roots {
            let autoescape = site.autoescape.applies_to(&root.path);
            // (template, block of the include that pulled it in), depth first.
            let mut pending: Vec<(&TemplateFile, Block)> = vec![(root, Block::Inherit)];
            let mut visited: Vec<&str> = Vec::new();
            while let Some((file, around)) = pending.pop() {
                if visited.contains(&file.path.as_str()) {
                    continue;
                }
                if visited.len() == MAX_TEMPLATE_DEPTH {
                    truncated += 1;
                    continue;
                }
                visited.push(&file.path);
                for output in &file.parsed.outputs {
                    let reads = match &site.variable {
                        Some(variable) => output.names.iter().any(|name| name == variable),
                        None => !output.names.is_empty(),
                    };
                    if !reads {
                        continue;
                    }
                    let block = if output.block == Block::Inherit { around } else { output.block };
                    let effective = Output { block, ..output.clone() };
                    if effective.unescaped_in(autoescape, model, site.form) {
                        let reason = match (output.filtering, block) {
                            (Filtering::Safe, _) => "marked safe",
                            (_, Block::Off) => "in an autoescape-off block",
                            _ => "autoescaping is off",
                        };
                        found.push(UnescapedOutput { path: file.path.clone(), start: output.start, end: output.end, reason });
                    }
                }
                found.extend(self.through_macros(file, site, (autoescape, model), around));
                for reference in
                    file.parsed.extends.iter().map(|name| (name.as_str(), around)).chain(
                        file.parsed.includes.iter().map(|r| (r.name.as_str(), if r.block == Block::Inherit { around } else { r.block })),
                    )
                {
                    for next in self.resolve(reference.0, &file.path) {
                        pending.push((next, reference.1));
                    }
                }
            }
        }
        found.sort_by(|a, b| (&a.path, a.start).cmp(&(&b.path, b.start)));
        found.dedup();
        (found, truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> TemplateSet {
        TemplateSet::new(files.iter().map(|(path, text)| Arc::new(TemplateFile::new(path.to_string(), text.to_string()))))
    }

    fn site(template: &str, variable: &str, autoescape: Autoescape) -> RenderSite {
        RenderSite {
            template: Some(template.into()),
            template_param: None,
            variable: Some(variable.into()),
            autoescape,
            call: "render_template".into(),
            form: FormValue::Unknown,
            setting: None,
        }
    }

    #[test]
    fn template_files_are_known_by_extension_and_text_files_only_below_templates() {
        use std::path::Path;
        assert!(is_template_path(Path::new("app/templates/page.html")));
        assert!(is_template_path(Path::new("mail.j2")));
        assert!(is_template_path(Path::new("app/templates/mail.txt")));
        assert!(!is_template_path(Path::new("requirements.txt")));
        assert!(is_template_path(Path::new("app/views/hello.tpl")), "Bottle's views directory");
        assert!(!is_template_path(Path::new("app/hello.tpl")));
        assert!(!is_template_path(Path::new("app/views.py")));
    }

    #[test]
    fn a_template_writes_markup_by_its_extension_or_the_one_before_a_language_extension() {
        for name in ["page.html", "shop/Page.HTM", "feed.xml", "icon.svg", "x.xhtml", "page.jinja", "page.html.j2", "a.tmpl", "page"] {
            assert!(writes_markup(name), "{name}");
        }
        for name in ["json.txt", "api/book.json", "mail.txt.j2", "mail.TXT.jinja2", "style.css", "v1.2/export.csv"] {
            assert!(!writes_markup(name), "{name}");
        }
    }

    #[test]
    fn a_name_resolves_to_the_templates_beside_the_rendering_module() {
        let templates = set(&[("shop/templates/index.html", ""), ("blog/templates/index.html", ""), ("other/views/x.html", "")]);
        let paths = |name, from| templates.resolve(name, from).iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths("index.html", "shop/app.py"), ["shop/templates/index.html"]);
        assert_eq!(paths("index.html", "shop/sub/views.py"), ["shop/templates/index.html"]);
        assert_eq!(paths("index.html", "tools/run.py"), ["blog/templates/index.html", "shop/templates/index.html"]);
        assert_eq!(paths("views/x.html", "main.py"), ["other/views/x.html"]);
        assert!(paths("missing.html", "shop/app.py").is_empty());
    }

    #[test]
    fn a_name_without_extension_takes_bottles_extensions_in_order() {
        let templates = set(&[("views/hello.html", ""), ("views/hello.tpl", ""), ("views/note.stpl", ""), ("views/x", "")]);
        let paths = |name| templates.resolve(name, "app.py").iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths("hello"), ["views/hello.tpl"]);
        assert_eq!(paths("note"), ["views/note.stpl"]);
        assert_eq!(paths("x"), ["views/x"], "a file named so wins");
        assert!(paths("hello.txt").is_empty(), "a name with an extension is taken as it is");
    }

    #[test]
    fn outputs_follow_extends_and_includes_with_the_block_around_them() {
        let templates = set(&[
            ("templates/page.html", "{% extends 'base.html' %}{% autoescape false %}{% include 'row.html' %}{% endautoescape %}"),
            ("templates/base.html", "{{ title|safe }}{{ title }}{% include 'page.html' %}"),
            ("templates/row.html", "{{ title }}"),
        ]);
        let (found, truncated) = templates.unescaped(&site("page.html", "title", Autoescape::On), "app.py", &TemplateModel::default());
        let places: Vec<(&str, usize)> = found.iter().map(|o| (o.path.as_str(), o.start)).collect();
        assert_eq!(places, [("templates/base.html", 0), ("templates/row.html", 0)]);
        assert_eq!(truncated, 0, "a cycle ends at the first repeat");
        let (found, _) = templates.unescaped(&site("page.html", "title", Autoescape::Off), "app.py", &TemplateModel::default());
        assert_eq!(found.len(), 3, "autoescaping off: every output of the variable");
        assert!(templates.unescaped(&site("page.html", "other", Autoescape::Off), "app.py", &TemplateModel::default()).0.is_empty());
    }

    #[test]
    fn an_unknown_name_matches_every_template_but_not_without_a_variable() {
        let templates = set(&[("a/templates/x.html", "{{ v|safe }}"), ("b/templates/y.html", "{{ v|safe }}{{ w|safe }}")]);
        let mut unknown = site("x.html", "v", Autoescape::On);
        unknown.template = None;
        assert_eq!(
            templates.unescaped(&unknown, "c/app.py", &TemplateModel::default()),
            (templates.unescaped(&unknown, "c/app.py", &TemplateModel::default()).0, 0)
        );
        assert_eq!(templates.unescaped(&unknown, "c/app.py", &TemplateModel::default()).0.len(), 2, "every template writing `v`");
        unknown.variable = None;
        assert_eq!(templates.unescaped(&unknown, "c/app.py", &TemplateModel::default()), (Vec::new(), 1), "not joined, counted");
        let mut any = site("y.html", "v", Autoescape::On);
        any.variable = None;
        assert_eq!(templates.unescaped(&any, "b/app.py", &TemplateModel::default()).0.len(), 2, "every unescaped output of the template");
    }

    #[test]
    fn flask_autoescapes_by_extension() {
        assert!(Autoescape::ByExtension.applies_to("t/a.HTML"));
        assert!(!Autoescape::ByExtension.applies_to("t/a.txt"));
        let templates = set(&[("templates/mail.txt", "{{ name }}"), ("templates/page.html", "{{ name }}")]);
        assert_eq!(templates.unescaped(&site("mail.txt", "name", Autoescape::ByExtension), "app.py", &TemplateModel::default()).0.len(), 1);
        assert!(templates.unescaped(&site("page.html", "name", Autoescape::ByExtension), "app.py", &TemplateModel::default()).0.is_empty());
    }

    #[test]
    fn a_form_field_called_in_a_macro_is_no_sink_where_the_program_uses_a_form_library() {
        let templates = set(&[
            ("templates/_helpers.jinja", "{% macro row(field) %}{{ field(**kwargs)|safe }}{{ field.data|safe }}{% endmacro %}"),
            ("templates/edit.html", "{% from '_helpers.jinja' import row %}{{ row(form.name) }}{{ form.name(class_='x')|safe }}"),
        ]);
        let paths_of = |model: &TemplateModel, form: FormValue| {
            let site = RenderSite { form, ..site("edit.html", "form", Autoescape::ByExtension) };
            let (found, _) = templates.unescaped(&site, "app.py", model);
            found.iter().map(|o| (o.path.clone(), o.start)).collect::<Vec<_>>()
        };
        let paths = |model: &TemplateModel| paths_of(model, FormValue::Form);
        let data = "{% macro row(field) %}{{ field(**kwargs)|safe }}".len();
        let field_call = "{% from '_helpers.jinja' import row %}{{ row(form.name) }}".len();
        assert_eq!(
            paths(&TemplateModel::default()),
            [
                ("templates/_helpers.jinja".to_string(), "{% macro row(field) %}".len()),
                ("templates/_helpers.jinja".to_string(), data),
                ("templates/edit.html".to_string(), field_call)
            ],
            "without a form library a called value is written as it is"
        );
        let forms = TemplateModel { markup_calls: true, ..TemplateModel::default() };
        assert_eq!(paths(&forms), [("templates/_helpers.jinja".to_string(), data)], "the field's data stays a finding");
        assert_eq!(paths_of(&forms, FormValue::Unknown), paths(&TemplateModel::default()), "a value not known to be a form is written");
    }
}
