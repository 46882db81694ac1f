//! CSV cells and lines, for every CSV flowdash writes: Discover's export on the server and
//! Inspect's download in the browser.

/// A cell as CSV writes it: quoted when it holds a separator, a quote or a line break; and a
/// text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
/// return first) is prefixed with `'`, as OWASP advises and Kibana does.
pub fn cell(text: &str, is_text: bool) -> String {
    let escaped = if is_text && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if escaped.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", escaped.replace('"', "\"\""))
    } else {
        escaped
    }
}

/// One CSV line of `(text, is_text)` cells, ending in CRLF as RFC 4180 has it.
pub fn line<S: AsRef<str>>(cells: impl IntoIterator<Item = (S, bool)>) -> String {
    let mut line = cells
        .into_iter()
        .map(|(text, is_text)| cell(text.as_ref(), is_text))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain", true), "plain");
        assert_eq!(cell("a,b", true), "\"a,b\"");
        assert_eq!(cell("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines", true), "\"two\nlines\"");
        assert_eq!(
            cell("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(cell("+1", true), "'+1");
        assert_eq!(cell("@SUM(A1)", true), "'@SUM(A1)");
        assert_eq!(cell("-5", false), "-5", "numbers are numbers");
        assert_eq!(cell("-cmd", true), "'-cmd");
        assert_eq!(line([("a", true), ("1", false)]), "a,1\r\n");
    }
}
