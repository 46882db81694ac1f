//! Lucene query syntax, as `query_string` takes it: `field:value`, `"phrases"`, `AND` / `OR` /
//! `NOT` (and `&&`, `||`, `!`, `+`, `-`), parentheses, ranges (`[a TO b]`, `{a TO *]`,
//! `>=10`), wildcards (`eni-0a*`), `_exists_:field`, and CIDR blocks on address fields
//! (`srcaddr:10.0.0.0/8`). A value without a field searches the raw record (`@message`).

use serde_json::Value as Json;

use super::query::ast::{BoolQuery, Query, RangeSpec};
use super::SearchError;

/// Parser settings from the `query_string` object.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Field of values written without one; `None` searches `@message`.
    pub default_field: Option<String>,
    /// `default_operator: AND`.
    pub default_and: bool,
}

/// The field bare values search when no default field is given.
const MESSAGE: &str = "@message";

/// How deep groups and negations may nest: the parser recurses, and so does everything that
/// walks the query it builds.
pub const MAX_DEPTH: usize = 32;

/// Parses a Lucene query string into a [`Query`]; an empty string is [`Query::MatchAll`]. A
/// syntax error, or nesting deeper than [`MAX_DEPTH`], is a [`SearchError::Parsing`]; syntax
/// the engine does not implement (regular expressions, fuzzy terms) is
/// [`SearchError::Unsupported`].
pub fn parse(text: &str, options: &Options) -> Result<Query, SearchError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        position: 0,
        depth: 0,
        options,
    };
    parser.skip_spaces();
    if parser.at_end() {
        return Ok(Query::MatchAll);
    }
    let query = parser.parse_or(None)?;
    parser.skip_spaces();
    if !parser.at_end() {
        return Err(parser.error(&format!("unexpected `{}`", parser.chars[parser.position])));
    }
    Ok(query)
}

struct Parser<'a> {
    chars: Vec<char>,
    position: usize,
    /// Groups and negations open around the position.
    depth: usize,
    options: &'a Options,
}

enum Operator {
    And,
    Or,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> SearchError {
        SearchError::parsing(format!(
            "Failed to parse query [{}]: {what} at position {}",
            self.chars.iter().collect::<String>(),
            self.position
        ))
    }

    /// Enters a group or negation, refusing to go deeper than [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), SearchError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!(
                "groups and negations nest deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    /// Whether the upcoming word is `word` followed by a boundary.
    fn next_is_word(&self, word: &str) -> bool {
        let end = self.position + word.chars().count();
        self.chars.len() >= end
            && self.chars[self.position..end]
                .iter()
                .copied()
                .eq(word.chars())
            && self
                .chars
                .get(end)
                .is_none_or(|c| c.is_whitespace() || *c == '(' || *c == '"')
    }

    fn next_operator(&self) -> Option<(Operator, usize)> {
        if self.next_is_word("AND") {
            Some((Operator::And, 3))
        } else if self.next_is_word("OR") {
            Some((Operator::Or, 2))
        } else if self.chars[self.position..].starts_with(&['&', '&']) {
            Some((Operator::And, 2))
        } else if self.chars[self.position..].starts_with(&['|', '|']) {
            Some((Operator::Or, 2))
        } else {
            None
        }
    }

    fn starts_clause(&self) -> bool {
        self.peek().is_some_and(|c| c != ')') && self.next_operator().is_none()
    }

    fn parse_or(&mut self, field: Option<&str>) -> Result<Query, SearchError> {
        let mut clauses = vec![self.parse_and(field)?];
        loop {
            self.skip_spaces();
            if self.at_end() {
                break;
            }
            match self.next_operator() {
                Some((Operator::Or, length)) => {
                    self.position += length;
                    self.skip_spaces();
                    clauses.push(self.parse_and(field)?);
                }
                None if !self.options.default_and && self.starts_clause() => {
                    clauses.push(self.parse_and(field)?)
                }
                _ => break,
            }
        }
        Ok(if clauses.len() == 1 {
            clauses.pop().expect("one clause")
        } else {
            Query::Bool(BoolQuery {
                should: clauses,
                ..BoolQuery::default()
            })
        })
    }

