//! The one call resolver: which workspace scopes a call may run.
//!
//! Both analyses ask it the same question — "this call, in this scope, where the callee (or
//! the receiver of a method call) is known to be this reference" — and get the same answer.
//! They differ only in how they know what an expression refers to: taint evaluates it
//! (abstract values carry qualified `reference`s), slicing reads it syntactically
//! (`Syntactic`: imports and aliases, `self`/`cls`, nested functions, locals bound one way).
//! The composition is shared: `obj.m` is `member_reference(reference of obj, "m")`, a call's
//! result is `call_reference` (constructors, `getattr`, `importlib.import_module`), and a
//! reference's scopes are `targets`.
//!
//! References are strings: a qualified name (`app.util.helper`, `app.models.Runner`,
//! `app.models.Runner.run`, a module `app.util`), a library name (`os.system`), or
//! `getattr:{object}:{prefix}` — the methods of a workspace class, or the top-level functions
//! of a workspace module, whose names start with `prefix` (`getattr(self, "do_" + action)`,
//! `getattr(actions, name)`, `globals()["cmd_" + name]`).
//!
//! Invariants:
//! - `self.m()` / `cls.m()` (a call on the method's implicit receiver) may run `m` as the
//!   receiver's class finds it *or any override of `m` in a subclass*; a call on an object of
//!   a known class (`Runner().run()`, `r = Runner(); r.run()`) runs the method that class finds.
//! - Every program lookup goes through `Program::function`/`class`/`method` (recorded), and the
//!   subclasses a dispatch looked at through `Program::subclasses` (recorded under
//!   `program::subclasses_lookup`), so incremental taint re-resolves when they change.
//! - Nothing here recurses on user-controlled depth: attribute chains are walked iteratively,
//!   nested call heads (`f()()()`) only `MAX_CALL_HEADS` deep.

use crate::ir::bindings::{Bindings, ScopeConstants};
use crate::syntax::tree::Node;
use rustc_hash::FxHashMap;

use crate::program::{literal, text_of, Constant, Program};
use crate::syntax::{field, FieldChild};

/// The prefix of a reference naming the candidate methods of a `getattr` with a computed name.
pub const GETATTR: &str = "getattr:";
/// The prefix of a reference naming several candidates, `|`-separated: the values of a
/// dispatch table looked up with a computed key (`HANDLERS[kind]`), a value that is either of
/// two (`join_references`), a module-level name bound to either of two classes.
pub use crate::program::{alternatives, one_of, MAX_CANDIDATES, ONE_OF};

/// A dispatch table's entries: each value's constant key (a dict's string key; `None`
/// otherwise) with what the value refers to (`Program::dispatch_table`, `table_locals`).
pub type TableEntries = Vec<(Option<String>, String)>;

/// Calls nested as callees (`f()()`) resolved syntactically; deeper, the callee is unknown.
pub const MAX_CALL_HEADS: usize = 8;
/// Rounds of `local_references` (a chain of locals bound through one another this long).
const MAX_LOCAL_ROUNDS: usize = 4;

/// What a call may run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// What the callee expression refers to, resolved or not (rules match library calls by it).
    pub reference: Option<String>,
    /// The workspace scopes the call may run, in a deterministic order, without repeats.
    pub targets: Vec<usize>,
    /// The callee is a workspace class: the call constructs an instance (runs `__init__`).
    pub constructor: bool,
}

/// What a value that refers to `a` on one path and to `b` on another refers to: either
/// (`one_of`). The one join of references: taint's values at a merge point and a conditional
/// expression (`r = A() if flag else B()`, `r = A()` in one branch and `r = B()` in the
/// other), slicing's locals bound several ways (`local_references`). A call on it runs each
/// candidate's target; a method read from it is each candidate's (`member_reference`).
pub fn join_references(a: &str, b: &str) -> Option<String> {
    if a == b {
        return Some(a.to_string());
    }
    one_of([a, b])
}

/// `object.attribute` as a reference; a member a workspace class inherits from a library base
/// is that base's member (`tornado.web.RequestHandler.get_argument`).
pub fn member_reference(program: &Program<'_>, object: &str, attribute: &str) -> String {
    // Several candidates (`cls_ = A if flag else B`): the member of each.
    if let Some(rest) = object.strip_prefix(ONE_OF) {
        let members: Vec<String> = rest.split('|').map(|candidate| member_reference(program, candidate, attribute)).collect();
        return format!("{ONE_OF}{}", members.join("|"));
    }
    let reference = format!("{object}.{attribute}");
    program.library_member(&reference).unwrap_or(reference)
}

/// Whether `object` is the implicit receiver (`self`/`cls`) of method `scope`.
pub fn is_open_receiver(program: &Program<'_>, scope: usize, object: Node<'_>) -> bool {
    let info = &program.scopes[scope];
    info.implicit_receiver
        && info.class.is_some()
        && object.kind() == "identifier"
        && info.params.first().is_some_and(|receiver| receiver.name == text_of(program.text(info.file), object))
}

/// The reference a call's *result* has, given its callee's reference: an instance of a
/// workspace class (the class), the module `importlib.import_module("m")` imports, the member
/// `getattr(obj, "name")` reads, or the candidates of `getattr(obj, computed)` on a workspace
/// class. `reference_of` answers what the arguments refer to.
pub fn call_reference<'t>(
    program: &Program<'_>,
    scope: usize,
    call: Node<'t>,
    callee: Option<&str>,
    reference_of: &mut dyn FnMut(Node<'t>) -> Option<String>,
) -> Option<String> {
    let callee = callee?;
    // A class, or either of several (`Impl = A if X else B`): an instance of it.
    if is_class_reference(program, callee) {
        return Some(callee.to_string());
    }
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    // A name the function binds itself is not the module's constant (`names_own_binding`).
    let constants = ScopeConstants::new(program, scope);
    let arguments = call.field(&field::ARGUMENTS)?;
    let constant_string = |node: Node<'_>| match literal(text, node, &constants) {
        Some(Constant::Str(value)) => Some(value),
        _ => None,
    };
    match callee {
        "importlib.import_module" | "__import__" => {
            let name = constant_string(arguments.named_child(0)?)?;
            (!name.starts_with('.') && !name.is_empty()).then_some(name)
        }
        "getattr" => {
            let object = reference_of(arguments.named_child(0)?)?;
            let name = arguments.named_child(1)?;
            if let Some(exact) = constant_string(name) {
                return Some(member_reference(program, &object, &exact));
            }
            candidates(program, &object, computed_prefix(name, &constant_string))
        }
        // The module's namespace: `globals()[name]` looks a name up in it.
        "globals" if arguments.named_child_count() == 0 => Some(program.modules[info.module].name.clone()),
        _ => None,
    }
}

/// The reference of `object[key]` where `object` refers to a workspace module's namespace
/// (`globals()`): the member a constant key names, or the candidates of a computed one
/// (`globals()["cmd_" + name]`). Other subscripts refer to nothing known here.
pub fn subscript_reference(program: &Program<'_>, scope: usize, subscript: Node<'_>, object: &str) -> Option<String> {
    if let Some(entries) = program.dispatch_table(object) {
        return table_reference(program, scope, subscript, entries);
    }
    program.module_named(object)?;
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let constants = ScopeConstants::new(program, scope);
    let constant_string = |node: Node<'_>| match literal(text, node, &constants) {
        Some(Constant::Str(value)) => Some(value),
        _ => None,
    };
    let key = subscript.field(&field::SUBSCRIPT)?;
    if let Some(exact) = constant_string(key) {
        return Some(member_reference(program, object, &exact));
    }
    candidates(program, object, computed_prefix(key, &constant_string))
}

/// `table[key]` of a module's dispatch table (`Program::dispatch_table`: its literal's
/// entries and those module-level stores add): the value a constant key names (when the table
/// has it; each of them when stores give the key several), else every value (`one_of`; past
/// `MAX_CANDIDATES` of them unknown, as for a table held in a local).
fn table_reference(program: &Program<'_>, scope: usize, subscript: Node<'_>, entries: TableEntries) -> Option<String> {
    local_table_reference(program, scope, subscript, &entries)
}

/// `table[key]` of a table function `scope` holds in a local (`table_locals`): the value a
/// constant key names (when the table has it), else any of them (`one_of`; past
/// `MAX_CANDIDATES` of them, unknown: the call is unresolved, as any unknown callee's is).
pub fn local_table_reference(
    program: &Program<'_>,
    scope: usize,
    subscript: Node<'_>,
    entries: &[(Option<String>, String)],
) -> Option<String> {
    if let Some(value) = keyed_value(program, scope, subscript, entries) {
        return Some(value);
    }
    one_of(entries.iter().map(|(_, value)| value.as_str()))
}

/// The value (`one_of` them, when several entries have it) of `entries` that `subscript`'s key
/// names, when it is a constant string the table has.
fn keyed_value(program: &Program<'_>, scope: usize, subscript: Node<'_>, entries: &[(Option<String>, String)]) -> Option<String> {
    let info = &program.scopes[scope];
    let key = subscript.field(&field::SUBSCRIPT)?;
    let Some(Constant::Str(key)) = literal(program.text(info.file), key, &ScopeConstants::new(program, scope)) else { return None };
    one_of(entries.iter().filter(|(known, _)| known.as_deref() == Some(key.as_str())).map(|(_, value)| value.as_str()))
}

