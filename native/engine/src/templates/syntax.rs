//! Jinja2 and Django template text read for what it outputs: every `{{ … }}` with the context
//! names it reads and how it is escaped, the `{% autoescape %}` and escaping `{% filter %}` blocks
//! around it, the templates it `{% extends %}` or `{% include %}`s, and Jinja macros: the
//! outputs of a `{% macro %}` body reading its parameters, the macro calls in outputs with the
//! names each argument reads, and the macros `{% from … import %}`/`{% import … as %}` bind.
//!
//! A purpose-built lexer, not a template engine: `minijinja`'s parser is Jinja-only and its AST
//! is public only behind its `unstable_machinery` feature; Django's syntax differs in the details
//! that matter here (`{% autoescape off %}`, `|default:"x"` arguments, `{% with a as b %}`).
//!
//! Invariants:
//! - Never fails: an unclosed tag ends the template (its text is not read as a tag); an
//!   expression read wrongly only adds names, so errors lean toward more outputs reaching taint.
//! - Names are *context* names: loop variables, `{% set %}`/`{% with %}` names stand for the
//!   names they were bound from (flow-insensitively within the template, which errs toward more).
//! - Offsets are byte offsets into the template text.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

/// How an output's value is escaped by its own filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Filtering {
    /// No filter decides it: escaped exactly when autoescaping is on.
    Default,
    /// Marked safe (`|safe`, `|safeseq`): never escaped.
    Safe,
    /// Escaped or made harmless by a filter (`|e`, `|escape`, `|tojson`, `|length`, …).
    Escaped,
}

/// Whether an enclosing block decides escaping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Block {
    /// No `{% autoescape %}` block: the environment decides.
    Inherit,
    /// Inside `{% autoescape false %}` / `{% autoescape off %}`.
    Off,
    /// Inside `{% autoescape true %}` / `{% autoescape on %}` or an escaping `{% filter %}`.
    On,
}

/// One `{{ … }}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Byte range of the whole `{{ … }}`.
    pub start: usize,
    pub end: usize,
    /// Context names the expression reads (sorted, aliases resolved).
    pub names: Vec<String>,
    pub filtering: Filtering,
    pub block: Block,
    /// Inside a `{% macro %}` body: the macro's name and the parameters the expression reads
    /// (not context names: `names` leaves them out).
    pub macro_reads: Option<(String, Vec<String>)>,
    /// The filters applied, in order, each with whether it is given arguments (`|f(x)`,
    /// `|f:"x"`): `filtering` is what the built-in ones decide; a project's own filters are
    /// judged when render sites are joined (`templates::TemplateModel`).
    pub filters: Vec<(String, bool)>,
    /// The value before the filters is one call of a name or attribute path with keyword
    /// arguments only (`field(**kwargs)`, `form.name(class_="x")`, `form.submit()`): how a
    /// form library's field is rendered (`TemplateModel::markup_calls`).
    pub keyword_call: bool,
}

impl Output {
    /// Whether the value is written without escaping when the environment's autoescaping is
    /// `autoescape`.
    pub fn unescaped(&self, autoescape: bool) -> bool {
        written_unescaped(self.filtering, self.block, autoescape)
    }

    /// `unescaped`, with what the program says of the project's own filters and of values
    /// called in templates (`TemplateModel`), for a context value that is `form`.
    pub fn unescaped_in(&self, autoescape: bool, model: &super::TemplateModel, form: super::FormValue) -> bool {
        if self.keyword_call && model.markup_calls && form == super::FormValue::Form {
            return false;
        }
        let clean = |index: usize| {
            let (name, arguments) = &self.filters[index];
            model.clean_filters.get(name).is_some_and(|arguments_pass| !(*arguments && *arguments_pass))
        };
        let project = |index: usize| model.project_filters.contains(&self.filters[index].0);
        let filtering = if (0..self.filters.len()).any(|index| clean(index) || project(index)) {
            let filters: Vec<&str> = self.filters.iter().map(|(name, _)| name.as_str()).collect();
            filtering_with(&filters, &clean, &project)
        } else {
            self.filtering
        };
        written_unescaped(filtering, self.block, autoescape)
    }
}

/// Whether a value with `filtering` inside `block` is written without escaping when the
/// environment's autoescaping is `autoescape`.
fn written_unescaped(filtering: Filtering, block: Block, autoescape: bool) -> bool {
    match (filtering, block) {
        (Filtering::Escaped, _) => false,
        (Filtering::Safe, _) => true,
        (Filtering::Default, Block::Off) => true,
        (Filtering::Default, Block::On) => false,
        (Filtering::Default, Block::Inherit) => !autoescape,
    }
}

/// A template other templates name (`{% include %}` with the block around it, `{% extends %}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub block: Block,
}

