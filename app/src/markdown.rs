//! The Markdown of text panels, read into blocks and inline spans that the page renders as
//! elements (never as HTML text, so a panel's text cannot inject markup or script).
//!
//! The subset dashboard notes use: `#` headings, paragraphs, `-`/`*` and `1.` lists, fenced
//! code, `---` rules; `**bold**`, `*italic*`, `` `code` ``, and `[links](https://…)` to web
//! addresses or paths of this server.

/// Most characters a text panel holds.
pub const MAX_MARKDOWN_CHARS: usize = 20_000;

/// A block of text.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// `#` to `######`: the level and the text.
    Heading(u8, Vec<Inline>),
    /// Lines run together.
    Paragraph(Vec<Inline>),
    /// Items; `true` when numbered.
    List(bool, Vec<Vec<Inline>>),
    /// A fenced block, as written.
    Code(String),
    /// `---`.
    Rule,
}

/// A run of text inside a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// `**bold**`.
    Strong(String),
    /// `*italic*`.
    Emphasis(String),
    /// `` `code` ``.
    Code(String),
    /// The link's text and its address (checked by [`safe_href`]).
    Link(String, String),
}

/// Reads Markdown into blocks.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Option<(bool, Vec<Vec<Inline>>)> = None;
    let mut lines = text.lines();
    let flush = |paragraph: &mut Vec<&str>,
                 list: &mut Option<(bool, Vec<Vec<Inline>>)>,
                 blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(inline(&paragraph.join(" "))));
            paragraph.clear();
        }
        if let Some((numbered, items)) = list.take() {
            blocks.push(Block::List(numbered, items));
        }
    };
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            flush(&mut paragraph, &mut list, &mut blocks);
            let mut code = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                code.push(inner);
            }
            blocks.push(Block::Code(code.join("\n")));
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut list, &mut blocks);
        } else if let Some((level, heading)) = heading(trimmed) {
            flush(&mut paragraph, &mut list, &mut blocks);
            blocks.push(Block::Heading(level, inline(heading)));
        } else if trimmed.len() >= 3 && trimmed.chars().all(|c| c == '-') {
            flush(&mut paragraph, &mut list, &mut blocks);
            blocks.push(Block::Rule);
        } else if let Some((numbered, item)) = list_item(trimmed) {
            if !paragraph.is_empty() || list.as_ref().is_some_and(|(n, _)| *n != numbered) {
                flush(&mut paragraph, &mut list, &mut blocks);
            }
            list.get_or_insert_with(|| (numbered, Vec::new()))
                .1
                .push(inline(item));
        } else if let Some((_, items)) = list.as_mut().filter(|_| line.starts_with([' ', '\t'])) {
            // An indented line goes on with the list's last item.
            if let Some(last) = items.last_mut() {
                last.push(Inline::Text(" ".into()));
                last.extend(inline(trimmed));
            }
        } else {
            if list.is_some() {
                flush(&mut paragraph, &mut list, &mut blocks);
            }
            paragraph.push(trimmed);
        }
    }
    flush(&mut paragraph, &mut list, &mut blocks);
    blocks
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && rest.starts_with(' ')).then(|| (level as u8, rest.trim()))
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, rest.trim()));
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = line[digits..].strip_prefix(". ")?;
    (digits > 0).then(|| (true, rest.trim()))
}

/// Reads the spans of one block's text.
pub fn inline(text: &str) -> Vec<Inline> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let found = match c {
            '`' => delimited(rest, "`").map(|(inner, after)| (Inline::Code(inner.into()), after)),
            '*' if rest.starts_with("**") => {
                delimited(rest, "**").map(|(inner, after)| (Inline::Strong(inner.into()), after))
            }
            // Single stars only: underscores are part of field names (`log_status`).
            '*' => delimited(rest, "*")
                .filter(|(inner, _)| !inner.starts_with(' '))
                .map(|(inner, after)| (Inline::Emphasis(inner.into()), after)),
            '[' => link(rest),
            _ => None,
        };
        match found {
            Some((span, after)) => {
                if !plain.is_empty() {
                    spans.push(Inline::Text(std::mem::take(&mut plain)));
                }
                spans.push(span);
                rest = after;
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        spans.push(Inline::Text(plain));
    }
    spans
}

/// `text` starting with `mark`, up to the next `mark`: the inside and what follows.
fn delimited<'a>(text: &'a str, mark: &str) -> Option<(&'a str, &'a str)> {
    let body = text.strip_prefix(mark)?;
    let end = body.find(mark)?;
    (end > 0).then(|| (&body[..end], &body[end + mark.len()..]))
}

