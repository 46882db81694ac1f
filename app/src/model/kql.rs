//! KQL, the Kibana query language, turned into Elasticsearch DSL in the browser (as Kibana
//! does), so the same query works on a cluster and on the embedded engine:
//! `action:REJECT and not dstport:(22 or 3389)`, `bytes >= 1000`, `srcaddr:10.0.*`,
//! `vpc_id:*`, `"quoted values"`, parentheses.

use serde_json::{json, Value};

/// A query that does not parse, with where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("KQL: {reason} at character {position}")]
pub struct KqlError {
    /// What is wrong.
    pub reason: String,
    /// The character (0-based) where it was found.
    pub position: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    LParen,
    RParen,
    Colon,
    Compare(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, KqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((Token::LParen, start));
                i += 1
            }
            ')' => {
                tokens.push((Token::RParen, start));
                i += 1
            }
            ':' => {
                tokens.push((Token::Colon, start));
                i += 1
            }
            '<' | '>' => {
                let op = match (c, chars.get(i + 1)) {
                    ('<', Some('=')) => "lte",
                    ('>', Some('=')) => "gte",
                    ('<', _) => "lt",
                    _ => "gt",
                };
                i += if op.len() == 3 { 2 } else { 1 };
                tokens.push((Token::Compare(op), start));
            }
            '"' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(KqlError {
                                reason: "unterminated quote".into(),
                                position: start,
                            })
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            if let Some(next) = chars.get(i + 1) {
                                value.push(*next);
                            }
                            i += 2;
                        }
                        Some(c) => {
                            value.push(*c);
                            i += 1;
                        }
                    }
                }
                tokens.push((Token::Quoted(value), start));
            }
            _ => {
                let mut word = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    if c.is_whitespace() || "():<>\"".contains(c) {
                        break;
                    }
                    if c == '\\' && i + 1 < chars.len() {
                        word.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    word.push(c);
                    i += 1;
                }
                tokens.push((Token::Word(word), start));
            }
        }
    }
    Ok(tokens)
}

