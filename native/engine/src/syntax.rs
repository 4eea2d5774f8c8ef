//! The base syntax layer shared by every stage above the parser: module naming, the nesting
//! limit every tree walk honours, and cheap textual pre-checks. It imports nothing from the
//! stages (chunks, program, analyses) so that each of them may import it. `tree` is the
//! compact syntax tree every stage walks.

pub mod tree;

/// Statement nesting beyond this depth is reported as `too_deep` (CPython stops at 100).
pub const MAX_STATEMENT_DEPTH: usize = 100;

/// Dotted module name of a path relative to the root (`pkg/sub/mod.py` → `pkg.sub.mod`,
/// `pkg/__init__.py` → `pkg`). An absolute path (a file outside the root) gives its stem.
pub fn module_name(relative_path: &str) -> String {
    let is_outside = relative_path.starts_with('/') || relative_path.contains(':');
    let without_extension = match relative_path.rfind('.') {
        Some(dot) if dot > relative_path.rfind('/').map_or(0, |slash| slash + 1) => &relative_path[..dot],
        _ => relative_path,
    };
    if is_outside {
        return without_extension.rsplit('/').next().unwrap_or(without_extension).to_string();
    }
    let mut parts: Vec<&str> = without_extension.split('/').filter(|part| !part.is_empty() && *part != ".").collect();
    if parts.len() > 1 && parts.last() == Some(&"__init__") {
        parts.pop();
    }
    parts.join(".")
}

/// The directories of a repository that module names start from, besides its root (a `src/`
/// layout, `[tool.setuptools] package-dir`, `[tool.flowsight] roots`): relative paths with `/`
/// separators, deepest first. Empty: names start at the root only.
///
/// Invariant: a file's module name is its path relative to the deepest root holding it
/// (`src/shop/cart.py` → `shop.cart` when `src` is a root); a file under no root keeps its
/// path from the repository root (`tests/test_cart.py` → `tests.test_cart`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SourceRoots {
    roots: Vec<String>,
}

impl SourceRoots {
    /// Roots from relative directory paths (`./`, trailing and doubled `/` ignored; empty,
    /// absolute and `..` paths dropped: they name no directory inside the repository).
    pub fn new<S: AsRef<str>>(roots: impl IntoIterator<Item = S>) -> SourceRoots {
        let mut kept: Vec<String> = Vec::new();
        for root in roots {
            let root = root.as_ref().replace('\\', "/");
            if root.starts_with('/') || root.contains(':') {
                continue;
            }
            let parts: Vec<&str> = root.split('/').filter(|part| !part.is_empty() && *part != ".").collect();
            if parts.is_empty() || parts.contains(&"..") {
                continue;
            }
            let root = parts.join("/");
            if !kept.contains(&root) {
                kept.push(root);
            }
        }
        // Deepest first, then by name: the first root holding a path is the deepest one.
        kept.sort_by(|a, b| b.matches('/').count().cmp(&a.matches('/').count()).then_with(|| a.cmp(b)));
        SourceRoots { roots: kept }
    }

    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The module name of `relative_path` (relative to the repository root), see the invariant.
    pub fn module_name(&self, relative_path: &str) -> String {
        for root in &self.roots {
            if let Some(rest) = relative_path.strip_prefix(root.as_str()).and_then(|rest| rest.strip_prefix('/')) {
                if !rest.is_empty() {
                    return module_name(rest);
                }
            }
        }
        module_name(relative_path)
    }
}

/// Whether `bytes` may contain a `def` or `class` keyword (false positives are fine: the caller
/// then walks the syntax tree; false negatives are not).
pub fn may_contain_definition(bytes: &[u8]) -> bool {
    let is_boundary = |b: u8| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80);
    // Only spaces or tabs between the line start and `position`.
    let starts_line = |position: usize| {
        let mut i = position;
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        i == 0 || matches!(bytes[i - 1], b'\n' | b'\r' | b';' | b':')
    };
    static FINDERS: std::sync::OnceLock<[memchr::memmem::Finder<'static>; 2]> = std::sync::OnceLock::new();
    let finders = FINDERS.get_or_init(|| [memchr::memmem::Finder::new(b"def"), memchr::memmem::Finder::new(b"class")]);
    for finder in finders {
        let keyword = finder.needle();
        for position in finder.find_iter(bytes) {
            let before = position.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(position + keyword.len()).copied();
            if !(before.is_none_or(is_boundary) && after.is_none_or(is_boundary)) {
                continue;
            }
            // A definition starts a line (after indentation), possibly after `async`.
            let async_start = position.checked_sub(6).filter(|&start| &bytes[start..position] == b"async ");
            if starts_line(position) || async_start.is_some_and(starts_line) {
                return true;
            }
        }
    }
    false
}

