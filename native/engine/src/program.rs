//! The whole-program view the analyses share: modules with their imports and constants,
//! scopes (module bodies, functions, methods) with parameters, and the tables that resolve a
//! qualified name to a function or class anywhere in the workspace.
//!
//! Invariants:
//! - Built from parsed documents only; never executes or imports analysed code.
//! - Name resolution is syntactic (imports, definitions, simple aliases); what cannot be
//!   resolved stays unresolved and the analyses treat it conservatively.
//! - Walks are iterative or bounded by `MAX_STATEMENT_DEPTH`.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::syntax::tree::Node;

use crate::parse::Document;
use crate::syntax::{field, FieldChild};
use crate::syntax::{SourceRoots, MAX_STATEMENT_DEPTH};

pub mod instances;
pub mod sys_path;

pub use instances::{ChainRoot, InstanceChain, InstanceStep};

/// A compile-time constant, for constant propagation and dead-branch pruning.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Constant {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Constant {
    /// `a <op> b` for comparison operators over constants, when decidable.
    pub fn compare(operator: &str, a: &Constant, b: &Constant) -> Option<bool> {
        match (operator, a, b) {
            ("==", a, b) => Some(a == b),
            ("!=", a, b) => Some(a != b),
            (op, Constant::Int(a), Constant::Int(b)) => match op {
                "<" => Some(a < b),
                "<=" => Some(a <= b),
                ">" => Some(a > b),
                ">=" => Some(a >= b),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Constant::None => false,
            Constant::Bool(b) => *b,
            Constant::Int(i) => *i != 0,
            Constant::Float(f) => *f != 0.0,
            Constant::Str(s) => !s.is_empty(),
        }
    }
}

pub struct ModuleInfo {
    pub name: String,
    pub file: usize,
    /// Local name → qualified name (`request` → `flask.request`, `np` → `numpy`).
    pub imports: HashMap<String, String>,
    /// Module-level names assigned exactly once to a constant.
    pub constants: ModuleConstants,
    /// Module-level names assigned exactly once to a reference (`run = subprocess.run`).
    pub aliases: HashMap<String, String>,
    /// Module-level names assigned exactly once to an object made from an import
    /// (`logger = logging.getLogger(__name__)`): see `instances`.
    pub instances: HashMap<String, InstanceChain>,
    /// Module-level names assigned exactly once to a list, tuple, set, frozenset or dict literal
    /// of constants (`ALLOWED = {"uptime", "date"}`): allow-lists a membership test may check.
    pub constant_collections: std::collections::BTreeSet<String>,
    /// Module-level names assigned exactly once to a dict, list or tuple literal whose values
    /// are all names (`HANDLERS = {"shell": run_shell, "echo": echo}`): dispatch tables, each
    /// value with its constant key (a dict's string key; `None` otherwise), the value as
    /// written (resolved where it is looked up: `Program::dispatch_table`).
    pub dispatch_tables: std::collections::BTreeMap<String, Vec<(Option<String>, String)>>,
    /// What the file does to names that may be another module's dispatch table or its own
    /// (`table_changes`): each name as the file reads it (qualified by its imports, or by the
    /// module for its own tables) with the entry a module-level constant-key store adds
    /// (`HANDLERS["x"] = f`: the key and the value as written), or `None` for any other change
    /// (a store elsewhere or of another value, `del`, a mutating method, given to a call, bound
    /// again, aliased, returned). Read by `Program::dispatch_table`.
    pub table_changes: Vec<TableChange>,
    /// Of those aliases that are instances made with an `autoescape=` keyword (a Jinja
    /// `Environment`), the autoescaping it asks for, read syntactically (`templates`).
    pub autoescape: HashMap<String, crate::templates::Autoescape>,
    /// Whether this module is a package's `__init__`.
    pub is_package: bool,
    /// The module-name prefixes of the directories this module adds to `sys.path` with
    /// constant arguments (`sys_path::added_directories`), other than a source root.
    pub search_paths: Vec<String>,
    /// SHA-256 over the sorted imports, constants, aliases and instances: what a scope's analysis sees
    /// of its module besides its own text.
    pub names_hash: [u8; 32],
}

impl ModuleInfo {
    fn hash_names(
        imports: &HashMap<String, String>,
        constants: &HashMap<String, Constant>,
        aliases: &HashMap<String, String>,
        instances: &HashMap<String, InstanceChain>,
        constant_collections: &std::collections::BTreeSet<String>,
        dispatch_tables: &std::collections::BTreeMap<String, Vec<(Option<String>, String)>>,
        autoescape: &HashMap<String, crate::templates::Autoescape>,
    ) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut entries: Vec<String> = imports.iter().map(|(k, v)| format!("i{k}={v}")).collect();
        entries.extend(constants.iter().map(|(k, v)| format!("c{k}={v:?}")));
        entries.extend(aliases.iter().map(|(k, v)| format!("a{k}={v}")));
        entries.extend(instances.iter().map(|(k, v)| format!("n{k}={v}")));
        entries.extend(constant_collections.iter().map(|k| format!("l{k}")));
        entries.extend(dispatch_tables.iter().map(|(k, v)| format!("d{k}={v:?}")));
        entries.extend(autoescape.iter().map(|(k, v)| format!("e{k}={v:?}")));
        entries.sort();
        Sha256::digest(entries.join("\n").as_bytes()).into()
    }
}

#[derive(Clone, Debug)]
pub struct Param<'t> {
    pub name: String,
    pub node: Node<'t>,
    pub annotation: Option<Node<'t>>,
    pub default: Option<Node<'t>>,
    /// `*args` or `**kwargs`.
    pub variadic: bool,
    /// Only a keyword argument binds it: after `*args` or a bare `*` (`def f(a, *, b)`).
    pub keyword_only: bool,
    /// Only a positional argument binds it: before a `/` (`def f(a, /, b)`).
    pub positional_only: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Function,
    /// A `lambda`: a function whose body is one expression (the value it returns), named
    /// `lambda_name` after its place in the scope around it.
    Lambda,
}

/// The qualified name of the lambda `lambda` written in the scope `enclosing` (the innermost
/// module, function or lambda around it; classes are not scopes of their own): its byte offset
/// in that scope's body, so equal text gives equal names, and a spelling no identifier has.
pub fn lambda_name(enclosing: &Scope<'_>, lambda: Node<'_>) -> String {
    format!("{}.<lambda@{}>", enclosing.qualified_name, lambda.start_byte().saturating_sub(enclosing.body.start_byte()))
}

/// `lambda_name` of a lambda written at module level (the module's body is the whole file).
fn module_lambda_name(module: &str, root: Node<'_>, lambda: Node<'_>) -> String {
    format!("{module}.<lambda@{}>", lambda.start_byte().saturating_sub(root.start_byte()))
}

/// Whether `qualified` names a lambda's scope (`lambda_name`).
pub fn is_lambda_name(qualified: &str) -> bool {
    qualified.rsplit_once('.').is_some_and(|(_, last)| last.starts_with("<lambda@"))
}

/// The name a path or message shows for a scope's last name part (`<lambda>` for a lambda).
pub fn shown_scope_name(qualified: &str) -> &str {
    if is_lambda_name(qualified) {
        "<lambda>"
    } else {
        qualified.rsplit_once('.').map_or(qualified, |(_, last)| last)
    }
}

pub struct Scope<'t> {
    pub kind: ScopeKind,
    pub qualified_name: String,
    pub module: usize,
    pub file: usize,
    /// `function_definition`, `lambda` or `module`.
    pub node: Node<'t>,
    /// The statements: a function's body block, or the module node; a lambda's body expression.
    pub body: Node<'t>,
    /// Explicit parameters, including `self`/`cls` (see `implicit_receiver`).
    pub params: Vec<Param<'t>>,
    /// The class a method belongs to (qualified name).
    pub class: Option<String>,
    /// Whether the first parameter receives the instance or class (not a staticmethod).
    pub implicit_receiver: bool,
    pub decorators: Vec<Node<'t>>,
    /// The nesting depth of the definition; beyond `MAX_STATEMENT_DEPTH` the scope is skipped.
    pub depth: usize,
    /// SHA-256 of what the scope's analysis reads of its own file (`scope_text_hash`).
    pub text_hash: [u8; 32],
}

/// The header of a method's class: its byte range (definition start to body start) and the
/// nodes before the body (name, type parameters, bases) when one of them holds a syntax error.
#[derive(Clone, Copy)]
struct ClassHeader<'t> {
    range: (usize, usize),
    broken: Option<Node<'t>>,
}

impl<'t> ClassHeader<'t> {
    fn of(class: Node<'t>, body: Node<'t>) -> ClassHeader<'t> {
        let mut cursor = class.walk();
        let broken = class.children(&mut cursor).take_while(|child| child.start_byte() < body.start_byte()).find(Node::has_error);
        ClassHeader { range: (class.start_byte(), body.start_byte()), broken }
    }
}

/// SHA-256 of what a function's analysis reads of its own file: its text with its decorators
/// (routes make parameters sources) and, for a method, its class's header (bases decide what
/// `self.request` is). Where one of those holds a syntax error, also its parse (`hash_shape`).
fn function_text_hash(text: &str, function: Node<'_>, decorators: &[Node<'_>], class_header: Option<ClassHeader<'_>>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let start = decorators.first().map_or(function.start_byte(), |decorator| decorator.start_byte().min(function.start_byte()));
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes().get(start..function.end_byte()).unwrap_or_default());
    if let Some(ClassHeader { range: (header_start, header_end), .. }) = class_header {
        hasher.update(b"\0class\0");
        hasher.update(text.as_bytes().get(header_start..header_end).unwrap_or_default());
    }
    let broken = decorators.iter().chain([&function]).copied().chain(class_header.and_then(|header| header.broken)).filter(Node::has_error);
    for node in broken {
        hasher.update(b"\0shape\0");
        hash_shape(&mut hasher, node);
    }
    hasher.finalize().into()
}

/// The same text can parse differently after an edit elsewhere when the parse holds syntax
/// errors (error recovery is not local): there a key also covers the parse, node by node. A
/// node without errors is a complete parse of its text, the same wherever it stands, so a
/// function without errors keeps its key while the file around it breaks and heals (an error
/// typed into one function re-analyses that function, not every function of the file).
fn hash_shape(hasher: &mut sha2::Sha256, node: Node<'_>) {
    use sha2::Digest;
    let base = node.start_byte();
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        hasher.update(current.kind_id().to_le_bytes());
        hasher.update((current.start_byte() - base).to_le_bytes());
        hasher.update((current.end_byte() - base).to_le_bytes());
        hasher.update([u8::from(current.is_missing())]);
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node() == node {
                return;
            }
        }
    }
}

/// SHA-256 of what a module body's analysis reads: its top-level statements in order
/// (function definitions by their names only; a class statement with its body, whose steps the
/// module's CFG runs, `cfg::build_scope_cfg`, the methods in it by their names only). Not their
/// places: cached results move with the text (`taint::rebase`), so an edit inside a function
/// or a method leaves its module's key unchanged.
fn module_text_hash(text: &str, node: Node<'_>, broken: bool) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    // Statements in order, depth-first: a class body's follow its class statement's header.
    let mut cursor = node.walk();
    let mut stack: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
    stack.reverse();
    while let Some(statement) = stack.pop() {
        hasher.update(statement.kind_id().to_le_bytes());
        let definition = matches!(statement.kind(), "function_definition" | "class_definition" | "decorated_definition");
        let inner = statement.field(&field::DEFINITION).unwrap_or(statement);
        let shown = if definition {
            // A definition binds its name (decorators and bodies are their scopes'); a class's
            // body statements follow.
            if inner.kind() == "class_definition" {
                if let Some(body) = inner.field(&field::BODY) {
                    let mut body_cursor = body.walk();
                    let first = stack.len();
                    stack.extend(body.named_children(&mut body_cursor));
                    stack[first..].reverse();
                    // How many statements the body holds: where the class ends.
                    hasher.update((stack.len() - first).to_le_bytes());
                }
            }
            inner.field(&field::NAME).unwrap_or(inner)
        } else {
            statement
        };
        let shown = text.as_bytes().get(shown.byte_range()).unwrap_or_default();
        hasher.update(shown.len().to_le_bytes());
        hasher.update(shown);
    }
    if broken {
        hash_shape(&mut hasher, node);
    }
    hasher.finalize().into()
}

pub struct ClassInfo {
    pub qualified_name: String,
    pub module: usize,
    /// Base classes as written, resolved through imports where possible.
    pub bases: Vec<String>,
    pub methods: HashMap<String, usize>,
}

pub struct SourceFile<'a> {
    pub path: String,
    pub document: &'a Document,
    /// Hashes of the identifiers the text holds (sorted, distinct): which files may mention a
    /// name, without scanning their text. Computed on first use (slicing), once per text.
    identifiers: std::sync::OnceLock<Vec<u64>>,
}

impl SourceFile<'_> {
    /// Whether the text may hold identifier `name` (false means it does not).
    pub fn may_mention(&self, name: &str) -> bool {
        let identifiers = self.identifiers.get_or_init(|| identifier_hashes(self.document.text()));
        identifiers.binary_search(&identifier_hash(name.as_bytes())).is_ok()
    }
}