/// The constant start of a computed name (`"do_" + action` → `do_`; anything else: empty).
fn computed_prefix<'n>(name: Node<'n>, constant_string: &dyn Fn(Node<'n>) -> Option<String>) -> String {
    (name.kind() == "binary_operator").then(|| name.field(&field::LEFT)).flatten().and_then(constant_string).unwrap_or_default()
}

/// The candidates a computed name with `prefix` may denote in `object`: the methods of a
/// workspace class or the top-level functions of a workspace module.
fn candidates(program: &Program<'_>, object: &str, prefix: String) -> Option<String> {
    (program.class(object).is_some() || program.module_named(object).is_some()).then(|| format!("{GETATTR}{object}:{prefix}"))
}

/// The workspace scopes a reference may denote when called. `open`: the reference is a method
/// reached through the implicit receiver, so overrides in subclasses may run too.
///
/// Memoised per program (`Program::memoised_targets`, with the lookups replayed on a hit).
pub fn targets(program: &Program<'_>, reference: &str, open: bool) -> Vec<usize> {
    program.memoised_targets(reference, open, || find_targets(program, reference, open))
}

/// `targets` computed (not memoised).
fn find_targets(program: &Program<'_>, reference: &str, open: bool) -> Vec<usize> {
    if let Some(rest) = reference.strip_prefix(ONE_OF) {
        let mut found: Vec<usize> = Vec::new();
        for candidate in rest.split('|') {
            for scope in targets(program, candidate, false) {
                if !found.contains(&scope) {
                    found.push(scope);
                }
            }
        }
        return found;
    }
    if let Some(rest) = reference.strip_prefix(GETATTR) {
        let Some((class, prefix)) = rest.rsplit_once(':') else { return Vec::new() };
        if program.class(class).is_none() && program.module_named(class).is_some() {
            return program.module_functions(class, prefix);
        }
        let mut candidates: Vec<usize> = Vec::new();
        for ancestor in program.ancestors(class).iter() {
            if let Some(info) = program.class(ancestor.as_str()) {
                let mut methods: Vec<(&String, &usize)> = info.methods.iter().filter(|(name, _)| name.starts_with(prefix)).collect();
                methods.sort();
                for (_, &scope) in methods {
                    let scope = program.found_through_class(scope);
                    if !candidates.contains(&scope) {
                        candidates.push(scope);
                    }
                }
            }
        }
        return candidates;
    }
    let mut found: Vec<usize> = Vec::new();
    if let Some(scope) = program.function(reference) {
        found.push(scope);
    } else if program.class(reference).is_some() {
        found.extend(program.method(reference, "__init__"));
    } else if let Some((class, method)) = reference.rsplit_once('.') {
        if program.class(class).is_some() {
            found.extend(program.method(class, method));
        }
    }
    if open {
        if let Some((class, method)) = reference.rsplit_once('.') {
            for scope in overrides(program, class, method) {
                if !found.contains(&scope) {
                    found.push(scope);
                }
            }
        }
    }
    found
}

/// Methods named `method` defined by subclasses (transitively) of `class`, in breadth-first
/// order of the subclasses (bounded like `Program::ancestors`).
pub fn overrides(program: &Program<'_>, class: &str, method: &str) -> Vec<usize> {
    if program.class(class).is_none() {
        return Vec::new();
    }
    let mut order: Vec<String> = vec![class.to_string()];
    let mut next = 0;
    let mut found = Vec::new();
    while next < order.len() && order.len() < 64 {
        for subclass in program.subclasses(&order[next]) {
            if order.iter().any(|known| known == subclass) {
                continue;
            }
            if let Some(&scope) = program.class(subclass).and_then(|info| info.methods.get(method)) {
                found.push(program.found_through_class(scope));
            }
            order.push(subclass.to_string());
        }
        next += 1;
    }
    found
}

/// How a call reaches the scopes it runs, for binding their first parameter
/// (`ir::binding::receiver_of`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    /// The callee is read as an attribute of an object (`obj.m(…)`, `Runner.run(…)`).
    pub method_call: bool,
    /// That object is a class itself, not an instance (`reads_through_class`).
    pub through_class: bool,
    /// The call makes an instance (runs `__init__` on it).
    pub constructor: bool,
    /// That object is `super()` (`super_class`): the method runs on the caller's own receiver
    /// (its `self`, or `cls` in a classmethod; a nested function's first parameter), which
    /// each analysis names itself — the lowered
    /// call site (cached by body text) knows no receiver name.
    pub own_receiver: bool,
}

/// The class whose bases `object` looks a method up in when it is `super()` in a method of a
/// workspace class (that class), or `super(C, receiver)` there with `receiver` the method's
/// own (`C`, a workspace class). A function (or lambda) nested in a method has the class too
/// (`enclosing_class`: CPython gives it a `__class__` cell when it uses `super`), and its
/// `super()` takes its *own* first parameter as the object (`binding::own_receiver`); one with
/// no positional parameter fails at runtime and is no `super()` here. Anything else (another
/// object as the second argument, `super(C, obj)` in a nested function, a `super` the module
/// binds) is no `super()` here.
pub fn super_class(program: &Program<'_>, scope: usize, object: Node<'_>) -> Option<String> {
    if object.kind() != "call" {
        return None;
    }
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let function = object.field(&field::FUNCTION).filter(|f| f.kind() == "identifier" && text_of(text, *f) == "super")?;
    let nested;
    let own = match &info.class {
        Some(own) if info.implicit_receiver => own,
        Some(_) => return None,
        None => {
            info.params.first().filter(|first| !first.variadic && !first.keyword_only)?;
            nested = enclosing_class(program, scope)?;
            &nested
        }
    };
    if info.params.iter().any(|param| param.name == "super") || program.resolve_name(info.module, text_of(text, function)).is_some() {
        return None;
    }
    let arguments = object.field(&field::ARGUMENTS)?;
    let mut cursor = arguments.walk();
    let given: Vec<Node<'_>> = arguments.named_children(&mut cursor).filter(|a| a.kind() != "comment").collect();
    match given.as_slice() {
        [] => Some(own.clone()),
        [class, receiver] if is_open_receiver(program, scope, *receiver) => {
            let name = crate::program::dotted(text, *class)?;
            let qualified = if name == simple_name(own) { own.clone() } else { program.resolve_name(info.module, &name)? };
            program.class(&qualified).is_some().then_some(qualified)
        }
        _ => None,
    }
}

/// Functions nested in one another that `enclosing_class` walks out of; deeper, no class.
const MAX_ENCLOSING: usize = 16;

/// The class a function nested in one of its methods (at any depth of functions and lambdas)
/// is written in: the class of the first method around it (`qualified_name`'s prefixes). A
/// module-level function, or one nested in a class nested in a function, has none.
fn enclosing_class(program: &Program<'_>, scope: usize) -> Option<String> {
    let mut name = program.scopes[scope].qualified_name.as_str();
    for _ in 0..MAX_ENCLOSING {
        let (around, _) = name.rsplit_once('.')?;
        let info = &program.scopes[program.function(around)?];
        if let Some(class) = &info.class {
            return Some(class.clone());
        }
        name = &info.qualified_name;
    }
    None
}

/// The last part of a qualified name.
fn simple_name(qualified: &str) -> &str {
    qualified.rsplit('.').next().unwrap_or(qualified)
}

/// Most classes `descendants` walks (a class and its subclasses, transitively); past it a
/// `super()` call is left unresolved, as an unknown callee.
pub const MAX_DESCENDANTS: usize = 64;

/// Most classes (a class and its subclasses, `descendants`) whose orders `super_method` joins
/// when they do not all find what the class's own order finds; past it such a `super()` call
/// is unknown, as past `MAX_CANDIDATES`. The candidates are one set per call site, whatever
/// the receiver's class: a base with many subclasses, a few of which put another class after
/// it, joins that class's method to every subclass's call graph, where it closes cycles no run
/// takes as one (sympy: `AssocOp.__new__`'s `super().__new__` is `Basic.__new__` in the order
/// of its 20 classes but `Min`'s and `Max`'s, where it is `Application.__new__`, whose
/// `cls.eval` builds `Add`s and `Mul`s, whose `__new__` is `AssocOp.__new__` — a recursive
/// component of 239 scopes, solved by widening, re-solved in a later sweep). Orders that all
/// agree are joined at any count up to `MAX_DESCENDANTS` (one candidate: nothing to join).
pub const MAX_COOPERATIVE_DESCENDANTS: usize = 16;

/// `class` and its workspace subclasses, transitively, breadth first (`Program::subclasses`,
/// recorded); `None` past `MAX_DESCENDANTS` of them.
fn descendants<'p>(program: &'p Program<'_>, class: &'p str) -> Option<Vec<&'p str>> {
    let mut order: Vec<&str> = vec![class];
    let mut next = 0;
    while next < order.len() {
        for &subclass in program.subclasses(order[next]) {
            if !order.contains(&subclass) {
                if order.len() == MAX_DESCENDANTS {
                    crate::program::note_candidates_bounded();
                    return None;
                }
                order.push(subclass);
            }
        }
        next += 1;
    }
    Some(order)
}