/// A call of a macro in an output (`{{ badge(label) }}`, `{{ forms.field(name=user) }}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroCall {
    /// The callee as written: a name, or `alias.name` of an imported template.
    pub callee: String,
    /// The context names each positional argument reads.
    pub positional: Vec<Vec<String>>,
    /// The context names each keyword argument reads.
    pub keywords: Vec<(String, Vec<String>)>,
}

/// A macro a template defines: its name and parameters in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Macro {
    pub name: String,
    pub params: Vec<String>,
}

/// A name `{% from "t" import m as name %}` (`Some(m)`) or `{% import "t" as name %}` (`None`)
/// binds to template `t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroImport {
    pub name: String,
    pub template: String,
    pub member: Option<String>,
}

/// What a template outputs and which templates it pulls in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub outputs: Vec<Output>,
    pub extends: Option<String>,
    pub includes: Vec<Reference>,
    pub macros: Vec<Macro>,
    pub macro_calls: Vec<MacroCall>,
    pub macro_imports: Vec<MacroImport>,
}

/// Filters whose result is safe to write whatever went in (escaped, or not text).
const ESCAPING_FILTERS: &[&str] = &[
    "e",
    "escape",
    "forceescape",
    "force_escape",
    "escapejs",
    "urlencode",
    "tojson",
    "json_script",
    "length",
    "count",
    "wordcount",
    "int",
    "float",
    "abs",
    "round",
    "filesizeformat",
    "yesno",
];
/// Filters that escape even a value marked safe (the others leave `Markup` as it is).
const FORCE_ESCAPING: &[&str] = &["forceescape", "force_escape", "escapejs", "urlencode", "tojson", "json_script"];
const SAFE_FILTERS: &[&str] = &["safe", "safeseq"];
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "recursive",
    "as",
    "with",
    "only",
    "ignore",
    "missing",
    "without",
    "context",
];

/// One `{% … %}`, `{{ … }}` or `{# … #}`: its kind (`%`, `{` or `#`), the range of the whole
/// tag and of its inside (whitespace-control `-`/`+` removed).
struct Tag {
    kind: u8,
    start: usize,
    end: usize,
    inner: (usize, usize),
}

/// The next tag at or after `from`, if it is closed.
fn next_tag(text: &str, from: usize) -> Option<Tag> {
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        let open = at + memchr::memchr(b'{', &bytes[at..])?;
        let kind = *bytes.get(open + 1)?;
        if !matches!(kind, b'{' | b'%' | b'#') {
            at = open + 1;
            continue;
        }
        let close = if kind == b'{' { b'}' } else { kind };
        // The closing delimiter, outside string literals (comments have none).
        let mut index = open + 2;
        let mut quote: Option<u8> = None;
        while index + 1 < bytes.len() {
            let byte = bytes[index];
            match quote {
                Some(_) if byte == b'\\' => index += 1,
                Some(q) if byte == q => quote = None,
                Some(_) => {}
                None if kind != b'#' && (byte == b'"' || byte == b'\'') => quote = Some(byte),
                None if byte == close && bytes[index + 1] == b'}' => {
                    let mut inner = (open + 2, index);
                    if matches!(bytes.get(inner.0), Some(b'-' | b'+')) {
                        inner.0 += 1;
                    }
                    if inner.1 > inner.0 && matches!(bytes[inner.1 - 1], b'-' | b'+') {
                        inner.1 -= 1;
                    }
                    return Some(Tag { kind, start: open, end: index + 2, inner });
                }
                None => {}
            }
            index += 1;
        }
        return None;
    }
}

/// A token of an expression: an identifier, a string literal or one punctuation byte.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Name(&'a str),
    Str(&'a str),
    Punct(u8),
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut result = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte.is_ascii_whitespace() {
            index += 1;
        } else if byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80 {
            let start = index;
            while index < bytes.len() && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_' || bytes[index] >= 0x80) {
                index += 1;
            }
            result.push(Token::Name(&text[start..index]));
        } else if byte.is_ascii_digit() {
            while index < bytes.len() && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'.' || bytes[index] == b'_') {
                index += 1;
            }
        } else if byte == b'"' || byte == b'\'' {
            let start = index + 1;
            index += 1;
            while index < bytes.len() && bytes[index] != byte {
                index += if bytes[index] == b'\\' { 2 } else { 1 };
            }
            result.push(Token::Str(&text[start.min(bytes.len())..index.min(bytes.len())]));
            index += 1;
        } else {
            result.push(Token::Punct(byte));
            index += 1;
        }
    }
    result
}

/// An expression read: the names it reads (before alias resolution) and its filters in order.
struct Expression<'a> {
    names: Vec<&'a str>,
    filters: Vec<&'a str>,
    /// For each filter, whether arguments follow it.
    filter_arguments: Vec<bool>,
}

