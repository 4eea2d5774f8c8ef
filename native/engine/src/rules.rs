//! Taint rules as data: TOML rule packs (built-in ones under `native/engine/rules/`, plus user
//! files) → one `RuleSet` the analysis queries. See `docs/RULES.md` for the file format.
//!
//! Invariants:
//! - A bad rule file is an `EngineError::Config` naming the file, the line and the problem
//!   (unknown keys, unknown sink kinds, wrong types); nothing is half-loaded.
//! - Names are matched exactly on qualified references (`os.system`, `flask.request.args`);
//!   `methods` match a method name on any receiver (for APIs reached through untyped objects,
//!   such as DB-API cursors), or with `on` only on receivers of the named types (`[[type]]`),
//!   never on the receiver's text.

pub mod patterns;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::Deserialize;
use sha2::Digest as _;

use crate::error::{EngineError, Result};

/// The built-in sink kinds, in bit order (a sanitizer clears a set of kinds, stored as a
/// bitmask). Packs declare more (`[[kind]]`), numbered after these in the order they are read.
pub const SINK_KINDS: &[&str] = &[
    "SQL",
    "Shell",
    "ExecArgs",
    "Code",
    "Reflection",
    "SSTI",
    "FilePath",
    "XSS",
    "Redirect",
    "SSRF",
    "Deserialization",
    "XXE",
    "LDAP",
    "XPath",
    "TrustBoundary",
    "HeaderInjection",
    "LogInjection",
    "NoSQL",
    "PromptInjection",
];

/// Every kind, built-in or declared: what `clears = ["*"]` clears.
pub const ALL_KINDS: u32 = u32::MAX;

/// How many sink kinds one rule set can hold (the width of a kind mask); a pack declaring more
/// is a configuration error, never a silent cap.
pub const MAX_SINK_KINDS: usize = u32::BITS as usize;

/// The kinds after the built-in ones: those packs declare.
pub const DECLARED_KINDS: u32 = ALL_KINDS & !((1 << SINK_KINDS.len() as u32) - 1);

/// The bit of a built-in sink kind (declared kinds: `RuleSet::sink_kind_bit`).
pub fn sink_kind_bit(name: &str) -> Option<u32> {
    SINK_KINDS.iter().position(|kind| *kind == name).map(|i| 1 << i)
}

pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("builtin:stdlib.toml", include_str!("../rules/stdlib.toml")),
    ("builtin:flask.toml", include_str!("../rules/flask.toml")),
    ("builtin:django.toml", include_str!("../rules/django.toml")),
    ("builtin:fastapi.toml", include_str!("../rules/fastapi.toml")),
    ("builtin:web.toml", include_str!("../rules/web.toml")),
    ("builtin:libraries.toml", include_str!("../rules/libraries.toml")),
    ("builtin:checks.toml", include_str!("../rules/checks.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
    #[serde(default)]
    source: Vec<SourceSpec>,
    #[serde(default)]
    sink: Vec<SinkSpec>,
    #[serde(default)]
    sanitizer: Vec<SanitizerSpec>,
    #[serde(default)]
    propagator: Vec<PropagatorSpec>,
    #[serde(default)]
    check: Vec<CheckSpec>,
    #[serde(default, rename = "type")]
    types: Vec<TypeSpec>,
    #[serde(default)]
    guard: Vec<GuardSpec>,
    #[serde(default)]
    kind: Vec<KindSpec>,
    #[serde(default)]
    no_return: Vec<CallsSpec>,
    #[serde(default)]
    opaque: Vec<CallsSpec>,
    #[serde(default)]
    callback: Vec<CallbackSpec>,
    #[serde(default)]
    template_markup: Vec<TemplateMarkupSpec>,
    #[serde(default)]
    render: Vec<RenderSpec>,
    #[serde(default)]
    template_objects: Vec<TemplateObjectsSpec>,
}

/// `[[callback]]`: a library call that calls a function it is given (`map(f, xs)`,
/// `sorted(xs, key=f)`, `executor.submit(f, x)`): the function's summary is applied there, each
/// of its parameters given the elements of `elements` (or the values of `arguments`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSpec {
    /// Qualified callables …
    #[serde(default)]
    pub calls: Vec<String>,
    /// … or method names on any receiver (`xs.sort(key=f)`).
    #[serde(default)]
    pub methods: Vec<String>,
    /// The function: a position (receiver not counted) …
    #[serde(default)]
    pub function: Option<usize>,
    /// … or a keyword (`key`).
    #[serde(default)]
    pub function_keyword: Option<String>,
    /// Positions whose elements the function is called with (`map`'s iterables) …
    #[serde(default)]
    pub elements: Vec<usize>,
    /// … keywords whose elements it is called with (`Thread(target=f, args=(x,))`) …
    #[serde(default)]
    pub elements_keywords: Vec<String>,
    /// … whether the receiver's elements (`xs.sort(key=f)`) …
    #[serde(default)]
    pub receiver_elements: bool,
    /// … positions passed on whole, from this one on (`submit(f, *args)`: 1).
    #[serde(default)]
    pub arguments_from: Option<usize>,
    /// Whether what the function returns is the call's result (`map`: yes; `sorted`'s key: no).
    #[serde(default)]
    pub returns: bool,
}

/// `[[template_markup]]`: form libraries whose fields, called in a template with keyword
/// arguments only (`{{ field(class_="x", **kwargs) }}`), render escaped markup (the widget
/// escapes the value and every attribute). Templates carry no types, so a program importing
/// one of `packages` has every such call read as a field rendering (docs/RULES.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMarkupSpec {
    pub packages: Vec<String>,
}

/// `[[render]]`: functions rendering a template file by name (Flask's `render_template`,
/// Django's `render`): where the template's name and its context are, how the template set
/// escapes, and whether the call makes the (HTML) response itself (docs/RULES.md, Templates).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderSpec {
    pub calls: Vec<String>,
    /// The template name argument.
    pub name: ArgumentSpec,
    /// The context argument; absent, the call's other arguments are (keywords: variables).
    pub context: Option<ArgumentSpec>,
    /// `on`, `off`, `by_extension` (Flask) or `application` (the program's environment setup).
    pub autoescape: String,
    /// The call makes the response itself (Django's `render`): an HTML page whatever the
    /// template's name; otherwise it returns the rendered text.
    #[serde(default)]
    pub responds: bool,
}

/// `[[template_objects]]`: the template library calls and methods whose objects the engine
/// follows to a render (`taint/render.rs`): Jinja2 environments and templates (their
/// `autoescape=` carried in the object's reference), Django's loaders, the methods loading a
/// template from an environment and rendering it, and the calls configuring an application's
/// environment (`autoescape = "application"`). Every pack's entries add up (docs/RULES.md,
/// Templates).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateObjectsSpec {
    /// Calls making a Jinja2 environment (`autoescape=` keyword; absent: off).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Calls making a Jinja2 template from its source (`Template("…")`).
    #[serde(default)]
    pub templates: Vec<String>,
    /// Calls loading a Django template by name (autoescaping on).
    #[serde(default)]
    pub loaders: Vec<String>,
    /// Methods of an environment (or Flask's `app.jinja_env`) loading a template by name.
    #[serde(default)]
    pub loader_methods: Vec<String>,
    /// Methods of a template rendering it.
    #[serde(default)]
    pub render_methods: Vec<String>,
    /// Calls configuring the application's environment, whose `autoescape=` decides
    /// `autoescape = "application"` renders (aiohttp-jinja2's `setup`).
    #[serde(default)]
    pub application_setups: Vec<String>,
    /// An application's settings mapping as handlers read it (Tornado's
    /// `RequestHandler.settings`): a constant key's value is what the application's setup
    /// stores under that key, a Jinja2 environment there loading templates with its
    /// autoescaping (resolved when render sites are joined: `frameworks::tornado::setting_environment`).
    #[serde(default)]
    pub application_settings: Vec<String>,
}

/// The loaded `[[template_objects]]` entries of every pack (`TemplateObjectsSpec`).
#[derive(Clone, Debug, Default)]
pub struct TemplateObjects {
    pub environments: HashSet<String>,
    pub templates: HashSet<String>,
    pub loaders: HashSet<String>,
    pub loader_methods: HashSet<String>,
    pub render_methods: HashSet<String>,
    pub application_setups: HashSet<String>,
    pub application_settings: HashSet<String>,
}

/// An argument by position (receiver not counted) or keyword.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgumentSpec {
    pub arg: Option<usize>,
    pub keyword: String,
}