    fn parse_and(&mut self, field: Option<&str>) -> Result<Query, SearchError> {
        let mut clauses = vec![self.parse_unary(field)?];
        loop {
            self.skip_spaces();
            if self.at_end() {
                break;
            }
            match self.next_operator() {
                Some((Operator::And, length)) => {
                    self.position += length;
                    self.skip_spaces();
                    clauses.push(self.parse_unary(field)?);
                }
                None if self.options.default_and && self.starts_clause() => {
                    clauses.push(self.parse_unary(field)?)
                }
                _ => break,
            }
        }
        if clauses.len() == 1 {
            return Ok(clauses.pop().expect("one clause"));
        }
        // Negations inside a conjunction are exclusions of it.
        let mut query = BoolQuery::default();
        for clause in clauses {
            match clause {
                Query::Bool(BoolQuery {
                    must_not,
                    must,
                    filter,
                    should,
                    ..
                }) if !must_not.is_empty()
                    && must.is_empty()
                    && should.is_empty()
                    && filter == [Query::MatchAll] =>
                {
                    query.must_not.extend(must_not)
                }
                other => query.filter.push(other),
            }
        }
        if query.filter.is_empty() {
            query.filter.push(Query::MatchAll);
        }
        Ok(Query::Bool(query))
    }

    fn parse_unary(&mut self, field: Option<&str>) -> Result<Query, SearchError> {
        self.skip_spaces();
        let negated = if self.next_is_word("NOT") {
            self.position += 3;
            true
        } else if matches!(self.peek(), Some('!' | '-')) {
            self.position += 1;
            true
        } else {
            if self.peek() == Some('+') {
                self.position += 1;
            }
            false
        };
        if negated {
            self.descend()?;
            let inner = self.parse_unary(field)?;
            self.depth -= 1;
            return Ok(Query::Bool(BoolQuery {
                filter: vec![Query::MatchAll],
                must_not: vec![inner],
                ..BoolQuery::default()
            }));
        }
        self.parse_primary(field)
    }

    fn parse_primary(&mut self, field: Option<&str>) -> Result<Query, SearchError> {
        self.skip_spaces();
        match self.peek() {
            None => Err(self.error("expected a value")),
            Some('(') => {
                self.position += 1;
                self.descend()?;
                let inner = self.parse_or(field)?;
                self.depth -= 1;
                self.skip_spaces();
                if self.peek() != Some(')') {
                    return Err(self.error("missing `)`"));
                }
                self.position += 1;
                self.skip_boost()?;
                Ok(inner)
            }
            Some('"') => {
                let phrase = self.read_phrase()?;
                self.skip_boost()?;
                Ok(self.value_query(field, Value::Phrase(phrase)))
            }
            Some('[' | '{') => {
                let range = self.read_range(field)?;
                Ok(range)
            }
            Some('>' | '<') => self.read_comparison(field),
            Some('/') => Err(SearchError::unsupported("regular expressions (`/.../`) in query strings are not supported by the embedded engine")),
            Some(_) => {
                let (word, had_wildcard) = self.read_term()?;
                if word.is_empty() {
                    return Err(self.error("expected a value"));
                }
                if self.peek() == Some(':') && field.is_none() {
                    self.position += 1;
                    self.skip_spaces();
                    if word == "_exists_" {
                        let (name, _) = self.read_term()?;
                        return Ok(Query::Exists { field: name });
                    }
                    if word.contains('*') {
                        return Err(SearchError::unsupported(format!("field name patterns (`{word}`) are not supported")));
                    }
                    return self.parse_unary_value(&word);
                }
                self.skip_boost()?;
                Ok(self.value_query(field, if had_wildcard { Value::Wildcard(word) } else { Value::Term(word) }))
            }
        }
    }

    /// The value after `field:`: a term, phrase, range, comparison or group.
    fn parse_unary_value(&mut self, field: &str) -> Result<Query, SearchError> {
        match self.peek() {
            Some('(') => {
                self.position += 1;
                self.descend()?;
                let inner = self.parse_or(Some(field))?;
                self.depth -= 1;
                self.skip_spaces();
                if self.peek() != Some(')') {
                    return Err(self.error("missing `)`"));
                }
                self.position += 1;
                Ok(inner)
            }
            None => Err(self.error(&format!("expected a value for field `{field}`"))),
            _ => self.parse_primary(Some(field)),
        }
    }