fn expression<'a>(tokens: &[Token<'a>]) -> Expression<'a> {
    let mut names = Vec::new();
    let mut filters = Vec::new();
    let mut filter_arguments = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        let Token::Name(name) = token else { continue };
        let previous = index.checked_sub(1).map(|i| &tokens[i]);
        match previous {
            Some(Token::Punct(b'.')) => continue,
            Some(Token::Punct(b'|')) => {
                filters.push(*name);
                filter_arguments.push(matches!(tokens.get(index + 1), Some(Token::Punct(b'(' | b':'))));
                continue;
            }
            _ => {}
        }
        // `f(name=value)`: a keyword argument's name is not read.
        if matches!(tokens.get(index + 1), Some(Token::Punct(b'='))) && !matches!(tokens.get(index + 2), Some(Token::Punct(b'='))) {
            continue;
        }
        if KEYWORDS.contains(name) {
            continue;
        }
        names.push(*name);
    }
    Expression { names, filters, filter_arguments }
}

/// How filters applied left to right escape the value.
fn filtering_of(filters: &[&str]) -> Filtering {
    filtering_with(filters, &|_| false, &|_| false)
}

/// How filters applied left to right escape the value, where `clean` says which of them are
/// the project's own filters whose result carries nothing of their input (they reset the
/// value, as `|length` does: a `|safe` after one marks a harmless value) and `project` which
/// are the project's own filters at all: one that is not clean passes its input through, even
/// under a built-in filter's name (`|e` registered by the project escapes nothing of itself).
pub fn filtering_with(filters: &[&str], clean: &dyn Fn(usize) -> bool, project: &dyn Fn(usize) -> bool) -> Filtering {
    let mut state = Filtering::Default;
    for (index, filter) in filters.iter().enumerate() {
        if clean(index) {
            state = Filtering::Escaped;
        } else if project(index) {
            // The project's filter, judged not clean: what went in comes out.
        } else if SAFE_FILTERS.contains(filter) {
            if state == Filtering::Default {
                state = Filtering::Safe;
            }
        } else if FORCE_ESCAPING.contains(filter) || (ESCAPING_FILTERS.contains(filter) && state == Filtering::Default) {
            state = Filtering::Escaped;
        } else if ESCAPING_FILTERS.contains(filter) && !matches!(*filter, "e" | "escape") {
            // Not text any more (`|length`) even when marked safe before.
            state = Filtering::Escaped;
        }
    }
    state
}

/// The first string literal of a tag's arguments (`{% include "a.html" %}`).
fn first_string<'a>(tokens: &[Token<'a>]) -> Option<&'a str> {
    tokens.iter().find_map(|token| match token {
        Token::Str(value) => Some(*value),
        _ => None,
    })
}

/// Alias → the context names it stands for.
type Aliases = FxHashMap<String, BTreeSet<String>>;

/// The context names `names` stand for.
fn resolve(aliases: &Aliases, names: &[&str]) -> BTreeSet<String> {
    let mut resolved = BTreeSet::new();
    for name in names {
        match aliases.get(*name) {
            Some(targets) => resolved.extend(targets.iter().cloned()),
            None => {
                resolved.insert((*name).to_string());
            }
        }
    }
    resolved
}

/// Functions of Tornado's template namespace that escape what they are given for HTML.
const ESCAPING_FUNCTIONS: &[&str] = &["xhtml_escape", "escape", "url_escape"];

