//! String formatting that cannot carry a line break: `"%r" % x`, `"%d" % n`, `f"{x!r}"`. `repr`
//! escapes `\r` and `\n` in a string, numbers hold none, so what such a conversion writes
//! cannot split a header or forge a log line: the interpolated values' taint is cleared of
//! `HeaderInjection` and `LogInjection` (every other kind stays).

use crate::rules::sink_kind_bit;

/// The kinds a newline-free conversion is safe for.
pub(super) fn newline_kinds() -> u32 {
    sink_kind_bit("HeaderInjection").unwrap_or(0) | sink_kind_bit("LogInjection").unwrap_or(0)
}

/// Whether every conversion of the `%`-format `format` writes no line break from its argument:
/// `%r`/`%a` (`repr`, `ascii`) and the numeric ones. `%s`, `%c` (one character, maybe `\n`), a
/// malformed spec or no conversion at all: false.
pub(super) fn percent_format_is_newline_free(format: &str) -> bool {
    let bytes = format.as_bytes();
    let mut index = 0;
    let mut conversions = 0;
    while index < bytes.len() {
        if bytes[index] != b'%' {
            index += 1;
            continue;
        }
        index += 1;
        // Mapping key `(name)`.
        if bytes.get(index) == Some(&b'(') {
            match bytes[index..].iter().position(|&b| b == b')') {
                Some(close) => index += close + 1,
                None => return false,
            }
        }
        while index < bytes.len() && (b"#0- +*.".contains(&bytes[index]) || bytes[index].is_ascii_digit() || b"hlL".contains(&bytes[index]))
        {
            index += 1;
        }
        let Some(&conversion) = bytes.get(index) else { return false };
        index += 1;
        match conversion {
            b'%' => {}
            b'r' | b'a' | b'd' | b'i' | b'u' | b'o' | b'x' | b'X' | b'e' | b'E' | b'f' | b'F' | b'g' | b'G' => conversions += 1,
            _ => return false,
        }
    }
    conversions > 0
}

/// Whether an f-string conversion (`!r`, `!a`, `!s`) writes `repr`/`ascii` of its value.
pub(super) fn conversion_is_newline_free(conversion: &str) -> bool {
    matches!(conversion.trim(), "!r" | "!a")
}

#[cfg(test)]
mod tests {
    use super::percent_format_is_newline_free;

    #[test]
    fn repr_and_numeric_conversions_write_no_line_break() {
        assert!(percent_format_is_newline_free("Bad request version (%r)"));
        assert!(percent_format_is_newline_free("%(name)r at %5.2f%% of %d"));
        assert!(percent_format_is_newline_free("%-08x and %a"));
        assert!(!percent_format_is_newline_free("Bad request (%s)"));
        assert!(!percent_format_is_newline_free("%r then %s"));
        assert!(!percent_format_is_newline_free("%c"));
        assert!(!percent_format_is_newline_free("100%"));
        assert!(!percent_format_is_newline_free("no conversion"));
        assert!(!percent_format_is_newline_free("%(unclosed"));
    }
}