fn identifier_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// Hashes of every identifier-like word of `text` (letters, digits, `_`, non-ASCII), sorted
/// and distinct.
pub fn identifier_hashes(text: &str) -> Vec<u64> {
    let bytes = text.as_bytes();
    let is_identifier = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut hashes = Vec::new();
    let mut start = None;
    for (index, &byte) in bytes.iter().enumerate() {
        match (is_identifier(byte), start) {
            (true, None) => start = Some(index),
            (false, Some(first)) => {
                hashes.push(identifier_hash(&bytes[first..index]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        hashes.push(identifier_hash(&bytes[first..]));
    }
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// One file's share of the program, numbered for its place in a whole program: its file and
/// module index and the index of its first scope. Parts are built independently (in parallel,
/// and only again when their document changes); `renumber` moves a part to another place
/// without walking its tree.
pub struct FileProgram<'t> {
    pub file: SourceFile<'t>,
    pub module: ModuleInfo,
    pub scopes: Vec<Scope<'t>>,
    /// Qualified name → scope index in the whole program (this file's functions and methods).
    pub functions: HashMap<String, usize>,
    /// Qualified name → class (method indices in the whole program).
    pub classes: HashMap<String, ClassInfo>,
    /// This file's functions that hold another function definition (directly or deeper).
    pub enclosing_functions: Vec<String>,
    pub file_index: usize,
    pub scope_offset: usize,
}

/// The whole program: a view over consecutively numbered `FileProgram`s.
///
/// Invariant: `files[i]`, `modules[i]` come from the i-th part, whose scopes are
/// `scopes[part.scope_offset..][..part.scopes.len()]`; every index stored in a part
/// (`Scope::file`, `Scope::module`, `functions`, `ClassInfo::methods`) is an index of this view.
/// Lookups by name take the last definition in file order (as one merged table would).
pub struct Program<'p> {
    pub files: Vec<&'p SourceFile<'p>>,
    pub modules: Vec<&'p ModuleInfo>,
    pub scopes: Vec<&'p Scope<'p>>,
    /// Qualified name → scope (functions and methods).
    pub functions: FxHashMap<&'p str, usize>,
    /// Qualified name → class.
    pub classes: FxHashMap<&'p str, &'p ClassInfo>,
    /// Module name → module index.
    pub module_index: FxHashMap<&'p str, usize>,
    /// Each file's own classes (by file index).
    pub file_classes: Vec<&'p HashMap<String, ClassInfo>>,
    /// Functions that hold another function definition (every file's `enclosing_functions`).
    pub enclosing_functions: Vec<&'p str>,
    /// Class → the classes naming it as a base, sorted (built on first use).
    subclasses: std::sync::OnceLock<FxHashMap<&'p str, Vec<&'p str>>>,
    /// What the modules do to the dispatch tables (`ModuleInfo::table_changes`), by table,
    /// built on first use (`Program::table_index`).
    table_index: std::sync::OnceLock<TableIndex>,
    /// Every dotted prefix of every module name (`a`, `a.b`, `a.b.c` for `a.b.c`), built on
    /// first use: the packages, namespace packages and modules an import may name.
    module_prefixes: std::sync::OnceLock<FxHashSet<&'p str>>,
    /// The module-name prefixes of the directories any module adds to `sys.path`, sorted.
    search_prefixes: Vec<&'p str>,
    /// `reexport_target`'s answer per reference, with the name lookups its walk made: a hit
    /// replays them (`note_lookup_hash`), so a recording sees what a fresh walk would record.
    /// Sound because the tables it reads are fixed once the program is built.
    reexports: LookupMemo<Option<Box<str>>>,
    /// `ancestors`' answer per class, with the name lookups it made (replayed on a hit, as
    /// for `reexports`): every call of a method asks for its class's bases.
    ancestry: LookupMemo<Arc<[String]>>,
    /// `resolve_name`'s answer per module (by index) and first name of a dotted name, with the
    /// name lookups it made (replayed on a hit, as for `reexports`): every visit of every name
    /// and call resolves it again.
    resolved: Vec<LookupMemo<Option<Box<str>>>>,
    /// `memoised_targets`' answers: the scopes a reference may denote when called
    /// (`ir::resolve::targets`), per reference, for closed (`[0]`) and open (`[1]`) references.
    targets: [LookupMemo<Box<[usize]>>; 2],
    /// `memoised_super`'s answers: what `super().m` refers to, per (class, class it starts
    /// after, method), with the name lookups finding it made (replayed on a hit).
    supers: LookupMemo<Option<String>>,
    /// The directory file paths are relative to, when the program is of files on disk: other
    /// files of the project (an OpenAPI spec) are read from under it.
    pub root: Option<std::path::PathBuf>,
    /// The project's template files (`templates`), joined with the render sites the taint
    /// analysis records after it has solved (never part of a scope's analysis key).
    pub templates: Option<std::sync::Arc<crate::templates::TemplateSet>>,
}

/// The autoescaping a constructor call's `autoescape=` keyword asks for: `True` or a non-empty
/// string (Tornado's escaping function's name, `"xhtml_escape"`; truthy for Jinja) on, a
/// `select_autoescape(...)` call by extension, anything else off (`None`, `False`, a value not
/// known here: toward more findings); `None` without the keyword.
pub fn autoescape_keyword(text: &str, call: Node<'_>) -> Option<crate::templates::Autoescape> {
    let arguments = call.field(&field::ARGUMENTS)?;
    let mut cursor = arguments.walk();
    let keyword = arguments
        .named_children(&mut cursor)
        .filter(|argument| argument.kind() == "keyword_argument")
        .find(|argument| argument.field(&field::NAME).is_some_and(|name| text_of(text, name) == "autoescape"))?;
    Some(autoescape_value(text, keyword.field(&field::VALUE)?))
}

/// The autoescaping a Jinja `autoescape=` value asks for: `True` or a non-empty string on,
/// `select_autoescape(...)` by extension, anything else (undecided included) off.
pub fn autoescape_value(text: &str, value: Node<'_>) -> crate::templates::Autoescape {
    use crate::templates::Autoescape;
    match value.kind() {
        "true" => Autoescape::On,
        "string" if matches!(literal(text, value, &HashMap::default()), Some(Constant::Str(name)) if !name.is_empty()) => Autoescape::On,
        "call" if value.field(&field::FUNCTION).is_some_and(|f| text_of(text, f).ends_with("select_autoescape")) => Autoescape::ByExtension,
        _ => Autoescape::Off,
    }
}

pub fn text_of<'a>(text: &'a str, node: Node<'_>) -> &'a str {
    text.get(node.byte_range()).unwrap_or("")
}

/// Dotted text of a `dotted_name` / `identifier` / `attribute` chain, if it is one.
pub fn dotted(text: &str, node: Node<'_>) -> Option<String> {
    // Down the attribute chain iteratively (`a.b.b.b…` can be arbitrarily long).
    let mut attributes: Vec<&str> = Vec::new();
    let mut current = node;
    while current.kind() == "attribute" {
        attributes.push(text_of(text, current.field(&field::ATTRIBUTE)?));
        current = current.field(&field::OBJECT)?;
    }
    if !matches!(current.kind(), "identifier" | "dotted_name") {
        return None;
    }
    let mut name: String = text_of(text, current).split_whitespace().collect();
    for attribute in attributes.into_iter().rev() {
        name.push('.');
        name.push_str(attribute);
    }
    Some(name)
}

/// The dotted name `right` is (`default_storage`), or the first side of a conditional
/// expression that is a dotted name with an imported head (`default_storage if not local
/// else S3MockStorage()` may be `default_storage`: the name is its alias; the other side is
/// not followed).
fn imported_alternative(text: &str, right: Node<'_>, imports: &HashMap<String, String>) -> Option<String> {
    if right.kind() != "conditional_expression" {
        return dotted(text, right);
    }
    [right.named_child(0), right.named_child(2)]
        .into_iter()
        .flatten()
        .filter_map(|side| dotted(text, side))
        .find(|reference| imports.contains_key(reference.split('.').next().unwrap_or("")))
}

/// Most classes `Program::ancestors` lists, and the depth of the hierarchy it linearises.
const MAX_ANCESTORS: usize = 64;

/// The prefix of a reference naming several candidates, `|`-separated (`ir::resolve::ONE_OF`).
pub const ONE_OF: &str = "one_of:";

/// Most candidates a reference naming several (`one_of`) holds; past it the reference is
/// unknown and the call it makes unresolved, as any unknown callee's is (the library's rules
/// by name apply, arguments flow into the result).
pub const MAX_CANDIDATES: usize = 8;

/// The name an analysis records as looked up when a reference it resolved had more candidates
/// than a bound allows (`MAX_CANDIDATES` here, `ir::resolve::MAX_DESCENDANTS` and
/// `MAX_COOPERATIVE_DESCENDANTS` for `super()`) and was left unknown: recorded as a lookup, it
/// is replayed with the memoised answers that met it, so the analysis sees it on every hit
/// (`candidates_bounded`; taint counts it, `Incomplete::callees_bounded`). No file's name facts
/// hold it, so it never makes a scope stale.
pub const CANDIDATES_BOUNDED_LOOKUP: &str = "<candidates past a bound>";

/// Records, for the analysis running on this thread, that a reference was left unknown past a
/// bound on its candidates (`CANDIDATES_BOUNDED_LOOKUP`).
pub fn note_candidates_bounded() {
    note_lookup(CANDIDATES_BOUNDED_LOOKUP);
}

/// Whether the lookups an analysis recorded (`record_name_lookups`, sorted) hold a reference
/// left unknown past a bound on its candidates.
pub fn candidates_bounded(lookups: &[u64]) -> bool {
    lookups.binary_search(&name_lookup_hash(CANDIDATES_BOUNDED_LOOKUP)).is_ok()
}

/// The candidates a reference names: each of a `one_of:`, else the reference itself.
pub fn alternatives(reference: &str) -> std::str::Split<'_, char> {
    reference.strip_prefix(ONE_OF).unwrap_or(reference).split('|')
}

/// The reference of candidates (`one_of:` them, sorted, without repeats; a single one is
/// itself); `None` for none, or past `MAX_CANDIDATES`.
pub fn one_of<'a>(candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut all: Vec<&str> = candidates.into_iter().flat_map(alternatives).collect();
    all.sort_unstable();
    all.dedup();
    match all.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        many if many.len() > MAX_CANDIDATES => {
            note_candidates_bounded();
            None
        }
        many => Some(format!("{ONE_OF}{}", many.join("|"))),
    }
}

/// Names a module binds at its top level, in `if`/`try` blocks too, only by plain assignments
/// of classes, to several (`Impl = A if X else B`, `if X: Impl = A` / `else: Impl = B`), with
/// the classes (`one_of` them). `class_name` qualifies a (dotted) name that is a class of the
/// module's own or an imported class-like (capitalised) name. A name also bound another way
/// there (a definition, an assignment of anything else) is left out.
fn class_alternatives(text: &str, root: Node<'_>, class_name: &dyn Fn(&str) -> Option<String>) -> HashMap<String, String> {
    // The classes a right side may be: a class name, or a conditional of such.
    let classes_of = |right: Node<'_>| -> Option<Vec<String>> {
        let mut classes = Vec::new();
        let mut pending = vec![right];
        while let Some(node) = pending.pop() {
            match node.kind() {
                "parenthesized_expression" if pending.len() < MAX_STATEMENT_DEPTH => pending.extend(node.named_child(0)),
                "conditional_expression" if pending.len() < MAX_STATEMENT_DEPTH => {
                    let mut cursor = node.walk();
                    let parts: Vec<Node<'_>> = node.named_children(&mut cursor).filter(|part| part.kind() != "comment").collect();
                    let [chosen, _, other] = parts[..] else { return None };
                    pending.extend([other, chosen]);
                }
                "identifier" | "attribute" => classes.push(class_name(&dotted(text, node)?)?),
                _ => return None,
            }
        }
        Some(classes)
    };
    let mut found: HashMap<String, Option<Vec<String>>> = HashMap::default();
    let mut blocks = vec![(root, 0usize)];
    while let Some((block, depth)) = blocks.pop() {
        let mut cursor = block.walk();
        for statement in block.named_children(&mut cursor) {
            match statement.kind() {
                "expression_statement" => {
                    let Some(assignment) = statement.named_child(0).filter(|n| n.kind() == "assignment") else { continue };
                    let Some(left) = assignment.field(&field::LEFT).filter(|left| left.kind() == "identifier") else { continue };
                    let classes = assignment.field(&field::RIGHT).and_then(classes_of);
                    let entry = found.entry(text_of(text, left).to_string()).or_insert_with(|| Some(Vec::new()));
                    match (entry.as_mut(), classes) {
                        (Some(known), Some(classes)) => known.extend(classes),
                        _ => *entry = None,
                    }
                }
                "function_definition" | "class_definition" | "decorated_definition" => {
                    let definition = statement.field(&field::DEFINITION).unwrap_or(statement);
                    if let Some(name) = definition.field(&field::NAME) {
                        found.insert(text_of(text, name).to_string(), None);
                    }
                }
                "if_statement" | "try_statement" | "block" | "elif_clause" | "else_clause" | "except_clause" | "finally_clause"
                    if depth < MAX_STATEMENT_DEPTH =>
                {
                    blocks.push((statement, depth + 1));
                }
                _ => {}
            }
        }
    }
    // Of several classes only: an alias of one class of the module's own (`O = Order`) stays
    // unresolved, as before — resolving those made sympy's analysis a quarter slower
    // (`Matrix`, `O`, … called everywhere) for no finding.
    found
        .into_iter()
        .filter_map(|(name, classes)| Some((name, one_of(classes?.iter().map(String::as_str))?)))
        .filter(|(_, classes)| classes.starts_with(ONE_OF))
        .collect()
}

/// A module's constants by name (`ModuleInfo::constants`).
pub type ModuleConstants = HashMap<String, Constant>;