/// A field of the Python grammar, its id looked up once: tree-sitter finds a field given by
/// name by comparing the name with each of the grammar's field names, on every call.
pub struct Field {
    name: &'static str,
    id: std::sync::OnceLock<u16>,
}

impl Field {
    const fn new(name: &'static str) -> Field {
        Field { name, id: std::sync::OnceLock::new() }
    }

    pub fn id(&self) -> u16 {
        *self.id.get_or_init(|| {
            let language = tree_sitter::Language::from(tree_sitter_python::LANGUAGE);
            language.field_id_for_name(self.name).unwrap_or_else(|| panic!("the Python grammar has no field `{}`", self.name)).get()
        })
    }
}

/// `node.field(&field::BODY)`: the child in a grammar field, by id.
pub trait FieldChild<'t> {
    fn field(&self, field: &Field) -> Option<tree::Node<'t>>;
}

impl<'t> FieldChild<'t> for tree::Node<'t> {
    fn field(&self, field: &Field) -> Option<tree::Node<'t>> {
        self.child_by_field_id(field.id())
    }
}

/// The fields the stages read.
pub mod field {
    use super::Field;

    pub static ALIAS: Field = Field::new("alias");
    pub static ALTERNATIVE: Field = Field::new("alternative");
    pub static ARGUMENT: Field = Field::new("argument");
    pub static ARGUMENTS: Field = Field::new("arguments");
    pub static ATTRIBUTE: Field = Field::new("attribute");
    pub static BODY: Field = Field::new("body");
    pub static CONDITION: Field = Field::new("condition");
    pub static CONSEQUENCE: Field = Field::new("consequence");
    pub static DEFINITION: Field = Field::new("definition");
    pub static EXPRESSION: Field = Field::new("expression");
    pub static FUNCTION: Field = Field::new("function");
    pub static KEY: Field = Field::new("key");
    pub static LEFT: Field = Field::new("left");
    pub static MODULE_NAME: Field = Field::new("module_name");
    pub static NAME: Field = Field::new("name");
    pub static OBJECT: Field = Field::new("object");
    pub static OPERATOR: Field = Field::new("operator");
    pub static PARAMETERS: Field = Field::new("parameters");
    pub static RETURN_TYPE: Field = Field::new("return_type");
    pub static RIGHT: Field = Field::new("right");
    pub static SUBJECT: Field = Field::new("subject");
    pub static SUBSCRIPT: Field = Field::new("subscript");
    pub static SUPERCLASSES: Field = Field::new("superclasses");
    pub static TYPE: Field = Field::new("type");
    pub static VALUE: Field = Field::new("value");

    /// Every field above (each must exist in the grammar).
    pub static ALL: &[&Field] = &[
        &ALIAS,
        &ALTERNATIVE,
        &ARGUMENT,
        &ARGUMENTS,
        &ATTRIBUTE,
        &BODY,
        &CONDITION,
        &CONSEQUENCE,
        &DEFINITION,
        &EXPRESSION,
        &FUNCTION,
        &KEY,
        &LEFT,
        &MODULE_NAME,
        &NAME,
        &OBJECT,
        &OPERATOR,
        &PARAMETERS,
        &RETURN_TYPE,
        &RIGHT,
        &SUBJECT,
        &SUBSCRIPT,
        &SUPERCLASSES,
        &TYPE,
        &VALUE,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_exists_in_the_grammar_and_finds_its_child() {
        for field in field::ALL {
            assert_ne!(field.id(), 0, "{}", field.name);
        }
        let tree = crate::parse::parse("def f(a):\n    return a\n");
        let function = tree.root_node().named_child(0).unwrap();
        assert_eq!(function.field(&field::NAME).map(|n| n.kind()), Some("identifier"));
        assert_eq!(function.field(&field::BODY).map(|n| n.kind()), Some("block"));
        assert_eq!(function.field(&field::ALIAS), None);
    }

    #[test]
    fn module_names_start_at_the_deepest_source_root_holding_the_file() {
        let roots = SourceRoots::new(["src", "./lib//", "lib/vendor", "../outside", "/abs", ""]);
        assert_eq!(roots.roots(), ["lib/vendor", "lib", "src"]);
        assert_eq!(roots.module_name("src/shop/cart.py"), "shop.cart");
        assert_eq!(roots.module_name("src/shop/__init__.py"), "shop");
        assert_eq!(roots.module_name("lib/vendor/six.py"), "six");
        assert_eq!(roots.module_name("lib/tool.py"), "tool");
        assert_eq!(roots.module_name("tests/test_cart.py"), "tests.test_cart");
        assert_eq!(roots.module_name("srcs/x.py"), "srcs.x");
        assert_eq!(SourceRoots::default().module_name("src/shop/cart.py"), "src.shop.cart");
    }
}
