//! The base syntax layer shared by every stage above the parser: module naming, the nesting
//! limit every tree walk honours, and cheap textual pre-checks. It imports nothing from the
//! stages (chunks, program, analyses) so that each of them may import it.

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