    fn skip_boost(&mut self) -> Result<(), SearchError> {
        match self.peek() {
            Some('^') => {
                self.position += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.position += 1;
                }
                Ok(())
            }
            Some('~') => Err(SearchError::unsupported(
                "fuzzy and proximity queries (`~`) are not supported by the embedded engine",
            )),
            _ => Ok(()),
        }
    }

    /// A term up to a special character; backslash escapes. Reports unescaped wildcards.
    fn read_term(&mut self) -> Result<(String, bool), SearchError> {
        let mut word = String::new();
        let mut wildcard = false;
        while let Some(c) = self.peek() {
            match c {
                '\\' => {
                    self.position += 1;
                    let escaped = self.peek().ok_or_else(|| self.error("dangling `\\`"))?;
                    word.push(escaped);
                    self.position += 1;
                }
                c if c.is_whitespace() || "():\"[]{}^~".contains(c) => break,
                '*' | '?' => {
                    wildcard = true;
                    word.push(c);
                    self.position += 1;
                }
                c => {
                    word.push(c);
                    self.position += 1;
                }
            }
        }
        Ok((word, wildcard))
    }

    fn read_phrase(&mut self) -> Result<String, SearchError> {
        self.position += 1;
        let mut phrase = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated phrase")),
                Some('"') => {
                    self.position += 1;
                    return Ok(phrase);
                }
                Some('\\') => {
                    self.position += 1;
                    if let Some(c) = self.peek() {
                        phrase.push(c);
                        self.position += 1;
                    }
                }
                Some(c) => {
                    phrase.push(c);
                    self.position += 1;
                }
            }
        }
    }

    fn read_range(&mut self, field: Option<&str>) -> Result<Query, SearchError> {
        let field = field
            .ok_or_else(|| self.error("a range needs a field (`field:[a TO b]`)"))?
            .to_owned();
        let inclusive_low = self.peek() == Some('[');
        self.position += 1;
        self.skip_spaces();
        let low = self.read_bound()?;
        self.skip_spaces();
        if !self.next_is_word("TO") {
            return Err(self.error("expected `TO` in range"));
        }
        self.position += 2;
        self.skip_spaces();
        let high = self.read_bound()?;
        self.skip_spaces();
        let inclusive_high = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => return Err(self.error("expected `]` or `}` to close the range")),
        };
        self.position += 1;
        let mut range = RangeSpec {
            field,
            ..RangeSpec::default()
        };
        if let Some(low) = low {
            if inclusive_low {
                range.gte = Some(low);
            } else {
                range.gt = Some(low);
            }
        }
        if let Some(high) = high {
            if inclusive_high {
                range.lte = Some(high);
            } else {
                range.lt = Some(high);
            }
        }
        Ok(Query::Range(range))
    }

    /// A range bound: `*` for open, a quoted string, or a term; backslash escapes, as
    /// Lucene's parser reads them (`\*` is a star, not an open end).
    fn read_bound(&mut self) -> Result<Option<Json>, SearchError> {
        if self.peek() == Some('"') {
            return Ok(Some(Json::String(self.read_phrase()?)));
        }
        let mut word = String::new();
        let mut escaped_any = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ']' || c == '}' {
                break;
            }
            self.position += 1;
            if c == '\\' {
                let escaped = self.peek().ok_or_else(|| self.error("dangling `\\`"))?;
                word.push(escaped);
                escaped_any = true;
                self.position += 1;
            } else {
                word.push(c);
            }
        }
        if word.is_empty() {
            return Err(self.error("expected a range bound"));
        }
        Ok((escaped_any || word != "*").then_some(Json::String(word)))
    }

    fn read_comparison(&mut self, field: Option<&str>) -> Result<Query, SearchError> {
        let field = field
            .ok_or_else(|| self.error("a comparison needs a field (`field:>=10`)"))?
            .to_owned();
        let op: String = [
            self.chars[self.position],
            *self.chars.get(self.position + 1).unwrap_or(&' '),
        ]
        .iter()
        .collect();
        let (op, length) = if op == ">=" || op == "<=" {
            (op, 2)
        } else {
            (op[..1].to_owned(), 1)
        };
        self.position += length;
        let (word, _) = self.read_term()?;
        if word.is_empty() {
            return Err(self.error("expected a value after the comparison"));
        }
        let value = Some(Json::String(word));
        let mut range = RangeSpec {
            field,
            ..RangeSpec::default()
        };
        match op.as_str() {
            ">=" => range.gte = value,
            ">" => range.gt = value,
            "<=" => range.lte = value,
            _ => range.lt = value,
        }
        Ok(Query::Range(range))
    }

    fn value_query(&self, field: Option<&str>, value: Value) -> Query {
        let field = field
            .map(str::to_owned)
            .or_else(|| self.options.default_field.clone());
        match (field, value) {
            (None, Value::Term(t)) | (None, Value::Phrase(t)) => Query::MatchPhrase {
                field: MESSAGE.to_owned(),
                text: t,
            },
            (None, Value::Wildcard(w)) if w == "*" => Query::MatchAll,
            (None, Value::Wildcard(w)) => Query::Wildcard {
                field: MESSAGE.to_owned(),
                pattern: w.to_lowercase(),
            },
            (Some(f), Value::Wildcard(w)) if w == "*" => Query::Exists { field: f },
            (Some(f), Value::Wildcard(w)) => Query::Wildcard {
                field: f,
                pattern: w,
            },
            (Some(f), Value::Term(t)) => Query::Match {
                field: f,
                text: t,
                all_terms: true,
            },
            (Some(f), Value::Phrase(t)) => Query::MatchPhrase { field: f, text: t },
        }
    }
}