/// Longest link text and address read, so a note full of unclosed `[` stays linear to read.
const MAX_LABEL: usize = 500;
const MAX_HREF: usize = 2048;

/// `[label](href)` at the start of `text`: the label ends at the first `]` (no `[` inside),
/// which `(` must follow at once; the address has no spaces.
fn link(text: &str) -> Option<(Inline, &str)> {
    let body = &text[1..];
    let close = body.find(['[', ']']).filter(|&i| i <= MAX_LABEL)?;
    let after = body[close..].strip_prefix("](")?;
    let end = after
        .find(|c: char| c == ')' || c.is_whitespace())
        .filter(|&i| i <= MAX_HREF)?;
    after[end..].starts_with(')').then(|| {
        (
            Inline::Link(body[..close].to_owned(), after[..end].to_owned()),
            &after[end + 1..],
        )
    })
}

/// The address a link may open: web addresses and this server's paths. Anything else
/// (`javascript:`, `data:`) is no link at all.
pub fn safe_href(href: &str) -> Option<&str> {
    let lower = href.to_ascii_lowercase();
    (lower.starts_with("mailto:") || is_web_address(href)).then_some(href)
}

/// A web address (`https://`, `http://`) or a path of this server (`/…`, never `//host`
/// nor `/\host`, which browsers read as another host), with no spaces, control
/// characters or backslashes that browsers would quietly drop or reinterpret.
pub fn is_web_address(href: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    let plain = !href
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    plain
        && (lower.starts_with("https://")
            || lower.starts_with("http://")
            || (href.starts_with('/') && !href.starts_with("//")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn blocks_of_a_dashboard_note() {
        let note = "# Edge traffic\n\nRejected flows on **22** and *3389* are\nscanners.\n\n- first\n- second `x`\n  continued\n1. one\n2. two\n\n---\n```\nsrcaddr:10.0.0.0/8 *\n```\n#not a heading";
        assert_eq!(
            parse(note),
            vec![
                Block::Heading(1, vec![text("Edge traffic")]),
                Block::Paragraph(vec![
                    text("Rejected flows on "),
                    Inline::Strong("22".into()),
                    text(" and "),
                    Inline::Emphasis("3389".into()),
                    text(" are scanners."),
                ]),
                Block::List(
                    false,
                    vec![
                        vec![text("first")],
                        vec![
                            text("second "),
                            Inline::Code("x".into()),
                            text(" "),
                            text("continued")
                        ],
                    ]
                ),
                Block::List(true, vec![vec![text("one")], vec![text("two")]]),
                Block::Rule,
                Block::Code("srcaddr:10.0.0.0/8 *".into()),
                Block::Paragraph(vec![text("#not a heading")]),
            ]
        );
    }

    #[test]
    fn links_open_only_web_addresses_and_markup_stays_text() {
        assert_eq!(
            inline("see [runbook](https://wiki.example/vpc) or [flows](/discover)"),
            vec![
                text("see "),
                Inline::Link("runbook".into(), "https://wiki.example/vpc".into()),
                text(" or "),
                Inline::Link("flows".into(), "/discover".into()),
            ]
        );
        // A label ends at its first `]`: brackets before a link stay text.
        assert_eq!(
            inline("[a] or [b](/x)"),
            vec![text("[a] or "), Inline::Link("b".into(), "/x".into())]
        );
        assert_eq!(inline("[a](/no end"), vec![text("[a](/no end")]);
        // Many unclosed brackets read in linear time, as text.
        let brackets = "[".repeat(20_000);
        assert_eq!(inline(&brackets), vec![text(&brackets)]);
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "//evil.example",
            "/\\evil.example",
            "/a path",
            "https://x.example/\tpath",
            "java\nscript:alert(1)",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
        assert_eq!(safe_href("/dashboards"), Some("/dashboards"));
        // Markup is text: the page renders it as such.
        assert_eq!(
            parse("<script>alert(1)</script>"),
            vec![Block::Paragraph(vec![text("<script>alert(1)</script>")])]
        );
        // Unclosed marks, a lone star, multibyte text: read as they are, no panic.
        assert_eq!(inline("5 * 3 **"), vec![text("5 * 3 **")]);
        assert_eq!(inline("ü*ñ"), vec![text("ü*ñ")]);
        assert_eq!(inline("log_status_x"), vec![text("log_status_x")]);
        assert_eq!(inline("[x](y"), vec![text("[x](y")]);
    }
}