/// A loaded `[[render]]` entry (`RenderSpec`), by each of its calls.
#[derive(Clone, Debug)]
pub struct Render {
    /// The template name: position and keyword.
    pub name: (Option<usize>, String),
    /// The context: position and keyword; `None`: the other arguments.
    pub context: Option<(Option<usize>, String)>,
    pub autoescape: crate::templates::Autoescape,
    pub responds: bool,
}

/// A list of qualified callables: `[[no_return]]` (calls that never return normally: `sys.exit`,
/// Flask's `abort`) and `[[opaque]]` (library functions whose pack models stand for their
/// bodies when the library itself is analysed).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsSpec {
    pub calls: Vec<String>,
}

/// A sink kind a pack adds (`[[kind]] name = "GraphQL"`): sinks, sanitizers, guards and one
/// `[[rule]]` then name it like a built-in kind. A regular-expression guard clears it only for
/// values of letters, digits and `_` (no punctuation is known to be harmless to it).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindSpec {
    pub name: String,
}

/// A barrier guard (`[[guard]]`): a check that, on the branch where it holds, makes the checked
/// value safe for `clears` — or, with `pattern`, for what the pattern's characters cannot carry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// Guard functions (qualified).
    #[serde(default)]
    pub calls: Vec<String>,
    /// Guard methods: of the checked value itself (`x.isdigit()`), or with `on`, of an object of
    /// those types checking an argument (`PATTERN.fullmatch(x)` on a `re.Pattern`).
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub on: Vec<String>,
    /// The checked argument (positional, receiver not counted, and/or keyword); neither: the receiver.
    pub arg: Option<usize>,
    pub keyword: Option<String>,
    #[serde(default)]
    pub clears: Vec<String>,
    /// The kinds cleared are those the constant regular expression in this argument leaves
    /// harmless (`taint::patterns`).
    pub pattern: Option<PatternSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    /// Where the pattern is: an argument, or (`receiver = true`) the pattern a compiled-pattern
    /// receiver was compiled from.
    pub arg: Option<usize>,
    pub keyword: Option<String>,
    #[serde(default)]
    pub receiver: bool,
    /// What the call anchors: `both` (fullmatch), `start` (match), `none` (search).
    pub anchors: String,
    /// The flags argument: MULTILINE or VERBOSE there makes the guard prove nothing.
    pub flags_arg: Option<usize>,
}

/// How much of the string the matching call itself anchors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchors {
    /// `re.fullmatch`: the whole string.
    Both,
    /// `re.match`: the start; the pattern must anchor the end.
    Start,
    /// `re.search`: neither; the pattern must anchor both ends.
    None,
}

impl Anchors {
    pub fn parse(name: &str) -> Option<Anchors> {
        match name {
            "both" => Some(Anchors::Both),
            "start" => Some(Anchors::Start),
            "none" => Some(Anchors::None),
            _ => None,
        }
    }
}

/// See `GuardSpec`.
#[derive(Clone, Debug)]
pub struct Guard {
    pub arg: Option<usize>,
    pub keyword: Option<String>,
    pub clears: u32,
    pub pattern: Option<GuardPattern>,
}

#[derive(Clone, Debug)]
pub struct GuardPattern {
    pub arg: Option<usize>,
    pub keyword: Option<String>,
    pub receiver: bool,
    pub anchors: Anchors,
    pub flags_arg: Option<usize>,
}

/// A library type the analysis infers for receivers (`[[type]]`): which calls return an
/// instance, which attribute reads are one, and whose members are one (any attribute or
/// subscript of a `pymongo.MongoClient` is a `pymongo.database.Database`). Sinks name such
/// types with `on`, so a method is a sink only on a receiver of that type.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeSpec {
    pub name: String,
    #[serde(default)]
    pub returned_by: Vec<String>,
    #[serde(default)]
    pub attributes: Vec<String>,
    #[serde(default)]
    pub members_of: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub sink_kind: String,
    pub cwe: u32,
    #[serde(default = "default_severity")]
    pub severity: String,
    pub message: String,
    /// The canonical sanitiser the editor's quick fix wraps the tainted argument in.
    pub fix: Option<FixSpec>,
}

/// `fix = { call = "shlex.quote" }`: the fix imports the module (`import shlex`) and wraps the
/// argument in the call.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixSpec {
    pub call: String,
}