enum Value {
    Term(String),
    Phrase(String),
    Wildcard(String),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn q(text: &str) -> Query {
        parse(text, &Options::default()).unwrap()
    }

    fn m(field: &str, text: &str) -> Query {
        Query::Match {
            field: field.into(),
            text: text.into(),
            all_terms: true,
        }
    }

    #[test]
    fn fields_operators_and_groups() {
        assert_eq!(q(""), Query::MatchAll);
        assert_eq!(q("*"), Query::MatchAll);
        assert_eq!(q("action:REJECT"), m("action", "REJECT"));
        assert_eq!(
            q("action:REJECT AND dstport:22"),
            Query::Bool(BoolQuery {
                filter: vec![m("action", "REJECT"), m("dstport", "22")],
                ..Default::default()
            })
        );
        assert_eq!(
            q("dstport:(22 OR 3389)"),
            Query::Bool(BoolQuery {
                should: vec![m("dstport", "22"), m("dstport", "3389")],
                ..Default::default()
            })
        );
        // AND binds tighter than OR; a space is OR by default.
        let Query::Bool(b) = q("a:1 b:2 AND c:3") else {
            panic!()
        };
        assert_eq!(b.should.len(), 2);
        assert!(matches!(&b.should[1], Query::Bool(inner) if inner.filter.len() == 2));
    }

    #[test]
    fn negation_and_exclusion() {
        let Query::Bool(b) = q("action:ACCEPT AND NOT dstport:443") else {
            panic!()
        };
        assert_eq!(b.filter, vec![m("action", "ACCEPT")]);
        assert_eq!(b.must_not, vec![m("dstport", "443")]);
        let Query::Bool(b) = q("-srcaddr:10.0.0.0/8") else {
            panic!()
        };
        assert_eq!(b.must_not, vec![m("srcaddr", "10.0.0.0/8")]);
    }

    #[test]
    fn ranges_comparisons_phrases_wildcards() {
        assert_eq!(
            q("bytes:[1000 TO *]"),
            Query::Range(RangeSpec {
                field: "bytes".into(),
                gte: Some(json!("1000")),
                ..Default::default()
            })
        );
        assert_eq!(
            q("@timestamp:{now-1h TO now]"),
            Query::Range(RangeSpec {
                field: "@timestamp".into(),
                gt: Some(json!("now-1h")),
                lte: Some(json!("now")),
                ..Default::default()
            })
        );
        // Escapes in a bound are read as Lucene reads them.
        assert_eq!(
            q(r"@timestamp:[n\ow-1h TO \*]"),
            Query::Range(RangeSpec {
                field: "@timestamp".into(),
                gte: Some(json!("now-1h")),
                lte: Some(json!("*")),
                ..Default::default()
            })
        );
        assert_eq!(
            q("dstport:>=1024"),
            Query::Range(RangeSpec {
                field: "dstport".into(),
                gte: Some(json!("1024")),
                ..Default::default()
            })
        );
        assert_eq!(
            q("interface_id:eni-0a*"),
            Query::Wildcard {
                field: "interface_id".into(),
                pattern: "eni-0a*".into()
            }
        );
        assert_eq!(
            q("action:*"),
            Query::Exists {
                field: "action".into()
            }
        );
        assert_eq!(
            q("\"10.0.0.5 443\""),
            Query::MatchPhrase {
                field: "@message".into(),
                text: "10.0.0.5 443".into()
            }
        );
        assert_eq!(
            q("_exists_:vpc_id"),
            Query::Exists {
                field: "vpc_id".into()
            }
        );
        assert_eq!(
            q("REJECT"),
            Query::MatchPhrase {
                field: "@message".into(),
                text: "REJECT".into()
            }
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let error = parse("action:(ACCEPT", &Options::default()).unwrap_err();
        assert!(error.to_string().contains("missing `)`"), "{error}");
        let error = parse("dstport:22~2", &Options::default()).unwrap_err();
        assert!(error.to_string().contains("fuzzy"), "{error}");
        let error = parse("bytes:[1 TO", &Options::default()).unwrap_err();
        assert!(error.to_string().contains("range"), "{error}");
    }
}