/// The reference of `super().method` in a method of `own` (its class; a function nested in a
/// method: that method's class) where `super()` starts after `after` (`super_class`: `own`
/// itself, or `C` of `super(C, self)`). Python looks the method up in `type(self).__mro__`
/// after `after`, and `self` may be an instance of `own` or of any workspace subclass of it
/// (transitively, `descendants`): for each such class whose order (`Program::ancestors`, the
/// one every method lookup here uses) holds `after`, the method of the first class after
/// `after` that defines it among the workspace's classes (bases imported from other modules
/// included) — a cooperative mixin's `super().save()` runs the next class's `save` in each
/// class it is mixed into. The candidates joined (`one_of`, sorted); `None` when no class
/// finds one (a library base's method: the call stays unresolved), past `MAX_CANDIDATES` of
/// them, past `MAX_DESCENDANTS` subclasses, or past `MAX_COOPERATIVE_DESCENDANTS` of them when
/// a subclass's order finds another method than the class's own (unknown, as any unknown
/// callee: never fewer callees than a run may reach, only none known).
///
/// Memoised per program (`Program::memoised_super`).
pub fn super_method(program: &Program<'_>, own: &str, after: &str, method: &str) -> Option<String> {
    program.memoised_super(own, after, method, || find_super_method(program, own, after, method))
}

/// `super_method` computed (not memoised).
fn find_super_method(program: &Program<'_>, own: &str, after: &str, method: &str) -> Option<String> {
    let next_after = |class: &str| {
        let order = program.ancestors(class);
        let at = order.iter().position(|ancestor| ancestor == after)?;
        order[at + 1..]
            .iter()
            .find_map(|ancestor| program.class(ancestor.as_str())?.methods.contains_key(method).then(|| format!("{ancestor}.{method}")))
    };
    // `super(C, self)` with a `C` the method's class does not derive from: Python rejects the
    // call unless `self` is a `C`; the classes deriving from `C` are what it may be then.
    let root = if own == after || program.ancestors(own).iter().any(|ancestor| ancestor == after) { own } else { after };
    let Some(class) = program.classes.get_key_value(root).map(|(&class, _)| class) else { return next_after(root) };
    let classes = descendants(program, class)?;
    let many = classes.len() > MAX_COOPERATIVE_DESCENDANTS;
    let found: Vec<String> = classes.into_iter().filter_map(next_after).collect();
    if many {
        let own = next_after(root);
        if found.iter().any(|candidate| own.as_deref() != Some(candidate.as_str())) {
            crate::program::note_candidates_bounded();
            return None;
        }
    }
    one_of(found.iter().map(String::as_str))
}

/// What a function binds a name to, as the analysis knows it (`reads_through_class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// Not bound by the function: the module's name (or a builtin).
    Unbound,
    /// Bound to classes only (`class_locals`: `C = Runner`, `C = A if flag else B`).
    Class,
    /// Bound some other way (`runner = Runner()`, a parameter, a `for` target, …).
    Value,
}

impl Local {
    /// How `name` reads in a function: a class if the function binds it to classes only
    /// (`class_locals`), a value if it assigns it otherwise (`assigned`), else unbound. The one
    /// answer both analyses give `reached`.
    pub fn of(class_locals: &FxHashMap<String, Vec<String>>, name: &str, assigned: bool) -> Local {
        if class_locals.contains_key(name) {
            Local::Class
        } else if assigned {
            Local::Value
        } else {
            Local::Unbound
        }
    }
}

/// How `call` (made in `scope`, resolved as `resolved`) reaches its targets. `local`: what the
/// scope binds a name to itself (an instance, `runner = Runner(); runner.run(x)`, or a class,
/// `C = Runner; C.run(obj, x)`).
pub fn reached(program: &Program<'_>, scope: usize, call: Node<'_>, resolved: &Resolved, local: &dyn Fn(&str) -> Local) -> Reached {
    let function = call.field(&field::FUNCTION);
    let object = function.filter(|f| f.kind() == "attribute").and_then(|f| f.field(&field::OBJECT));
    let own_receiver = object.is_some_and(|object| super_class(program, scope, object).is_some());
    Reached {
        method_call: object.is_some(),
        through_class: !resolved.constructor
            && !own_receiver
            && object.is_some_and(|object| reads_through_class(program, scope, object, local)),
        constructor: resolved.constructor,
        own_receiver,
    }
}

/// Whether `object`, the object a method is read from (`object.m(…)`), is a workspace class
/// itself rather than an instance of one: `cls` in a classmethod, a local the function binds
/// to classes only (`local` says `Local::Class`: `C = Runner`, `class_locals`), or a name (or
/// dotted name: `models.Runner`) the function does not bind (parameters are bound) that the
/// module resolves to a workspace class — not a module-level instance of one (`runner =
/// Runner()`, `ModuleInfo::instances`). Read from the syntax, as both analyses' values name an
/// instance by its class.
pub fn reads_through_class(program: &Program<'_>, scope: usize, object: Node<'_>, local: &dyn Fn(&str) -> Local) -> bool {
    if is_open_receiver(program, scope, object) {
        return crate::ir::binding::is_classmethod(program, scope);
    }
    let info = &program.scopes[scope];
    let Some(name) = crate::program::dotted(program.text(info.file), object) else { return false };
    let head = name.split('.').next().unwrap_or("");
    // A function's own names shadow the module's; the module's are what `resolve_name` reads.
    if info.kind != crate::program::ScopeKind::Module {
        let bound = if info.params.iter().any(|param| param.name == head) { Local::Value } else { local(head) };
        match bound {
            Local::Class => return name == head,
            Local::Value => return false,
            Local::Unbound => {}
        }
    }
    if program.modules[info.module].instances.contains_key(head) {
        return false;
    }
    program.resolve_name(info.module, &name).is_some_and(|qualified| is_class_reference(program, &qualified))
}

/// Resolves `call` made in `scope`. `reference_of` answers what the callee expression (a
/// plain call) or the receiver (a method call `obj.m(…)`) refers to.
pub fn resolve_call<'t>(
    program: &Program<'_>,
    scope: usize,
    call: Node<'t>,
    reference_of: &mut dyn FnMut(Node<'t>) -> Option<String>,
) -> Resolved {
    let Some(function) = call.field(&field::FUNCTION) else { return Resolved::default() };
    let (reference, open) = match function.kind() {
        "attribute" => {
            let text = program.text(program.scopes[scope].file);
            let (Some(object), Some(attribute)) = (function.field(&field::OBJECT), function.field(&field::ATTRIBUTE)) else {
                return Resolved::default();
            };
            // `super().m(…)`: the base's `m`, whatever the analysis knows of `super()`.
            if let Some(after) = super_class(program, scope, object) {
                let info = &program.scopes[scope];
                let own = info.class.clone().or_else(|| enclosing_class(program, scope)).unwrap_or_else(|| after.clone());
                if let Some(reference) = super_method(program, &own, &after, text_of(text, attribute)) {
                    let targets = targets(program, &reference, false);
                    return Resolved { reference: Some(reference), targets, constructor: false };
                }
            }
            let Some(object_reference) = reference_of(object) else { return Resolved::default() };
            (member_reference(program, &object_reference, text_of(text, attribute)), is_open_receiver(program, scope, object))
        }
        _ => match reference_of(function) {
            Some(reference) => (reference, false),
            None => return Resolved::default(),
        },
    };
    let targets = targets(program, &reference, open);
    let constructor = is_class_reference(program, &reference);
    Resolved { reference: Some(reference), targets, constructor }
}

/// Whether `reference` is a workspace class, or candidates that all are (`one_of:`).
pub fn is_class_reference(program: &Program<'_>, reference: &str) -> bool {
    alternatives(reference).all(|candidate| program.class(candidate).is_some())
}

/// The workspace classes `expression` (in `scope`) is when it is a class itself, not an
/// instance: a name or dotted name the module resolves to a workspace class (not a parameter,
/// not a module-level instance), or a conditional expression both of whose values are
/// (`Runner if flag else Other`). Empty for anything else (a call, a local, …).
pub fn class_expression(program: &Program<'_>, scope: usize, expression: Node<'_>) -> Vec<String> {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let mut classes: Vec<String> = Vec::new();
    let mut pending = vec![expression];
    while let Some(node) = pending.pop() {
        match node.kind() {
            "parenthesized_expression" if pending.len() < MAX_CALL_HEADS => pending.extend(node.named_child(0)),
            "conditional_expression" if pending.len() < MAX_CALL_HEADS => {
                let mut cursor = node.walk();
                let parts: Vec<Node<'_>> = node.named_children(&mut cursor).filter(|part| part.kind() != "comment").collect();
                let [chosen, _, other] = parts[..] else { return Vec::new() };
                pending.extend([other, chosen]);
            }
            "identifier" | "attribute" => {
                let Some(name) = crate::program::dotted(text, node) else { return Vec::new() };
                let head = name.split('.').next().unwrap_or("");
                if info.params.iter().any(|param| param.name == head) || program.modules[info.module].instances.contains_key(head) {
                    return Vec::new();
                }
                // A class, or a module-level name bound to either of several (`one_of:`).
                let Some(qualified) = program.resolve_name(info.module, &name).filter(|q| is_class_reference(program, q)) else {
                    return Vec::new();
                };
                for class in alternatives(&qualified) {
                    if !classes.iter().any(|known| known == class) {
                        classes.push(class.to_string());
                    }
                }
            }
            _ => return Vec::new(),
        }
    }
    classes
}