/// Where `literal` finds the constant an identifier means: a module's constants by name, or
/// those as one scope reads them (`ir::bindings::ScopeConstants`: a name the function binds
/// itself is never the module's constant of that name).
pub trait ConstantNames {
    /// The constant the identifier `identifier`, written `name`, means where it is read.
    fn constant_named(&self, name: &str, identifier: Node<'_>) -> Option<&Constant>;
}

impl<S: std::hash::BuildHasher> ConstantNames for std::collections::HashMap<String, Constant, S> {
    fn constant_named(&self, name: &str, _: Node<'_>) -> Option<&Constant> {
        self.get(name)
    }
}

/// Evaluates literal expressions (and the constants names mean, `ConstantNames`) to a constant.
pub fn literal(text: &str, node: Node<'_>, constants: &(impl ConstantNames + ?Sized)) -> Option<Constant> {
    // Parentheses and signs peeled iteratively (`-(-(…1))` can nest arbitrarily deep).
    let mut signs: Vec<&str> = Vec::new();
    let mut current = node;
    loop {
        match current.kind() {
            "parenthesized_expression" => current = current.named_child(0)?,
            "unary_operator" => {
                signs.push(text_of(text, current.field(&field::OPERATOR)?));
                current = current.field(&field::ARGUMENT)?;
            }
            _ => break,
        }
    }
    let mut value = atom(text, current, constants)?;
    for sign in signs.into_iter().rev() {
        value = match (sign, value) {
            ("-", Constant::Int(i)) => Constant::Int(i.checked_neg()?),
            ("-", Constant::Float(f)) => Constant::Float(-f),
            ("+", value) => value,
            _ => return None,
        };
    }
    Some(value)
}

/// A change of a name that may be a dispatch table (`ModuleInfo::table_changes`): the name as
/// the file reads it, and the entry a store adds (`None`: unknown entries).
pub type TableChange = (String, Option<(Option<String>, String)>);

/// The methods of a dict or list that change it (`ModuleInfo::table_changes`).
const MUTATING_METHODS: [&str; 17] = [
    "update",
    "setdefault",
    "pop",
    "popitem",
    "clear",
    "append",
    "extend",
    "insert",
    "remove",
    "sort",
    "reverse",
    "__setitem__",
    "__delitem__",
    "__init__",
    "__ior__",
    "__iadd__",
    "__imul__",
];

/// What the file does to names that may be dispatch tables (`ModuleInfo::table_changes`): one
/// iterative walk of the whole tree (strings and comments skipped, import statements too). A
/// name is a candidate when its head is imported (`from app import HANDLERS`, `import app` for
/// `app.HANDLERS`) or is one of the module's own tables (`tables`); `top_bindings` are the
/// top-level assignments that bind those (not changes). Occurrences that read the table leave
/// it alone: a look-up (`HANDLERS[k]`), a method that only reads, `k in HANDLERS`, a loop over
/// it, a call of it. A store `HANDLERS["x"] = f` (or `= lambda …`) outside any function or
/// class adds the entry; anything else that may change it or let it escape is `None`.
fn table_changes<'t>(
    text: &str,
    root: Node<'t>,
    module: &str,
    imports: &HashMap<String, String>,
    tables: &std::collections::BTreeMap<String, Vec<(Option<String>, String)>>,
    top_bindings: &[Node<'t>],
) -> Vec<TableChange> {
    let mut found: Vec<TableChange> = Vec::new();
    if imports.is_empty() && tables.is_empty() {
        return found;
    }
    let candidate = |node: Node<'_>| -> Option<String> {
        let written = dotted(text, node)?;
        let head = written.split('.').next().unwrap_or("");
        if head == written && tables.contains_key(head) {
            return Some(format!("{module}.{written}"));
        }
        imports.get(head).map(|qualified| format!("{qualified}{}", &written[head.len()..]))
    };
    // (node, whether it runs at module level: not in a function, lambda or class body).
    let mut stack: Vec<(Node<'t>, bool)> = vec![(root, true)];
    while let Some((node, top)) = stack.pop() {
        let kind = node.kind();
        match kind {
            "string" | "comment" | "import_statement" | "import_from_statement" | "future_import_statement" => continue,
            "identifier" | "attribute" if node.field_name() != Some("attribute") && node.field_name() != Some("name") => {
                if let Some(name) = candidate(node) {
                    if let Some(change) = table_change(text, root, module, node, top, top_bindings) {
                        found.push((name, change));
                    }
                }
            }
            _ => {}
        }
        let inner = top && !matches!(kind, "function_definition" | "lambda" | "class_definition");
        let mut cursor = node.walk();
        match kind {
            // `obj.name`: the object is an occurrence of its own (`app.HANDLERS.update`).
            "attribute" => stack.extend(node.field(&field::OBJECT).map(|object| (object, inner))),
            _ => stack.extend(node.named_children(&mut cursor).map(|child| (child, inner))),
        }
    }
    found
}

/// What occurrence `node` of a name that may be a dispatch table does to it
/// (`table_changes`): `None` when it leaves it alone, `Some(Some(entry))` for a module-level
/// constant-key store of a name or lambda, `Some(None)` for any other change or escape.
#[allow(clippy::option_option)]
fn table_change<'t>(
    text: &str,
    root: Node<'t>,
    module: &str,
    node: Node<'t>,
    top: bool,
    top_bindings: &[Node<'_>],
) -> Option<Option<(Option<String>, String)>> {
    let parent = node.parent()?;
    let field_name = node.field_name();
    // Climbs out of target patterns (`a, t[k] = …`, `for t[k] in …`).
    let target_of = |mut target: Node<'t>| -> Option<(Node<'t>, Option<&'static str>)> {
        loop {
            let up = target.parent()?;
            if matches!(
                up.kind(),
                "expression_list" | "tuple" | "list" | "pattern_list" | "tuple_pattern" | "list_pattern" | "parenthesized_expression"
            ) {
                target = up;
                continue;
            }
            return Some((up, target.field_name()));
        }
    };
    let assigned = |up: Node<'t>, field: Option<&str>| {
        matches!(
            (up.kind(), field),
            ("assignment" | "augmented_assignment" | "for_statement" | "for_in_clause", Some("left"))
                | ("delete_statement", _)
                | ("named_expression", Some("name"))
                | ("as_pattern", Some("alias"))
        )
    };
    match (parent.kind(), field_name) {
        ("subscript", Some("value")) => {
            let (up, field) = target_of(parent)?;
            if !assigned(up, field) {
                return None;
            }
            // `HANDLERS["x"] = f` at module level: an entry.
            let direct = up.kind() == "assignment" && parent.parent() == Some(up) && top;
            let key = parent.field(&field::SUBSCRIPT).and_then(|key| match literal(text, key, &HashMap::default()) {
                Some(Constant::Str(key)) => Some(key),
                _ => None,
            });
            let value = up.field(&field::RIGHT).and_then(|value| match value.kind() {
                "identifier" | "attribute" => dotted(text, value),
                "lambda" => Some(module_lambda_name(module, root, value)),
                _ => None,
            });
            Some(match (direct, key, value) {
                (true, Some(key), Some(value)) => Some((Some(key), value)),
                _ => None,
            })
        }
        ("attribute", Some("object")) => {
            let method = parent.field(&field::ATTRIBUTE).map(|a| text_of(text, a))?;
            MUTATING_METHODS.contains(&method).then_some(None)
        }
        ("argument_list" | "list_splat" | "dictionary_splat", _) | ("keyword_argument", Some("value")) => Some(None),
        (
            "return_statement"
            | "yield"
            | "list"
            | "tuple"
            | "set"
            | "expression_list"
            | "conditional_expression"
            | "boolean_operator"
            | "parenthesized_expression"
            | "default_parameter"
            | "typed_default_parameter",
            _,
        )
        | ("pair", Some("value"))
        | ("lambda", Some("body"))
        | ("assignment", Some("right"))
        | ("named_expression", Some("value")) => {
            // A target pattern binds it again; anywhere else the table escapes.
            Some(None)
        }
        _ => {
            let (up, field) = target_of(node)?;
            if !assigned(up, field) {
                return None;
            }
            // The module's own binding of its table is no change.
            (!top_bindings.contains(&up)).then_some(None)
        }
    }
}

/// The entries of a dispatch table literal (see `ModuleInfo::dispatch_tables`, and a
/// function's own: `ir::resolve::table_locals`): a dict, list or tuple whose values are all
/// (dotted) names or lambdas (named by `lambda_name`), at most `MAX_DISPATCH_ENTRIES` of them.
pub(crate) fn dispatch_table_of<'t>(
    text: &str,
    node: Node<'t>,
    lambda_name: &dyn Fn(Node<'t>) -> String,
) -> Option<Vec<(Option<String>, String)>> {
    const MAX_DISPATCH_ENTRIES: usize = 256;
    if !matches!(node.kind(), "dictionary" | "list" | "tuple") || node.named_child_count() > MAX_DISPATCH_ENTRIES {
        return None;
    }
    let mut entries = Vec::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let (key, value) = match child.kind() {
            "pair" => {
                let key = child.field(&field::KEY).and_then(|key| match literal(text, key, &HashMap::default()) {
                    Some(Constant::Str(key)) => Some(key),
                    _ => None,
                });
                (key, child.field(&field::VALUE)?)
            }
            "comment" => continue,
            _ => (None, child),
        };
        match value.kind() {
            "identifier" | "attribute" => entries.push((key, dotted(text, value)?)),
            "lambda" => entries.push((key, lambda_name(value))),
            _ => return None,
        }
    }
    (!entries.is_empty()).then_some(entries)
}

/// Whether `node` is a list, tuple, set or dict literal (or `frozenset`/`set`/`tuple` of one)
/// whose elements (a dict's keys) are all constants.
pub fn is_constant_collection(text: &str, node: Node<'_>, constants: &(impl ConstantNames + ?Sized)) -> bool {
    let node = match node.kind() {
        "call" => {
            let wrapper = node.field(&field::FUNCTION).map(|f| text_of(text, f));
            let argument = node.field(&field::ARGUMENTS).filter(|a| a.named_child_count() == 1).and_then(|a| a.named_child(0));
            match (wrapper, argument) {
                (Some("frozenset" | "set" | "tuple" | "list"), Some(argument)) => argument,
                _ => return false,
            }
        }
        _ => node,
    };
    let mut cursor = node.walk();
    match node.kind() {
        "list" | "tuple" | "set" => node.named_children(&mut cursor).all(|element| literal(text, element, constants).is_some()),
        "dictionary" => node
            .named_children(&mut cursor)
            .all(|pair| pair.kind() == "pair" && pair.field(&field::KEY).is_some_and(|key| literal(text, key, constants).is_some())),
        _ => false,
    }
}

/// A literal or constant name, without signs or parentheses.
fn atom(text: &str, node: Node<'_>, constants: &(impl ConstantNames + ?Sized)) -> Option<Constant> {
    match node.kind() {
        "true" => Some(Constant::Bool(true)),
        "false" => Some(Constant::Bool(false)),
        "none" => Some(Constant::None),
        "integer" => {
            let raw = text_of(text, node).replace('_', "");
            let value = if let Some(hex) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
                i64::from_str_radix(hex, 16).ok()
            } else {
                raw.parse::<i64>().ok()
            };
            value.map(Constant::Int)
        }
        "float" => text_of(text, node).replace('_', "").parse::<f64>().ok().map(Constant::Float),
        "string" => {
            let mut cursor = node.walk();
            if node.named_children(&mut cursor).any(|child| child.kind() == "interpolation") {
                return None;
            }
            let start = node.child(0)?;
            let end = node.child(node.child_count().checked_sub(1)?)?;
            let content = text.get(start.end_byte()..end.start_byte())?;
            Some(Constant::Str(content.to_string()))
        }
        "identifier" => constants.constant_named(text_of(text, node), node).cloned(),
        _ => None,
    }
}

fn is_definition_kind(kind: &str) -> bool {
    matches!(kind, "function_definition" | "class_definition")
}

fn collect_imports(text: &str, root: Node<'_>, module: &str, is_package: bool, imports: &mut HashMap<String, String>) {
    let package: Vec<&str> = {
        let mut parts: Vec<&str> = module.split('.').collect();
        if !is_package {
            parts.pop();
        }
        parts
    };
    // Imports anywhere in the file (function-local imports included), iteratively.
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "import_statement" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    match name.kind() {
                        "dotted_name" => {
                            let full = text_of(text, name).to_string();
                            let first = full.split('.').next().unwrap_or(&full).to_string();
                            imports.insert(first.clone(), first);
                        }
                        "aliased_import" => {
                            if let (Some(target), Some(alias)) = (name.field(&field::NAME), name.field(&field::ALIAS)) {
                                imports.insert(text_of(text, alias).to_string(), text_of(text, target).to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            "import_from_statement" => {
                let Some(module_node) = node.field(&field::MODULE_NAME) else { continue };
                let raw = text_of(text, module_node);
                let base = if module_node.kind() == "relative_import" {
                    let dots = raw.chars().take_while(|&c| c == '.').count();
                    let rest = raw[dots..].trim();
                    let keep = package.len().saturating_sub(dots - 1);
                    let mut parts: Vec<&str> = package[..keep].to_vec();
                    if !rest.is_empty() {
                        parts.push(rest);
                    }
                    parts.join(".")
                } else {
                    raw.to_string()
                };
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    let (target, alias) = match name.kind() {
                        "aliased_import" => match (name.field(&field::NAME), name.field(&field::ALIAS)) {
                            (Some(target), Some(alias)) => (text_of(text, target), text_of(text, alias)),
                            _ => continue,
                        },
                        _ => (text_of(text, name), text_of(text, name)),
                    };
                    let qualified = if base.is_empty() { target.to_string() } else { format!("{base}.{target}") };
                    imports.insert(alias.to_string(), qualified);
                }
            }
            // Function and class bodies without the word `import` hold no import.
            kind if is_definition_kind(kind)
                && node
                    .field(&field::BODY)
                    .is_some_and(|body| memchr::memmem::find(&text.as_bytes()[body.byte_range()], b"import").is_none()) => {}
            kind if is_definition_kind(kind)
                || kind == "module"
                || kind == "block"
                || kind.ends_with("_statement")
                || kind.ends_with("_clause")
                || kind == "decorated_definition" =>
            {
                let mut cursor = node.walk();
                stack.extend(
                    node.named_children(&mut cursor)
                        .filter(|child| !matches!(child.kind(), "expression_statement" | "comment" | "identifier" | "string")),
                );
            }
            _ => {}
        }
    }
}

/// Builds the parts of the program of (relative path, document) pairs, in parallel, numbered
/// in the given order.
pub fn build_parts<'t>(files: Vec<(String, &'t Document)>) -> Vec<FileProgram<'t>> {
    build_parts_in(&SourceRoots::default(), files)
}

/// `build_parts` with module names starting at `roots` (see `SourceRoots`).
pub fn build_parts_in<'t>(roots: &SourceRoots, files: Vec<(String, &'t Document)>) -> Vec<FileProgram<'t>> {
    use rayon::prelude::*;
    let mut parts: Vec<FileProgram<'t>> =
        files.into_par_iter().enumerate().map(|(index, (path, document))| FileProgram::build_in(path, roots, document, index, 0)).collect();
    place_parts(parts.iter_mut());
    parts
}

/// Numbers parts consecutively in iteration order (renumbering only those that moved).
pub fn place_parts<'a, 't: 'a>(parts: impl Iterator<Item = &'a mut FileProgram<'t>>) {
    let mut offset = 0;
    for (index, part) in parts.enumerate() {
        part.renumber(index, offset);
        offset += part.scopes.len();
    }
}

