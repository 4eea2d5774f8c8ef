//! Directories a module adds to `sys.path` with constant arguments, as Python would compute
//! them when the module runs: `sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))`,
//! `sys.path.append(str(Path(__file__).resolve().parent.parent / "src"))`, `site.addsitedir(…)`,
//! through module-level names bound once (`HERE = os.path.dirname(__file__)`).
//!
//! Part of the program layer: it reads a module's syntax tree and its imports, nothing above.
//! The analyses never run code: paths are evaluated from constant pieces only, and a piece
//! that is not constant (an environment variable, a parameter) drops the whole argument.

use rustc_hash::FxHashMap as HashMap;

use crate::syntax::tree::Node;

use super::text_of;
use crate::syntax::{field, FieldChild};

/// A path under evaluation: its components relative to the repository root.
type Components = Vec<String>;

/// The directories (relative to the repository root, `/`-separated, `""` for the root itself)
/// that `file` (its path relative to the root) adds to `sys.path` at module level, in order.
/// A string literal names a directory relative to the working directory, taken to be the root.
/// Directories outside the root are left out.
pub fn added_directories(text: &str, root: Node<'_>, imports: &HashMap<String, String>, file: &str) -> Vec<String> {
    if memchr::memmem::find(text.as_bytes(), b"path").is_none() || file.starts_with('/') {
        return Vec::new();
    }
    let evaluator = Evaluator { text, imports, file: components_of(file) };
    let mut names: HashMap<String, Option<Components>> = HashMap::default();
    let mut found: Vec<String> = Vec::new();
    // Module-level statements in order, with the blocks of module-level `if`/`try`/`with`
    // (the usual `if __name__ == "__main__":` and `try: import x except ImportError:` spots).
    let mut pending: Vec<Node<'_>> = Vec::new();
    let mut cursor = root.walk();
    pending.extend(root.named_children(&mut cursor).collect::<Vec<_>>().into_iter().rev());
    while let Some(statement) = pending.pop() {
        match statement.kind() {
            "expression_statement" => {
                let Some(expression) = statement.named_child(0) else { continue };
                match expression.kind() {
                    "assignment" => {
                        let (Some(left), Some(right)) = (expression.field(&field::LEFT), expression.field(&field::RIGHT)) else {
                            continue;
                        };
                        if left.kind() == "identifier" {
                            let value = evaluator.path(right, &names);
                            names.insert(text_of(text, left).to_string(), value);
                        }
                    }
                    "call" => {
                        if let Some(directory) = evaluator.added_directory(expression, &names) {
                            let directory = directory.join("/");
                            if !found.contains(&directory) {
                                found.push(directory);
                            }
                        }
                    }
                    _ => {}
                }
            }
            "if_statement" | "try_statement" | "with_statement" | "block" | "else_clause" | "elif_clause" | "except_clause"
            | "finally_clause" => {
                let mut cursor = statement.walk();
                let children: Vec<Node<'_>> = statement
                    .named_children(&mut cursor)
                    .filter(|child| matches!(child.kind(), "block" | "else_clause" | "elif_clause" | "except_clause" | "finally_clause"))
                    .collect();
                let statements: Vec<Node<'_>> = if statement.kind() == "block" {
                    let mut cursor = statement.walk();
                    statement.named_children(&mut cursor).collect()
                } else {
                    children
                };
                pending.extend(statements.into_iter().rev());
            }
            _ => {}
        }
    }
    found
}

fn components_of(path: &str) -> Components {
    path.split('/').filter(|part| !part.is_empty() && *part != ".").map(str::to_string).collect()
}

/// `base` followed by the components of `relative` (`..` climbs; climbing out of the root or an
/// absolute `relative` gives None).
fn joined(mut base: Components, relative: &str) -> Option<Components> {
    if relative.starts_with('/') || relative.contains(':') {
        return None;
    }
    for part in relative.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                base.pop()?;
            }
            part => base.push(part.to_string()),
        }
    }
    Some(base)
}