/// The names function `scope` binds to classes only (`C = Runner`, `cls_ = Runner if flag else
/// Other`, every binding of the name a plain assignment of a `class_expression`), with the
/// classes. Read from the scope's `Bindings` (`assigned_only_plainly`: the one walk of its
/// body both analyses share), so both see the same names; any other binding of a name (a
/// parameter, a `for` target, a tuple target, `+=`, `:=`, `with … as`, an import, a `global`
/// declaration, …) leaves it out.
pub fn class_locals(program: &Program<'_>, scope: usize, bindings: &Bindings<'_>) -> FxHashMap<String, Vec<String>> {
    let info = &program.scopes[scope];
    let mut found: FxHashMap<String, Vec<String>> = FxHashMap::default();
    if info.kind == crate::program::ScopeKind::Module {
        return found;
    }
    'names: for (name, values) in bindings.assigned_only_plainly() {
        if info.params.iter().any(|param| param.name == name) {
            continue;
        }
        let mut classes: Vec<String> = Vec::new();
        for &value in values {
            let of_value = class_expression(program, scope, value);
            if of_value.is_empty() {
                continue 'names;
            }
            classes.extend(of_value);
        }
        classes.sort();
        classes.dedup();
        found.insert(name.to_string(), classes);
    }
    found
}

/// The names function `scope` binds to a dispatch table of its own: one plain assignment (and
/// no other binding, `Bindings::assigned_only_plainly`) of a dict, list or tuple literal whose
/// values are all names or lambdas, as `ModuleInfo::dispatch_tables` at module level
/// (`handlers = {"run": lambda v: run(v), "echo": echo}`), with the entries resolved: a lambda
/// is its scope (`program::lambda_name`), a name a function nested in the scope or what the
/// module makes it (as written when nothing does: a library's or a builtin's name). A value
/// naming a parameter or another local of the scope leaves the table out: what that holds is
/// not known here. Both analyses read a call `handlers[key](…)` through it
/// (`local_table_reference`).
pub fn table_locals(program: &Program<'_>, scope: usize, bindings: &Bindings<'_>) -> FxHashMap<String, TableEntries> {
    let info = program.scopes[scope];
    let mut found: FxHashMap<String, TableEntries> = FxHashMap::default();
    if info.kind == crate::program::ScopeKind::Module {
        return found;
    }
    let text = program.text(info.file);
    'names: for (name, values) in bindings.assigned_only_plainly() {
        let [value] = values else { continue };
        if info.params.iter().any(|param| param.name == name) {
            continue;
        }
        let Some(entries) = crate::program::dispatch_table_of(text, *value, &|lambda| crate::program::lambda_name(info, lambda)) else {
            continue;
        };
        if !only_looked_up(text, info.body, name) {
            continue;
        }
        let mut resolved: TableEntries = Vec::with_capacity(entries.len());
        for (key, written) in entries {
            let head = written.split('.').next().unwrap_or("");
            let nested = format!("{}.{written}", info.qualified_name);
            let reference = if crate::program::is_lambda_name(&written) {
                // A lambda nested too deep for a scope of its own: its calls are not known.
                if program.function(&written).is_none() {
                    continue 'names;
                }
                written
            } else if program.function(&nested).is_some() {
                nested
            } else if info.params.iter().any(|param| param.name == head) || bindings.binds(head) {
                continue 'names;
            } else {
                program.resolve_name(info.module, &written).unwrap_or(written)
            };
            resolved.push((key, reference));
        }
        found.insert(name.to_string(), resolved);
    }
    found
}

/// Whether the scope (nested scopes included: a closure may change the table) uses `name` only
/// to look an entry up (`name[key]`, not stored into or deleted), besides binding it once: a
/// table given to a call, changed by a method (`handlers.update(…)`) or by a store
/// (`handlers["x"] = f`) may hold entries its literal does not list, and then its look-ups
/// stay unknown callees.
fn only_looked_up(text: &str, body: Node<'_>, name: &str) -> bool {
    let names_table = |node: Option<Node<'_>>| {
        node.filter(|node| node.kind() == "subscript")
            .and_then(|subscript| subscript.field(&field::VALUE))
            .is_some_and(|value| value.kind() == "identifier" && text_of(text, value) == name)
    };
    let (mut occurrences, mut looked_up) = (0usize, 0usize);
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "identifier" if text_of(text, node) == name => occurrences += 1,
            "subscript" if names_table(Some(node)) => looked_up += 1,
            "assignment" | "augmented_assignment" if names_table(node.field(&field::LEFT)) => return false,
            "delete_statement" => {
                let mut cursor = node.walk();
                if node.named_children(&mut cursor).any(|target| names_table(Some(target))) {
                    return false;
                }
            }
            _ => {}
        }
        match node.kind() {
            // `obj.name` and `f(name=…)` do not read the local.
            "attribute" => stack.extend(node.field(&field::OBJECT)),
            "keyword_argument" => stack.extend(node.field(&field::VALUE)),
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
    }
    // One occurrence is the binding's target.
    occurrences == looked_up + 1
}

/// What expressions refer to, read from the syntax alone (slicing's answer to `reference_of`):
/// the implicit receiver is its class, a local bound one way is what it was bound to
/// (`local_references`), a name is a function nested in the scope or what imports, aliases
/// and module definitions make it; `obj.attr`, calls and `getattr` compose as in `resolve_call`.
pub struct Syntactic<'a, 'p> {
    pub program: &'a Program<'p>,
    pub scope: usize,
    pub locals: Option<&'a FxHashMap<String, String>>,
    /// The scope's dispatch tables held in locals (`table_locals`).
    pub tables: Option<&'a FxHashMap<String, TableEntries>>,
}

impl Syntactic<'_, '_> {
    pub fn reference(&self, node: Node<'_>) -> Option<String> {
        self.reference_within(node, 0)
    }

    /// What the right side of an assignment refers to: a name, attribute, call or subscript's
    /// reference (`handlers[key]` of a dispatch table, `globals()[name]`), or either of a
    /// conditional expression's values (`A if flag else B`, `A() if flag else
    /// B()`: `join_references`, as taint joins the two values).
    pub fn chosen(&self, right: Node<'_>) -> Option<String> {
        let mut found: Option<String> = None;
        let mut pending = vec![right];
        while let Some(node) = pending.pop() {
            let value = match node.kind() {
                "parenthesized_expression" if pending.len() < MAX_CALL_HEADS => {
                    pending.extend(node.named_child(0));
                    continue;
                }
                "conditional_expression" if pending.len() < MAX_CALL_HEADS => {
                    let mut cursor = node.walk();
                    let parts: Vec<Node<'_>> = node.named_children(&mut cursor).filter(|part| part.kind() != "comment").collect();
                    let [chosen, _, other] = parts[..] else { return None };
                    pending.extend([other, chosen]);
                    continue;
                }
                "call" | "identifier" | "attribute" | "subscript" => self.reference(node)?,
                _ => return None,
            };
            found = Some(match found {
                Some(known) => join_references(&known, &value)?,
                None => value,
            });
        }
        found
    }

    fn reference_within(&self, node: Node<'_>, heads: usize) -> Option<String> {
        let program = self.program;
        let info = &program.scopes[self.scope];
        let text = program.text(info.file);
        // Down the attribute chain to its head, iteratively.
        let mut attributes: Vec<&str> = Vec::new();
        let mut head = node;
        loop {
            match head.kind() {
                "attribute" => {
                    attributes.push(text_of(text, head.field(&field::ATTRIBUTE)?));
                    head = head.field(&field::OBJECT)?;
                }
                "parenthesized_expression" => head = head.named_child(0)?,
                _ => break,
            }
        }
        let mut reference = match head.kind() {
            "identifier" => self.name(text_of(text, head), head)?,
            "call" if heads < MAX_CALL_HEADS => {
                let callee = head.field(&field::FUNCTION).and_then(|f| self.reference_within(f, heads + 1));
                call_reference(program, self.scope, head, callee.as_deref(), &mut |argument| self.reference_within(argument, heads + 1))?
            }
            "subscript" if heads < MAX_CALL_HEADS => {
                let value = head.field(&field::VALUE)?;
                match self.local_table(value) {
                    Some(entries) => local_table_reference(program, self.scope, head, entries)?,
                    None => {
                        let object = self.reference_within(value, heads + 1)?;
                        subscript_reference(program, self.scope, head, &object)?
                    }
                }
            }
            _ => return None,
        };
        for attribute in attributes.into_iter().rev() {
            reference = member_reference(program, &reference, attribute);
        }
        Some(reference)
    }