impl<'t> FileProgram<'t> {
    /// The part of one file, numbered as file `file_index` whose first scope is `scope_offset`.
    pub fn build(path: String, document: &'t Document, file_index: usize, scope_offset: usize) -> FileProgram<'t> {
        FileProgram::build_in(path, &SourceRoots::default(), document, file_index, scope_offset)
    }

    /// `build` with the module named from `roots` (see `SourceRoots`).
    pub fn build_in(path: String, roots: &SourceRoots, document: &'t Document, file_index: usize, scope_offset: usize) -> FileProgram<'t> {
        let module = roots.module_name(&path);
        let is_package = path.ends_with("__init__.py") || path.ends_with("__init__.pyi");
        let mut builder = PartBuilder {
            file_index,
            scope_offset,
            document,
            module: None,
            scopes: Vec::new(),
            functions: HashMap::default(),
            classes: HashMap::default(),
        };
        builder.add_module(file_index, module, is_package, &path, roots);
        let enclosing_functions = enclosing_functions(&builder.scopes, &builder.functions);
        FileProgram {
            file: SourceFile { path, identifiers: std::sync::OnceLock::new(), document },
            module: builder.module.expect("add_module sets the module"),
            scopes: builder.scopes,
            functions: builder.functions,
            classes: builder.classes,
            enclosing_functions,
            file_index,
            scope_offset,
        }
    }

    /// Moves the part to file index `file_index` with its first scope at `scope_offset`.
    pub fn renumber(&mut self, file_index: usize, scope_offset: usize) {
        if (file_index, scope_offset) == (self.file_index, self.scope_offset) {
            return;
        }
        let shift = |index: &mut usize| *index = *index - self.scope_offset + scope_offset;
        self.module.file = file_index;
        for scope in &mut self.scopes {
            scope.file = file_index;
            scope.module = file_index;
        }
        self.functions.values_mut().for_each(shift);
        for class in self.classes.values_mut() {
            class.module = file_index;
            class.methods.values_mut().for_each(shift);
        }
        self.file_index = file_index;
        self.scope_offset = scope_offset;
    }
}

impl<'p> Program<'p> {
    /// The view over `parts`, which must be numbered consecutively (`build_parts`, `place_parts`).
    pub fn from_parts(parts: impl IntoIterator<Item = &'p FileProgram<'p>>) -> Program<'p> {
        let parts: Vec<&'p FileProgram<'p>> = parts.into_iter().collect();
        let scope_count: usize = parts.iter().map(|part| part.scopes.len()).sum();
        let class_count: usize = parts.iter().map(|part| part.classes.len()).sum();
        let mut program = Program {
            files: Vec::with_capacity(parts.len()),
            modules: Vec::with_capacity(parts.len()),
            scopes: Vec::with_capacity(scope_count),
            functions: FxHashMap::with_capacity_and_hasher(scope_count, Default::default()),
            classes: FxHashMap::with_capacity_and_hasher(class_count, Default::default()),
            module_index: FxHashMap::with_capacity_and_hasher(parts.len(), Default::default()),
            file_classes: Vec::with_capacity(parts.len()),
            enclosing_functions: Vec::new(),
            subclasses: std::sync::OnceLock::new(),
            module_prefixes: std::sync::OnceLock::new(),
            table_index: std::sync::OnceLock::new(),
            supers: Default::default(),
            reexports: Default::default(),
            ancestry: Default::default(),
            resolved: Vec::with_capacity(parts.len()),
            targets: Default::default(),
            search_prefixes: Vec::new(),
            root: None,
            templates: None,
        };
        for (index, part) in parts.into_iter().enumerate() {
            assert!(part.file_index == index && part.scope_offset == program.scopes.len(), "program parts must be numbered consecutively");
            program.files.push(&part.file);
            program.module_index.insert(part.module.name.as_str(), index);
            program.modules.push(&part.module);
            program.resolved.push(Default::default());
            program.scopes.extend(part.scopes.iter());
            program.functions.extend(part.functions.iter().map(|(name, &scope)| (name.as_str(), scope)));
            program.classes.extend(part.classes.iter().map(|(name, class)| (name.as_str(), class)));
            program.file_classes.push(&part.classes);
            program.enclosing_functions.extend(part.enclosing_functions.iter().map(String::as_str));
            program.search_prefixes.extend(part.module.search_paths.iter().map(String::as_str));
        }
        program.search_prefixes.sort_unstable();
        program.search_prefixes.dedup();
        program
    }

    /// The program with the directory its file paths are relative to.
    pub fn with_root(mut self, root: &std::path::Path) -> Self {
        self.root = Some(root.to_path_buf());
        self
    }

    /// The program with the project's template files (see `templates`).
    pub fn with_templates(mut self, templates: std::sync::Arc<crate::templates::TemplateSet>) -> Self {
        self.templates = Some(templates);
        self
    }

    pub fn text(&self, file: usize) -> &'p str {
        self.files[file].document.text()
    }
}

/// The functions of `scopes` (one file's) that enclose another function: a nested function's
/// qualified name extends theirs.
fn enclosing_functions(scopes: &[Scope<'_>], functions: &HashMap<String, usize>) -> Vec<String> {
    let mut enclosing: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for scope in scopes {
        if scope.kind == ScopeKind::Module || scope.depth == 0 {
            continue;
        }
        let mut prefix = scope.qualified_name.as_str();
        while let Some((head, _)) = prefix.rsplit_once('.') {
            if functions.contains_key(head) {
                enclosing.insert(head);
            }
            prefix = head;
        }
    }
    enclosing.into_iter().map(str::to_string).collect()
}

/// Collects one file's module, scopes, functions and classes.
struct PartBuilder<'t> {
    file_index: usize,
    scope_offset: usize,
    document: &'t Document,
    module: Option<ModuleInfo>,
    scopes: Vec<Scope<'t>>,
    functions: HashMap<String, usize>,
    classes: HashMap<String, ClassInfo>,
}

impl<'t> PartBuilder<'t> {
    fn add_module(&mut self, file: usize, name: String, is_package: bool, path: &str, roots: &SourceRoots) {
        let document = self.document;
        let text = document.text();
        let root = document.root();
        let broken = root.has_error();
        let mut imports = HashMap::default();
        collect_imports(text, root, &name, is_package, &mut imports);
        let module_name = name.clone();
        // Module-level constants and aliases: names assigned exactly once at the top level.
        let mut assignments: HashMap<String, (usize, Option<Node<'t>>)> = HashMap::default();
        let mut cursor = root.walk();
        for statement in root.named_children(&mut cursor) {
            if statement.kind() != "expression_statement" {
                continue;
            }
            let Some(assignment) = statement.named_child(0).filter(|n| n.kind() == "assignment") else { continue };
            let (Some(left), right) = (assignment.field(&field::LEFT), assignment.field(&field::RIGHT)) else {
                continue;
            };
            if left.kind() == "identifier" {
                let entry = assignments.entry(text_of(text, left).to_string()).or_insert((0, right));
                entry.0 += 1;
            }
        }
        // Classes the module defines at its top level (decorated or not): `library = Library()`
        // below them is an instance of `{module}.Library` as an imported class's would be.
        let mut own_classes: Vec<&str> = Vec::new();
        let mut cursor = root.walk();
        for statement in root.named_children(&mut cursor) {
            let definition = match statement.kind() {
                "decorated_definition" => statement.field(&field::DEFINITION),
                _ => Some(statement),
            };
            if let Some(name) = definition.filter(|d| d.kind() == "class_definition").and_then(|d| d.field(&field::NAME)) {
                own_classes.push(text_of(text, name));
            }
        }
        let module_index = self.file_index;
        let mut constants = HashMap::default();
        let mut aliases = HashMap::default();
        let mut constructed: HashMap<String, InstanceChain> = HashMap::default();
        let mut autoescape = HashMap::default();
        for (name, (count, right)) in &assignments {
            let Some(right) = right else { continue };
            if *count != 1 {
                continue;
            }
            let instance_of = (right.kind() == "call")
                .then(|| right.field(&field::FUNCTION))
                .flatten()
                .and_then(|function| dotted(text, function))
                .filter(|callee| callee.rsplit('.').next().is_some_and(|last| last.starts_with(|c: char| c.is_uppercase())));
            if let Some(constant) = literal(text, *right, &HashMap::default()) {
                constants.insert(name.clone(), constant);
            } else if let Some(callee) = instance_of {
                // `session = requests.Session()`: the name refers to an instance of that class.
                let head = callee.split('.').next().unwrap_or("");
                let own = (head == callee && own_classes.contains(&head) && !assignments.contains_key(head)).then(|| module_name.clone());
                if let Some(qualified) = imports.get(head).or(own.as_ref()) {
                    let class =
                        if own.is_some() { format!("{qualified}.{callee}") } else { format!("{qualified}{}", &callee[head.len()..]) };
                    // Other modules importing the name see the instance through its chain.
                    let chain = InstanceChain { root: ChainRoot::Reference(class.clone()), steps: vec![InstanceStep::Call(None)] };
                    constructed.insert(name.clone(), chain);
                    aliases.insert(name.clone(), class);
                    if let Some(asked) = autoescape_keyword(text, *right) {
                        autoescape.insert(name.clone(), asked);
                    }
                }
            } else if let Some(reference) = imported_alternative(text, *right, &imports) {
                // `plain = default_storage`, or one side of a choice between an imported object
                // and another (`default_storage if not local else S3MockStorage()`).
                let head = reference.split('.').next().unwrap_or("");
                if let Some(qualified) = imports.get(head) {
                    aliases.insert(name.clone(), format!("{qualified}{}", &reference[head.len()..]));
                }
            } else if right.kind() == "lambda" {
                // `RUNNER = lambda cmd: …`: the name refers to the lambda's scope.
                aliases.insert(name.clone(), module_lambda_name(&module_name, root, *right));
            }
        }
        // Names bound only to classes, some maybe in branches (`Impl = A if X else B`, `if X:
        // Impl = A` / `else: Impl = B`): either class.
        let class_name = |name: &str| {
            let head = name.split('.').next().unwrap_or(name);
            if head == name && own_classes.contains(&head) && !assignments.contains_key(head) {
                return Some(format!("{module_name}.{name}"));
            }
            let last = name.rsplit('.').next().unwrap_or(name);
            let qualified = imports.get(head).filter(|_| last.starts_with(|c: char| c.is_uppercase()))?;
            Some(format!("{qualified}{}", &name[head.len()..]))
        };
        for (name, classes) in class_alternatives(text, root, &class_name) {
            let plain_alias =
                aliases.get(&name).is_some_and(|alias| !alias.starts_with(ONE_OF) && alternatives(&classes).any(|c| c == alias));
            if !constants.contains_key(&name) && !constructed.contains_key(&name) && (!aliases.contains_key(&name) || plain_alias) {
                aliases.insert(name, classes);
            }
        }
        // Objects made from imports (after the aliases, which chains may start from).
        let mut instances = constructed;
        let bound_once = |candidate: &str| assignments.get(candidate).is_some_and(|(count, _)| *count == 1);
        for (name, (count, right)) in &assignments {
            let Some(right) = right else { continue };
            if *count != 1 || constants.contains_key(name) || aliases.contains_key(name) {
                continue;
            }
            if let Some(chain) =
                instances::chain_of(text, *right, &imports, &aliases, &|candidate| candidate != name && bound_once(candidate))
            {
                instances.insert(name.clone(), chain);
            }
        }
        let constant_collections = assignments
            .iter()
            .filter(|(_, (count, right))| *count == 1 && right.is_some_and(|right| is_constant_collection(text, right, &constants)))
            .map(|(name, _)| name.clone())
            .collect();
        let dispatch_tables: std::collections::BTreeMap<String, Vec<(Option<String>, String)>> = assignments
            .iter()
            .filter(|(_, (count, _))| *count == 1)
            .filter_map(|(name, (_, right))| {
                Some((name.clone(), dispatch_table_of(text, (*right)?, &|lambda| module_lambda_name(&module_name, root, lambda))?))
            })
            .collect();
        let top_bindings: Vec<Node<'t>> = dispatch_tables
            .keys()
            .filter_map(|name| assignments.get(name).and_then(|(_, right)| right.and_then(|right| right.parent())))
            .collect();
        let table_changes = table_changes(text, root, &module_name, &imports, &dispatch_tables, &top_bindings);
        let names_hash =
            ModuleInfo::hash_names(&imports, &constants, &aliases, &instances, &constant_collections, &dispatch_tables, &autoescape);
        let search_paths = sys_path::added_directories(text, root, &imports, path)
            .into_iter()
            .filter_map(|directory| {
                // A directory's module-name prefix: its path below the deepest source root.
                let prefix = roots.module_name(&format!("{directory}/__init__.py"));
                (!prefix.is_empty() && prefix != "__init__" && !directory.is_empty()).then_some(prefix)
            })
            .collect();
        self.module = Some(ModuleInfo {
            name: name.clone(),
            file,
            imports,
            constants,
            aliases,
            instances,
            constant_collections,
            dispatch_tables,
            table_changes,
            autoescape,
            is_package,
            search_paths,
            names_hash,
        });
        // The module body is a scope of its own.
        self.scopes.push(Scope {
            kind: ScopeKind::Module,
            qualified_name: name.clone(),
            module: module_index,
            file,
            node: root,
            body: root,
            params: Vec::new(),
            class: None,
            implicit_receiver: false,
            decorators: Vec::new(),
            depth: 0,
            text_hash: module_text_hash(text, root, broken),
        });
        // Definitions anywhere: (node, enclosing qualified name, enclosing class, depth).
        // The last element is the enclosing class's header (definition start to body start).
        type Pending<'t> = (Node<'t>, String, Option<String>, usize, Option<ClassHeader<'t>>);
        let mut stack: Vec<Pending<'t>> = vec![(root, name.clone(), None, 0, None)];
        while let Some((node, prefix, class, depth, class_header)) = stack.pop() {
            if depth > MAX_STATEMENT_DEPTH {
                continue;
            }
            let mut cursor = node.walk();
            let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
            for child in children {
                match child.kind() {
                    "function_definition" => {
                        let Some(name_node) = child.field(&field::NAME) else { continue };
                        let qualified = format!("{prefix}.{}", text_of(text, name_node));
                        let decorators = decorators_of(child);
                        let is_static = decorators.iter().any(|d| text_of(text, *d).trim_start_matches('@').trim() == "staticmethod");
                        let params = parameters(text, child);
                        let text_hash = function_text_hash(text, child, &decorators, class_header);
                        let scope = Scope {
                            kind: ScopeKind::Function,
                            qualified_name: qualified.clone(),
                            module: module_index,
                            file,
                            node: child,
                            body: child.field(&field::BODY).unwrap_or(child),
                            class: class.clone(),
                            // A method declared without parameters has no receiver to bind.
                            implicit_receiver: class.is_some() && !is_static && !params.is_empty(),
                            params,
                            decorators,
                            depth,
                            text_hash,
                        };
                        let index = self.scope_offset + self.scopes.len();
                        self.scopes.push(scope);
                        self.functions.insert(qualified.clone(), index);
                        if let Some(class_name) = &class {
                            if let Some(info) = self.classes.get_mut(class_name) {
                                info.methods.insert(text_of(text, name_node).to_string(), index);
                            }
                        }
                        // Most function bodies define nothing: skip them unless they may.
                        if let Some(body) = child.field(&field::BODY) {
                            if crate::syntax::may_contain_definition(&text.as_bytes()[body.byte_range()]) {
                                stack.push((body, qualified, None, depth + 1, None));
                            }
                        }
                    }
                    "class_definition" => {
                        let Some(name_node) = child.field(&field::NAME) else { continue };
                        let qualified = format!("{prefix}.{}", text_of(text, name_node));
                        let mut bases = Vec::new();
                        if let Some(arguments) = child.field(&field::SUPERCLASSES) {
                            let mut inner = arguments.walk();
                            for base in arguments.named_children(&mut inner) {
                                if let Some(reference) = dotted(text, base) {
                                    let head = reference.split('.').next().unwrap_or("");
                                    let resolved = match self.module.as_ref().and_then(|module| module.imports.get(head)) {
                                        Some(q) => format!("{q}{}", &reference[head.len()..]),
                                        None => format!("{name}.{reference}"),
                                    };
                                    bases.push(resolved);
                                }
                            }
                        }
                        self.classes.insert(
                            qualified.clone(),
                            ClassInfo { qualified_name: qualified.clone(), module: module_index, bases, methods: HashMap::default() },
                        );
                        if let Some(body) = child.field(&field::BODY) {
                            stack.push((body, qualified.clone(), Some(qualified), depth + 1, Some(ClassHeader::of(child, body))));
                        }
                    }
                    kind if kind == "decorated_definition"
                        || kind == "block"
                        || kind == "ERROR"
                        || matches!(
                            kind,
                            "if_statement"
                                | "elif_clause"
                                | "else_clause"
                                | "for_statement"
                                | "while_statement"
                                | "try_statement"
                                | "except_clause"
                                | "except_group_clause"
                                | "finally_clause"
                                | "with_statement"
                                | "match_statement"
                                | "case_clause"
                        ) =>
                    {
                        stack.push((child, prefix.clone(), class.clone(), depth + usize::from(kind == "block"), class_header));
                    }
                    _ => {}
                }
            }
        }
        self.add_lambdas(text);
    }

    /// Every lambda of the file's scopes becomes a scope (`ScopeKind::Lambda`) of the innermost
    /// module, function or lambda scope around it, nested lambdas included; a lambda deeper than
    /// `MAX_STATEMENT_DEPTH` scopes stays a value its enclosing scope evaluates in place.
    /// Iterative: each scope's own region is walked with a stack.
    fn add_lambdas(&mut self, text: &'t str) {
        let mut next = 0;
        while next < self.scopes.len() {
            let enclosing = next;
            next += 1;
            let (body, depth) = (self.scopes[enclosing].body, self.scopes[enclosing].depth);
            if depth >= MAX_STATEMENT_DEPTH || memchr::memmem::find(&text.as_bytes()[body.byte_range()], b"lambda").is_none() {
                continue;
            }
            let mut lambdas = Vec::new();
            let mut stack = vec![body];
            while let Some(node) = stack.pop() {
                let mut cursor = node.walk();
                match node.kind() {
                    "lambda" => {
                        lambdas.push(node);
                        // Its defaults are evaluated where the lambda is.
                        if let Some(list) = node.field(&field::PARAMETERS) {
                            stack.extend(list.named_children(&mut cursor).filter_map(|p| p.field(&field::VALUE)));
                        }
                    }
                    // A nested function is a scope of its own; its decorators, defaults and
                    // annotations are evaluated here.
                    "function_definition" => {
                        let own_body = node.field(&field::BODY).map(|b| b.id());
                        stack.extend(node.named_children(&mut cursor).filter(|child| Some(child.id()) != own_body));
                    }
                    "string" | "comment" => {}
                    _ => stack.extend(node.named_children(&mut cursor)),
                }
            }
            lambdas.sort_by_key(|lambda| lambda.start_byte());
            for lambda in lambdas {
                let qualified = lambda_name(&self.scopes[enclosing], lambda);
                let scope = Scope {
                    kind: ScopeKind::Lambda,
                    module: self.scopes[enclosing].module,
                    file: self.scopes[enclosing].file,
                    node: lambda,
                    body: lambda.field(&field::BODY).unwrap_or(lambda),
                    params: parameters(text, lambda),
                    class: None,
                    implicit_receiver: false,
                    decorators: Vec::new(),
                    depth: depth + 1,
                    text_hash: function_text_hash(text, lambda, &[], None),
                    qualified_name: qualified.clone(),
                };
                let index = self.scope_offset + self.scopes.len();
                self.scopes.push(scope);
                self.functions.insert(qualified, index);
            }
        }
    }
}

thread_local! {
    /// Names looked up by the analysis running on this thread (see `record_name_lookups`).
    static NAME_LOOKUPS: std::cell::RefCell<Option<rustc_hash::FxHashSet<u64>>> = const { std::cell::RefCell::new(None) };
}

/// The hash a looked-up name is recorded under (`record_name_lookups`, `NameFacts`).
pub fn name_lookup_hash(name: &str) -> u64 {
    identifier_hash(name.as_bytes())
}

fn note_lookup(name: &str) {
    note_lookup_hash(name_lookup_hash(name));
}

/// Records a lookup already hashed (`name_lookup_hash`): a memoised answer's lookups replayed.
fn note_lookup_hash(hash: u64) {
    note_lookup_hashes(&[hash]);
}

/// `note_lookup_hash` of each of `hashes`, the thread's recording reached once for them all
/// (a memo hit replays its lookups: one thread-local access per hit, not per lookup).
fn note_lookup_hashes(hashes: &[u64]) {
    if hashes.is_empty() {
        return;
    }
    NAME_LOOKUPS.with(|lookups| {
        if let Some(lookups) = lookups.borrow_mut().as_mut() {
            lookups.extend(hashes.iter().copied());
        }
    });
}

/// Answers memoised per program and key, each with the name lookups (hashes) computing it
/// made: a hit replays them (`note_lookup_hash`), so a recording sees what a fresh computation
/// would record. Sound for answers that are functions of the program's tables, which are fixed
/// once it is built (`reexport_target`, `resolve_name`, `ancestors`, `memoised_targets`,
/// `memoised_super`).
struct LookupMemo<V>(std::sync::RwLock<FxHashMap<Box<str>, Memoised<V>>>);

/// A memoised answer and the lookups (hashes) computing it made.
type Memoised<V> = (V, Box<[u64]>);

impl<V> Default for LookupMemo<V> {
    fn default() -> Self {
        LookupMemo(std::sync::RwLock::new(FxHashMap::default()))
    }
}

impl<V> LookupMemo<V> {
    /// `answer` of the value memoised under `key`, computed by `compute` on a miss; the lookups
    /// recorded either way.
    fn get<R>(&self, key: &str, compute: impl FnOnce() -> V, answer: impl Fn(&V) -> R) -> R {
        if let Some((value, lookups)) = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(key) {
            note_lookup_hashes(lookups);
            return answer(value);
        }
        let (value, lookups) = record_name_lookups(compute);
        note_lookup_hashes(&lookups);
        let result = answer(&value);
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key.into(), (value, lookups.into_boxed_slice()));
        result
    }
}