/// How deep groups and `not`s may nest. Parsing recurses, and every level adds a `bool` to
/// the query the server parses again (which refuses bodies nested over 100 levels).
pub const MAX_DEPTH: usize = 20;

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    length: usize,
    /// Groups and `not`s open around the current token.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.length, |(_, p)| *p)
    }

    fn error(&self, reason: &str) -> KqlError {
        KqlError {
            reason: reason.to_owned(),
            position: self.position(),
        }
    }

    /// Enters a group or `not`, refusing to go deeper than [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), KqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!(
                "groups and `not`s nest deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, field: Option<&str>) -> Result<Value, KqlError> {
        let mut clauses = vec![self.and(field)?];
        while self.keyword("or") {
            self.at += 1;
            clauses.push(self.and(field)?);
        }
        Ok(if clauses.len() == 1 {
            clauses.remove(0)
        } else {
            json!({ "bool": { "should": clauses, "minimum_should_match": 1 } })
        })
    }

    fn and(&mut self, field: Option<&str>) -> Result<Value, KqlError> {
        let mut clauses = vec![self.not(field)?];
        while self.keyword("and") {
            self.at += 1;
            clauses.push(self.not(field)?);
        }
        Ok(if clauses.len() == 1 {
            clauses.remove(0)
        } else {
            json!({ "bool": { "filter": clauses } })
        })
    }

    fn not(&mut self, field: Option<&str>) -> Result<Value, KqlError> {
        if self.keyword("not") {
            self.at += 1;
            self.descend()?;
            let inner = self.not(field)?;
            self.depth -= 1;
            return Ok(json!({ "bool": { "must_not": [inner] } }));
        }
        self.primary(field)
    }

    fn primary(&mut self, field: Option<&str>) -> Result<Value, KqlError> {
        match self.peek().cloned() {
            None => Err(self.error("expected a query")),
            Some(Token::LParen) => {
                self.at += 1;
                self.descend()?;
                let inner = self.or(field)?;
                self.depth -= 1;
                if self.peek() != Some(&Token::RParen) {
                    return Err(self.error("missing `)`"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) if field.is_none() => {
                self.at += 1;
                match self.peek().cloned() {
                    Some(Token::Colon) => {
                        self.at += 1;
                        if self.peek() == Some(&Token::LParen) {
                            self.at += 1;
                            self.descend()?;
                            let inner = self.or(Some(&word))?;
                            self.depth -= 1;
                            if self.peek() != Some(&Token::RParen) {
                                return Err(self.error("missing `)`"));
                            }
                            self.at += 1;
                            return Ok(inner);
                        }
                        self.value(&word)
                    }
                    Some(Token::Compare(op)) => {
                        self.at += 1;
                        let value = match self.peek().cloned() {
                            Some(Token::Word(v)) | Some(Token::Quoted(v)) => v,
                            _ => return Err(self.error("expected a value after the comparison")),
                        };
                        self.at += 1;
                        Ok(json!({ "range": { word: { op: typed(&value) } } }))
                    }
                    _ => Ok(free_text(&word)),
                }
            }
            Some(Token::Quoted(text)) if field.is_none() => {
                self.at += 1;
                Ok(free_text(&text))
            }
            Some(Token::Word(_)) | Some(Token::Quoted(_)) => self.value(field.unwrap_or_default()),
            Some(_) => Err(self.error("unexpected symbol")),
        }
    }

    /// The value after `field:`.
    fn value(&mut self, field: &str) -> Result<Value, KqlError> {
        let (token, position) = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| self.error("expected a value"))?;
        self.at += 1;
        Ok(match token {
            Token::Word(word) if word == "*" => json!({ "exists": { "field": field } }),
            Token::Word(word) if word.contains('*') => {
                json!({ "query_string": { "query": format!("{}:{}", escape_field(field), escape_wildcard(&word)), "analyze_wildcard": true } })
            }
            Token::Word(word) | Token::Quoted(word)
                if super::names::numbers_for(field, &word).is_some() =>
            {
                let numbers = named(field, &word, position)?;
                let phrases: Vec<Value> = numbers
                    .iter()
                    .map(|n| json!({ "match_phrase": { field: n } }))
                    .collect();
                match <[Value; 1]>::try_from(phrases) {
                    Ok([one]) => one,
                    Err(several) => {
                        json!({ "bool": { "should": several, "minimum_should_match": 1 } })
                    }
                }
            }
            Token::Word(word) => json!({ "match_phrase": { field: typed(&word) } }),
            Token::Quoted(text) => json!({ "match_phrase": { field: text } }),
            _ => {
                return Err(KqlError {
                    reason: "expected a value".into(),
                    position,
                })
            }
        })
    }
}

/// The numbers a port or protocol name (`ssh`, `udp`) stands for, or why it stands for none.
fn named(field: &str, text: &str, position: usize) -> Result<Vec<u16>, KqlError> {
    match super::names::numbers_for(field, text) {
        Some(Ok(numbers)) => Ok(numbers),
        Some(Err(unknown)) => Err(KqlError {
            reason: unknown.to_string(),
            position,
        }),
        None => Ok(Vec::new()),
    }
}

/// Numbers stay numbers (`dstport:22`); the rest are strings.
fn typed(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => json!(text),
    }
}