fn default_severity() -> String {
    "error".to_string()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `UserInput` (remote, untrusted), `Session`, `Local` (argv, environment, files),
    /// `Database` (values read back from a database). Default: the threat model's kind.
    pub kind: Option<String>,
    /// The threat model the source belongs to (`remote`, `local`, `database`); default: the
    /// kind's (remote for `UserInput` and `Session`). Only enabled models' sources are loaded.
    pub threat_model: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Qualified attribute references that are untrusted values (`flask.request.args`).
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Qualified callables whose result is untrusted (`input`, `flask.request.get_json`).
    #[serde(default)]
    pub calls: Vec<String>,
    /// Method names whose result is untrusted on any receiver of the given types.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Sink kinds these sources' values are already safe for (`flask.session` for
    /// `TrustBoundary`: a value read from the session does not cross into it when stored back).
    #[serde(default)]
    pub safe_for: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordCondition {
    pub keyword: String,
    pub equals: toml::Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkSpec {
    pub kind: String,
    /// Overrides the rule's CWE for these APIs (e.g. `compile` is CWE-94, `eval` CWE-95).
    pub cwe: Option<u32>,
    #[serde(default)]
    pub calls: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    /// Positional arguments that matter (0-based, not counting the receiver).
    #[serde(default)]
    pub args: Vec<usize>,
    /// Keyword arguments that matter.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Every argument matters.
    #[serde(default)]
    pub all_args: bool,
    /// Only a sink when this keyword argument is the given constant (`shell=True`).
    pub when: Option<KeywordCondition>,
    /// Not a sink when this keyword argument is the given constant.
    pub unless: Option<KeywordCondition>,
    /// Not a sink when a keyword refers to one of these qualified names (`Loader=yaml.SafeLoader`).
    #[serde(default)]
    pub safe_keywords: HashMap<String, Vec<String>>,
    /// Keywords that give the response's content type (`mimetype`, `content_type`): a constant
    /// one that is not HTML (`application/json`) makes the call no sink.
    #[serde(default)]
    pub content_type_keywords: Vec<String>,
    /// Positional arguments that give the response's content type (Django's
    /// `HttpResponse(content, content_type)`), read as `content_type_keywords` are.
    #[serde(default)]
    pub content_type_args: Vec<usize>,
    /// Arguments that may give the response's headers (`make_response(body, 200, {"Content-Type":
    /// "application/json"})`, `Response(body, headers={…})`): a constant non-HTML `Content-Type`
    /// in a dict literal or a list of pairs there makes the call no sink, as
    /// `content_type_keywords` do.
    pub content_type_headers: Option<HeadersSpec>,
    /// A response body that is a page only where the handler's response may be HTML: none in a
    /// handler the framework model knows declares a non-HTML type (`http.server`: only constant
    /// non-HTML `Content-Type`s sent; `frameworks::EntryPoint::non_html_body`).
    #[serde(default)]
    pub html_only: bool,
    /// An argument written as a dict (a dict display, a dict comprehension, `dict(...)`) is sent
    /// as JSON, not as a page (Tornado's `RequestHandler.write`): no sink there.
    #[serde(default)]
    pub dict_is_json: bool,
    /// A page body only where the handler declares an HTML (or not constant) type: none
    /// elsewhere, the framework's default being another (Falcon: JSON;
    /// `frameworks::EntryPoint::html_body`).
    #[serde(default)]
    pub html_declared: bool,
    /// Methods that turn the call's result back into plain text: a call whose result is only
    /// the receiver of one of them (`Markup(x).unescape()`, `Markup(x).striptags()`) is no sink.
    #[serde(default)]
    pub plain_through: Vec<String>,
    /// Only when the first argument is a list whose first element is one of these (`["sh", "-c", x]`).
    #[serde(default)]
    pub shell_argv: bool,
    /// For `methods`: only on receivers of these types (`[[type]]` names or library classes):
    /// `methods = ["info"]`, `on = ["logging.Logger"]` is the call `logging.Logger.info`, so
    /// `logger.info(x)` on a logger matches and `messages.info(x)` does not.
    #[serde(default)]
    pub on: Vec<String>,
    /// Removed: receivers are typed (`on`), never matched by their source text. Kept only to
    /// name the replacement in the error.
    #[serde(default)]
    pub receiver_contains: Option<toml::Value>,
    /// The receiver's value matters (`path.read_text()` on a `pathlib.Path`: the path is the
    /// receiver).
    #[serde(default)]
    pub receiver: bool,
    /// A value stored by subscript into an object with one of these references is the sink
    /// (`response.headers[k] = v` on a `flask.Response`: `flask.Response.headers`).
    #[serde(default)]
    pub stored_into: Vec<String>,
    /// A value assigned to one of these attributes of an object (`Type.attribute`) is the sink
    /// (`resp.text = v` on a `falcon.Response`: `falcon.Response.text`).
    #[serde(default)]
    pub assigned_to: Vec<String>,
    /// Only a sink when an argument is an object made unsafe by its configuration
    /// (`etree.fromstring(data, parser)` with `parser = etree.XMLParser(resolve_entities=True)`):
    /// safe defaults are not findings.
    pub configured_by: Option<ConfiguredBySpec>,
}

/// See `SinkSpec::configured_by`.
/// Where a response call takes its headers: positions (receiver not counted) and keywords.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersSpec {
    #[serde(default)]
    pub args: Vec<usize>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredBySpec {
    /// The positional argument (receiver not counted) that holds the object…
    pub argument: Option<usize>,
    /// …or the keyword argument.
    pub keyword: Option<String>,
    /// The calls that make such objects.
    pub calls: Vec<String>,
    /// The keyword of those calls that makes the object unsafe.
    pub when: KeywordCondition,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanitizerSpec {
    #[serde(default)]
    pub calls: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    /// Sink kinds the result is safe for; `["*"]` for all.
    #[serde(default)]
    pub clears: Vec<String>,
    /// Path normalisation (`os.path.realpath`): a later prefix check then clears `FilePath`.
    #[serde(default)]
    pub normalizes: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropagatorSpec {
    /// Calls whose result carries no taint at all (`len`, `isinstance`).
    #[serde(default)]
    pub clean_calls: Vec<String>,
    /// Methods that copy argument taint into their receiver (`list.append`).
    #[serde(default)]
    pub mutators: Vec<String>,
    /// With `mutators`: only on receivers of these types (`add` on a `builtins.set`, not on a
    /// database session); without it, a mutator's name matches on any receiver.
    #[serde(default)]
    pub on: Vec<String>,
    /// Library methods whose result has the receiver's type (`pathlib.Path.joinpath`), so
    /// methods called on it resolve as the receiver's would.
    #[serde(default)]
    pub same_type: Vec<String>,
    /// Lookups (`sqlalchemy.orm.Query.filter_by`, `django.db.models.QuerySet.get`): the result is
    /// what the receiver holds — rows chosen by the arguments, not made of them — so it
    /// carries the receiver's taint and type, never its arguments'.
    #[serde(default)]
    pub lookups: Vec<String>,
}

/// A security check that is not taint (`[[check]]`): calls that are a problem by themselves,
/// decided by their arguments' constants, or by where their result goes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: String,
    pub name: String,
    pub cwe: u32,
    #[serde(default = "default_severity")]
    pub severity: String,
    pub message: String,
    /// The calls this check matches (`[[check.call]]`); any one of them is a finding.
    #[serde(default)]
    pub call: Vec<CheckCallSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckCallSpec {
    /// Qualified callables, as taint sinks name them (`hashlib.md5`, `flask.Flask.run`).
    #[serde(default)]
    pub calls: Vec<String>,
    /// Method names on any receiver (`set_cookie`).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Every one must hold (decided by constants; an undecided one does not hold).
    #[serde(default)]
    pub conditions: Vec<ConditionSpec>,
    /// Only when the call's result flows into a name, attribute, key, keyword or function
    /// result named with one of these words (`token`, `password`).
    #[serde(default)]
    pub result_named: Vec<String>,
}

/// One argument condition: the argument by position and/or keyword, and one test.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub arg: Option<usize>,
    pub keyword: Option<String>,
    /// The value of an absent argument (the callee's default).
    pub default: Option<toml::Value>,
    pub missing: Option<bool>,
    pub equals: Option<toml::Value>,
    pub not_equals: Option<toml::Value>,
    #[serde(rename = "in")]
    pub one_of: Option<Vec<toml::Value>>,
    pub not_in: Option<Vec<toml::Value>>,
}

/// What a condition asks of its argument's value.
#[derive(Clone, Debug, PartialEq)]
pub enum ConditionTest {
    Missing(bool),
    Equals(toml::Value),
    NotEquals(toml::Value),
    In(Vec<toml::Value>),
    NotIn(Vec<toml::Value>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub arg: Option<usize>,
    pub keyword: Option<String>,
    pub default: Option<toml::Value>,
    pub test: ConditionTest,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub id: String,
    pub name: String,
    pub cwe: u32,
    pub severity: String,
    pub message: String,
}

/// One way a check matches a call.
#[derive(Clone, Debug)]
pub struct CheckCall {
    pub check: String,
    pub conditions: Vec<Condition>,
    pub result_named: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub sink_kind: u32,
    pub cwe: u32,
    pub severity: String,
    pub message: String,
    /// The quick fix's sanitiser: (module to import, dotted call).
    pub fix: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct Sink {
    pub kind: u32,
    pub cwe: Option<u32>,
    pub args: Vec<usize>,
    pub keywords: Vec<String>,
    pub all_args: bool,
    pub when: Option<(String, toml::Value)>,
    pub unless: Option<(String, toml::Value)>,
    pub safe_keywords: HashMap<String, Vec<String>>,
    pub content_type_keywords: Vec<String>,
    pub content_type_args: Vec<usize>,
    /// Where the call takes its headers (`SinkSpec::content_type_headers`).
    pub content_type_headers: HeadersSpec,
    pub html_only: bool,
    pub dict_is_json: bool,
    pub html_declared: bool,
    pub plain_through: Vec<String>,
    pub shell_argv: bool,
    pub receiver: bool,
    /// (argument position, keyword, the references of unsafe objects): see `SinkSpec::configured_by`.
    pub configured_by: Option<(Option<usize>, Option<String>, Vec<String>)>,
}

/// The reference of an object made by `call` with `keyword` equal to `value`: methods and
/// sinks tell it from one made with the safe default (`lxml.etree.XMLParser[resolve_entities=true]`).
pub fn configured_reference(call: &str, keyword: &str, value: &toml::Value) -> String {
    format!("{call}[{keyword}={value}]")
}

#[derive(Clone, Debug)]
pub struct Sanitizer {
    pub clears: u32,
    pub normalizes: bool,
}

/// Threat models (as CodeQL names them): which sources count. `remote` is on by default;
/// `local` (argv, environment, stdin, files) and `database` (values read back from a database:
/// stored XSS, second-order injection) are opt-in. `all` names every one.
pub const THREAT_MODELS: &[&str] = &["remote", "local", "database"];

/// Source kinds: remote input is the strongest. Each belongs to one threat model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum SourceKind {
    UserInput,
    Session,
    Local,
    Database,
}

impl SourceKind {
    fn parse(name: &str) -> Option<SourceKind> {
        match name {
            "UserInput" => Some(SourceKind::UserInput),
            "Session" => Some(SourceKind::Session),
            "Local" => Some(SourceKind::Local),
            "Database" => Some(SourceKind::Database),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::UserInput => "user input",
            SourceKind::Session => "session data",
            SourceKind::Local => "local input",
            SourceKind::Database => "data read from a database",
        }
    }

    /// The threat model the kind belongs to.
    pub fn threat_model(self) -> &'static str {
        match self {
            SourceKind::UserInput | SourceKind::Session => "remote",
            SourceKind::Local => "local",
            SourceKind::Database => "database",
        }
    }

    /// The kind a source of `model` has when its declaration names none.
    fn of_threat_model(model: &str) -> Option<SourceKind> {
        match model {
            "remote" => Some(SourceKind::UserInput),
            "local" => Some(SourceKind::Local),
            "database" => Some(SourceKind::Database),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub source_attributes: HashMap<String, SourceKind>,
    pub source_calls: HashMap<String, SourceKind>,
    pub source_methods: HashMap<String, SourceKind>,
    /// The sink kinds the values of a source (by its declared attribute, call or method name)
    /// are already safe for (`[[source]] safe_for`).
    pub source_safe_for: HashMap<String, u32>,
    pub sink_calls: HashMap<String, Vec<Sink>>,
    pub sink_methods: HashMap<String, Vec<Sink>>,
    /// Sinks reached by a subscript store into an object with this reference (`stored_into`).
    pub sink_stores: HashMap<String, Vec<Sink>>,
    /// Sinks reached by assigning to this attribute of an object (`assigned_to`).
    pub sink_assignments: HashMap<String, Vec<Sink>>,
    pub sanitizer_calls: HashMap<String, Sanitizer>,
    pub sanitizer_methods: HashMap<String, Sanitizer>,
    pub clean_calls: HashSet<String>,
    pub mutators: HashSet<String>,
    /// Mutators only on receivers of the listed types (`[[propagator]] mutators` with `on`).
    pub typed_mutators: HashMap<String, Vec<String>>,
    /// Library methods whose result has their receiver's type (`[[propagator]] same_type`).
    pub same_type: HashSet<String>,
    /// Lookups whose result holds the receiver's taint, not the arguments' (`[[propagator]] lookups`).
    pub lookups: HashSet<String>,
    /// Calls that never return normally (`[[no_return]]`): a statement that is one of them ends
    /// its branch of the control flow, as `raise` does.
    pub no_return: HashSet<String>,
    /// Packages whose form fields render escaped markup when called in a template
    /// (`[[template_markup]]`).
    pub template_markup: Vec<String>,
    /// Functions rendering a template file by name (`[[render]]`), by qualified call.
    pub render_calls: HashMap<String, Render>,
    /// The template library objects the engine follows (`[[template_objects]]`).
    pub template_objects: TemplateObjects,
    /// Library functions not followed into when the library is in the program (`[[opaque]]`):
    /// what the packs say of them (sinks, the default propagation to the result) is all a call
    /// does, so a flow into one is reported once, at the call, as the packs name it.
    pub opaque: HashSet<String>,
    /// `[[callback]]` models by qualified call and by method name (`CallbackSpec`).
    pub callback_calls: HashMap<String, CallbackSpec>,
    pub callback_methods: HashMap<String, CallbackSpec>,
    /// `[[type]]` models: call → the type of its result, attribute reference → its type, type →
    /// the type of its members (see `TypeSpec`).
    pub type_returned_by: HashMap<String, String>,
    pub type_attributes: HashMap<String, String>,
    pub type_members: HashMap<String, String>,
    /// `[[guard]]`s by qualified call (including `Type.method` for guards `on` a type) and by
    /// method name of the checked value.
    pub guard_calls: HashMap<String, Guard>,
    pub guard_methods: HashMap<String, Guard>,
    /// Calls making objects that a sink's `configured_by` names: (keyword, unsafe value, the
    /// reference such an object gets).
    pub configured_calls: HashMap<String, Vec<(String, toml::Value, String)>>,
    /// Checks that are not taint, by id, and the calls they match (by qualified reference or
    /// method name).
    pub checks: Vec<Check>,
    pub check_calls: HashMap<String, Vec<CheckCall>>,
    pub check_methods: HashMap<String, Vec<CheckCall>>,
    /// The enabled threat models, in `THREAT_MODELS` order: sources of others are not loaded.
    pub threat_models: Vec<String>,
    /// Every sink kind in bit order: the built-in `SINK_KINDS`, then those packs declare.
    pub sink_kinds: Vec<String>,
    /// Where each declared kind was declared: (kind, file, line).
    kind_declarations: Vec<(String, String, usize)>,
    /// SHA-256 over the pack texts and disabled rule ids: equal fingerprints, equal rules.
    pub fingerprint: String,
    /// Set only by an export (`taint::export`): calls into the modules it names, which the
    /// program does not contain, are recorded as sinks of a kind of their own.
    pub external_calls: Option<ExternalCalls>,
    /// `source_object_kind`'s answers: each object of `source_attributes` (the name before the
    /// attribute's last dot) with its first kind. Built on first use (every call of a
    /// function asks), so `source_attributes` is complete by then: packs are all added
    /// before the rules are used.
    source_objects: std::sync::OnceLock<HashMap<String, SourceKind>>,
}

/// Calls into other repositories' modules, recorded per argument by the taint analysis as hits
/// of sink kind `kind` (a bit no rule uses), so they reach findings (a source passed) and
/// summaries (a parameter passed) as any sink does (`taint::export`).
#[derive(Clone, Debug, Default)]
pub struct ExternalCalls {
    pub kind: u32,
    /// Top-level module names the program does not provide.
    pub modules: std::collections::BTreeSet<String>,
}

impl ExternalCalls {
    /// Whether `reference` (a qualified name) lies in one of the external modules.
    pub fn covers(&self, reference: &str) -> bool {
        self.modules.contains(reference.split('.').next().unwrap_or(""))
    }
}

fn config_error(file: &str, text: &str, span: Option<std::ops::Range<usize>>, message: String) -> EngineError {
    let line = span.map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
    EngineError::Config { file: file.to_string(), line, message }
}

/// Whether `name` is a Python identifier (ASCII letters, digits and `_`, not starting with a
/// digit).
fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The line of the first occurrence of `needle` in `text` (for errors found after parsing).
fn line_of(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    text.find(needle).map(|start| start..start)
}

impl RuleSet {
    /// The built-in packs, then `extra` files (name, text) in order, minus `disabled` rule ids,
    /// with the default threat model (`remote`).
    pub fn load(extra: &[(String, String)], disabled: &[String]) -> Result<RuleSet> {
        RuleSet::load_with_threat_models(extra, disabled, &["remote".to_string()])
    }

    /// `load` with the sources of `threat_models` (names of `THREAT_MODELS`, or `all`).
    pub fn load_with_threat_models(extra: &[(String, String)], disabled: &[String], threat_models: &[String]) -> Result<RuleSet> {
        let mut set = RuleSet { sink_kinds: SINK_KINDS.iter().map(|kind| kind.to_string()).collect(), ..RuleSet::default() };
        for model in threat_models {
            if model != "all" && !THREAT_MODELS.contains(&model.as_str()) {
                return Err(EngineError::Config {
                    file: "threat-models".to_string(),
                    line: 0,
                    message: format!("unknown threat model {model:?}; known: {}, all", THREAT_MODELS.join(", ")),
                });
            }
        }
        set.threat_models = THREAT_MODELS
            .iter()
            .filter(|known| threat_models.iter().any(|model| model == *known || model == "all"))
            .map(|known| known.to_string())
            .collect();
        for (name, text) in BUILTIN_PACKS {
            set.add_pack(name, text)?;
        }
        for (name, text) in extra {
            set.add_pack(name, text)?;
        }
        // A declared kind needs its rule: the finding's id, CWE and wording.
        for (kind, file, line) in &set.kind_declarations {
            let bit = set.sink_kind_bit(kind).unwrap_or(0);
            if !set.rules.iter().any(|rule| rule.sink_kind == bit) {
                return Err(EngineError::Config {
                    file: file.clone(),
                    line: *line,
                    message: format!(
                        "sink kind {kind:?} has no [[rule]] with sink_kind = {kind:?} (its findings need an id, a CWE and a message)"
                    ),
                });
            }
        }
        for id in disabled {
            if !set.rules.iter().any(|rule| &rule.id == id) && !set.checks.iter().any(|check| &check.id == id) {
                let known: Vec<&str> =
                    set.rules.iter().map(|rule| rule.id.as_str()).chain(set.checks.iter().map(|c| c.id.as_str())).collect();
                return Err(EngineError::Config {
                    file: "disable".to_string(),
                    line: 0,
                    message: format!("unknown rule id {id:?}; known rules: {}", known.join(", ")),
                });
            }
        }
        set.rules.retain(|rule| !disabled.contains(&rule.id));
        set.checks.retain(|check| !disabled.contains(&check.id));
        for calls in set.check_calls.values_mut().chain(set.check_methods.values_mut()) {
            calls.retain(|call| !disabled.contains(&call.check));
        }
        set.check_calls.retain(|_, calls| !calls.is_empty());
        set.check_methods.retain(|_, calls| !calls.is_empty());
        let mut hasher = sha2::Sha256::new();
        for (name, text) in BUILTIN_PACKS.iter().map(|(n, t)| (n.to_string(), t.to_string())).chain(extra.iter().cloned()) {
            sha2::Digest::update(&mut hasher, name.as_bytes());
            sha2::Digest::update(&mut hasher, text.as_bytes());
        }
        for id in disabled {
            sha2::Digest::update(&mut hasher, id.as_bytes());
        }
        sha2::Digest::update(&mut hasher, format!("\0threat-models:{}", set.threat_models.join(",")).as_bytes());
        set.fingerprint = sha2::Digest::finalize(hasher).iter().map(|b| format!("{b:02x}")).collect();
        Ok(set)
    }

    pub fn builtin() -> RuleSet {
        RuleSet::load(&[], &[]).expect("the built-in rule packs are valid (tested)")
    }

    /// The bit of a sink kind, built-in or declared by a pack read so far.
    pub fn sink_kind_bit(&self, name: &str) -> Option<u32> {
        self.sink_kinds.iter().position(|kind| kind == name).map(|i| 1 << i)
    }

    /// The names of the kinds in `mask`, in bit order.
    pub fn kind_names(&self, mask: u32) -> Vec<&str> {
        self.sink_kinds.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, kind)| kind.as_str()).collect()
    }

    fn kinds_mask(&self, file: &str, text: &str, kinds: &[String]) -> Result<u32> {
        let mut mask = 0;
        for kind in kinds {
            if kind == "*" {
                mask |= ALL_KINDS;
                continue;
            }
            mask |= self.sink_kind_bit(kind).ok_or_else(|| {
                config_error(
                    file,
                    text,
                    line_of(text, &format!("\"{kind}\"")),
                    format!(
                        "unknown sink kind {kind:?}; known kinds: {} (a pack adds one with [[kind]] name = \"…\")",
                        self.sink_kinds.join(", ")
                    ),
                )
            })?;
        }
        Ok(mask)
    }

    fn declare_kind(&mut self, file: &str, text: &str, spec: &KindSpec) -> Result<()> {
        let at = line_of(text, &format!("\"{}\"", spec.name));
        let valid = spec.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && spec.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid || spec.name == "*" {
            return Err(config_error(
                file,
                text,
                at,
                format!("a sink kind is a name of letters, digits, `_` and `-`, not {:?}", spec.name),
            ));
        }
        if self.sink_kinds.contains(&spec.name) {
            return Err(config_error(file, text, at, format!("sink kind {:?} is already known", spec.name)));
        }
        if self.sink_kinds.len() == MAX_SINK_KINDS {
            return Err(config_error(
                file,
                text,
                at,
                format!(
                    "a rule set holds at most {MAX_SINK_KINDS} sink kinds ({} built-in); {:?} is one too many",
                    SINK_KINDS.len(),
                    spec.name
                ),
            ));
        }
        self.sink_kinds.push(spec.name.clone());
        let line = at.map_or(1, |at| text[..at.start].matches('\n').count() + 1);
        self.kind_declarations.push((spec.name.clone(), file.to_string(), line));
        Ok(())
    }

    fn add_pack(&mut self, file: &str, text: &str) -> Result<()> {
        let pack: PackFile = toml::from_str(text).map_err(|error| config_error(file, text, error.span(), error.message().to_string()))?;
        for spec in &pack.kind {
            self.declare_kind(file, text, spec)?;
        }
        for spec in pack.rule {
            let sink_kind = self.kinds_mask(file, text, std::slice::from_ref(&spec.sink_kind))?;
            if !matches!(spec.severity.as_str(), "error" | "warning" | "info") {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, &spec.severity),
                    format!("severity must be error, warning or info, not {:?}", spec.severity),
                ));
            }
            let fix = match &spec.fix {
                None => None,
                Some(fix) => {
                    let is_dotted = |name: &str| {
                        !name.is_empty()
                            && name.split('.').all(|part| {
                                part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
                            })
                    };
                    match fix.call.rsplit_once('.') {
                        Some((module, _)) if is_dotted(&fix.call) => Some((module.to_string(), fix.call.clone())),
                        _ => {
                            return Err(config_error(
                                file,
                                text,
                                line_of(text, &fix.call),
                                format!("fix: {:?} is not a dotted call `module.function`", fix.call),
                            ))
                        }
                    }
                }
            };
            self.rules.retain(|rule| rule.id != spec.id);
            self.rules.push(Rule {
                id: spec.id,
                name: spec.name,
                sink_kind,
                cwe: spec.cwe,
                severity: spec.severity,
                message: spec.message,
                fix,
            });
        }
        for spec in pack.source {
            let model = match &spec.threat_model {
                Some(model) => Some(SourceKind::of_threat_model(model).map(|_| model.as_str()).ok_or_else(|| {
                    config_error(
                        file,
                        text,
                        line_of(text, &format!("\"{model}\"")),
                        format!("unknown threat model {model:?}; known: {}", THREAT_MODELS.join(", ")),
                    )
                })?),
                None => None,
            };
            let kind = match &spec.kind {
                Some(name) => SourceKind::parse(name).ok_or_else(|| {
                    config_error(
                        file,
                        text,
                        line_of(text, &format!("\"{name}\"")),
                        format!("unknown source kind {name:?}; known: UserInput, Session, Local, Database"),
                    )
                })?,
                None => SourceKind::of_threat_model(model.unwrap_or("remote")).expect("a known threat model"),
            };
            if let Some(model) = model.filter(|model| *model != kind.threat_model()) {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, &format!("\"{model}\"")),
                    format!(
                        "a {} source belongs to the threat model {:?}, not {model:?}",
                        spec.kind.as_deref().unwrap_or(""),
                        kind.threat_model()
                    ),
                ));
            }
            let safe_for = self.kinds_mask(file, text, &spec.safe_for)?;
            if !self.threat_models.iter().any(|enabled| enabled == kind.threat_model()) {
                continue;
            }
            if safe_for != 0 {
                for name in spec.attributes.iter().chain(&spec.calls).chain(&spec.methods) {
                    self.source_safe_for.insert(name.clone(), safe_for);
                }
            }
            for name in spec.attributes {
                self.source_attributes.insert(name, kind);
            }
            for name in spec.calls {
                self.source_calls.insert(name, kind);
            }
            for name in spec.methods {
                self.source_methods.insert(name, kind);
            }
        }
        for spec in pack.sink {
            let kind = self.kinds_mask(file, text, std::slice::from_ref(&spec.kind))?;
            let condition = |c: &Option<KeywordCondition>| c.as_ref().map(|c| (c.keyword.clone(), c.equals.clone()));
            let sink = Sink {
                kind,
                cwe: spec.cwe,
                args: spec.args.clone(),
                keywords: spec.keywords.clone(),
                all_args: spec.all_args,
                when: condition(&spec.when),
                unless: condition(&spec.unless),
                safe_keywords: spec.safe_keywords.clone(),
                content_type_keywords: spec.content_type_keywords.clone(),
                content_type_args: spec.content_type_args.clone(),
                content_type_headers: spec.content_type_headers.clone().unwrap_or_default(),
                html_only: spec.html_only,
                dict_is_json: spec.dict_is_json,
                html_declared: spec.html_declared,
                plain_through: spec.plain_through.clone(),
                shell_argv: spec.shell_argv,
                receiver: spec.receiver,
                configured_by: spec.configured_by.as_ref().map(|by| {
                    let variants = by.calls.iter().map(|call| configured_reference(call, &by.when.keyword, &by.when.equals)).collect();
                    (by.argument, by.keyword.clone(), variants)
                }),
            };
            if let Some(by) = &spec.configured_by {
                for call in &by.calls {
                    let variant = configured_reference(call, &by.when.keyword, &by.when.equals);
                    let entry = self.configured_calls.entry(call.clone()).or_default();
                    if !entry.iter().any(|(_, _, known)| *known == variant) {
                        entry.push((by.when.keyword.clone(), by.when.equals.clone(), variant));
                    }
                }
            }
            if sink.args.is_empty()
                && sink.keywords.is_empty()
                && !sink.all_args
                && !sink.receiver
                && spec.stored_into.is_empty()
                && spec.assigned_to.is_empty()
            {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, spec.calls.first().or(spec.methods.first()).map_or("[[sink]]", |s| s.as_str())),
                    "a sink needs `args`, `keywords`, `all_args = true`, `receiver = true`, `stored_into` or `assigned_to`".to_string(),
                ));
            }
            if spec.receiver_contains.is_some() {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, "receiver_contains"),
                    "`receiver_contains` was removed: receivers are typed, not matched by their text; name the receiver types \
                     with `on = [\"module.Type\"]` and declare how they are made with `[[type]]` (docs/RULES.md)"
                        .to_string(),
                ));
            }
            if spec.content_type_headers.as_ref().is_some_and(|h| h.args.is_empty() && h.keywords.is_empty()) {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, "content_type_headers"),
                    "`content_type_headers` needs `args` or `keywords`: where the call takes its headers".to_string(),
                ));
            }
            if !spec.on.is_empty() && spec.methods.is_empty() {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, spec.on[0].as_str()),
                    "`on` names the receiver types of `methods`; this sink has no `methods`".to_string(),
                ));
            }
            for name in spec.calls {
                self.sink_calls.entry(name).or_default().push(sink.clone());
            }
            for name in spec.stored_into {
                self.sink_stores.entry(name).or_default().push(sink.clone());
            }
            for name in spec.assigned_to {
                self.sink_assignments.entry(name).or_default().push(sink.clone());
            }
            if spec.on.is_empty() {
                for name in spec.methods {
                    self.sink_methods.entry(name).or_default().push(sink.clone());
                }
            } else {
                // A method on a typed receiver is the call `Type.method` (how calls on
                // instances are referenced), so it is matched exactly like `calls`.
                for receiver in &spec.on {
                    for name in &spec.methods {
                        self.sink_calls.entry(format!("{receiver}.{name}")).or_default().push(sink.clone());
                    }
                }
            }
        }
        for spec in pack.sanitizer {
            let sanitizer = Sanitizer { clears: self.kinds_mask(file, text, &spec.clears)?, normalizes: spec.normalizes };
            for name in spec.calls {
                self.sanitizer_calls.insert(name, sanitizer.clone());
            }
            for name in spec.methods {
                self.sanitizer_methods.insert(name, sanitizer.clone());
            }
        }
        for spec in pack.propagator {
            self.clean_calls.extend(spec.clean_calls);
            self.same_type.extend(spec.same_type);
            if spec.on.is_empty() {
                self.mutators.extend(spec.mutators);
            } else {
                for name in spec.mutators {
                    self.typed_mutators.entry(name).or_default().extend(spec.on.iter().cloned());
                }
            }
            self.lookups.extend(spec.lookups);
        }
        for spec in pack.no_return {
            self.no_return.extend(spec.calls);
        }
        for spec in pack.opaque {
            self.opaque.extend(spec.calls);
        }
        for spec in pack.callback {
            let first = spec.calls.first().or(spec.methods.first()).cloned().unwrap_or_else(|| "[[callback]]".to_string());
            if spec.function.is_some() == spec.function_keyword.is_some() {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, &first),
                    "a [[callback]] names its function by `function` (a position) or `function_keyword`, exactly one".to_string(),
                ));
            }
            for call in &spec.calls {
                self.callback_calls.insert(call.clone(), spec.clone());
            }
            for method in &spec.methods {
                self.callback_methods.insert(method.clone(), spec.clone());
            }
        }
        for spec in pack.template_markup {
            self.template_markup.extend(spec.packages);
        }
        for spec in pack.render {
            let autoescape = match spec.autoescape.as_str() {
                "on" => crate::templates::Autoescape::On,
                "off" => crate::templates::Autoescape::Off,
                "by_extension" => crate::templates::Autoescape::ByExtension,
                "application" => crate::templates::Autoescape::Application,
                other => {
                    return Err(config_error(
                        file,
                        text,
                        line_of(text, &format!("\"{other}\"")),
                        format!("unknown autoescape {other:?} (on, off, by_extension, application)"),
                    ))
                }
            };
            if spec.calls.is_empty() {
                return Err(config_error(file, text, line_of(text, "[[render]]"), "a [[render]] needs `calls`".to_string()));
            }
            let render = Render {
                name: (spec.name.arg, spec.name.keyword),
                context: spec.context.map(|context| (context.arg, context.keyword)),
                autoescape,
                responds: spec.responds,
            };
            // A later pack's entry for a call replaces an earlier one's.
            for call in spec.calls {
                self.render_calls.insert(call, render.clone());
            }
        }
        for spec in pack.template_objects {
            self.add_template_objects(file, text, spec)?;
        }
        for spec in pack.check {
            self.add_check(file, text, spec)?;
        }
        for spec in pack.guard {
            let first = spec.calls.first().or(spec.methods.first()).cloned().unwrap_or_else(|| "[[guard]]".to_string());
            let problem = |message: String| config_error(file, text, line_of(text, &first), message);
            if spec.calls.is_empty() && spec.methods.is_empty() {
                return Err(problem("a [[guard]] needs `calls` or `methods`".to_string()));
            }
            if spec.clears.is_empty() == spec.pattern.is_none() {
                return Err(problem(format!("guard {first:?} needs exactly one of `clears` and `pattern`")));
            }
            let pattern = match spec.pattern {
                None => None,
                Some(pattern) => {
                    let anchors = Anchors::parse(&pattern.anchors).ok_or_else(|| {
                        problem(format!("guard {first:?}: anchors must be both, start or none, not {:?}", pattern.anchors))
                    })?;
                    if pattern.arg.is_none() && pattern.keyword.is_none() && !pattern.receiver {
                        return Err(problem(format!("guard {first:?}: a pattern needs `arg`, `keyword` or `receiver = true`")));
                    }
                    Some(GuardPattern {
                        arg: pattern.arg,
                        keyword: pattern.keyword,
                        receiver: pattern.receiver,
                        anchors,
                        flags_arg: pattern.flags_arg,
                    })
                }
            };
            let guard = Guard { arg: spec.arg, keyword: spec.keyword, clears: self.kinds_mask(file, text, &spec.clears)?, pattern };
            for call in spec.calls {
                self.guard_calls.insert(call, guard.clone());
            }
            if spec.on.is_empty() {
                for method in spec.methods {
                    self.guard_methods.insert(method, guard.clone());
                }
            } else {
                for receiver in &spec.on {
                    for method in &spec.methods {
                        self.guard_calls.insert(format!("{receiver}.{method}"), guard.clone());
                    }
                }
            }
        }
        for spec in pack.types {
            if spec.returned_by.is_empty() && spec.attributes.is_empty() && spec.members_of.is_empty() {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, &format!("\"{}\"", spec.name)),
                    format!("type {:?} needs `returned_by`, `attributes` or `members_of`", spec.name),
                ));
            }
            for call in spec.returned_by {
                self.type_returned_by.insert(call, spec.name.clone());
            }
            for attribute in spec.attributes {
                self.type_attributes.insert(attribute, spec.name.clone());
            }
            for owner in spec.members_of {
                self.type_members.insert(owner, spec.name.clone());
            }
        }
        Ok(())
    }

    /// Adds a `[[template_objects]]` entry: qualified calls (`module.name`) and method names
    /// (no dot); an entry naming nothing is an error.
    fn add_template_objects(&mut self, file: &str, text: &str, spec: TemplateObjectsSpec) -> Result<()> {
        let TemplateObjectsSpec {
            environments,
            templates,
            loaders,
            loader_methods,
            render_methods,
            application_setups,
            application_settings,
        } = spec;
        let calls = [
            ("environments", environments, &mut self.template_objects.environments),
            ("templates", templates, &mut self.template_objects.templates),
            ("loaders", loaders, &mut self.template_objects.loaders),
            ("application_setups", application_setups, &mut self.template_objects.application_setups),
            ("application_settings", application_settings, &mut self.template_objects.application_settings),
        ];
        let mut named = 0;
        for (key, names, set) in calls {
            for name in names {
                let qualified = name.split('.').count() >= 2 && name.split('.').all(is_identifier);
                if !qualified {
                    let message = format!("`{key}` entry {name:?} is not a qualified call (`module.name`)");
                    return Err(config_error(file, text, line_of(text, &format!("\"{name}\"")), message));
                }
                set.insert(name);
                named += 1;
            }
        }
        let methods = [
            ("loader_methods", loader_methods, &mut self.template_objects.loader_methods),
            ("render_methods", render_methods, &mut self.template_objects.render_methods),
        ];
        for (key, names, set) in methods {
            for name in names {
                if !is_identifier(&name) {
                    let message = format!("`{key}` entry {name:?} is not a method name (no dot)");
                    return Err(config_error(file, text, line_of(text, &format!("\"{name}\"")), message));
                }
                set.insert(name);
                named += 1;
            }
        }
        if named == 0 {
            let message = "a [[template_objects]] names no call or method".to_string();
            return Err(config_error(file, text, line_of(text, "[[template_objects]]"), message));
        }
        Ok(())
    }

    fn add_check(&mut self, file: &str, text: &str, spec: CheckSpec) -> Result<()> {
        let at = |needle: &str| line_of(text, needle).or_else(|| line_of(text, &spec.id));
        if !matches!(spec.severity.as_str(), "error" | "warning" | "info") {
            return Err(config_error(
                file,
                text,
                at(&spec.severity),
                format!("severity must be error, warning or info, not {:?}", spec.severity),
            ));
        }
        if spec.call.is_empty() {
            return Err(config_error(file, text, at(&spec.id), format!("check {:?} needs at least one [[check.call]]", spec.id)));
        }
        if self.rules.iter().any(|rule| rule.id == spec.id) {
            return Err(config_error(file, text, at(&spec.id), format!("check id {:?} is already a taint rule's id", spec.id)));
        }
        // A check redefined by a later pack replaces the earlier one.
        self.checks.retain(|check| check.id != spec.id);
        for calls in self.check_calls.values_mut().chain(self.check_methods.values_mut()) {
            calls.retain(|call| call.check != spec.id);
        }
        for call in spec.call {
            let first = call.calls.first().or(call.methods.first()).map_or(spec.id.as_str(), |s| s.as_str()).to_string();
            if call.calls.is_empty() && call.methods.is_empty() {
                return Err(config_error(file, text, at(&spec.id), "a [[check.call]] needs `calls` or `methods`".to_string()));
            }
            let mut conditions = Vec::new();
            for condition in call.conditions {
                let problem = |message: &str| config_error(file, text, at(&first), format!("check {:?}: {message}", spec.id));
                if condition.arg.is_none() && condition.keyword.is_none() {
                    return Err(problem("a condition needs `arg` or `keyword`"));
                }
                let mut tests = Vec::new();
                if let Some(missing) = condition.missing {
                    tests.push(ConditionTest::Missing(missing));
                }
                if let Some(value) = condition.equals {
                    tests.push(ConditionTest::Equals(value));
                }
                if let Some(value) = condition.not_equals {
                    tests.push(ConditionTest::NotEquals(value));
                }
                if let Some(values) = condition.one_of {
                    tests.push(ConditionTest::In(values));
                }
                if let Some(values) = condition.not_in {
                    tests.push(ConditionTest::NotIn(values));
                }
                if tests.len() != 1 {
                    return Err(problem("a condition needs exactly one of `missing`, `equals`, `not_equals`, `in`, `not_in`"));
                }
                let test = tests.pop().expect("one test");
                if matches!(test, ConditionTest::Missing(_)) && condition.default.is_some() {
                    return Err(problem("`missing` and `default` contradict each other"));
                }
                conditions.push(Condition { arg: condition.arg, keyword: condition.keyword, default: condition.default, test });
            }
            let compiled = CheckCall { check: spec.id.clone(), conditions, result_named: call.result_named };
            for name in call.calls {
                self.check_calls.entry(name).or_default().push(compiled.clone());
            }
            for name in call.methods {
                self.check_methods.entry(name).or_default().push(compiled.clone());
            }
        }
        self.checks.push(Check { id: spec.id, name: spec.name, cwe: spec.cwe, severity: spec.severity, message: spec.message });
        Ok(())
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.id == id)
    }

    pub fn rule_for(&self, sink_kind: u32) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.sink_kind == sink_kind)
    }

    /// The source kind of an object whose attributes are sources (`flask.request`, with
    /// `flask.request.args` a source attribute): the object carries that input as a whole.
    /// With several kinds, the first in the packs' order of kinds.
    pub fn source_object_kind(&self, reference: &str) -> Option<SourceKind> {
        let objects = self.source_objects.get_or_init(|| {
            let mut objects: HashMap<String, SourceKind> = HashMap::default();
            for (attribute, kind) in &self.source_attributes {
                let object = attribute.rsplit_once('.').map_or("", |(object, _)| object);
                let found = objects.entry(object.to_string()).or_insert(*kind);
                *found = (*found).min(*kind);
            }
            objects
        });
        objects.get(reference).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_packs_load() {
        let set = RuleSet::builtin();
        assert!(set.rules.len() >= 15);
        assert!(set.sink_calls.contains_key("os.system"));
        assert!(set.source_attributes.contains_key("flask.request.args"));
        for kind in SINK_KINDS {
            let bit = sink_kind_bit(kind).unwrap();
            assert!(set.rule_for(bit).is_some(), "no rule for sink kind {kind}");
        }
    }

    #[test]
    fn an_object_with_source_attributes_is_a_source_of_their_first_kind() {
        let set = RuleSet::load_with_threat_models(&[], &[], &["all".to_string()]).unwrap();
        assert_eq!(set.source_object_kind("flask.request"), Some(SourceKind::UserInput));
        assert_eq!(set.source_object_kind("no.such.object"), None);
        // Every object answers as a scan of the attributes would.
        for attribute in set.source_attributes.keys() {
            let object = attribute.rsplit_once('.').map_or("", |(object, _)| object);
            let first = set
                .source_attributes
                .iter()
                .filter(|(other, _)| other.rsplit_once('.').map_or("", |(object, _)| object) == object)
                .map(|(_, kind)| *kind)
                .min();
            assert_eq!(set.source_object_kind(object), first, "{object}");
        }
    }

    #[test]
    fn bad_files_name_file_line_and_problem() {
        let text = "[[sink]]\nkind = \"SQL\"\ncalls = [\"x.run\"]\nargz = [0]\n";
        let error = RuleSet::load(&[("mine.toml".into(), text.into())], &[]).unwrap_err();
        let EngineError::Config { file, line, message } = error else { panic!() };
        assert_eq!((file.as_str(), line), ("mine.toml", 4));
        assert!(message.contains("unknown field `argz`"), "{message}");

        let text = "[[sink]]\nkind = \"Sequel\"\ncalls = [\"x.run\"]\nargs = [0]\n";
        let error = RuleSet::load(&[("mine.toml".into(), text.into())], &[]).unwrap_err();
        let EngineError::Config { line, message, .. } = error else { panic!() };
        assert_eq!(line, 2);
        assert!(message.contains("unknown sink kind \"Sequel\""), "{message}");

        let error = RuleSet::load(&[], &["no-such-rule".into()]).unwrap_err();
        assert!(error.to_string().contains("unknown rule id \"no-such-rule\""));
    }

    #[test]
    fn response_headers_name_where_the_call_takes_them() {
        let rules = RuleSet::builtin();
        let make_response = &rules.sink_calls["flask.make_response"][0];
        assert_eq!(make_response.content_type_headers.args, vec![1, 2]);
        assert_eq!(make_response.content_type_headers.keywords, vec!["headers".to_string()]);
        for (bad, problem) in [
            ("[[sink]]\nkind = \"XSS\"\ncalls = [\"a.Response\"]\nargs = [0]\ncontent_type_headers = {}\n", "needs `args` or `keywords`"),
            (
                "[[sink]]\nkind = \"XSS\"\ncalls = [\"a.Response\"]\nargs = [0]\ncontent_type_headers = { keyword = \"headers\" }\n",
                "unknown field `keyword`",
            ),
        ] {
            let (line, message) = check_pack_error(bad);
            assert_eq!(line, 5, "{message}");
            assert!(message.contains(problem), "{message}");
        }
    }

    #[test]
    fn render_functions_come_from_the_packs_and_bad_ones_name_file_line_and_problem() {
        let rules = RuleSet::builtin();
        let render = &rules.render_calls["django.shortcuts.render"];
        assert_eq!((render.name.0, render.name.1.as_str()), (Some(1), "template_name"));
        assert_eq!(render.context, Some((Some(2), "context".to_string())));
        assert!(render.responds && render.autoescape == crate::templates::Autoescape::On);
        let flask = &rules.render_calls["flask.render_template"];
        assert!(flask.context.is_none() && !flask.responds && flask.autoescape == crate::templates::Autoescape::ByExtension);

        let pack = "[[render]]\ncalls = [\"shop.pages.render_page\"]\nname = { arg = 0, keyword = \"page\" }\nautoescape = \"off\"\n";
        let rules = RuleSet::load(&[("mine.toml".into(), pack.into())], &[]).unwrap();
        assert_eq!(rules.render_calls["shop.pages.render_page"].autoescape, crate::templates::Autoescape::Off);
        for (bad, line, problem) in [
            (pack.replace("\"off\"", "\"sometimes\""), 4, "unknown autoescape \"sometimes\""),
            (pack.replace("keyword = \"page\"", "kw = \"page\""), 3, "unknown field `kw`"),
            (pack.replace("autoescape = \"off\"\n", ""), 1, "missing field `autoescape`"),
        ] {
            let (at, message) = check_pack_error(&bad);
            assert_eq!(at, line, "{message}");
            assert!(message.contains(problem), "{message}");
        }
    }

    #[test]
    fn template_objects_come_from_the_packs_and_bad_ones_name_file_line_and_problem() {
        let rules = RuleSet::builtin();
        let objects = &rules.template_objects;
        assert!(objects.environments.contains("jinja2.sandbox.SandboxedEnvironment"));
        assert!(objects.templates.contains("jinja2.Template"));
        assert!(objects.loaders.contains("django.template.loader.select_template"));
        assert!(objects.loader_methods.contains("get_or_select_template"));
        // The Jinja and Django packs' render methods add up.
        assert!(objects.render_methods.contains("render") && objects.render_methods.contains("generate_async"));
        assert!(objects.application_setups.contains("aiohttp_jinja2.setup"));

        let pack = "# a project's own environment factory\n[[template_objects]]\nenvironments = [\"shop.templating.make_env\"]\nloader_methods = [\"load\"]\n";
        let rules = RuleSet::load(&[("mine.toml".into(), pack.into())], &[]).unwrap();
        assert!(rules.template_objects.environments.contains("shop.templating.make_env"));
        assert!(rules.template_objects.environments.contains("jinja2.Environment"), "the built-in entries stay");
        assert!(rules.template_objects.loader_methods.contains("load"));
        for (bad, line, problem) in [
            (pack.replace("\"shop.templating.make_env\"", "\"make_env\""), 3, "`environments` entry \"make_env\" is not a qualified call"),
            (pack.replace("\"load\"", "\"env.load\""), 4, "`loader_methods` entry \"env.load\" is not a method name"),
            (pack.replace("loader_methods", "loader_method"), 4, "unknown field `loader_method`"),
            ("# nothing\n[[template_objects]]\n".to_string(), 2, "names no call or method"),
        ] {
            let (at, message) = check_pack_error(&bad);
            assert_eq!(at, line, "{message}");
            assert!(message.contains(problem), "{message}");
        }
    }

    #[test]
    fn a_callback_names_its_function_once() {
        let rules = RuleSet::builtin();
        assert_eq!(rules.callback_calls["map"].function, Some(0));
        assert_eq!(rules.callback_methods["sort"].function_keyword.as_deref(), Some("key"));
        for bad in [
            "[[callback]]\ncalls = [\"mine.each\"]\nelements = [1]\n",
            "[[callback]]\ncalls = [\"mine.each\"]\nfunction = 0\nfunction_keyword = \"f\"\n",
        ] {
            let (line, message) = check_pack_error(bad);
            assert_eq!(line, 2);
            assert!(message.contains("exactly one"), "{message}");
        }
    }

    #[test]
    fn quick_fix_sanitisers_come_from_the_packs() {
        let rules = RuleSet::builtin();
        let fix = |id: &str| rules.rules.iter().find(|rule| rule.id == id).and_then(|rule| rule.fix.clone());
        assert_eq!(fix("command-injection"), Some(("shlex".to_string(), "shlex.quote".to_string())));
        assert_eq!(fix("xss"), Some(("html".to_string(), "html.escape".to_string())));
        assert_eq!(fix("sql-injection"), None);
        let pack = "[[rule]]\nid = \"sql-injection\"\nname = \"SQL\"\nsink_kind = \"SQL\"\ncwe = 89\nmessage = \"m\"\n\
                    fix = { call = \"mydb.escaping.quote_identifier\" }\n";
        let rules = RuleSet::load(&[("mine.toml".into(), pack.into())], &[]).unwrap();
        let sql = rules.rules.iter().find(|rule| rule.id == "sql-injection").unwrap();
        assert_eq!(sql.fix, Some(("mydb.escaping".to_string(), "mydb.escaping.quote_identifier".to_string())));
        let bad = pack.replace("mydb.escaping.quote_identifier", "quote()");
        let EngineError::Config { line, message, .. } = RuleSet::load(&[("mine.toml".into(), bad)], &[]).unwrap_err() else { panic!() };
        assert_eq!(line, 7);
        assert!(message.contains("not a dotted call"), "{message}");
    }

    fn check_pack_error(text: &str) -> (usize, String) {
        let error = RuleSet::load(&[("mine.toml".into(), text.into())], &[]).unwrap_err();
        let EngineError::Config { file, line, message } = error else { panic!() };
        assert_eq!(file, "mine.toml");
        (line, message)
    }

    const CHECK_HEADER: &str = "[[check]]\nid = \"mine\"\nname = \"Mine\"\ncwe = 1\nmessage = \"m\"\n";

    #[test]
    fn checks_load_and_bad_checks_name_file_line_and_problem() {
        let set = RuleSet::builtin();
        for id in
            ["weak-hash", "insecure-random", "cookie-without-secure", "yaml-unsafe-load", "debug-enabled", "tls-verification-disabled"]
        {
            assert!(set.check(id).is_some(), "{id}");
        }
        assert!(set.check_calls.contains_key("hashlib.md5") && set.check_methods.contains_key("set_cookie"));

        let good = format!("{CHECK_HEADER}[[check.call]]\ncalls = [\"x.y\"]\nconditions = [{{ keyword = \"k\", not_in = [1, \"a\"] }}]\n");
        let set = RuleSet::load(&[("mine.toml".into(), good)], &[]).unwrap();
        let call = &set.check_calls["x.y"][0];
        assert_eq!(call.conditions[0].test, ConditionTest::NotIn(vec![toml::Value::Integer(1), toml::Value::String("a".into())]));

        let (line, message) = check_pack_error(&format!("{CHECK_HEADER}[[check.call]]\ncalls = [\"x.y\"]\nconditionz = []\n"));
        assert_eq!(line, 8);
        assert!(message.contains("unknown field `conditionz`"), "{message}");
        let (line, message) =
            check_pack_error(&format!("{CHECK_HEADER}[[check.call]]\ncalls = [\"x.y\"]\nconditions = [{{ keyword = \"k\" }}]\n"));
        assert_eq!(line, 7);
        assert!(message.contains("exactly one of `missing`"), "{message}");
        let (_, message) = check_pack_error(&format!("{CHECK_HEADER}[[check.call]]\ncalls = [\"x.y\"]\nconditions = [{{ equals = 1 }}]\n"));
        assert!(message.contains("needs `arg` or `keyword`"), "{message}");
        let (line, message) = check_pack_error(CHECK_HEADER);
        assert_eq!(line, 2);
        assert!(message.contains("at least one [[check.call]]"), "{message}");
        let (_, message) = check_pack_error(&format!("{CHECK_HEADER}[[check.call]]\nconditions = []\n"));
        assert!(message.contains("needs `calls` or `methods`"), "{message}");
        let (_, message) = check_pack_error(
            "[[check]]\nid = \"sql-injection\"\nname = \"n\"\ncwe = 1\nmessage = \"m\"\n[[check.call]]\ncalls = [\"a\"]\n",
        );
        assert!(message.contains("already a taint rule's id"), "{message}");
    }

    #[test]
    fn sources_load_only_under_enabled_threat_models() {
        let remote = RuleSet::builtin();
        assert_eq!(remote.threat_models, vec!["remote"]);
        assert!(remote.source_attributes.contains_key("flask.request.args"));
        assert!(!remote.source_attributes.contains_key("sys.argv") && !remote.source_methods.contains_key("fetchone"));

        let local = RuleSet::load_with_threat_models(&[], &[], &["local".into(), "remote".into()]).unwrap();
        assert_eq!(local.threat_models, vec!["remote", "local"]);
        assert_eq!(local.source_attributes.get("sys.argv"), Some(&SourceKind::Local));
        assert!(!local.source_methods.contains_key("fetchone"));
        assert_ne!(local.fingerprint, remote.fingerprint);

        let all = RuleSet::load_with_threat_models(&[], &[], &["all".into()]).unwrap();
        assert_eq!(all.source_methods.get("fetchone"), Some(&SourceKind::Database));
        assert_eq!(SourceKind::Database.threat_model(), "database");
        assert_eq!(all.threat_models, THREAT_MODELS);
        let database = RuleSet::load_with_threat_models(&[], &[], &["database".into()]).unwrap();
        assert!(!database.source_attributes.contains_key("flask.request.args"), "remote left out");

        let error = RuleSet::load_with_threat_models(&[], &[], &["cloud".into()]).unwrap_err();
        assert!(error.to_string().contains("unknown threat model \"cloud\""), "{error}");
        let text = "[[source]]\nkind = \"Local\"\nthreat_model = \"remote\"\ncalls = [\"x\"]\n";
        let EngineError::Config { line, message, .. } = RuleSet::load(&[("mine.toml".into(), text.into())], &[]).unwrap_err() else {
            panic!()
        };
        assert_eq!(line, 3);
        assert!(message.contains("belongs to the threat model \"local\""), "{message}");
        // A threat model alone gives the kind.
        let text = "[[source]]\nthreat_model = \"database\"\ncalls = [\"store.read\"]\n";
        let set = RuleSet::load_with_threat_models(&[("mine.toml".into(), text.into())], &[], &["database".into()]).unwrap();
        assert_eq!(set.source_calls.get("store.read"), Some(&SourceKind::Database));
    }

    #[test]
    fn disabling_a_check_removes_its_calls() {
        let set = RuleSet::load(&[], &["weak-hash".into()]).unwrap();
        assert!(set.check("weak-hash").is_none());
        assert!(!set.check_calls.contains_key("hashlib.md5"));
        assert!(set.check_calls.contains_key("yaml.load"));
    }
}