/// Runs `work`, recording every name this thread looks up by name in any `Program` meanwhile
/// (`function`, `class`, `module_named`, and what is built on them): the names whose
/// appearance, disappearance or change can change `work`'s result. Sorted, distinct hashes.
///
/// Invariant: a result computed from a `Program` depends on other files only through these
/// lookups (and its own module's names), so a result is reusable while none of its recorded
/// names changed (`taint::incremental`).
pub fn record_name_lookups<R>(work: impl FnOnce() -> R) -> (R, Vec<u64>) {
    let outer = NAME_LOOKUPS.with(|lookups| lookups.borrow_mut().replace(Default::default()));
    let result = work();
    let recorded = NAME_LOOKUPS.with(|lookups| std::mem::replace(&mut *lookups.borrow_mut(), outer));
    let mut names: Vec<u64> = recorded.unwrap_or_default().into_iter().collect();
    names.sort_unstable();
    (result, names)
}

/// What other files may look up by name in one file: its module, its functions (with how many
/// share a name, and which of them a lookup finds when several do) and its classes (with what a
/// class lookup sees: bases and method names). Compared between runs to find the names whose
/// lookups changed meaning. `scopes` are the file's scope indices.
pub fn name_facts(program: &Program<'_>, file: usize, scopes: std::ops::Range<usize>) -> Vec<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    let module = program.modules[file];
    let mut facts = vec![(name_lookup_hash(&module.name), 0)];
    // What `Program::import_fallback` records: the top-level name the module is found under,
    // the directories holding it, and the module's `sys.path` additions.
    let mut directories: Vec<&str> = module.name.match_indices('.').map(|(dot, _)| &module.name[..dot]).collect();
    facts.push((name_lookup_hash(&top_level_lookup(directories.first().copied().unwrap_or(&module.name))), 0));
    directories
        .iter_mut()
        .for_each(|directory| facts.push((name_lookup_hash(&directory_lookup(directory)), name_lookup_hash(&module.name))));
    if !module.search_paths.is_empty() {
        facts.push((name_lookup_hash(SYS_PATH_LOOKUP), name_lookup_hash(&module.search_paths.join("\n"))));
    }
    for name in &module.constant_collections {
        facts.push((name_lookup_hash(&collection_lookup(&format!("{}.{name}", module.name))), 1));
    }
    for (name, constant) in &module.constants {
        let mut hasher = rustc_hash::FxHasher::default();
        format!("{constant:?}").hash(&mut hasher);
        facts.push((name_lookup_hash(&constant_lookup(&format!("{}.{name}", module.name))), hasher.finish()));
    }
    for (name, entries) in &module.dispatch_tables {
        let mut hasher = rustc_hash::FxHasher::default();
        entries.hash(&mut hasher);
        facts.push((name_lookup_hash(&table_lookup(&format!("{}.{name}", module.name))), hasher.finish()));
    }
    let mut changes: std::collections::BTreeMap<&str, Vec<&TableChange>> = std::collections::BTreeMap::new();
    for change in &module.table_changes {
        changes.entry(change.0.rsplit('.').next().unwrap_or(&change.0)).or_default().push(change);
    }
    for (name, mut of_name) in changes {
        of_name.sort();
        let mut hasher = rustc_hash::FxHasher::default();
        of_name.hash(&mut hasher);
        facts.push((name_lookup_hash(&table_changes_lookup(name)), hasher.finish()));
    }
    for (name, target) in &module.imports {
        facts.push((name_lookup_hash(&reexport_lookup(&format!("{}.{name}", module.name))), name_lookup_hash(target)));
    }
    for (name, target) in &module.aliases {
        if !module.imports.contains_key(name) && reexported_alias(module, name).is_some() {
            facts.push((name_lookup_hash(&reexport_lookup(&format!("{}.{name}", module.name))), name_lookup_hash(target)));
        }
    }
    for (name, chain) in &module.instances {
        facts.push((name_lookup_hash(&instance_lookup(&format!("{}.{name}", module.name))), name_lookup_hash(&chain.to_string())));
    }
    let mut functions: FxHashMap<&str, (u64, usize, u64)> = FxHashMap::default();
    for scope in scopes {
        let scope = &program.scopes[scope];
        if scope.kind == ScopeKind::Function {
            let entry = functions.entry(scope.qualified_name.as_str()).or_insert((0, 0, 0));
            entry.1 += 1;
            // The last definition is the one found (see `Program`); its text matters only
            // when another definition of the name could be found instead.
            entry.0 = u64::from_le_bytes(scope.text_hash[..8].try_into().expect("8 bytes"));
            entry.2 ^= calling_convention_hash(program, scope);
        }
    }
    // The module's top-level functions as a set (`Program::module_functions`: dispatch on a
    // computed name looks at every one).
    let mut top_level: Vec<&str> = functions
        .keys()
        .copied()
        .filter(|name| {
            name.strip_prefix(module.name.as_str()).and_then(|rest| rest.strip_prefix('.')).is_some_and(|rest| !rest.contains('.'))
        })
        .collect();
    top_level.sort_unstable();
    let mut hasher = rustc_hash::FxHasher::default();
    top_level.hash(&mut hasher);
    facts.push((name_lookup_hash(&functions_lookup(&module.name)), hasher.finish()));
    for (name, (last, count, convention)) in functions {
        facts.push((name_lookup_hash(name), if count == 1 { convention } else { last ^ count as u64 }));
    }
    for (name, class) in program.file_classes[file] {
        let mut hasher = rustc_hash::FxHasher::default();
        class.bases.hash(&mut hasher);
        let mut methods: Vec<&String> = class.methods.keys().collect();
        methods.sort();
        methods.hash(&mut hasher);
        facts.push((name_lookup_hash(name), hasher.finish()));
    }
    for (name, class) in program.file_classes[file] {
        // Dispatch through `self` looks at the subclasses of a class (`Program::subclasses`).
        let mut hasher = rustc_hash::FxHasher::default();
        name.hash(&mut hasher);
        let mut methods: Vec<&String> = class.methods.keys().collect();
        methods.sort();
        methods.hash(&mut hasher);
        for base in &class.bases {
            facts.push((name_lookup_hash(&subclasses_lookup(base)), hasher.finish()));
        }
    }
    facts.sort_unstable();
    facts.dedup();
    facts
}

/// What a call of function `scope` binds its arguments by, which its callers' analyses read
/// (`ir::binding`) but its summary does not hold: its parameters' names and kinds, whether it
/// takes a receiver, and its decorators' text (`@classmethod` makes the first parameter the
/// class, `@staticmethod` takes none). A change of it is a change of the name's meaning, so the
/// callers are analysed again (`taint_incremental.rs`,
/// `a_method_that_becomes_a_classmethod_is_bound_again_in_its_callers`).
fn calling_convention_hash(program: &Program<'_>, scope: &Scope<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let text = program.text(scope.file);
    let mut hasher = rustc_hash::FxHasher::default();
    scope.implicit_receiver.hash(&mut hasher);
    for decorator in &scope.decorators {
        text_of(text, *decorator).hash(&mut hasher);
    }
    for param in &scope.params {
        (&param.name, param.variadic, param.keyword_only, param.positional_only, param.default.is_some()).hash(&mut hasher);
    }
    hasher.finish() | 1
}

/// The name under which `Program::import_fallback` records that no module's name starts with
/// the top-level name `top`.
fn top_level_lookup(top: &str) -> String {
    format!("{top}.<top-level>")
}

/// The name under which `Program::import_fallback` records a look into the directory whose
/// module-name prefix is `directory`.
fn directory_lookup(directory: &str) -> String {
    format!("{directory}.<directory>")
}

/// The name a look-up of whether `reference` is a constant collection is recorded under
/// (`Program::is_constant_collection`).
fn collection_lookup(reference: &str) -> String {
    format!("{reference}.<collection>")
}

/// The name a look-up of whether `reference` is a module constant is recorded under
/// (`Program::module_constant`); its fact is the hash of the constant.
fn constant_lookup(reference: &str) -> String {
    format!("{reference}.<constant>")
}

/// Every module's changes of the dispatch tables (`ModuleInfo::table_changes`), resolved:
/// per table (its qualified name), the entries stores add and whether anything else changes it;
/// per table name (the last part), the name lookups resolving the changes of that name made
/// (replayed by `Program::dispatch_table`, as `ancestors` replays its walk's).
#[derive(Default)]
struct TableIndex {
    added: FxHashMap<String, Vec<(Option<String>, String)>>,
    unknown: FxHashSet<String>,
    lookups: FxHashMap<String, Vec<u64>>,
}

/// The name a look-up of the changes any module makes to a dispatch table called `name` (its
/// last part) is recorded under; each file's fact is the hash of its changes of that name
/// (`ModuleInfo::table_changes`), so a store added anywhere re-resolves the table's look-ups.
fn table_changes_lookup(name: &str) -> String {
    format!("{name}.<table-changes>")
}

/// The name a look-up of a dispatch table is recorded under (`Program::dispatch_table`).
fn table_lookup(reference: &str) -> String {
    format!("{reference}.<table>")
}