struct Evaluator<'a> {
    text: &'a str,
    imports: &'a HashMap<String, String>,
    /// The module's own path.
    file: Components,
}

impl Evaluator<'_> {
    /// The qualified name a dotted expression refers to through the module's imports.
    fn reference(&self, node: Node<'_>) -> Option<String> {
        let dotted = super::dotted(self.text, node)?;
        let head = dotted.split('.').next().unwrap_or(&dotted);
        let qualified = self.imports.get(head)?;
        Some(format!("{qualified}{}", &dotted[head.len()..]))
    }

    /// A string literal's value.
    fn string(&self, node: Node<'_>) -> Option<String> {
        match super::literal(self.text, node, &HashMap::default())? {
            super::Constant::Str(literal) => Some(literal),
            _ => None,
        }
    }

    /// The directory a `sys.path.insert(i, d)` / `sys.path.append(d)` / `site.addsitedir(d)`
    /// call adds, if `call` is one with a constant `d`.
    fn added_directory(&self, call: Node<'_>, names: &HashMap<String, Option<Components>>) -> Option<Components> {
        let function = call.field(&field::FUNCTION)?;
        let arguments = call.field(&field::ARGUMENTS)?;
        let mut cursor = arguments.walk();
        let positional: Vec<Node<'_>> = arguments.named_children(&mut cursor).filter(|a| a.kind() != "keyword_argument").collect();
        let directory = match self.reference(function).as_deref() {
            Some("sys.path.insert") => positional.get(1)?,
            Some("sys.path.append") | Some("site.addsitedir") => positional.first()?,
            _ => return None,
        };
        self.path(*directory, names)
    }

    /// The value of a constant path expression.
    fn path(&self, node: Node<'_>, names: &HashMap<String, Option<Components>>) -> Option<Components> {
        match node.kind() {
            "identifier" if text_of(self.text, node) == "__file__" => Some(self.file.clone()),
            "identifier" => names.get(text_of(self.text, node)).cloned().flatten(),
            "parenthesized_expression" => self.path(node.named_child(0)?, names),
            "string" => joined(Vec::new(), &self.string(node)?),
            "binary_operator" if node.field(&field::OPERATOR).is_some_and(|o| text_of(self.text, o) == "/") => {
                let left = self.path(node.field(&field::LEFT)?, names)?;
                self.extended(left, node.field(&field::RIGHT)?, names)
            }
            // `p.parent`
            "attribute" => {
                let name = text_of(self.text, node.field(&field::ATTRIBUTE)?);
                let mut value = self.path(node.field(&field::OBJECT)?, names)?;
                match name {
                    "parent" => {
                        value.pop()?;
                        Some(value)
                    }
                    _ => None,
                }
            }
            // `p.parents[1]`
            "subscript" => {
                let object = node.field(&field::VALUE)?;
                if object.kind() != "attribute" || object.field(&field::ATTRIBUTE).is_none_or(|a| text_of(self.text, a) != "parents") {
                    return None;
                }
                let index: usize = text_of(self.text, node.field(&field::SUBSCRIPT)?).trim().parse().ok()?;
                let mut value = self.path(object.field(&field::OBJECT)?, names)?;
                for _ in 0..=index {
                    value.pop()?;
                }
                Some(value)
            }
            "call" => self.call(node, names),
            _ => None,
        }
    }

    /// `value` joined with the constant path `piece` (`/ "lib"`, `os.path.join(…, "lib")`).
    fn extended(&self, value: Components, piece: Node<'_>, names: &HashMap<String, Option<Components>>) -> Option<Components> {
        if piece.kind() == "string" {
            return joined(value, &self.string(piece)?);
        }
        // An absolute piece replaces what comes before it (`os.path.join(x, __file__)`).
        self.path(piece, names)
    }

    fn call(&self, call: Node<'_>, names: &HashMap<String, Option<Components>>) -> Option<Components> {
        let function = call.field(&field::FUNCTION)?;
        let arguments = call.field(&field::ARGUMENTS)?;
        let mut cursor = arguments.walk();
        let positional: Vec<Node<'_>> = arguments.named_children(&mut cursor).filter(|a| a.kind() != "keyword_argument").collect();
        // Methods of a path value: `p.resolve()`, `p.absolute()`, `p.joinpath("lib")`.
        if function.kind() == "attribute" && self.reference(function).is_none() {
            let method = text_of(self.text, function.field(&field::ATTRIBUTE)?);
            let object = function.field(&field::OBJECT)?;
            return match method {
                "resolve" | "absolute" | "expanduser" => self.path(object, names),
                "joinpath" => positional.iter().try_fold(self.path(object, names)?, |value, piece| self.extended(value, *piece, names)),
                _ => None,
            };
        }
        let reference = match function.kind() {
            "identifier" if text_of(self.text, function) == "str" => "str".to_string(),
            _ => self.reference(function)?,
        };
        match reference.as_str() {
            "os.path.dirname" => {
                let mut value = self.path(*positional.first()?, names)?;
                value.pop()?;
                Some(value)
            }
            "os.path.abspath" | "os.path.realpath" | "os.path.normpath" | "os.fspath" | "str" | "pathlib.Path" | "pathlib.PurePath" => {
                match positional.as_slice() {
                    [] if reference.starts_with("pathlib") => Some(Vec::new()),
                    [first, rest @ ..] => {
                        rest.iter().try_fold(self.path(*first, names)?, |value, piece| self.extended(value, *piece, names))
                    }
                    [] => None,
                }
            }
            "os.path.join" => {
                let (first, rest) = positional.split_first()?;
                rest.iter().try_fold(self.path(*first, names)?, |value, piece| self.extended(value, *piece, names))
            }
            "os.getcwd" | "pathlib.Path.cwd" => Some(Vec::new()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(file: &str, source: &str) -> Vec<String> {
        let document = crate::parse::Document::new(source.to_string());
        let mut imports = HashMap::default();
        for line in source.lines() {
            if let Some(rest) = line.strip_prefix("import ") {
                imports.insert(rest.trim().to_string(), rest.trim().to_string());
            }
            if let Some(rest) = line.strip_prefix("from pathlib import Path") {
                let _ = rest;
                imports.insert("Path".to_string(), "pathlib.Path".to_string());
            }
        }
        added_directories(document.text(), document.root(), &imports, file)
    }

    #[test]
    fn constant_sys_path_additions_are_evaluated_relative_to_the_file() {
        let source = "import os\nimport sys\nHERE = os.path.dirname(os.path.abspath(__file__))\n\
                      sys.path.insert(0, os.path.join(HERE, '..', 'lib'))\nsys.path.append(HERE)\n";
        assert_eq!(added("scripts/run.py", source), ["lib", "scripts"]);
        let source = "import sys\nfrom pathlib import Path\nsys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'src'))\n";
        assert_eq!(added("tools/bin/go.py", source), ["tools/src"]);
        let source = "import sys\nfrom pathlib import Path\nsys.path.append(str(Path(__file__).parents[1]))\n";
        assert_eq!(added("a/b/c.py", source), ["a"]);
        let source = "import sys\nif __name__ == '__main__':\n    sys.path.insert(0, 'vendor')\n";
        assert_eq!(added("main.py", source), ["vendor"]);
    }

    #[test]
    fn paths_that_are_not_constant_or_leave_the_root_are_ignored() {
        let source = "import os\nimport sys\nsys.path.insert(0, os.environ['LIB'])\nsys.path.append('/usr/lib/x')\n\
                      sys.path.append(os.path.join(os.path.dirname(__file__), '..', '..'))\nsys.path.insert(0)\n\
                      def f(d):\n    sys.path.append(d)\n";
        assert_eq!(added("app/main.py", source), Vec::<String>::new());
    }
}