/// Whether the expression is one call of an escaping function (`xhtml_escape(note)`).
fn escaping_call(tokens: &[Token<'_>]) -> bool {
    let [Token::Name(function), Token::Punct(b'('), .., Token::Punct(b')')] = tokens else { return false };
    if !ESCAPING_FUNCTIONS.contains(function) {
        return false;
    }
    // The parenthesis opened after the name closes at the last token.
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().skip(1) {
        match token {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    return index == tokens.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// One output (`{{ … }}`, Tornado's `{% raw … %}`) of the expression `tokens`: `filtering` when
/// the tag itself decides it (unescaped), else what its filters (or an escaping call) decide.
fn output(
    tag: &Tag,
    tokens: &[Token<'_>],
    filtering: Option<Filtering>,
    block: Block,
    aliases: &Aliases,
    current_macro: Option<&Macro>,
) -> Output {
    let read = expression(tokens);
    let mut names: Vec<String> = resolve(aliases, &read.names).into_iter().collect();
    let macro_reads = current_macro.map(|current| {
        let reads: Vec<String> = current.params.iter().filter(|param| names.contains(param)).cloned().collect();
        names.retain(|name| !current.params.contains(name));
        (current.name.clone(), reads)
    });
    let filtering = filtering.unwrap_or_else(|| match filtering_of(&read.filters) {
        Filtering::Default if escaping_call(tokens) => Filtering::Escaped,
        decided => decided,
    });
    Output {
        start: tag.start,
        end: tag.end,
        names,
        filtering,
        block,
        macro_reads,
        filters: read.filters.iter().zip(&read.filter_arguments).map(|(filter, arguments)| ((*filter).to_string(), *arguments)).collect(),
        keyword_call: keyword_call(tokens),
    }
}

/// Bottle's SimpleTemplate code lines (`% …`): a loop's targets stand for what it iterates
/// (`% for note in notes:`), `% include('row', …)` and `% rebase('base')` pull templates in.
/// Read before the tags: a loop's names then stand for its iterable everywhere in the template
/// (flow-insensitively, as `{% for %}`'s do after it: toward more).
fn bottle_code_lines(text: &str, parsed: &mut Parsed, aliases: &mut Aliases) {
    for line in text.lines() {
        let Some(code) = line.trim_start().strip_prefix('%') else { continue };
        let tokens = tokens(code);
        match tokens.as_slice() {
            [Token::Name("for"), arguments @ ..] => {
                let Some(split) = arguments.iter().position(|t| *t == Token::Name("in")) else { continue };
                let targets = expression(&arguments[..split]).names;
                let sources = resolve(aliases, &expression(&arguments[split + 1..]).names);
                for target in targets {
                    aliases.entry(target.to_string()).or_default().extend(sources.iter().cloned());
                }
            }
            [Token::Name("include"), Token::Punct(b'('), Token::Str(name), ..] => {
                parsed.includes.push(Reference { name: (*name).to_string(), block: Block::Inherit });
            }
            [Token::Name("rebase"), Token::Punct(b'('), Token::Str(name), ..] if parsed.extends.is_none() => {
                parsed.extends = Some((*name).to_string());
            }
            _ => {}
        }
    }
}

/// Reads a template's text.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut aliases = Aliases::default();
    bottle_code_lines(text, &mut parsed, &mut aliases);
    // Open blocks that decide escaping, innermost last, with the tag name that closes them.
    let mut blocks: Vec<(&'static str, Block)> = Vec::new();
    // The macro whose body is being read (macros do not nest in Jinja).
    let mut current_macro: Option<Macro> = None;
    let mut tornado_autoescape_off = false;
    let mut at = 0;
    while let Some(tag) = next_tag(text, at) {
        at = tag.end;
        let inner = &text[tag.inner.0..tag.inner.1];
        match tag.kind {
            b'{' => {
                let tokens = tokens(inner);
                // Bottle's `{{!expr}}` writes the expression unescaped.
                let unescaped = matches!(tokens.first(), Some(Token::Punct(b'!')));
                let filtering = unescaped.then_some(Filtering::Safe);
                let block = blocks.last().map_or(Block::Inherit, |(_, block)| *block);
                parsed.macro_calls.extend(macro_calls(&tokens, &aliases));
                parsed.outputs.push(output(&tag, &tokens, filtering, block, &aliases, current_macro.as_ref()));
            }
            b'%' => {
                let tokens = tokens(inner);
                let Some(Token::Name(keyword)) = tokens.first() else { continue };
                let arguments = &tokens[1..];
                match *keyword {
                    // Tornado's `{% raw expr %}` writes the expression unescaped.
                    "raw" if !arguments.is_empty() => {
                        let block = blocks.last().map_or(Block::Inherit, |(_, block)| *block);
                        parsed.outputs.push(output(&tag, arguments, Some(Filtering::Safe), block, &aliases, current_macro.as_ref()));
                    }
                    "raw" | "verbatim" | "comment" => {
                        // Skip to the matching end tag: nothing inside is a tag.
                        let end = format!("end{keyword}");
                        while let Some(next) = next_tag(text, at) {
                            at = next.end;
                            if next.kind == b'%' && text[next.inner.0..next.inner.1].trim() == end {
                                break;
                            }
                        }
                    }
                    // Tornado's `{% autoescape None %}` turns escaping off for the whole file
                    // (outputs before it too); it has no end tag.
                    "autoescape" if matches!(arguments, [Token::Name("None")]) => tornado_autoescape_off = true,
                    "autoescape" => {
                        let on = !matches!(arguments.first(), Some(Token::Name("false" | "False" | "off")));
                        blocks.push(("endautoescape", if on { Block::On } else { Block::Off }));
                    }
                    "filter" => {
                        let read = expression(&tokens);
                        let escapes = read.filters.is_empty()
                            && arguments
                                .iter()
                                .any(|t| matches!(t, Token::Name(n) if FORCE_ESCAPING.contains(n) || matches!(*n, "e" | "escape")));
                        let current = blocks.last().map_or(Block::Inherit, |(_, block)| *block);
                        blocks.push(("endfilter", if escapes { Block::On } else { current }));
                    }
                    "endautoescape" | "endfilter" => {
                        if let Some(position) = blocks.iter().rposition(|(end, _)| end == keyword) {
                            blocks.truncate(position);
                        }
                    }
                    "extends" => parsed.extends = first_string(arguments).map(str::to_string),
                    "include" => {
                        if let Some(name) = first_string(arguments) {
                            let block = blocks.last().map_or(Block::Inherit, |(_, block)| *block);
                            parsed.includes.push(Reference { name: name.to_string(), block });
                        }
                    }
                    "for" => {
                        // `for a, b in expr`: a and b stand for what expr reads.
                        let Some(split) = arguments.iter().position(|t| *t == Token::Name("in")) else { continue };
                        let targets = expression(&arguments[..split]).names;
                        let sources = resolve(&aliases, &expression(&arguments[split + 1..]).names);
                        for target in targets {
                            aliases.entry(target.to_string()).or_default().extend(sources.iter().cloned());
                        }
                    }
                    "set" => {
                        // `set x = expr` (a block `set x` has no `=`: its body is output above).
                        let Some(split) = arguments.iter().position(|t| *t == Token::Punct(b'=')) else { continue };
                        let targets = expression(&arguments[..split]).names;
                        let sources = resolve(&aliases, &expression(&arguments[split + 1..]).names);
                        for target in targets {
                            aliases.entry(target.to_string()).or_default().extend(sources.iter().cloned());
                        }
                    }
                    "with" => bind_with(arguments, &mut aliases),
                    "macro" => {
                        let Some(Token::Name(name)) = arguments.first() else { continue };
                        let params = argument_lists(&arguments[1..]).into_iter().filter_map(|argument| match argument.first() {
                            Some(Token::Name(param)) => Some((*param).to_string()),
                            _ => None,
                        });
                        let found = Macro { name: (*name).to_string(), params: params.collect() };
                        parsed.macros.push(found.clone());
                        current_macro = Some(found);
                    }
                    "endmacro" => current_macro = None,
                    "import" => {
                        // `import "t" as name`
                        if let (Some(template), Some(Token::Name(name))) = (first_string(arguments), arguments.last()) {
                            parsed.macro_imports.push(MacroImport {
                                name: (*name).to_string(),
                                template: template.to_string(),
                                member: None,
                            });
                        }
                    }
                    "from" => {
                        // `from "t" import a, b as c`
                        let Some(template) = first_string(arguments) else { continue };
                        let Some(start) = arguments.iter().position(|t| *t == Token::Name("import")) else { continue };
                        for part in arguments[start + 1..].split(|t| *t == Token::Punct(b',')) {
                            let (member, name) = match part {
                                [Token::Name(member), Token::Name("as"), Token::Name(name), ..] => (*member, *name),
                                [Token::Name(member), ..] if !matches!(*member, "with" | "without") => (*member, *member),
                                _ => continue,
                            };
                            parsed.macro_imports.push(MacroImport {
                                name: name.to_string(),
                                template: template.to_string(),
                                member: Some(member.to_string()),
                            });
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if tornado_autoescape_off {
        for output in &mut parsed.outputs {
            if output.block == Block::Inherit {
                output.block = Block::Off;
            }
        }
    }
    parsed
}

/// Methods of Python's `str`: called on a text value they return text made of it
/// (`{{ name.strip()|safe }}`), so a call of one is never read as a field rendering.
const STR_METHODS: &[&str] = &[
    "capitalize",
    "casefold",
    "center",
    "expandtabs",
    "format",
    "format_map",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "removeprefix",
    "removesuffix",
    "replace",
    "rjust",
    "rstrip",
    "split",
    "splitlines",
    "strip",
    "swapcase",
    "title",
    "translate",
    "upper",
    "zfill",
    "decode",
    "encode",
];

/// Whether the expression before its first filter is `path(keyword=…, **kwargs)`: a name or
/// attribute path called with keyword arguments (or `**`/no arguments) only, and nothing else;
/// the last name not a `str` method.
fn keyword_call(tokens: &[Token<'_>]) -> bool {
    let end = tokens.iter().position(|t| *t == Token::Punct(b'|')).unwrap_or(tokens.len());
    let value = &tokens[..end];
    // The callee: `name(.name)*`.
    let mut index = 0;
    loop {
        let Some(Token::Name(name)) = value.get(index) else { return false };
        if KEYWORDS.contains(name) {
            return false;
        }
        index += 1;
        match value.get(index) {
            Some(Token::Punct(b'.')) => index += 1,
            Some(Token::Punct(b'(')) if STR_METHODS.contains(name) => return false,
            Some(Token::Punct(b'(')) => break,
            _ => return false,
        }
    }
    // The call's arguments must end the value: its closing parenthesis is the last token.
    let mut depth = 0usize;
    let mut close = None;
    for (at, token) in value.iter().enumerate().skip(index) {
        match token {
            Token::Punct(b'(' | b'[' | b'{') => depth += 1,
            Token::Punct(b')' | b']' | b'}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(at);
                    break;
                }
            }
            _ => {}
        }
    }
    if close != Some(value.len() - 1) {
        return false;
    }
    argument_lists(&value[index..]).iter().all(|argument| match argument {
        [Token::Name(_), Token::Punct(b'='), rest @ ..] => rest.first() != Some(&Token::Punct(b'=')),
        [Token::Punct(b'*'), Token::Punct(b'*'), ..] => true,
        _ => false,
    })
}

/// The arguments inside the first parenthesised list of `tokens` (`(a, b=c)` → `[a]`,
/// `[b, =, c]`), split at top-level commas.
fn argument_lists<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let Some(open) = tokens.iter().position(|t| *t == Token::Punct(b'(')) else { return Vec::new() };
    let mut depth = 0usize;
    let mut start = open + 1;
    let mut arguments = Vec::new();
    for (index, token) in tokens.iter().enumerate().skip(open + 1) {
        match token {
            Token::Punct(b'(' | b'[' | b'{') => depth += 1,
            Token::Punct(b')' | b']' | b'}') if depth == 0 => {
                if index > start {
                    arguments.push(&tokens[start..index]);
                }
                return arguments;
            }
            Token::Punct(b')' | b']' | b'}') => depth -= 1,
            Token::Punct(b',') if depth == 0 => {
                arguments.push(&tokens[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    arguments
}

/// The calls of an output's expression that may be macro calls: a name (or `alias.name`)
/// followed by its arguments, each argument with the context names it reads.
fn macro_calls(tokens: &[Token<'_>], aliases: &Aliases) -> Vec<MacroCall> {
    let mut calls = Vec::new();
    for index in 0..tokens.len() {
        let (Token::Name(name), Some(Token::Punct(b'('))) = (&tokens[index], tokens.get(index + 1)) else { continue };
        // Filters (`x|default(y)`) and methods of values are not macros; `alias.name(…)` is.
        let callee = match index.checked_sub(1).map(|i| &tokens[i]) {
            Some(Token::Punct(b'|')) => continue,
            Some(Token::Punct(b'.')) => match index.checked_sub(2).map(|i| &tokens[i]) {
                Some(Token::Name(alias)) => format!("{alias}.{name}"),
                _ => continue,
            },
            _ => (*name).to_string(),
        };
        let mut call = MacroCall { callee, positional: Vec::new(), keywords: Vec::new() };
        for argument in argument_lists(&tokens[index + 1..]) {
            match argument {
                [Token::Name(keyword), Token::Punct(b'='), rest @ ..] if rest.first() != Some(&Token::Punct(b'=')) => {
                    call.keywords.push(((*keyword).to_string(), resolve(aliases, &expression(rest).names).into_iter().collect()));
                }
                _ => call.positional.push(resolve(aliases, &expression(argument).names).into_iter().collect()),
            }
        }
        calls.push(call);
    }
    calls
}

/// `{% with a=expr, b=expr %}` (Jinja, Django) and `{% with expr as a %}` (old Django).
fn bind_with(arguments: &[Token<'_>], aliases: &mut Aliases) {
    if let Some(split) = arguments.iter().position(|t| *t == Token::Name("as")) {
        let sources = resolve(aliases, &expression(&arguments[..split]).names);
        if let Some(Token::Name(target)) = arguments.get(split + 1) {
            aliases.entry((*target).to_string()).or_default().extend(sources);
        }
        return;
    }
    // Assignments: a name followed by `=`, its value up to the next such name.
    let starts: Vec<usize> = (0..arguments.len())
        .filter(|&i| {
            matches!(arguments[i], Token::Name(_))
                && arguments.get(i + 1) == Some(&Token::Punct(b'='))
                && arguments.get(i + 2) != Some(&Token::Punct(b'='))
        })
        .collect();
    for (position, &start) in starts.iter().enumerate() {
        let end = starts.get(position + 1).copied().unwrap_or(arguments.len());
        let Token::Name(target) = arguments[start] else { continue };
        let sources = resolve(aliases, &expression(&arguments[start + 2..end]).names);
        aliases.entry(target.to_string()).or_default().extend(sources);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(text: &str) -> Vec<(String, Vec<String>, Filtering, Block)> {
        parse(text).outputs.into_iter().map(|o| (text[o.start..o.end].to_string(), o.names, o.filtering, o.block)).collect()
    }

    #[test]
    fn an_output_reads_its_root_names_not_attributes_filters_or_keywords() {
        let found = outputs("<p>{{ user.name|default(fallback, true)|safe }}</p>{{ a if b else 'c' }}");
        assert_eq!(found[0].1, ["fallback", "user"]);
        assert_eq!(found[0].2, Filtering::Safe);
        assert_eq!(found[1].1, ["a", "b"]);
        assert_eq!(found[1].2, Filtering::Default);
    }

    #[test]
    fn filters_apply_left_to_right() {
        assert_eq!(filtering_of(&["e", "safe"]), Filtering::Escaped, "escaped, then marked safe: still escaped");
        assert_eq!(filtering_of(&["safe", "e"]), Filtering::Safe, "escape leaves a safe value as it is");
        assert_eq!(filtering_of(&["safe", "force_escape"]), Filtering::Escaped);
        assert_eq!(filtering_of(&["upper", "safe"]), Filtering::Safe);
        assert_eq!(filtering_of(&["length"]), Filtering::Escaped);
        assert_eq!(filtering_of(&["default"]), Filtering::Default);
    }

    #[test]
    fn django_filter_arguments_and_autoescape_blocks() {
        let text = "{% autoescape off %}{{ bio|default:\"none\" }}{% endautoescape %}{{ bio }}";
        let found = outputs(text);
        assert_eq!(found[0].1, ["bio"]);
        assert_eq!(found[0].3, Block::Off);
        assert_eq!(found[1].3, Block::Inherit);
        let jinja = outputs("{% autoescape false %}{% autoescape true %}{{ a }}{% endautoescape %}{{ b }}{% endautoescape %}");
        assert_eq!((jinja[0].3, jinja[1].3), (Block::On, Block::Off));
    }

    #[test]
    fn loop_set_and_with_names_stand_for_the_context_names_they_come_from() {
        let text = "{% for c in comments %}{{ c.body|safe }}{% endfor %}{% set t = title %}{{ t }}\
                    {% with x=extra.y, z=3 %}{{ x }}{% endwith %}{% with note as n %}{{ n }}{% endwith %}";
        let names: Vec<Vec<String>> = outputs(text).into_iter().map(|o| o.1).collect();
        assert_eq!(names, [vec!["comments"], vec!["title"], vec!["extra"], vec!["note"]]);
    }

    #[test]
    fn raw_comments_and_strings_hide_what_looks_like_tags() {
        let text = "{% raw %}{{ a|safe }}{% endraw %}{# {{ b|safe }} #}{{ \"}}\" ~ c }}{% comment %}{{ d }}{% endcomment %}";
        let found = outputs(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, ["c"]);
    }

    #[test]
    fn tornado_raw_writes_unescaped_and_autoescape_none_turns_the_whole_file_off() {
        let found = outputs("{{ a }}{% raw b.html %}{% autoescape None %}{{ xhtml_escape(c) }}{{ escape(d) + e }}");
        assert_eq!(found[0], ("{{ a }}".to_string(), vec!["a".to_string()], Filtering::Default, Block::Off), "before the directive too");
        assert_eq!(found[1], ("{% raw b.html %}".to_string(), vec!["b".to_string()], Filtering::Safe, Block::Off));
        assert_eq!(found[2].2, Filtering::Escaped, "one call of an escaping function");
        assert_eq!(found[3].2, Filtering::Default, "more than the escaping call");
        assert_eq!(outputs("{% autoescape xhtml_escape %}{{ a }}")[0].3, Block::On);
        assert_eq!(outputs("{{ a }}")[0].3, Block::Inherit);
    }

    #[test]
    fn bottle_code_lines_bind_loop_names_and_pull_templates_in() {
        let parsed = parse("% rebase('base')\n  % for note in notes:\n{{!note.body}}\n  % end\n% include('row', item=x)\n50 % off\n");
        assert_eq!(parsed.outputs[0].names, ["notes"]);
        assert_eq!(parsed.extends.as_deref(), Some("base"));
        assert_eq!(parsed.includes, [Reference { name: "row".to_string(), block: Block::Inherit }]);
    }

    #[test]
    fn bottle_bang_writes_unescaped() {
        let found = outputs("{{!name}}{{name}}{{ a != b }}");
        assert_eq!(found.iter().map(|o| o.2).collect::<Vec<_>>(), [Filtering::Safe, Filtering::Default, Filtering::Default]);
        assert_eq!(found[0].1, ["name"]);
    }

    #[test]
    fn extends_and_includes_are_recorded_with_their_block() {
        let parsed = parse("{% extends 'base.html' %}{% autoescape off %}{% include \"row.html\" %}{% endautoescape %}");
        assert_eq!(parsed.extends.as_deref(), Some("base.html"));
        assert_eq!(parsed.includes, [Reference { name: "row.html".into(), block: Block::Off }]);
    }

    #[test]
    fn unclosed_tags_end_the_template_and_whitespace_control_is_ignored() {
        assert_eq!(outputs("{{- a -}}{{ b").len(), 1);
        assert_eq!(outputs("{%- autoescape false -%}{{ a }}")[0].3, Block::Off);
    }

    #[test]
    fn escaping_filter_blocks_escape_their_outputs() {
        let found = outputs(
            "{% autoescape false %}{% filter escape %}{{ a }}{% endfilter %}{% filter upper %}{{ b }}{% endfilter %}{% endautoescape %}",
        );
        assert_eq!((found[0].3, found[1].3), (Block::On, Block::Off));
    }

    #[test]
    fn macros_record_their_parameters_calls_and_imports() {
        let parsed = parse(
            "{% from 'm.html' import badge as b, plain %}{% import 'f.html' as forms %}\
             {% macro row(text, cls='x') %}{{ text|safe }}{{ cls }}{{ title }}{% endmacro %}\
             {{ b(label, cls=kind) }}{{ forms.field(name=user.name) }}{{ value|default(other) }}",
        );
        assert_eq!(parsed.macros, [Macro { name: "row".into(), params: vec!["text".into(), "cls".into()] }]);
        let body: Vec<_> = parsed.outputs.iter().take(3).map(|o| (o.names.clone(), o.macro_reads.clone())).collect();
        assert_eq!(
            body,
            [
                (vec![], Some(("row".into(), vec!["text".into()]))),
                (vec![], Some(("row".into(), vec!["cls".into()]))),
                (vec!["title".into()], Some(("row".into(), vec![]))),
            ]
        );
        assert_eq!(parsed.outputs[3].macro_reads, None);
        assert_eq!(
            parsed.macro_calls,
            [
                MacroCall {
                    callee: "b".into(),
                    positional: vec![vec!["label".into()]],
                    keywords: vec![("cls".into(), vec!["kind".into()])]
                },
                MacroCall { callee: "forms.field".into(), positional: vec![], keywords: vec![("name".into(), vec!["user".into()])] },
            ],
            "a filter's arguments are no macro call"
        );
        let imports: Vec<_> = parsed.macro_imports.iter().map(|i| (i.name.as_str(), i.template.as_str(), i.member.as_deref())).collect();
        assert_eq!(imports, [("b", "m.html", Some("badge")), ("plain", "m.html", Some("plain")), ("forms", "f.html", None)]);
    }

    #[test]
    fn an_output_that_calls_a_value_with_keywords_only_is_recorded() {
        let calls = |text: &str| parse(text).outputs.iter().map(|o| o.keyword_call).collect::<Vec<_>>();
        assert_eq!(
            calls("{{ field(**kwargs)|safe }}{{ form.name(class_='x', **kw) }}{{ form.submit() }}"),
            [true, true, true],
            "WTForms renderings"
        );
        assert_eq!(
            calls("{{ f(x) }}{{ name.strip()|safe }}{{ f(a=1) ~ b }}{{ field.data|safe }}{{ (f)() }}{{ f(a==1) }}"),
            [false, false, false, false, false, false],
            "positional arguments, a str method, more after the call, no call"
        );
    }

    #[test]
    fn filters_are_recorded_with_whether_they_take_arguments() {
        let parsed = parse("{{ w|ago|ago(unit)|default:\"x\"|safe }}");
        let filters: Vec<(&str, bool)> = parsed.outputs[0].filters.iter().map(|(n, a)| (n.as_str(), *a)).collect();
        assert_eq!(filters, [("ago", false), ("ago", true), ("default", true), ("safe", false)]);
    }

    #[test]
    fn a_clean_project_filter_resets_the_value_and_a_form_field_call_writes_markup() {
        use super::super::FormValue::{Form, Other, Unknown};
        let mut model = super::super::TemplateModel::default();
        model.clean_filters.insert("ago".into(), true);
        let output = |text: &str| parse(text).outputs.remove(0);
        assert!(output("{{ w|ago|safe }}").unescaped(true), "unknown to the lexer: passed through");
        assert!(!output("{{ w|ago|safe }}").unescaped_in(true, &model, Unknown));
        assert!(output("{{ w|ago(unit)|safe }}").unescaped_in(true, &model, Unknown), "its argument reaches the result");
        assert!(!output("{{ w|ago|upper }}").unescaped_in(false, &model, Unknown), "reset before the other filters");
        assert!(output("{{ w|shout|safe }}").unescaped_in(true, &model, Unknown));
        assert!(output("{{ field(**kwargs)|safe }}").unescaped_in(true, &model, Form), "no form library");
        model.markup_calls = true;
        assert!(!output("{{ field(**kwargs)|safe }}").unescaped_in(true, &model, Form));
        assert!(!output("{% autoescape false %}{{ form.name() }}{% endautoescape %}").unescaped_in(true, &model, Form));
        assert!(output("{{ field.data|safe }}").unescaped_in(true, &model, Form));
        assert!(output("{{ field(**kwargs)|safe }}").unescaped_in(true, &model, Unknown), "not known to be a form");
        assert!(output("{{ banner(size='big')|safe }}").unescaped_in(true, &model, Other), "known not to be a form");
    }

    #[test]
    fn a_project_filter_under_a_built_in_name_is_judged_as_the_project_s() {
        use super::super::FormValue::Unknown;
        let mut model = super::super::TemplateModel::default();
        let output = |text: &str| parse(text).outputs.remove(0);
        assert!(!output("{{ w|e|safe }}").unescaped_in(true, &model, Unknown), "the built-in `e` escapes");
        model.project_filters.insert("e".into());
        assert!(output("{{ w|e|safe }}").unescaped_in(true, &model, Unknown), "the project's `e` passes its input");
        assert!(!output("{{ w|e }}").unescaped_in(true, &model, Unknown), "autoescaping still applies");
        assert!(output("{{ w|e }}").unescaped_in(false, &model, Unknown));
        model.clean_filters.insert("e".into(), false);
        assert!(!output("{{ w|e|safe }}").unescaped_in(true, &model, Unknown), "a clean one resets the value");
    }
}