/// What another module finds under `name` in `module` when the module binds it by a plain
/// alias of an imported name (`plain = default_storage`): the alias's target. Not an instance
/// (`library = Library()` is an alias of its class for the module's own calls, but a module
/// importing it gets the instance, `instance_chain`) nor a lambda (a scope of its own).
fn reexported_alias<'m>(module: &'m ModuleInfo, name: &str) -> Option<&'m str> {
    let target = module.aliases.get(name)?;
    (!module.instances.contains_key(name) && !is_lambda_name(target)).then_some(target.as_str())
}

/// The name a look-up of what workspace module `M` binds by an import under `N` is recorded
/// under, for `reference` `M.N` (`Program::reexport_target`); its fact is the hash of the
/// import's target.
fn reexport_lookup(reference: &str) -> String {
    format!("{reference}.<reexport>")
}

/// The name a look-up of module-level name `reference`'s instance chain is recorded under
/// (`Program::instance_chain`).
fn instance_lookup(reference: &str) -> String {
    format!("{reference}.<instance>")
}

/// The name under which `Program::import_fallback` records a look at the `sys.path` additions.
const SYS_PATH_LOOKUP: &str = "<sys.path>";

/// The name a look-up of `class`'s subclasses is recorded under (`Program::subclasses`).
pub fn subclasses_lookup(class: &str) -> String {
    format!("{class}.<subclasses>")
}

/// The name a listing of `module`'s top-level functions is recorded under
/// (`Program::module_functions`); its fact is the hash of the sorted names.
pub fn functions_lookup(module: &str) -> String {
    format!("{module}.<functions>")
}

impl<'p> Program<'p> {
    /// The function or method named `name` (recorded, see `record_name_lookups`).
    /// A name re-exported by a workspace package (`reexport_target`) finds what it re-exports.
    pub fn function(&self, name: &str) -> Option<usize> {
        self.defined_function(name).or_else(|| self.defined_function(&self.reexport_target(name)?))
    }

    /// The function or method defined under exactly `name` (recorded).
    fn defined_function(&self, name: &str) -> Option<usize> {
        note_lookup(name);
        self.functions.get(name).copied()
    }

    /// The top-level functions of workspace module `module` whose names start with `prefix`,
    /// sorted by name (recorded under `functions_lookup(module)`: a function added to or
    /// removed from the module changes the answer).
    pub fn module_functions(&self, module: &str, prefix: &str) -> Vec<usize> {
        note_lookup(&functions_lookup(module));
        let mut found: Vec<(&str, usize)> = self
            .functions
            .iter()
            .filter(|(name, _)| {
                name.strip_prefix(module)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| rest.starts_with(prefix) && !rest.contains('.'))
            })
            .map(|(name, scope)| (*name, *scope))
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, scope)| scope).collect()
    }

    /// The workspace class named `name` (recorded).
    /// A name re-exported by a workspace package (`reexport_target`) finds what it re-exports.
    pub fn class(&self, name: &str) -> Option<&ClassInfo> {
        self.defined_class(name).or_else(|| self.defined_class(&self.reexport_target(name)?))
    }

    /// The class defined under exactly `name` (recorded).
    fn defined_class(&self, name: &str) -> Option<&ClassInfo> {
        note_lookup(name);
        self.classes.get(name).copied()
    }

    /// The chain module-level name `reference` (`app.db.mongo`) was bound to, with the module
    /// holding it, when it is an object made from an import (recorded, see `ModuleInfo::instances`).
    pub fn instance_chain(&self, reference: &str) -> Option<(usize, &'p InstanceChain)> {
        note_lookup(&instance_lookup(reference));
        let (module, name) = reference.rsplit_once('.')?;
        let index = *self.module_index.get(module)?;
        let modules: &[&'p ModuleInfo] = &self.modules;
        modules[index].instances.get(name).map(|chain| (index, chain))
    }

    /// Whether module-level name `reference` (`app.settings.ALLOWED`) is a collection of
    /// constants (recorded, see `ModuleInfo::constant_collections`).
    pub fn is_constant_collection(&self, reference: &str) -> bool {
        note_lookup(&collection_lookup(reference));
        let Some((module, name)) = reference.rsplit_once('.') else { return false };
        self.module_index.get(module).is_some_and(|&index| self.modules[index].constant_collections.contains(name))
    }

    /// What `reference` (`app.storage.plain`, a name imported from a workspace module) stands
    /// for when that module binds it by a plain alias of an imported name (`plain =
    /// default_storage`, see `reexported_alias`): the alias's target, so a library object
    /// reached through a project module keeps its library name. Recorded under
    /// `reexport_lookup`.
    fn imported_alias(&self, reference: &str) -> Option<String> {
        let (module, name) = reference.rsplit_once('.')?;
        if !self.module_prefixes().contains(module.split('.').next().unwrap_or(module)) {
            return None;
        }
        let index = self.module_named(module)?;
        note_lookup(&reexport_lookup(reference));
        let info = self.modules[index];
        if info.imports.contains_key(name) {
            return None;
        }
        reexported_alias(info, name).map(str::to_string)
    }

    /// The constant module-level name `reference` (`app.constants.MIMETYPE_JS`) is bound to
    /// (assigned once, a literal: `ModuleInfo::constants`), recorded under `constant_lookup`.
    pub fn module_constant(&self, reference: &str) -> Option<&'p Constant> {
        note_lookup(&constant_lookup(reference));
        let (module, name) = reference.rsplit_once('.')?;
        let index = *self.module_index.get(module)?;
        let modules: &[&'p ModuleInfo] = &self.modules;
        modules[index].constants.get(name)
    }

    /// Whether `name` is a dispatch table of `module` (recorded like `dispatch_table`).
    fn is_dispatch_table(&self, module: &ModuleInfo, name: &str) -> bool {
        module.dispatch_tables.contains_key(name) && {
            note_lookup(&table_lookup(&format!("{}.{name}", module.name)));
            true
        }
    }

    /// The dispatch table `reference` names (`app.views.HANDLERS`, see
    /// `ModuleInfo::dispatch_tables`): each entry's constant key and what its value refers to
    /// in the table's module (recorded under `table_lookup`).
    ///
    /// A table changed after its literal (`ModuleInfo::table_changes`, in any module) has the
    /// entries module-level constant-key stores add (`HANDLERS["x"] = f`) as well; changed any
    /// other way (a store in a function, `del`, `update(…)`, given to a call, bound again) it
    /// may hold entries no one lists, and is no table here (`None`: its look-ups are unknown
    /// callees). Recorded under `table_changes_lookup` too.
    pub fn dispatch_table(&self, reference: &str) -> Option<Vec<(Option<String>, String)>> {
        note_lookup(&table_lookup(reference));
        let (module, name) = reference.rsplit_once('.')?;
        let index = *self.module_index.get(module)?;
        let entries = self.modules[index].dispatch_tables.get(name)?;
        note_lookup(&table_changes_lookup(name));
        let changes = self.table_index();
        note_lookup_hashes(changes.lookups.get(name).map_or(&[], Vec::as_slice));
        if changes.unknown.contains(reference) {
            return None;
        }
        let mut found: Vec<(Option<String>, String)> =
            entries.iter().map(|(key, value)| (key.clone(), self.dispatch_entry(index, value))).collect();
        found.extend(changes.added.get(reference).into_iter().flatten().cloned());
        Some(found)
    }

    /// The dispatch table `written` names as a module reads it (`app.HANDLERS`, or a package
    /// re-exporting it), qualified where the table is defined.
    fn table_named(&self, written: &str) -> Option<String> {
        let defines = |reference: &str| {
            reference.rsplit_once('.').is_some_and(|(module, name)| {
                self.module_index.get(module).is_some_and(|&index| self.modules[index].dispatch_tables.contains_key(name))
            })
        };
        if defines(written) {
            return Some(written.to_string());
        }
        self.reexport_target(written).filter(|target| defines(target))
    }

    /// `TableIndex`, built on first use from every module's `table_changes` whose name's last
    /// part is some table's name.
    fn table_index(&self) -> &TableIndex {
        self.table_index.get_or_init(|| {
            let mut index = TableIndex::default();
            let names: FxHashSet<&str> = self.modules.iter().flat_map(|module| module.dispatch_tables.keys().map(String::as_str)).collect();
            if names.is_empty() {
                return index;
            }
            for (module_index, module) in self.modules.iter().enumerate() {
                for (written, change) in &module.table_changes {
                    let last = written.rsplit('.').next().unwrap_or(written);
                    if !names.contains(last) {
                        continue;
                    }
                    let (resolved, lookups) = record_name_lookups(|| {
                        let table = self.table_named(written)?;
                        Some((table, change.as_ref().map(|(key, value)| (key.clone(), self.dispatch_entry(module_index, value)))))
                    });
                    index.lookups.entry(last.to_string()).or_default().extend(lookups);
                    match resolved {
                        Some((table, Some(entry))) => index.added.entry(table).or_default().push(entry),
                        Some((table, None)) => {
                            index.unknown.insert(table);
                        }
                        None => {}
                    }
                }
            }
            for lookups in index.lookups.values_mut() {
                lookups.sort_unstable();
                lookups.dedup();
            }
            index
        })
    }

    /// What the value `value` of a dispatch table of module `index` refers to: a lambda's
    /// scope (already qualified, `lambda_name`), or the name resolved in the module.
    pub fn dispatch_entry(&self, index: usize, value: &str) -> String {
        if is_lambda_name(value) {
            return value.to_string();
        }
        self.resolve_name(index, value).unwrap_or_else(|| value.to_string())
    }

    /// The module named `name` (recorded).
    pub fn module_named(&self, name: &str) -> Option<usize> {
        note_lookup(name);
        self.module_index.get(name).copied()
    }

    /// What `module` imports under the local name `local`, found as Python finds it (see
    /// `import_fallback`).
    pub fn imported(&self, module: usize, local: &str) -> Option<std::borrow::Cow<'p, str>> {
        let info: &'p ModuleInfo = self.modules[module];
        let qualified = info.imports.get(local)?;
        Some(match self.import_fallback(module, qualified) {
            Some(found) => std::borrow::Cow::Owned(found),
            None => std::borrow::Cow::Borrowed(qualified.as_str()),
        })
    }

    /// Where `reference` leads when it names something through the imports of workspace
    /// modules, as Python finds an attribute on a module object: `shellkit.Shell.launch` →
    /// `shellkit.shell.Shell.launch` where `shellkit/__init__.py` has `from .shell import
    /// Shell`. None when no re-export is on the way. A function, class or submodule a module
    /// defines itself is kept (so is a name it imports and then assigns again: not seen here).
    /// Packages importing a name from each other end the walk where the name comes back.
    ///
    /// References keep the spelling they were written with (the rules name libraries' public
    /// names, `django.http.HttpResponse`); the lookups of functions and classes by name follow
    /// re-exports when the name itself is not defined (`function`, `class`).
    ///
    /// Recorded: each module prefix looked for (`module_named`), and the module's binding of
    /// the name (`reexport_lookup`, hit or miss: an import added to a package changes it).
    ///
    /// Memoised per program (`reexports`): the same reference is asked about at every visit of
    /// every call naming it.
    pub fn reexport_target(&self, reference: &str) -> Option<String> {
        // Not below a workspace module: nothing is looked up (`reexported`'s first test).
        if !self.module_prefixes().contains(reference.split('.').next().unwrap_or(reference)) {
            return None;
        }
        self.reexports.get(
            reference,
            || self.walk_reexports(reference).map(Box::<str>::from),
            |target| target.as_deref().map(str::to_string),
        )
    }

    /// `reexport_target` computed (not memoised).
    fn walk_reexports(&self, reference: &str) -> Option<String> {
        let (mut found, binding) = self.reexported(reference)?;
        // Each step applies one import binding of a workspace module (module, bound name). A
        // binding applied twice means the name is needed to resolve itself — packages importing
        // it from each other, or a package importing a name from its own submodule that is not
        // in the workspace (`from .simplify import simplify` in `sympy/__init__.py` without
        // `sympy/simplify/`, where each step would make the reference longer) — a cycle Python
        // cannot resolve either, so the walk ends there. Finitely many bindings: it always ends.
        let mut applied: Vec<(usize, String)> = vec![binding];
        while let Some((next, binding)) = self.reexported(&found) {
            if applied.contains(&binding) {
                break;
            }
            applied.push(binding);
            found = next;
        }
        Some(found)
    }

    /// One step of `reexport_target`: `reference` with the name after its longest workspace
    /// module prefix replaced by what that module imports under it, with the binding applied
    /// (the module's index and the name); None when there is no such module, the module
    /// defines the name itself or does not import it.
    fn reexported(&self, reference: &str) -> Option<(String, (usize, String))> {
        let prefixes = self.module_prefixes();
        if !prefixes.contains(reference.split('.').next().unwrap_or(reference)) {
            return None;
        }
        let mut module = None;
        for (dot, _) in reference.match_indices('.') {
            let prefix = &reference[..dot];
            if !prefixes.contains(prefix) {
                break;
            }
            if let Some(index) = self.module_named(prefix) {
                module = Some((index, dot));
            }
        }
        let (index, dot) = module?;
        let name_end = reference[dot + 1..].find('.').map_or(reference.len(), |end| dot + 1 + end);
        let member = &reference[..name_end];
        if self.module_named(member).is_some() || self.defined_function(member).is_some() || self.defined_class(member).is_some() {
            return None;
        }
        note_lookup(&reexport_lookup(member));
        let info = self.modules[index];
        let name = &reference[dot + 1..name_end];
        let target = info.imports.get(name)?;
        let target = self.import_fallback(index, target).unwrap_or_else(|| target.clone());
        (target != member).then(|| (format!("{target}{}", &reference[name_end..]), (index, name.to_string())))
    }

    /// Every dotted prefix of every module name (see `module_prefixes`).
    fn module_prefixes(&self) -> &FxHashSet<&'p str> {
        self.module_prefixes.get_or_init(|| {
            let mut prefixes = FxHashSet::default();
            for name in &self.module_index {
                let name: &'p str = name.0;
                prefixes.extend(name.match_indices('.').map(|(dot, _)| &name[..dot]));
                prefixes.insert(name);
            }
            prefixes
        })
    }

    /// For an absolute import `qualified` made in `module` whose top-level name no workspace
    /// module has: the workspace module it names when Python runs `module` as a script (its
    /// own directory first on `sys.path`) or after a constant `sys.path` addition anywhere in
    /// the program (`sys_path`), with the rest of `qualified` after it; None when the import
    /// names a workspace module as written, or none at all (a library).
    ///
    /// Recorded (see `record_name_lookups`): the miss of the top-level name, each directory
    /// looked into and the `sys.path` additions, so a file added, removed or changed there
    /// changes the lookup's meaning (`name_facts`).
    pub fn import_fallback(&self, module: usize, qualified: &str) -> Option<String> {
        let prefixes = self.module_prefixes();
        let top = qualified.split('.').next().unwrap_or(qualified);
        if prefixes.contains(top) {
            return None;
        }
        note_lookup(&top_level_lookup(top));
        let info = self.modules[module];
        let own_directory =
            if info.is_package { info.name.as_str() } else { info.name.rsplit_once('.').map_or("", |(directory, _)| directory) };
        // Recorded even when nothing is added: a file adding a directory changes the lookup.
        note_lookup(SYS_PATH_LOOKUP);
        let directories = std::iter::once(own_directory).filter(|d| !d.is_empty()).chain(self.search_prefixes.iter().copied());
        for directory in directories {
            note_lookup(&directory_lookup(directory));
            // The longest module below `directory` that `qualified` starts with.
            let mut found = None;
            for (end, _) in qualified.match_indices('.').chain(std::iter::once((qualified.len(), ""))) {
                let candidate = format!("{directory}.{}", &qualified[..end]);
                if self.module_index.contains_key(candidate.as_str()) {
                    found = Some(end);
                } else if !prefixes.contains(candidate.as_str()) {
                    break;
                }
            }
            if let Some(end) = found {
                return Some(format!("{directory}.{}{}", &qualified[..end], &qualified[end..]));
            }
        }
        None
    }

    /// Resolves a dotted name used in `module` to a qualified reference.
    ///
    /// Memoised per program and module by the name's first part (`resolved`), with the name
    /// lookups resolving it made, replayed on a hit, so a recording sees what a fresh
    /// resolution would record (`reexport_target` does the same). Sound because the tables it
    /// reads are fixed once the program is built.
    pub fn resolve_name(&self, module: usize, name: &str) -> Option<String> {
        let head = name.split('.').next().unwrap_or(name);
        let rest = &name[head.len()..];
        let answer = |qualified: &Option<Box<str>>| {
            // Either of several (`Impl = A if X else B`): the rest of each.
            if let Some(qualified) = qualified.as_deref().filter(|q| q.starts_with(ONE_OF) && !rest.is_empty()) {
                let members: Vec<String> = alternatives(qualified).map(|candidate| format!("{candidate}{rest}")).collect();
                return one_of(members.iter().map(String::as_str));
            }
            qualified.as_deref().map(|qualified| {
                let mut resolved = String::with_capacity(qualified.len() + rest.len());
                resolved.push_str(qualified);
                resolved.push_str(rest);
                resolved
            })
        };
        self.resolved[module].get(head, || self.resolve_head(module, head).map(String::into_boxed_str), answer)
    }

    /// The scopes `compute` finds for `reference` (`ir::resolve::targets`, a function of the
    /// program's tables, the reference and `open` alone), memoised per program with the name
    /// lookups computing them made, replayed on a hit (as `resolve_name` does): every visit of
    /// every call resolves its callee again.
    pub fn memoised_targets(&self, reference: &str, open: bool, compute: impl FnOnce() -> Vec<usize>) -> Vec<usize> {
        self.targets[usize::from(open)].get(reference, || compute().into_boxed_slice(), |scopes| scopes.to_vec())
    }

    /// What `super().method` in a method of `own`, starting after `after`, refers to
    /// (`ir::resolve::super_method`), memoised per program with the name lookups `compute`
    /// made (replayed on a hit, as for `memoised_targets`): every visit of a call on `super()`
    /// asks, and the answer walks the class's subclasses.
    pub fn memoised_super(&self, own: &str, after: &str, method: &str, compute: impl FnOnce() -> Option<String>) -> Option<String> {
        self.supers.get(&format!("{own}\n{after}\n{method}"), compute, Option::clone)
    }

    /// `resolve_name` of the first part `head` of a dotted name (computed, not memoised).
    fn resolve_head(&self, module: usize, head: &str) -> Option<String> {
        let info = &self.modules[module];
        if let Some(qualified) = self.imported(module, head) {
            return Some(self.imported_alias(&qualified).unwrap_or_else(|| qualified.into_owned()));
        }
        if let Some(alias) = info.aliases.get(head) {
            return Some(alias.clone());
        }
        let local = format!("{}.{head}", info.name);
        if self.function(&local).is_some() || self.class(&local).is_some() || self.is_dispatch_table(info, head) {
            return Some(local);
        }
        None
    }

    /// `class` and its bases in Python's method resolution order (C3, `walk_ancestors`; bases
    /// outside the workspace included, not expanded); bounded, so cyclic or huge hierarchies
    /// cannot loop.
    ///
    /// Memoised per program (`ancestry`) with the name lookups the walk made, replayed on a
    /// hit, so a recording sees what a fresh walk would record (`reexport_target` does the
    /// same). Sound because the class tables it reads are fixed once the program is built.
    pub fn ancestors(&self, class: &str) -> Arc<[String]> {
        self.ancestry.get(class, || self.walk_ancestors(class).into(), Arc::clone)
    }

    /// `ancestors` computed (not memoised): Python's method resolution order, the C3
    /// linearisation of the class and its bases, where it can be computed; a base outside the
    /// workspace counts as a class of no bases of its own (its ancestors are the library's,
    /// which define no workspace methods). Where it cannot (bases Python would reject as
    /// inconsistent, a cycle, a hierarchy past the bounds), the bases breadth first by name as
    /// before C3 (`breadth_first_ancestors`), never an error.
    fn walk_ancestors(&self, class: &str) -> Vec<String> {
        let mut linearised = FxHashMap::default();
        self.linearisation(class, 0, &mut linearised).unwrap_or_else(|| self.breadth_first_ancestors(class))
    }

    /// The C3 linearisation of `class` (`walk_ancestors`), with those of the classes it merged
    /// in `known`; `None` when it cannot be computed. Recursion bounded by `MAX_ANCESTORS` (the
    /// depth of the hierarchy), as is the length of the order.
    fn linearisation(&self, class: &str, depth: usize, known: &mut FxHashMap<String, Option<Vec<String>>>) -> Option<Vec<String>> {
        if depth > MAX_ANCESTORS {
            return None;
        }
        if let Some(found) = known.get(class) {
            // `None` here while `class` is being linearised: a cycle.
            return found.clone();
        }
        let Some(info) = self.class(class) else { return Some(vec![class.to_string()]) };
        known.insert(class.to_string(), None);
        // `object` ends every order, as in Python, whichever base named it: merged as an
        // ordinary base it would come before a library base (`class H(Mixin, RequestHandler)`
        // with `class Mixin(object)`), whose own bases, `object` among them, are unknown here.
        // (A base spelled `object` and defined nowhere is qualified by the module it is read in.)
        let is_object = |name: &String| name == "object" || (name.ends_with(".object") && self.class(name).is_none());
        let mut object = info.bases.iter().find(|base| is_object(base)).cloned();
        let mut sequences: Vec<Vec<String>> = Vec::with_capacity(info.bases.len() + 1);
        for base in info.bases.iter().filter(|base| !is_object(base)) {
            let mut sequence = self.linearisation(base, depth + 1, known)?;
            if sequence.last().is_some_and(is_object) {
                object = object.or(sequence.pop());
            }
            sequences.push(sequence);
        }
        sequences.push(info.bases.iter().filter(|base| !is_object(base)).cloned().collect());
        let mut order = vec![class.to_string()];
        loop {
            sequences.retain(|sequence| !sequence.is_empty());
            if sequences.is_empty() {
                break;
            }
            // The first head that is in no other sequence's tail.
            let head = sequences
                .iter()
                .map(|sequence| &sequence[0])
                .find(|candidate| !sequences.iter().any(|sequence| sequence[1..].contains(candidate)))?
                .clone();
            for sequence in &mut sequences {
                if sequence[0] == head {
                    sequence.remove(0);
                }
            }
            order.push(head);
            if order.len() > MAX_ANCESTORS {
                return None;
            }
        }
        order.extend(object);
        known.insert(class.to_string(), Some(order.clone()));
        Some(order)
    }

    /// `class` and its bases breadth first by name (bases outside the workspace included, not
    /// expanded), at most `MAX_ANCESTORS`: the order where C3 cannot be computed.
    fn breadth_first_ancestors(&self, class: &str) -> Vec<String> {
        let mut order = vec![class.to_string()];
        let mut next = 0;
        while next < order.len() && order.len() < MAX_ANCESTORS {
            if let Some(info) = self.class(order[next].as_str()) {
                for base in &info.bases {
                    if !order.contains(base) {
                        order.push(base.clone());
                    }
                }
            }
            next += 1;
        }
        order
    }

    /// The workspace classes naming `class` as a base, sorted (recorded under
    /// `subclasses_lookup(class)`: a subclass added, removed or changed anywhere changes it).
    pub fn subclasses(&self, class: &str) -> &[&'_ str] {
        note_lookup(&subclasses_lookup(class));
        let index = self.subclasses.get_or_init(|| {
            let mut index: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
            for (&name, info) in &self.classes {
                for base in &info.bases {
                    index.entry(base.as_str()).or_default().push(name);
                }
            }
            for list in index.values_mut() {
                list.sort_unstable();
                list.dedup();
            }
            index
        });
        index.get(class).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A method `name` of class `class` or of one of its bases in the workspace.
    /// Recorded by the method's qualified name too: which of several same-named definitions a
    /// class's table holds is part of that name's facts, not of the class's.
    pub fn method(&self, class: &str, name: &str) -> Option<usize> {
        let found = self.ancestors(class).iter().find_map(|ancestor| self.class(ancestor.as_str())?.methods.get(name).copied())?;
        Some(self.found_through_class(found))
    }

    /// `scope`, taken from a class's method table, recorded by its qualified name.
    pub fn found_through_class(&self, scope: usize) -> usize {
        note_lookup(&self.scopes[scope].qualified_name);
        scope
    }

    /// For `Class.member` where `Class` is a workspace class that does not define `member`:
    /// the same member on its first base outside the workspace (`tornado.web.RequestHandler.get_argument`).
    pub fn library_member(&self, reference: &str) -> Option<String> {
        let (class, member) = reference.rsplit_once('.')?;
        if self.class(class).is_none() || self.method(class, member).is_some() {
            return None;
        }
        let base = self.ancestors(class).iter().find(|ancestor| self.class(ancestor.as_str()).is_none()).cloned()?;
        let base = self.instance_class(&base, 0).unwrap_or(base);
        Some(format!("{base}.{member}"))
    }

    /// `app.db.Model` where `app.db` is a module-level instance of a library class (`db =
    /// SQLAlchemy()`): `flask_sqlalchemy.SQLAlchemy.Model`, read from the instance's chain — a
    /// call of a class is an instance of it, an attribute is appended. `None` when no prefix is
    /// such an instance or a step leaves what the syntax says (a call of a function).
    fn instance_class(&self, reference: &str, depth: usize) -> Option<String> {
        const MAX_CHAINED_NAMES: usize = 8;
        if depth >= MAX_CHAINED_NAMES {
            return None;
        }
        let mut split = reference.len();
        while let Some(cut) = reference[..split].rfind('.') {
            split = cut;
            let (prefix, rest) = reference.split_at(split);
            let Some((module, chain)) = self.instance_chain(prefix) else { continue };
            let mut current = match &chain.root {
                instances::ChainRoot::Reference(root) => self.instance_class(root, depth + 1).unwrap_or_else(|| root.clone()),
                instances::ChainRoot::Local(name) => {
                    let local = format!("{}.{name}", self.modules[module].name);
                    self.instance_class(&local, depth + 1)?
                }
            };
            for step in &chain.steps {
                match step {
                    instances::InstanceStep::Call(_)
                        if current.rsplit('.').next().is_some_and(|last| last.starts_with(char::is_uppercase)) => {}
                    instances::InstanceStep::Attribute(name) => current = format!("{current}.{name}"),
                    _ => return None,
                }
            }
            return Some(format!("{current}{rest}"));
        }
        None
    }

    /// Whether `class` derives (transitively, by name) from a base whose name ends with one
    /// of `suffixes` (`View`, `RequestHandler`, …).
    pub fn class_derives_from(&self, class: &str, suffixes: &[&str]) -> bool {
        self.ancestors(class).iter().skip(1).any(|base| suffixes.iter().any(|suffix| base.ends_with(suffix)))
    }
}