/// A value without a field searches every field, as Kibana's KQL does.
fn free_text(text: &str) -> Value {
    json!({ "query_string": { "query": format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")) } })
}

fn escape_field(field: &str) -> String {
    field.replace('@', "\\@")
}

fn escape_wildcard(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '*' => "*".to_owned(),
            c if "+-=&|><!(){}[]^\"~?:\\/ ".contains(c) => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

/// Parses KQL into a query object.
pub fn to_dsl(text: &str) -> Result<Value, KqlError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        length: text.chars().count(),
        depth: 0,
    };
    let query = parser.or(None)?;
    if parser.at < parser.tokens.len() {
        return Err(parser.error("unexpected text"));
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_operators() {
        assert_eq!(
            to_dsl("action:REJECT").unwrap(),
            json!({ "match_phrase": { "action": "REJECT" } })
        );
        assert_eq!(
            to_dsl("dstport:22").unwrap(),
            json!({ "match_phrase": { "dstport": 22 } })
        );
        assert_eq!(
            to_dsl("action:REJECT and not dstport:(22 or 3389)").unwrap(),
            json!({ "bool": { "filter": [
                { "match_phrase": { "action": "REJECT" } },
                { "bool": { "must_not": [ { "bool": { "should": [
                    { "match_phrase": { "dstport": 22 } }, { "match_phrase": { "dstport": 3389 } }
                ], "minimum_should_match": 1 } } ] } }
            ] } })
        );
        assert_eq!(
            to_dsl("bytes >= 1000").unwrap(),
            json!({ "range": { "bytes": { "gte": 1000 } } })
        );
        assert_eq!(
            to_dsl("vpc_id:*").unwrap(),
            json!({ "exists": { "field": "vpc_id" } })
        );
        assert_eq!(
            to_dsl("srcaddr:\"10.0.0.0/8\"").unwrap(),
            json!({ "match_phrase": { "srcaddr": "10.0.0.0/8" } })
        );
        assert_eq!(
            to_dsl("interface_id:eni-0a*").unwrap()["query_string"]["query"],
            json!("interface_id:eni\\-0a*")
        );
        assert_eq!(
            to_dsl("REJECT").unwrap()["query_string"]["query"],
            json!("\"REJECT\"")
        );
    }

    #[test]
    fn ports_and_protocols_can_be_named() {
        assert_eq!(
            to_dsl("dstport:ssh").unwrap(),
            to_dsl("dstport:22").unwrap()
        );
        assert_eq!(
            to_dsl("dstport:(ssh or rdp)").unwrap(),
            to_dsl("dstport:(22 or 3389)").unwrap()
        );
        assert_eq!(
            to_dsl("not protocol:udp").unwrap(),
            to_dsl("not protocol:17").unwrap()
        );
        assert_eq!(
            to_dsl("srcport:\"HTTPS\"").unwrap(),
            to_dsl("srcport:443").unwrap()
        );
        // A name on several ports matches any of them.
        assert_eq!(
            to_dsl("dstport:http-alt").unwrap(),
            to_dsl("dstport:(591 or 8080)").unwrap()
        );
        // Other fields keep their words; unknown names say which and where.
        assert_eq!(
            to_dsl("action:ssh").unwrap(),
            json!({ "match_phrase": { "action": "ssh" } })
        );
        let error = to_dsl("action:REJECT and dstport:sshh").unwrap_err();
        assert_eq!(error.reason, "unknown service name `sshh` for dstport");
        assert_eq!(error.position, 26);
        let error = to_dsl("protocol:tcpp").unwrap_err();
        assert_eq!(error.reason, "unknown protocol name `tcpp` for protocol");
    }

    #[test]
    fn nesting_is_bounded() {
        let within = format!(
            "{}action:ACCEPT{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(to_dsl(&within).is_ok());
        for deep in [
            format!("{}action:ACCEPT{}", "(".repeat(1920), ")".repeat(1920)),
            format!("{}action:ACCEPT", "not ".repeat(MAX_DEPTH + 1)),
            format!(
                "dstport:{}22{}",
                "(".repeat(MAX_DEPTH + 1),
                ")".repeat(MAX_DEPTH + 1)
            ),
        ] {
            let error = to_dsl(&deep).unwrap_err();
            assert!(error.reason.contains("nest deeper than"), "{error}");
        }
    }

    #[test]
    fn errors_say_where() {
        let error = to_dsl("action:(ACCEPT or").unwrap_err();
        assert_eq!(error.position, 17);
        assert!(to_dsl("action:\"open").is_err());
        assert!(to_dsl("a:b )").is_err());
    }
}