    /// The entries of the table the scope holds in the local `value` names (`table_locals`).
    fn local_table(&self, value: Node<'_>) -> Option<&[(Option<String>, String)]> {
        let text = self.program.text(self.program.scopes[self.scope].file);
        let tables = self.tables.filter(|_| value.kind() == "identifier")?;
        tables.get(text_of(text, value)).map(Vec::as_slice)
    }

    fn name(&self, name: &str, node: Node<'_>) -> Option<String> {
        let program = self.program;
        let info = &program.scopes[self.scope];
        if is_open_receiver(program, self.scope, node) {
            return info.class.clone();
        }
        if let Some(bound) = self.locals.and_then(|locals| locals.get(name)) {
            return Some(bound.clone());
        }
        let nested = format!("{}.{name}", info.qualified_name);
        if program.function(&nested).is_some() {
            return Some(nested);
        }
        if let Some(qualified) = program.resolve_name(info.module, name) {
            return Some(qualified);
        }
        // The builtins the resolver composes (`getattr(obj, "m")`).
        matches!(name, "getattr" | "__import__" | "globals").then(|| name.to_string())
    }
}

/// Local names a scope binds only one way, to what that binding refers to: `r = Runner()` (an
/// instance of `Runner`), `f = helper` (a function), `m = getattr(self, "run")`,
/// `mod = importlib.import_module("app.util")`. `bindings` lists every definition of a plain
/// name in the scope with the right side of its assignment when it is a single-name one
/// (`None` for any other binding: parameters, `for` targets, tuple targets, …). Names bound
/// any other way, or to different references, are left out. `tables`: the scope's
/// `table_locals` (`f = handlers["run"]` is that entry).
pub fn local_references<'t>(
    program: &Program<'_>,
    scope: usize,
    tables: Option<&FxHashMap<String, TableEntries>>,
    bindings: impl IntoIterator<Item = (&'t str, Option<Node<'t>>)>,
) -> FxHashMap<String, String> {
    let bindings: Vec<(&str, Option<Node<'t>>)> = bindings.into_iter().collect();
    let mut known: FxHashMap<String, String> = FxHashMap::default();
    // A binding may read another (`m = import_module("app"); f = getattr(m, "run")`): a few
    // rounds, each reading the names the previous one bound.
    for _ in 0..MAX_LOCAL_ROUNDS {
        let syntactic = Syntactic { program, scope, locals: Some(&known), tables };
        let mut bound: FxHashMap<&str, Option<String>> = FxHashMap::default();
        for &(name, right) in &bindings {
            let value = right.and_then(|right| syntactic.chosen(right));
            // Bound several ways: what each binding refers to (`join_references`), unknown if
            // one of them is (a parameter, a `for` target, a value of no reference).
            bound
                .entry(name)
                .and_modify(|known| {
                    *known = match (known.as_deref(), value.as_deref()) {
                        (Some(known), Some(value)) => join_references(known, value),
                        _ => None,
                    };
                })
                .or_insert(value);
        }
        let next: FxHashMap<String, String> = bound.into_iter().filter_map(|(name, value)| Some((name.to_string(), value?))).collect();
        if next == known {
            break;
        }
        known = next;
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For each call of `source`'s function or method `scope` (by its callee's text): whether
    /// it reads its method through a class (`reads_through_class`; no local is bound but
    /// the parameters and `locals`).
    fn through_class(source: &str, scope: &str, locals: &[&str]) -> Vec<(String, bool)> {
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let scope = program.functions[scope];
        let mut found = Vec::new();
        let mut stack = vec![program.scopes[scope].body];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            let Some(object) = node.field(&field::FUNCTION).filter(|f| f.kind() == "attribute").and_then(|f| f.field(&field::OBJECT))
            else {
                continue;
            };
            let callee = text_of(source, node.field(&field::FUNCTION).expect("a callee")).to_string();
            let classes = class_locals(&program, scope, &Bindings::of_scope(source, program.scopes[scope].body));
            let local = |name: &str| Local::of(&classes, name, locals.contains(&name));
            found.push((callee, reads_through_class(&program, scope, object, &local)));
        }
        found.sort();
        found
    }

    fn rows(expected: &[(&str, bool)]) -> Vec<(String, bool)> {
        let mut rows: Vec<(String, bool)> = expected.iter().map(|&(callee, through)| (callee.to_string(), through)).collect();
        rows.sort();
        rows
    }

    const CLASSES: &str = "import os.path as paths\n\nclass C:\n    def run(self, a):\n        self.run(a)\n\n    @classmethod\n    def make(cls, a):\n        cls.run(None, a)\n\n    class Inner:\n        pass\n\nrunner = C()\n\n";

    #[test]
    fn a_class_name_reads_through_the_class_an_instance_does_not() {
        let source = format!("{CLASSES}def f(c, r):\n    C.run(r, 1)\n    runner.run(1)\n    c.run(1)\n    r.run(1)\n    local = C\n    local.run(r, 1)\n    either = C if r else C.Inner\n    either.run(r, 1)\n    made = C()\n    made.run(1)\n    mixed = C\n    mixed = C()\n    mixed.run(1)\n    paths.join(r)\n    C.Inner.run(r)\n");
        let expected = rows(&[
            ("C.run", true),
            // A module-level instance, a parameter, a local bound to an instance (or to an
            // instance on one path): no class.
            ("runner.run", false),
            ("c.run", false),
            ("r.run", false),
            ("made.run", false),
            ("mixed.run", false),
            // Locals bound to classes only (`class_locals`).
            ("local.run", true),
            ("either.run", true),
            // A library module is no workspace class.
            ("paths.join", false),
            ("C.Inner.run", true),
        ]);
        assert_eq!(through_class(&source, "app.f", &["local", "either", "made", "mixed"]), expected);
    }

    /// For each method call of `files`' function or method `scope` (by its callee's text): the
    /// qualified names of the scopes it resolves to (slicing's syntactic answer), and whether it
    /// runs on the caller's own receiver (`Reached::own_receiver`).
    fn resolved_calls(files: &[(&str, &str)], scope: &str) -> Vec<(String, Vec<String>, bool)> {
        let documents: Vec<(String, crate::parse::Document)> =
            files.iter().map(|(path, text)| (path.to_string(), crate::parse::Document::new(text.to_string()))).collect();
        let parts = crate::program::build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        let program = crate::program::Program::from_parts(&parts);
        let scope = program.functions[scope];
        let text = program.text(program.scopes[scope].file);
        let mut found = Vec::new();
        let mut stack = vec![program.scopes[scope].body];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            // A nested function's calls are its own scope's.
            stack.extend(node.named_children(&mut cursor).filter(|child| child.kind() != "function_definition"));
            if node.kind() != "call" || node.field(&field::FUNCTION).is_none_or(|f| f.kind() != "attribute") {
                continue;
            }
            let syntactic = Syntactic { program: &program, scope, locals: None, tables: None };
            let resolved = resolve_call(&program, scope, node, &mut |n| syntactic.reference(n));
            let reached = reached(&program, scope, node, &resolved, &|_| Local::Unbound);
            let targets = resolved.targets.iter().map(|&t| program.scopes[t].qualified_name.clone()).collect();
            found.push((text_of(text, node.field(&field::FUNCTION).expect("a callee")).to_string(), targets, reached.own_receiver));
        }
        found.sort();
        found
    }

    fn calls(expected: &[(&str, &[&str], bool)]) -> Vec<(String, Vec<String>, bool)> {
        let mut rows: Vec<(String, Vec<String>, bool)> = expected
            .iter()
            .map(|&(callee, targets, own)| (callee.to_string(), targets.iter().map(|t| t.to_string()).collect(), own))
            .collect();
        rows.sort();
        rows
    }

    const BASES: &str = "class Root:\n    def get(self, a):\n        pass\n\n    def proxy(self, a):\n        pass\n\n\nclass Base(Root):\n    def __init__(self, a):\n        self.a = a\n\n    def get(self, a):\n        pass\n\n    @classmethod\n    def create(cls, a):\n        pass\n";

    #[test]
    fn super_finds_the_method_in_the_first_base_that_defines_it() {
        let app = format!("import os\n\n{BASES}\n\nclass Handler(Base):\n    def __init__(self, a):\n        super().__init__(a)\n\n    def get(self, a):\n        super().get(a)\n        super(Handler, self).proxy(a)\n        super(Base, self).get(a)\n        self.get(a)\n        os.getcwd()\n\n    @classmethod\n    def create(cls, a):\n        super().create(a)\n");
        let files = [("app.py", app.as_str())];
        let expected = calls(&[
            ("os.getcwd", &[], false),
            // Past `Handler`: `Base.get`, `Root.proxy` (`Base` does not define it).
            ("super().get", &["app.Base.get"], true),
            ("super(Handler, self).proxy", &["app.Root.proxy"], true),
            // `super(Base, self)` starts past `Base`.
            ("super(Base, self).get", &["app.Root.get"], true),
            // On `self` the override runs (and overrides of it in subclasses).
            ("self.get", &["app.Handler.get"], false),
        ]);
        assert_eq!(resolved_calls(&files, "app.Handler.get"), expected);
        assert_eq!(resolved_calls(&files, "app.Handler.__init__"), calls(&[("super().__init__", &["app.Base.__init__"], true)]));
        assert_eq!(resolved_calls(&files, "app.Handler.create"), calls(&[("super().create", &["app.Base.create"], true)]));
    }

    #[test]
    fn super_follows_bases_imported_from_other_modules_and_leaves_library_bases_alone() {
        let base = format!("from tornado.web import RequestHandler\n\n{BASES}");
        let app = "from app.base import Base\nfrom tornado.web import RequestHandler\n\n\nclass Handler(Base):\n    def get(self, a):\n        super().get(a)\n        super().proxy(a)\n        super().finish(a)\n\n\nclass Plain(RequestHandler):\n    def get(self, a):\n        super().get(a)\n\n        def inner():\n            super().get(a)\n\n        super(Plain, a).get(a)\n";
        let files = [("app/base.py", base.as_str()), ("app/views.py", app)];
        let expected = calls(&[
            ("super().get", &["app.base.Base.get"], true),
            ("super().proxy", &["app.base.Root.proxy"], true),
            // No base in the workspace defines it: unresolved, as a library's method.
            ("super().finish", &[], true),
        ]);
        assert_eq!(resolved_calls(&files, "app.views.Handler.get"), expected);
        // A library base; a second argument that is not the method's receiver.
        let expected = calls(&[("super().get", &[], true), ("super(Plain, a).get", &[], false)]);
        assert_eq!(resolved_calls(&files, "app.views.Plain.get"), expected);
        // A nested function with no parameter: `super()` fails at runtime, nothing resolves.
        assert_eq!(resolved_calls(&files, "app.views.Plain.get.inner"), calls(&[("super().get", &[], false)]));
    }

    #[test]
    fn super_runs_the_next_class_of_every_subclass_order_the_method_may_run_in() {
        // A diamond: `B.m`'s `super()` is `A.m` for a `B`, `C.m` for a `D` (`D, B, C, A`).
        let diamond = "class A:\n    def m(self, x):\n        pass\n\n\nclass B(A):\n    def m(self, x):\n        super().m(x)\n\n\nclass C(A):\n    def m(self, x):\n        super().m(x)\n        super(C, self).m(x)\n\n\nclass D(B, C):\n    pass\n";
        let files = [("app.py", diamond)];
        assert_eq!(resolved_calls(&files, "app.B.m"), calls(&[("super().m", &["app.A.m", "app.C.m"], true)]));
        // Past `C` every order finds `A.m`.
        assert_eq!(
            resolved_calls(&files, "app.C.m"),
            calls(&[("super().m", &["app.A.m"], true), ("super(C, self).m", &["app.A.m"], true)])
        );
        // A mixin first: its own order (`AuditMixin, object`) finds nothing, a `Record`'s finds
        // `Store.save`; a mixin used by two classes runs either next class's method; a class
        // mixing it in last (`Plain(Store, AuditMixin)`) finds nothing past it.
        let mixins = "class AuditMixin:\n    def save(self, data):\n        super().save(data)\n        super(AuditMixin, self).save(data)\n\n\nclass Store:\n    def save(self, data):\n        pass\n\n\nclass Archive:\n    def save(self, data):\n        pass\n\n\nclass Record(AuditMixin, Store):\n    pass\n\n\nclass Document(AuditMixin, Archive):\n    pass\n\n\nclass Plain(Store, AuditMixin):\n    pass\n\n\nclass Draft(Record):\n    pass\n";
        let expected = calls(&[
            ("super().save", &["app.Archive.save", "app.Store.save"], true),
            ("super(AuditMixin, self).save", &["app.Archive.save", "app.Store.save"], true),
        ]);
        assert_eq!(resolved_calls(&[("app.py", mixins)], "app.AuditMixin.save"), expected);
        // Subclasses in other modules, the mixin's module naming none of them.
        let mixin = "class AuditMixin:\n    def save(self, data):\n        super().save(data)\n";
        let store = "class Store:\n    def save(self, data):\n        pass\n";
        let models = "from app.mixins import AuditMixin\nfrom app.store import Store\n\n\nclass Record(AuditMixin, Store):\n    pass\n";
        let files = [("app/mixins.py", mixin), ("app/store.py", store), ("app/models.py", models)];
        assert_eq!(resolved_calls(&files, "app.mixins.AuditMixin.save"), calls(&[("super().save", &["app.store.Store.save"], true)]));
        // Mixed into more classes with different next classes than `MAX_CANDIDATES`: unknown,
        // the call unresolved as any unknown callee's.
        let many: String = (0..=MAX_CANDIDATES)
            .map(|i| {
                format!(
                    "class Store{i}:\n    def save(self, data):\n        pass\n\n\nclass Record{i}(AuditMixin, Store{i}):\n    pass\n\n\n"
                )
            })
            .collect();
        let source = format!("{mixin}\n\n{many}");
        assert_eq!(resolved_calls(&[("app.py", source.as_str())], "app.AuditMixin.save"), calls(&[("super().save", &[], true)]));
    }

    #[test]
    fn super_in_a_base_of_many_subclasses_whose_orders_disagree_is_unknown() {
        // sympy's shape: `Op.make`'s `super().make` is `Basic.make` for an `Op` and its plain
        // subclasses, `Application.make` for a `Max(Op, Application)`, whose `cls.eval` may
        // build any `Op` again — joined for every receiver, a cycle no run takes as one.
        let bases = "class Basic:\n    def make(self, x):\n        return x\n\n\nclass Application(Basic):\n    def make(self, x):\n        self.eval(x)\n        return super().make(x)\n\n\nclass Op(Basic):\n    def make(self, x):\n        return super().make(x)\n\n\n";
        let plain = |count: usize| -> String { (0..count).map(|i| format!("class Op{i}(Op):\n    pass\n\n\n")).collect() };
        let max = "class Max(Op, Application):\n    pass\n";
        // `Op`, its plain subclasses and `Max`: up to `MAX_COOPERATIVE_DESCENDANTS` classes,
        // both next methods are candidates.
        let source = format!("{bases}{}{max}", plain(MAX_COOPERATIVE_DESCENDANTS - 2));
        assert_eq!(
            resolved_calls(&[("app.py", source.as_str())], "app.Op.make"),
            calls(&[("super().make", &["app.Application.make", "app.Basic.make"], true)])
        );
        // One class more: unknown, as past `MAX_CANDIDATES` (never fewer callees than a run
        // may reach, only none known).
        let source = format!("{bases}{}{max}", plain(MAX_COOPERATIVE_DESCENDANTS - 1));
        assert_eq!(resolved_calls(&[("app.py", source.as_str())], "app.Op.make"), calls(&[("super().make", &[], true)]));
        // Without `Max` every order agrees: resolved however many subclasses there are.
        let source = format!("{bases}{}", plain(MAX_DESCENDANTS - 1));
        assert_eq!(resolved_calls(&[("app.py", source.as_str())], "app.Op.make"), calls(&[("super().make", &["app.Basic.make"], true)]));
        // A mixin (its own order finds nothing) mixed into more classes: unknown too.
        let mixin = "class Mixin:\n    def make(self, x):\n        return super().make(x)\n\n\n";
        let users: String = (0..MAX_COOPERATIVE_DESCENDANTS).map(|i| format!("class User{i}(Mixin, Basic):\n    pass\n\n\n")).collect();
        let source = format!("{bases}{mixin}{users}");
        assert_eq!(resolved_calls(&[("app.py", source.as_str())], "app.Mixin.make"), calls(&[("super().make", &[], true)]));
    }

    #[test]
    fn super_in_a_function_nested_in_a_method_runs_on_its_own_first_parameter() {
        let app = format!(
            "{BASES}

class Handler(Base):
    def get(self, a):
        def inner(obj, b):
            super().get(b)
            super(Handler, obj).get(b)

            def deeper(other):
                super().proxy(other)

        def bare():
            super().get(a)

        def spread(*args):
            super().get(a)

        def keyword(*, obj):
            super().get(a)

        inner(self, a)

    @staticmethod
    def static(a):
        def helper(obj):
            super().get(obj)


def outside(obj):
    def helper(other):
        super().get(other)
"
        );
        let files = [("app.py", app.as_str())];
        // `super()` is `super(Handler, obj)`: the base's method, on `obj` (`own_receiver`). An
        // explicit `super(Handler, obj)` in a nested function is left alone, as in a method
        // with another object than its receiver.
        let expected = calls(&[("super().get", &["app.Base.get"], true), ("super(Handler, obj).get", &[], false)]);
        assert_eq!(resolved_calls(&files, "app.Handler.get.inner"), expected);
        // Nested deeper, still the method's class.
        assert_eq!(resolved_calls(&files, "app.Handler.get.inner.deeper"), calls(&[("super().proxy", &["app.Root.proxy"], true)]));
        // No positional first parameter: `super()` fails at runtime.
        for name in ["bare", "spread", "keyword"] {
            assert_eq!(resolved_calls(&files, &format!("app.Handler.get.{name}")), calls(&[("super().get", &[], false)]), "{name}");
        }
        // Inside a staticmethod the class is known too (the cell is the class body's).
        assert_eq!(resolved_calls(&files, "app.Handler.static.helper"), calls(&[("super().get", &["app.Base.get"], true)]));
        // Outside any class: nothing.
        assert_eq!(resolved_calls(&files, "app.outside.helper"), calls(&[("super().get", &[], false)]));
    }

    #[test]
    fn class_locals_are_names_every_binding_of_which_is_a_class() {
        let source = format!("{CLASSES}def f(c, flag):\n    plain = C\n    either = C if flag else C.Inner\n    twice = C\n    twice = C.Inner\n    made = C()\n    mixed = C\n    mixed = made\n    looped = C\n    for looped in []:\n        pass\n    added = C\n    added += 1\n    c = C\n    alias = runner\n    module = paths\n\n    def inner():\n        hidden = C\n");
        let document = crate::parse::Document::new(source.clone());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let mut found: Vec<(String, Vec<String>)> = {
            let scope = program.functions["app.f"];
            class_locals(&program, scope, &Bindings::of_scope(&source, program.scopes[scope].body)).into_iter().collect()
        };
        found.sort();
        let classes = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<String>>();
        assert_eq!(
            found,
            vec![
                ("either".to_string(), classes(&["app.C", "app.C.Inner"])),
                ("plain".to_string(), classes(&["app.C"])),
                ("twice".to_string(), classes(&["app.C", "app.C.Inner"])),
            ]
        );
        // Bound one way (`local_references`), it refers to both classes: called, it constructs
        // either; a method read through it is each class's (`Inner` defines no `run`).
        let source = format!("{source}\n\ndef g(flag, r):\n    either = C if flag else C.Inner\n    either(r)\n    either.run(r, 1)\n");
        let document = crate::parse::Document::new(source.clone());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let scope = program.functions["app.g"];
        let body = program.scopes[scope].body;
        let statement = |at: u32| body.named_child(at).and_then(|s| s.named_child(0)).expect("a statement");
        let right = statement(0).field(&field::RIGHT);
        let locals = local_references(&program, scope, None, [("either", right)]);
        assert_eq!(locals.get("either").map(String::as_str), Some("one_of:app.C|app.C.Inner"));
        let syntactic = Syntactic { program: &program, scope, locals: Some(&locals), tables: None };
        let constructed = resolve_call(&program, scope, statement(1), &mut |n| syntactic.reference(n));
        assert!(constructed.constructor);
        let init = |name: &str| program.method(name, "__init__");
        assert_eq!(constructed.targets, init("app.C").into_iter().chain(init("app.C.Inner")).collect::<Vec<usize>>());
        let method = resolve_call(&program, scope, statement(2), &mut |n| syntactic.reference(n));
        assert_eq!(method.targets, vec![program.functions["app.C.run"]]);
        let local = |name: &str| if name == "either" { Local::Class } else { Local::Unbound };
        assert!(reached(&program, scope, statement(2), &method, &local).through_class);
    }

    #[test]
    fn tables_held_in_locals_resolve_a_constant_key_to_its_entry_and_a_computed_one_to_all() {
        let many: String = (0..=MAX_CANDIDATES).map(|i| format!("def c{i}(v):\n    pass\n\n\n")).collect();
        let names: Vec<String> = (0..=MAX_CANDIDATES).map(|i| format!("c{i}")).collect();
        let source = format!(
            "import os\n\n\ndef run(v):\n    pass\n\n\ndef echo(v):\n    pass\n\n\n{many}def f(p, k):\n    plain = {{\"run\": run, \"echo\": echo}}\n    listed = [run, lambda v: v]\n    system = (os.system, echo)\n    by_param = {{\"a\": p}}\n    twice = {{\"run\": run}}\n    twice = {{\"echo\": echo}}\n    bound = [local]\n    local = run\n    looped = [run]\n    for looped in []:\n        pass\n\n    def inner(v):\n        pass\n\n    nested = {{\"inner\": inner}}\n    many = [{}]\n    stored = {{\"run\": run}}\n    stored[\"x\"] = echo\n    given = [run]\n    size = len(given)\n    plain[\"run\"](1)\n    plain[\"other\"](1)\n    plain[k](1)\n    listed[0](1)\n    nested[k](1)\n    many[k](1)\n    twice[\"run\"](1)\n",
            names.join(", ")
        );
        let document = crate::parse::Document::new(source.clone());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let scope = program.functions["app.f"];
        let body = program.scopes[scope].body;
        let tables = table_locals(&program, scope, &Bindings::of_scope(&source, body));
        let mut found: Vec<&str> = tables.keys().map(String::as_str).collect();
        found.sort();
        // Not a table: bound to a parameter's value, bound twice, holding a local, a `for` target,
        // stored into (`stored["x"] = echo`), given to a call (`len(given)`: it may change it).
        assert_eq!(found, vec!["listed", "many", "nested", "plain", "system"]);
        let entry = |key: Option<&str>, value: &str| (key.map(str::to_string), value.to_string());
        assert_eq!(tables["plain"], vec![entry(Some("run"), "app.run"), entry(Some("echo"), "app.echo")]);
        let lambda = &tables["listed"][1].1;
        assert!(crate::program::is_lambda_name(lambda) && program.function(lambda).is_some(), "{lambda}");
        // A library's function is its name (its rules match it); a nested function is the scope's.
        assert_eq!(tables["system"], vec![entry(None, "os.system"), entry(None, "app.echo")]);
        assert_eq!(tables["nested"], vec![entry(Some("inner"), "app.f.inner")]);
        let syntactic = Syntactic { program: &program, scope, locals: None, tables: Some(&tables) };
        let calls: Vec<Node<'_>> = {
            let mut cursor = body.walk();
            body.named_children(&mut cursor).filter_map(|statement| statement.named_child(0).filter(|node| node.kind() == "call")).collect()
        };
        let targets: Vec<Vec<&str>> = calls
            .iter()
            .map(|&call| {
                let resolved = resolve_call(&program, scope, call, &mut |n| syntactic.reference(n));
                resolved.targets.iter().map(|&t| program.scopes[t].qualified_name.as_str()).collect()
            })
            .collect();
        assert_eq!(
            targets,
            vec![
                vec!["app.run"],
                // A key the table does not have: any entry.
                vec!["app.echo", "app.run"],
                vec!["app.echo", "app.run"],
                // An index of a list: any entry (in the sorted order of `one_of`).
                vec![lambda.as_str(), "app.run"],
                vec!["app.f.inner"],
                // Past `MAX_CANDIDATES` entries: unknown, as any unknown callee.
                vec![],
                // Bound twice: no table.
                vec![],
            ]
        );
    }

    #[test]
    fn module_tables_changed_after_their_literal_add_stored_entries_or_resolve_nothing() {
        let many: String = (0..=MAX_CANDIDATES).map(|i| format!("def c{i}(v):\n    pass\n\n\n")).collect();
        let names: Vec<String> = (0..=MAX_CANDIDATES).map(|i| format!("c{i}")).collect();
        let handlers = format!(
            "from app.registry import register\n\n\ndef run(v):\n    pass\n\n\ndef echo(v):\n    pass\n\n\n{many}HANDLERS = {{\"run\": run}}\nHANDLERS[\"echo\"] = echo\nHANDLERS[\"lam\"] = lambda v: v\nSTORED = {{\"run\": run}}\nUPDATED = {{\"run\": run}}\nUPDATED.update(echo=echo)\nDELETED = {{\"run\": run, \"echo\": echo}}\ndel DELETED[\"echo\"]\nGIVEN = {{\"run\": run}}\nregister(GIVEN)\nREAD = {{\"run\": run, \"echo\": echo}}\nMANY = [{}]\nIMPORTED = {{\"run\": run}}\nATTRIBUTE = {{\"run\": run}}\nREBOUND = {{\"run\": run}}\n\n\ndef add(name, f):\n    STORED[name] = f\n\n\ndef reads(k):\n    if k in READ and READ.get(k):\n        for name in READ:\n            READ[name](1)\n",
            names.join(", ")
        );
        let other = "import app.handlers as h\nfrom app.handlers import HANDLERS, IMPORTED\n\n\ndef extra(v):\n    pass\n\n\nHANDLERS[\"extra\"] = extra\n\n\ndef later(f):\n    IMPORTED[\"x\"] = f\n    h.ATTRIBUTE.setdefault(\"x\", f)\n\n\ndef rebind():\n    global REBOUND\n    REBOUND = {}\n";
        let rebinding = "from app.handlers import REBOUND\n\n\ndef use(f):\n    alias = REBOUND\n    return alias\n";
        let registry = "def register(table):\n    table[\"x\"] = print\n";
        let caller = "from app.handlers import HANDLERS, STORED, UPDATED, DELETED, GIVEN, READ, MANY, IMPORTED, ATTRIBUTE, REBOUND\n\n\ndef f(k):\n    HANDLERS[\"echo\"](1)\n    HANDLERS[\"extra\"](1)\n    HANDLERS[k](1)\n    STORED[k](1)\n    UPDATED[k](1)\n    DELETED[k](1)\n    GIVEN[k](1)\n    READ[k](1)\n    MANY[k](1)\n    IMPORTED[k](1)\n    ATTRIBUTE[k](1)\n    REBOUND[k](1)\n";
        let files = [
            ("app/handlers.py", handlers.as_str()),
            ("app/other.py", other),
            ("app/rebinding.py", rebinding),
            ("app/registry.py", registry),
            ("app/caller.py", caller),
        ];
        let documents: Vec<(String, crate::parse::Document)> =
            files.iter().map(|(path, text)| (path.to_string(), crate::parse::Document::new(text.to_string()))).collect();
        let parts = crate::program::build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        let program = crate::program::Program::from_parts(&parts);
        let scope = program.functions["app.caller.f"];
        let body = program.scopes[scope].body;
        let syntactic = Syntactic { program: &program, scope, locals: None, tables: None };
        let mut cursor = body.walk();
        let targets: Vec<Vec<&str>> = body
            .named_children(&mut cursor)
            .filter_map(|statement| statement.named_child(0).filter(|node| node.kind() == "call"))
            .map(|call| {
                let resolved = resolve_call(&program, scope, call, &mut |n| syntactic.reference(n));
                resolved.targets.iter().map(|&t| program.scopes[t].qualified_name.as_str()).collect()
            })
            .collect();
        let table = program.dispatch_table("app.handlers.HANDLERS").expect("a table");
        let lambda =
            table.iter().find(|(key, _)| key.as_deref() == Some("lam")).map(|(_, value)| value.clone()).expect("the stored lambda");
        assert!(crate::program::is_lambda_name(&lambda) && program.function(&lambda).is_some(), "{lambda}");
        assert_eq!(
            targets,
            vec![
                // Module-level stores add entries, in the table's module or another.
                vec!["app.handlers.echo"],
                vec!["app.other.extra"],
                vec![lambda.as_str(), "app.handlers.echo", "app.handlers.run", "app.other.extra"],
                // Stored into in a function, updated, deleted from, given to a call: unknown.
                vec![],
                vec![],
                vec![],
                vec![],
                // Only read (`in`, `get`, a loop, a look-up): its literal's entries.
                vec!["app.handlers.echo", "app.handlers.run"],
                // A computed key over more than `MAX_CANDIDATES` entries: unknown, as a local table.
                vec![],
                // Changed by an importer in a function, through a module attribute, bound again.
                vec![],
                vec![],
                vec![],
            ]
        );
        // The stores other modules make are part of their name facts, under the table's name.
        let facts = |file: usize| {
            let scopes = (0..program.scopes.len()).filter(|&s| program.scopes[s].file == file);
            let (start, end) = (scopes.clone().min().unwrap_or(0), scopes.max().map_or(0, |m| m + 1));
            crate::program::name_facts(&program, file, start..end)
        };
        let other_file = program.modules[program.module_index["app.other"]].file;
        let changes = crate::program::name_lookup_hash("HANDLERS.<table-changes>");
        assert!(facts(other_file).iter().any(|(name, _)| *name == changes));
    }

    #[test]
    fn references_join_into_their_sorted_candidates() {
        assert_eq!(join_references("app.A", "app.A").as_deref(), Some("app.A"));
        assert_eq!(join_references("app.B", "app.A").as_deref(), Some("one_of:app.A|app.B"));
        // Candidates flatten, without repeats.
        assert_eq!(join_references("one_of:app.A|app.C", "one_of:app.B|app.A").as_deref(), Some("one_of:app.A|app.B|app.C"));
        // Past `MAX_CANDIDATES`: unknown.
        let many: Vec<String> = (0..=MAX_CANDIDATES).map(|i| format!("app.C{i}")).collect();
        assert_eq!(one_of(many.iter().map(String::as_str)), None);
        assert_eq!(one_of(many[..MAX_CANDIDATES].iter().map(String::as_str)).map(|r| alternatives(&r).count()), Some(MAX_CANDIDATES));
    }

    #[test]
    fn a_local_bound_to_instances_of_either_class_refers_to_both() {
        let source = "class A:\n    def run(self, x):\n        pass\n\n\nclass B:\n    def run(self, x):\n        pass\n\n\nclass C:\n    def run(self, x):\n        pass\n\n\ndef f(flag, p):\n    either = A() if flag else B()\n    branches = A()\n    branches = B()\n    one = A()\n    one = A()\n    unknown = A()\n    unknown = p\n    either.run(1)\n    branches.run(1)\n    one.run(1)\n    unknown.run(1)\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let scope = program.functions["app.f"];
        let body = program.scopes[scope].body;
        let statement = |at: u32| body.named_child(at).and_then(|s| s.named_child(0)).expect("a statement");
        let bindings: Vec<(&str, Option<Node<'_>>)> = (0..7)
            .map(|at| (text_of(source, statement(at).field(&field::LEFT).expect("a name")), statement(at).field(&field::RIGHT)))
            .collect();
        let locals = local_references(&program, scope, None, bindings);
        let mut found: Vec<(&str, &str)> = locals.iter().map(|(name, reference)| (name.as_str(), reference.as_str())).collect();
        found.sort();
        assert_eq!(found, vec![("branches", "one_of:app.A|app.B"), ("either", "one_of:app.A|app.B"), ("one", "app.A")]);
        let syntactic = Syntactic { program: &program, scope, locals: Some(&locals), tables: None };
        let targets = |at: u32| {
            let resolved = resolve_call(&program, scope, statement(at), &mut |n| syntactic.reference(n));
            assert!(!resolved.constructor);
            resolved.targets.iter().map(|&t| program.scopes[t].qualified_name.as_str()).collect::<Vec<&str>>()
        };
        assert_eq!(targets(7), vec!["app.A.run", "app.B.run"]);
        assert_eq!(targets(8), vec!["app.A.run", "app.B.run"]);
        assert_eq!(targets(9), vec!["app.A.run"]);
        assert_eq!(targets(10), Vec::<&str>::new());
        // An instance, not a class: `either` is `self`.
        let local = |_: &str| Local::Value;
        let resolved = resolve_call(&program, scope, statement(7), &mut |n| syntactic.reference(n));
        assert!(!reached(&program, scope, statement(7), &resolved, &local).through_class);
    }

    #[test]
    fn a_module_level_name_bound_to_either_class_refers_to_both() {
        let source = "import os\nfrom lib import Remote, helper\n\n\nclass A:\n    def run(self, x):\n        pass\n\n\nclass B:\n    def run(self, x):\n        pass\n\n\nImpl = A if os.environ.get(\"X\") else B\nif os.environ.get(\"Y\"):\n    Other = A\nelse:\n    Other = B\nSingle = A\nMixed = A\nif os.environ.get(\"Z\"):\n    Mixed = helper()\nFar = A if os.environ.get(\"X\") else Remote\n\n\ndef f(obj):\n    Impl(1).run(2)\n    Impl.run(obj, 2)\n    Other.run(obj, 2)\n    Single.run(obj, 2)\n    Mixed.run(obj, 2)\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let module = program.scopes[program.functions["app.f"]].module;
        let name = |name: &str| program.resolve_name(module, name);
        assert_eq!(name("Impl").as_deref(), Some("one_of:app.A|app.B"));
        assert_eq!(name("Impl.run").as_deref(), Some("one_of:app.A.run|app.B.run"));
        assert_eq!(name("Other").as_deref(), Some("one_of:app.A|app.B"));
        // One class of the module's own: not an alias (as before).
        assert_eq!(name("Single"), None);
        // Bound to a call's result in a branch: not a class.
        assert_eq!(name("Mixed"), None);
        // An imported class-like name is a candidate (a library one has no targets).
        assert_eq!(name("Far").as_deref(), Some("one_of:app.A|lib.Remote"));
        let expected = calls(&[
            ("Impl(1).run", &["app.A.run", "app.B.run"], false),
            ("Impl.run", &["app.A.run", "app.B.run"], false),
            ("Other.run", &["app.A.run", "app.B.run"], false),
            ("Single.run", &[], false),
            ("Mixed.run", &[], false),
        ]);
        assert_eq!(resolved_calls(&[("app.py", source)], "app.f"), expected);
        // Read through the class(es): `obj` is `self`.
        assert_eq!(
            through_class(source, "app.f", &[]),
            rows(&[("Impl(1).run", false), ("Impl.run", true), ("Other.run", true), ("Single.run", false), ("Mixed.run", false)])
        );
    }

    #[test]
    fn cls_in_a_classmethod_is_the_class_self_in_a_method_an_instance() {
        assert_eq!(through_class(CLASSES, "app.C.run", &[]), rows(&[("self.run", false)]));
        assert_eq!(through_class(CLASSES, "app.C.make", &[]), rows(&[("cls.run", true)]));
    }
}