fn decorators_of(function: Node<'_>) -> Vec<Node<'_>> {
    match function.parent() {
        Some(parent) if parent.kind() == "decorated_definition" => {
            let mut cursor = parent.walk();
            parent.named_children(&mut cursor).filter(|child| child.kind() == "decorator").collect()
        }
        _ => Vec::new(),
    }
}

/// The parameters of `function` (a definition or a lambda), in order.
pub(crate) fn parameters<'t>(text: &str, function: Node<'t>) -> Vec<Param<'t>> {
    let Some(list) = function.field(&field::PARAMETERS) else { return Vec::new() };
    let mut cursor = list.walk();
    let mut params: Vec<Param<'t>> = Vec::new();
    // Past `*args` or a bare `*`: the parameters are keyword-only.
    let mut keyword_only = false;
    for child in list.named_children(&mut cursor) {
        match child.kind() {
            // `/`: the parameters before it are positional-only.
            "positional_separator" => {
                params.iter_mut().for_each(|param| param.positional_only = true);
                continue;
            }
            "keyword_separator" => {
                keyword_only = true;
                continue;
            }
            _ => {}
        }
        let (name_node, annotation, default, variadic) = match child.kind() {
            "identifier" => (Some(child), None, None, false),
            "typed_parameter" => {
                let inner = child.named_child(0);
                let variadic = inner.is_some_and(|n| matches!(n.kind(), "list_splat_pattern" | "dictionary_splat_pattern"));
                let name = inner.map(|n| if variadic { n.named_child(0).unwrap_or(n) } else { n });
                (name, child.field(&field::TYPE), None, variadic)
            }
            "default_parameter" => (child.field(&field::NAME), None, child.field(&field::VALUE), false),
            "typed_default_parameter" => (child.field(&field::NAME), child.field(&field::TYPE), child.field(&field::VALUE), false),
            "list_splat_pattern" | "dictionary_splat_pattern" => (child.named_child(0), None, None, true),
            _ => (None, None, None, false),
        };
        // The annotation is a `type` node wrapping the expression.
        let annotation = annotation.map(|a| if a.kind() == "type" { a.named_child(0).unwrap_or(a) } else { a });
        if let Some(name_node) = name_node {
            let name = text_of(text, name_node).to_string();
            params.push(Param {
                name,
                node: name_node,
                annotation,
                default,
                variadic,
                keyword_only: keyword_only && !variadic,
                positional_only: false,
            });
        }
        keyword_only |= variadic;
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: [(&str, &str); 3] = [
        ("a.py", "import os\n\ndef f(x):\n    return x\n"),
        (
            "pkg/b.py",
            "from a import f\n\nclass C(Base):\n    def m(self):\n        return f(1)\n\n    @staticmethod\n    def s():\n        pass\n",
        ),
        ("c.py", "def g():\n    def inner():\n        pass\n    return inner\n"),
    ];

    /// A class as numbered: (qualified name, module, methods with their scopes).
    type NumberedClass = (String, usize, Vec<(String, usize)>);
    /// Everything a part numbers: (file, scopes, functions, classes).
    type Numbering = (usize, Vec<(String, usize, usize)>, Vec<(String, usize)>, Vec<NumberedClass>);

    /// Everything a part numbers, in a comparable form.
    fn numbering(part: &FileProgram<'_>) -> Numbering {
        let scopes = part.scopes.iter().map(|scope| (scope.qualified_name.clone(), scope.file, scope.module)).collect();
        let mut functions: Vec<(String, usize)> = part.functions.iter().map(|(name, &scope)| (name.clone(), scope)).collect();
        functions.sort();
        let mut classes: Vec<NumberedClass> = part
            .classes
            .values()
            .map(|class| {
                let mut methods: Vec<(String, usize)> = class.methods.iter().map(|(name, &scope)| (name.clone(), scope)).collect();
                methods.sort();
                (class.qualified_name.clone(), class.module, methods)
            })
            .collect();
        classes.sort();
        (part.module.file, scopes, functions, classes)
    }

    #[test]
    fn a_renumbered_part_equals_one_built_in_its_new_place() {
        let documents: Vec<(String, Document)> =
            FILES.iter().map(|(path, text)| (path.to_string(), Document::new(text.to_string()))).collect();
        let mut parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        assert_eq!(parts.iter().map(|part| (part.file_index, part.scope_offset)).collect::<Vec<_>>(), [(0, 0), (1, 2), (2, 5)]);
        let (path, document) = &documents[1];
        let fresh = FileProgram::build(path.clone(), document, 7, 40);
        parts[1].renumber(7, 40);
        assert_eq!(numbering(&parts[1]), numbering(&fresh));
        assert_eq!(parts[1].functions["pkg.b.C.m"], 41);
        assert_eq!(parts[1].classes["pkg.b.C"].methods["s"], 42);
    }

    #[test]
    fn the_view_resolves_names_across_parts() {
        let documents: Vec<(String, Document)> =
            FILES.iter().map(|(path, text)| (path.to_string(), Document::new(text.to_string()))).collect();
        let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        let program = Program::from_parts(&parts);
        assert_eq!(program.scopes.len(), 8);
        let scope = program.functions["c.g.inner"];
        assert_eq!((program.scopes[scope].qualified_name.as_str(), program.scopes[scope].file), ("c.g.inner", 2));
        assert_eq!(program.method("pkg.b.C", "m"), Some(program.functions["pkg.b.C.m"]));
        assert_eq!(program.resolve_name(program.module_index["pkg.b"], "f.attr").as_deref(), Some("a.f.attr"));
        assert_eq!(program.modules[program.module_index["a"]].imports["os"], "os");
    }

    /// The program of `files` (path, text), with `check` run on it.
    fn with_program(files: &[(&str, &str)], check: impl FnOnce(&Program<'_>)) {
        let documents: Vec<(String, Document)> =
            files.iter().map(|(path, text)| (path.to_string(), Document::new(text.to_string()))).collect();
        let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        check(&Program::from_parts(&parts));
    }

    const REEXPORTS: [(&str, &str); 5] = [
        (
            "kit/__init__.py",
            "from .shell import Shell\nfrom .run import run_direct as start\nfrom .run import run_direct as run\nfrom kit import loop\n",
        ),
        ("kit/shell.py", "class Shell:\n    def launch(self, command):\n        pass\n"),
        ("kit/run.py", "def run_direct(command):\n    pass\ndef run(command):\n    pass\n"),
        ("kit/loop.py", "from kit.cycle import loop\n"),
        ("kit/cycle.py", "from kit.loop import loop\n"),
    ];

    #[test]
    fn lookups_follow_a_package_reexporting_its_names() {
        with_program(&REEXPORTS, |program| {
            let launch = program.functions["kit.shell.Shell.launch"];
            assert_eq!(program.class("kit.Shell").map(|class| class.qualified_name.as_str()), Some("kit.shell.Shell"));
            assert_eq!(program.method("kit.Shell", "launch"), Some(launch));
            assert_eq!(program.function("kit.Shell.launch"), Some(launch));
            // Renamed on the way; a submodule of the same name as a re-export is the submodule.
            assert_eq!(program.function("kit.start"), Some(program.functions["kit.run.run_direct"]));
            assert_eq!(program.reexport_target("kit.run"), None);
            assert_eq!(program.function("kit.run"), None, "`kit.run` is the submodule, not a function");
            // References keep their spelling; names defined where they are looked up are kept.
            assert_eq!(program.resolve_name(program.module_index["kit.loop"], "loop").as_deref(), Some("kit.cycle.loop"));
            assert_eq!(program.reexport_target("kit.shell.Shell"), None);
            assert_eq!(program.reexport_target("os.path.join"), None);
            // Two modules importing a name from each other: bounded, and no definition found.
            assert_eq!(program.function("kit.loop.loop"), None);
            assert!(program.reexport_target("kit.loop.loop").is_some());
        });
    }

    #[test]
    fn a_chain_of_reexports_of_any_length_is_followed() {
        let texts: Vec<(String, String)> = (0..12)
            .map(|index| {
                (
                    format!("c{index}.py"),
                    if index == 11 { "def f():\n    pass\n".into() } else { format!("from c{} import f\n", index + 1) },
                )
            })
            .collect();
        let files: Vec<(&str, &str)> = texts.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
        with_program(&files, |program| assert_eq!(program.function("c0.f"), Some(program.functions["c11.f"])));
    }

    /// Found on sympy's `polytools.py` with only its imports (the editor's open-documents
    /// workspace): `sympy/__init__.py` has `from .simplify import simplify` and
    /// `sympy/simplify/` is not there, so `sympy.simplify.simplify` became
    /// `sympy.simplify.simplify.simplify`, and so on, until memory ran out (24 GB).
    #[test]
    fn lambdas_are_scopes_named_by_their_place_in_the_scope_around_them() {
        let text = "F = lambda a: a\nTABLE = {'k': lambda b: b}\n\ndef f(c=lambda d: d):\n    g = lambda e: lambda h: e + h\n    return g\n\nclass C:\n    key = lambda self: self.x\n";
        with_program(&[("m.py", text)], |program| {
            let lambdas: Vec<(&str, usize, Vec<&str>)> = program
                .scopes
                .iter()
                .filter(|scope| scope.kind == ScopeKind::Lambda)
                .map(|scope| (scope.qualified_name.as_str(), scope.depth, scope.params.iter().map(|p| p.name.as_str()).collect()))
                .collect();
            assert_eq!(
                lambdas,
                [
                    ("m.<lambda@4>", 1, vec!["a"]),
                    ("m.<lambda@30>", 1, vec!["b"]),
                    ("m.<lambda@52>", 1, vec!["d"]),
                    ("m.<lambda@133>", 1, vec!["self"]),
                    ("m.f.<lambda@4>", 1, vec!["e"]),
                    ("m.f.<lambda@4>.<lambda@0>", 2, vec!["h"]),
                ]
            );
            // A module-level name bound to a lambda, and a dispatch table's entry, refer to it.
            assert_eq!(program.resolve_name(0, "F").as_deref(), Some("m.<lambda@4>"));
            assert_eq!(program.dispatch_table("m.TABLE"), Some(vec![(Some("k".to_string()), "m.<lambda@30>".to_string())]));
            assert!(program.function("m.f.<lambda@4>.<lambda@0>").is_some());
            // Lambdas' free names are their enclosing functions' locals.
            assert!(program.enclosing_functions.contains(&"m.f"));
            assert_eq!(shown_scope_name("m.f.<lambda@4>"), "<lambda>");
        });
    }

    #[test]
    fn a_reexport_walk_that_makes_the_reference_longer_ends() {
        let package = [("sympy/__init__.py", "from .simplify import simplify\n"), ("sympy/polys/polytools.py", "x = 1\n")];
        with_program(&package, |program| {
            assert_eq!(program.function("sympy.simplify.simplify"), None);
            assert_eq!(program.function("sympy.simplify.simplify.simplify"), None);
            assert!(program.reexport_target("sympy.simplify.simplify").is_some_and(|target| target.len() < 100));
        });
        // Two packages importing each other's names, each step longer by a name.
        let crossed = [("a/__init__.py", "from b.q import x\n"), ("b/__init__.py", "from a.x import q\n")];
        with_program(&crossed, |program| {
            assert_eq!(program.function("a.x.w"), None);
            assert!(program.reexport_target("a.x.w").is_some_and(|target| target.len() < 100));
        });
    }

    #[test]
    fn a_reexport_is_recorded_so_a_changed_import_changes_the_lookup() {
        let recorded = |files: &[(&str, &str)]| {
            let mut found = None;
            with_program(files, |program| {
                let (class, names) = record_name_lookups(|| program.class("kit.Shell").map(|class| class.qualified_name.clone()));
                let facts: Vec<(u64, u64)> = (0..program.files.len()).flat_map(|file| name_facts(program, file, 0..0)).collect();
                let looked_up: Vec<(u64, u64)> = facts.into_iter().filter(|(name, _)| names.contains(name)).collect();
                found = Some((class, looked_up));
            });
            found.expect("checked")
        };
        let (class, before) = recorded(&REEXPORTS);
        assert_eq!(class.as_deref(), Some("kit.shell.Shell"));
        let mut changed = REEXPORTS;
        changed[0].1 = "from .other import Shell\n";
        let (class, after) = recorded(&changed);
        assert_eq!(class, None);
        assert_ne!(before, after, "the lookup's facts must change with the package's import");
    }

    #[test]
    fn a_memoised_reexport_records_what_the_walk_recorded() {
        with_program(&REEXPORTS, |program| {
            let first = record_name_lookups(|| program.reexport_target("kit.Shell.launch"));
            let again = record_name_lookups(|| program.reexport_target("kit.Shell.launch"));
            assert_eq!(first.0.as_deref(), Some("kit.shell.Shell.launch"));
            assert!(!first.1.is_empty(), "the walk looks names up");
            assert_eq!(again, first, "an answer from the memo records the same lookups");
        });
    }

    #[test]
    fn a_memoised_resolution_records_what_resolving_recorded() {
        with_program(&FILES, |program| {
            let module = program.module_index["pkg.b"];
            for (name, expected) in [("f", Some("a.f")), ("C.m", Some("pkg.b.C.m")), ("len", None)] {
                let first = record_name_lookups(|| program.resolve_name(module, name));
                let again = record_name_lookups(|| program.resolve_name(module, name));
                assert_eq!(first.0.as_deref(), expected, "{name}");
                assert_eq!(again, first, "{name}: an answer from the memo records the same lookups");
            }
            let (local, lookups) = record_name_lookups(|| program.resolve_name(module, "len"));
            assert_eq!(local, None);
            assert!(!lookups.is_empty(), "a name the module neither imports nor defines is looked up as its own");
            let longer = record_name_lookups(|| program.resolve_name(module, "f.attr.x"));
            assert_eq!(longer.0.as_deref(), Some("a.f.attr.x"), "the memo holds the first name; the rest is appended");
            assert_eq!(longer.1, record_name_lookups(|| program.resolve_name(module, "f")).1, "with the first name's lookups");
        });
    }

    #[test]
    fn ancestors_follow_pythons_method_resolution_order() {
        let app = "from lib import Thing\n\n\nclass Root:\n    def m(self):\n        pass\n\n\nclass Quiet:\n    def m(self):\n        pass\n\n\nclass Local(Quiet):\n    pass\n\n\nclass Remote(Root):\n    pass\n\n\nclass Job(Local, Remote):\n    pass\n\n\nclass Left(Root):\n    pass\n\n\nclass Right(Root):\n    def m(self):\n        pass\n\n\nclass Task(Left, Right):\n    pass\n\n\nclass X(Left, Right):\n    pass\n\n\nclass Y(Right, Left):\n    pass\n\n\nclass Z(X, Y):\n    pass\n\n\nclass P(Q):\n    pass\n\n\nclass Q(P):\n    pass\n\n\nclass W(Local, Thing):\n    pass\n\n\nclass Plain(object):\n    pass\n\n\nclass Mixin(object):\n    def m(self):\n        pass\n\n\nclass Handler(Mixin, Thing):\n    pass\n";
        with_program(&[("app.py", app)], |program| {
            let order = |class: &str| -> Vec<String> {
                program.ancestors(&format!("app.{class}")).iter().map(|c| c.strip_prefix("app.").unwrap_or(c).to_string()).collect()
            };
            // Depth first where bases do not share ancestors: `Quiet` before `Remote` (breadth
            // first put `Remote` first).
            assert_eq!(order("Job"), ["Job", "Local", "Quiet", "Remote", "Root"]);
            assert_eq!(program.method("app.Job", "m"), program.method("app.Quiet", "m"));
            // A diamond: the shared base last, after both sides.
            assert_eq!(order("Task"), ["Task", "Left", "Right", "Root"]);
            assert_eq!(program.method("app.Task", "m"), program.method("app.Right", "m"));
            // A library base: itself, its own bases unknown.
            assert_eq!(order("W"), ["W", "Local", "Quiet", "lib.Thing"]);
            // `object` last, after a library base, whichever base named it (a merge would put
            // it first: `Mixin`'s order ends with it, `lib.Thing`'s own bases are unknown).
            assert_eq!(order("Handler"), ["Handler", "Mixin", "lib.Thing", "object"]);
            assert_eq!(order("Plain"), ["Plain", "object"]);
            // Inconsistent bases (Python rejects `Z`) and a cycle: breadth first, no error.
            assert_eq!(order("Z"), ["Z", "X", "Y", "Left", "Right", "Root"]);
            assert_eq!(order("P"), ["P", "Q"]);
        });
    }

    #[test]
    fn memoised_ancestors_record_what_the_walk_recorded() {
        with_program(&FILES, |program| {
            let first = record_name_lookups(|| program.ancestors("pkg.b.C"));
            let again = record_name_lookups(|| program.ancestors("pkg.b.C"));
            assert_eq!(first.0.to_vec(), vec!["pkg.b.C".to_string(), "pkg.b.Base".to_string()], "the class, then its bases");
            assert!(!first.1.is_empty(), "the walk looks classes up");
            assert_eq!(again, first, "an answer from the memo records the same lookups");
            assert_eq!(program.ancestors("nowhere.D").to_vec(), vec!["nowhere.D".to_string()], "an unknown class is its own only ancestor");
        });
    }

    #[test]
    #[should_panic(expected = "numbered consecutively")]
    fn the_view_refuses_parts_out_of_place() {
        let document = Document::new(FILES[0].1.to_string());
        let part = FileProgram::build(FILES[0].0.to_string(), &document, 1, 0);
        Program::from_parts([&part]);
    }
}
