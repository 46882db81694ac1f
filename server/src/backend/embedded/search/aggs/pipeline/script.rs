//! The scripts of `bucket_script` and `bucket_selector`: the expressions people write in
//! them, not all of Painless. Variables are the pipeline's `buckets_path` names and the
//! script's `params`, written `params.name`, `params['name']` or (the `expression`
//! language) `name`; numbers, `true`, `false`, `null`; `+ - * / %`, comparisons, `! && ||`,
//! `?:`, parentheses, and `Math.abs/ceil/exp/floor/log/log10/max/min/pow/round/sqrt`. An
//! optional `return` and `;` are accepted. Anything else is refused by name when the request
//! is parsed, never misread.
//!
//! Values follow Painless: bucket values are doubles, integer literals stay integers until
//! they meet a double, a comparison with NaN (a gap) is false.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::super::super::SearchError;

/// A parsed script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    source: String,
    expr: Expr,
    /// The script's `params`, visible beside the bucket values.
    params: Vec<(String, Value)>,
}

/// A value while a script runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Double(f64),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Literal(Value),
    Var(String),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(MathFunction, Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Eq,
    NotEq,
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum MathFunction {
    Abs,
    Ceil,
    Exp,
    Floor,
    Log,
    Log10,
    Max,
    Min,
    Pow,
    Round,
    Sqrt,
}

impl MathFunction {
    fn parse(name: &str) -> Option<(MathFunction, usize)> {
        Some(match name {
            "abs" => (MathFunction::Abs, 1),
            "ceil" => (MathFunction::Ceil, 1),
            "exp" => (MathFunction::Exp, 1),
            "floor" => (MathFunction::Floor, 1),
            "log" => (MathFunction::Log, 1),
            "log10" => (MathFunction::Log10, 1),
            "max" => (MathFunction::Max, 2),
            "min" => (MathFunction::Min, 2),
            "pow" => (MathFunction::Pow, 2),
            "round" => (MathFunction::Round, 1),
            "sqrt" => (MathFunction::Sqrt, 1),
            _ => return None,
        })
    }
}

/// The deepest nesting a script may have: a parser that recurses must stop somewhere.
const MAX_DEPTH: usize = 64;

/// The longest script accepted.
const MAX_SOURCE_BYTES: usize = 4096;

impl Script {
    /// Reads a `script`: its source as a string, or an object with `source` (or `inline`),
    /// `lang` (`painless` or `expression`) and `params`.
    pub fn parse(pipeline_type: &str, script: Option<&Json>) -> Result<Script, SearchError> {
        let (source, params) = match script {
            Some(Json::String(source)) => (source.as_str(), None),
            Some(Json::Object(o)) => {
                if let Some(lang) = o.get("lang").and_then(Json::as_str) {
                    if lang != "painless" && lang != "expression" {
                        return Err(SearchError::unsupported(format!(
                            "script language [{lang}] is not supported by the embedded engine"
                        )));
                    }
                }
                if o.contains_key("id") {
                    return Err(SearchError::unsupported(
                        "stored scripts are not supported by the embedded engine",
                    ));
                }
                let source = o
                    .get("source")
                    .or_else(|| o.get("inline"))
                    .and_then(Json::as_str)
                    .ok_or_else(|| {
                        SearchError::parsing(format!("[{pipeline_type}] [script] needs a [source]"))
                    })?;
                (source, o.get("params").and_then(Json::as_object))
            }
            _ => {
                return Err(SearchError::illegal(format!(
                    "[script] must be set for [{pipeline_type}]"
                )))
            }
        };
        if source.len() > MAX_SOURCE_BYTES {
            return Err(SearchError::illegal(format!(
                "[{pipeline_type}] script is longer than {MAX_SOURCE_BYTES} bytes"
            )));
        }
        let refuse = |why: &str| {
            SearchError::unsupported(format!(
                "{pipeline_type} script [{source}] is not supported by the embedded engine: {why} (it runs arithmetic, comparisons, && || !, ?: and Math functions over params)"
            ))
        };
        let tokens = tokenize(source).map_err(|why| refuse(&why))?;
        let mut parser = Parser { tokens, at: 0 };
        parser.skip_word("return");
        let expr = parser.expression(0).map_err(|why| refuse(&why))?;
        parser.skip_symbol(";");
        if parser.at < parser.tokens.len() {
            return Err(refuse(&format!(
                "unexpected [{}]",
                parser.tokens[parser.at].text()
            )));
        }
        Ok(Script {
            source: source.to_owned(),
            expr,
            params: params_of(params),
        })
    }

    /// Runs the script over the bucket's values by variable name.
    pub fn run(&self, vars: &HashMap<String, f64>) -> Result<Value, SearchError> {
        let lookup = |name: &str| -> Option<Value> {
            vars.get(name).map(|v| Value::Double(*v)).or_else(|| {
                self.params
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, v)| *v)
            })
        };
        eval(&self.expr, &lookup).map_err(|why| {
            SearchError::illegal(format!("runtime error in script [{}]: {why}", self.source))
        })
    }
}

/// The numeric, boolean and null `params` of a script (others cannot take part in
/// arithmetic; using one is an unknown variable).
fn params_of(params: Option<&Map<String, Json>>) -> Vec<(String, Value)> {
    params
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let value = match value {
                Json::Number(n) => match n.as_i64() {
                    Some(i) => Value::Int(i),
                    None => Value::Double(n.as_f64()?),
                },
                Json::Bool(b) => Value::Bool(*b),
                Json::Null => Value::Null,
                _ => return None,
            };
            Some((key.clone(), value))
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(Value),
    Word(String),
    Str(String),
    Symbol(&'static str),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Number(Value::Int(i)) => i.to_string(),
            Token::Number(Value::Double(d)) => d.to_string(),
            Token::Number(_) => String::new(),
            Token::Word(w) => w.clone(),
            Token::Str(s) => format!("'{s}'"),
            Token::Symbol(s) => (*s).to_owned(),
        }
    }
}

/// Longest first, so that `<=` is not read as `<` then `=`.
const SYMBOLS: [&str; 22] = [
    "&&", "||", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "!", "(", ")", "?", ":",
    ".", "[", "]", ",",
];

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at] as char;
        if c.is_ascii_whitespace() {
            at += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = at;
            while at < bytes.len()
                && (bytes[at].is_ascii_digit()
                    || bytes[at] == b'.'
                    || ((bytes[at] == b'e' || bytes[at] == b'E')
                        && bytes
                            .get(at + 1)
                            .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+')))
            {
                if bytes[at] == b'e' || bytes[at] == b'E' {
                    at += 1;
                }
                at += 1;
            }
            let text = &source[start..at];
            // Painless suffixes: `2L`, `2.5d`, `2f`.
            let suffix = bytes.get(at).map(|b| b.to_ascii_lowercase());
            let double = text.contains(['.', 'e', 'E']) || matches!(suffix, Some(b'd' | b'f'));
            if matches!(suffix, Some(b'l' | b'd' | b'f')) {
                at += 1;
            }
            let value = if double {
                Value::Double(text.parse().map_err(|_| format!("bad number [{text}]"))?)
            } else {
                Value::Int(text.parse().map_err(|_| format!("bad number [{text}]"))?)
            };
            tokens.push(Token::Number(value));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                at += 1;
            }
            tokens.push(Token::Word(source[start..at].to_owned()));
        } else if c == '\'' || c == '"' {
            let end = source[at + 1..]
                .find(c)
                .ok_or_else(|| "an unclosed string".to_owned())?;
            tokens.push(Token::Str(source[at + 1..at + 1 + end].to_owned()));
            at += end + 2;
        } else if c == ';' {
            tokens.push(Token::Symbol(";"));
            at += 1;
        } else {
            let symbol = SYMBOLS
                .iter()
                .find(|s| source[at..].starts_with(*s))
                .ok_or_else(|| {
                    format!("unexpected [{}]", &source[at..].chars().next().unwrap_or(c))
                })?;
            tokens.push(Token::Symbol(symbol));
            at += symbol.len();
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

/// Binding strength of binary operators (higher binds tighter); `?:` is below them all.
fn binary(symbol: &str) -> Option<(BinaryOp, u8)> {
    Some(match symbol {
        "||" => (BinaryOp::Or, 2),
        "&&" => (BinaryOp::And, 3),
        "==" => (BinaryOp::Eq, 4),
        "!=" => (BinaryOp::NotEq, 4),
        "<" => (BinaryOp::Less, 5),
        "<=" => (BinaryOp::LessEq, 5),
        ">" => (BinaryOp::Greater, 5),
        ">=" => (BinaryOp::GreaterEq, 5),
        "+" => (BinaryOp::Add, 6),
        "-" => (BinaryOp::Sub, 6),
        "*" => (BinaryOp::Mul, 7),
        "/" => (BinaryOp::Div, 7),
        "%" => (BinaryOp::Rem, 7),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn skip_word(&mut self, word: &str) {
        if matches!(self.peek(), Some(Token::Word(w)) if w == word) {
            self.at += 1;
        }
    }

    fn skip_symbol(&mut self, symbol: &str) -> bool {
        if matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, symbol: &str) -> Result<(), String> {
        if self.skip_symbol(symbol) {
            Ok(())
        } else {
            Err(format!(
                "expected [{symbol}], found [{}]",
                self.peek().map_or("the end".to_owned(), Token::text)
            ))
        }
    }

    /// An expression whose operators bind at least as tightly as `min`.
    fn expression(&mut self, depth: usize) -> Result<Expr, String> {
        let condition = self.binary(0, depth)?;
        if self.skip_symbol("?") {
            let then = self.expression(depth + 1)?;
            self.expect(":")?;
            let otherwise = self.expression(depth + 1)?;
            return Ok(Expr::Conditional(
                Box::new(condition),
                Box::new(then),
                Box::new(otherwise),
            ));
        }
        Ok(condition)
    }

    fn binary(&mut self, min: u8, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err("it is nested too deeply".to_owned());
        }
        let mut left = self.unary(depth + 1)?;
        loop {
            let Some((op, strength)) = (match self.peek() {
                Some(Token::Symbol(s)) => binary(s),
                _ => None,
            }) else {
                return Ok(left);
            };
            if strength < min {
                return Ok(left);
            }
            self.at += 1;
            let right = self.binary(strength + 1, depth + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err("it is nested too deeply".to_owned());
        }
        if self.skip_symbol("!") {
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.skip_symbol("-") {
            return Ok(Expr::Negate(Box::new(self.unary(depth + 1)?)));
        }
        if self.skip_symbol("+") {
            return self.unary(depth + 1);
        }
        match self.next() {
            Some(Token::Number(value)) => Ok(Expr::Literal(value)),
            Some(Token::Symbol("(")) => {
                let inner = self.expression(depth + 1)?;
                self.expect(")")?;
                Ok(inner)
            }
            Some(Token::Word(word)) => match word.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "null" => Ok(Expr::Literal(Value::Null)),
                "params" => self.param(),
                "Math" => self.call(depth),
                // The `expression` language names variables bare.
                _ => Ok(Expr::Var(word)),
            },
            other => Err(format!(
                "unexpected [{}]",
                other.map_or("the end".to_owned(), |t| t.text())
            )),
        }
    }

    /// `params.name`, `params['name']`, `params.get('name')`.
    fn param(&mut self) -> Result<Expr, String> {
        if self.skip_symbol("[") {
            let Some(Token::Str(name)) = self.next() else {
                return Err("params[...] needs a quoted name".to_owned());
            };
            self.expect("]")?;
            return Ok(Expr::Var(name));
        }
        self.expect(".")?;
        match self.next() {
            Some(Token::Word(get)) if get == "get" && self.skip_symbol("(") => {
                let Some(Token::Str(name)) = self.next() else {
                    return Err("params.get(...) needs a quoted name".to_owned());
                };
                self.expect(")")?;
                Ok(Expr::Var(name))
            }
            Some(Token::Word(name)) => Ok(Expr::Var(name)),
            other => Err(format!(
                "expected a name after [params.], found [{}]",
                other.map_or("the end".to_owned(), |t| t.text())
            )),
        }
    }

    /// `Math.fn(args)`.
    fn call(&mut self, depth: usize) -> Result<Expr, String> {
        self.expect(".")?;
        let Some(Token::Word(name)) = self.next() else {
            return Err("expected a function after [Math.]".to_owned());
        };
        let (function, arity) =
            MathFunction::parse(&name).ok_or_else(|| format!("unknown function [Math.{name}]"))?;
        self.expect("(")?;
        let mut args = Vec::with_capacity(arity);
        if !self.skip_symbol(")") {
            loop {
                args.push(self.expression(depth + 1)?);
                if self.skip_symbol(")") {
                    break;
                }
                self.expect(",")
                    .map_err(|_| format!("expected [,] or [)] in [Math.{name}]"))?;
            }
        }
        if args.len() != arity {
            return Err(format!("[Math.{name}] takes {arity} argument(s)"));
        }
        Ok(Expr::Call(function, args))
    }
}

fn eval(expr: &Expr, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, String> {
    Ok(match expr {
        Expr::Literal(value) => *value,
        Expr::Var(name) => lookup(name).ok_or_else(|| format!("unknown variable [{name}]"))?,
        Expr::Not(inner) => Value::Bool(!boolean(eval(inner, lookup)?)?),
        Expr::Negate(inner) => match eval(inner, lookup)? {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            other => Value::Double(-double(other)?),
        },
        Expr::Conditional(condition, then, otherwise) => {
            if boolean(eval(condition, lookup)?)? {
                eval(then, lookup)?
            } else {
                eval(otherwise, lookup)?
            }
        }
        Expr::Binary(BinaryOp::And, left, right) => {
            Value::Bool(boolean(eval(left, lookup)?)? && boolean(eval(right, lookup)?)?)
        }
        Expr::Binary(BinaryOp::Or, left, right) => {
            Value::Bool(boolean(eval(left, lookup)?)? || boolean(eval(right, lookup)?)?)
        }
        Expr::Binary(op, left, right) => apply(*op, eval(left, lookup)?, eval(right, lookup)?)?,
        Expr::Call(function, args) => {
            let args = args
                .iter()
                .map(|arg| eval(arg, lookup))
                .collect::<Result<Vec<Value>, String>>()?;
            // On longs, Java's abs, max and min answer longs.
            match (function, args.as_slice()) {
                (MathFunction::Abs, [Value::Int(x)]) => return Ok(Value::Int(x.wrapping_abs())),
                (MathFunction::Max, [Value::Int(x), Value::Int(y)]) => {
                    return Ok(Value::Int(*x.max(y)))
                }
                (MathFunction::Min, [Value::Int(x), Value::Int(y)]) => {
                    return Ok(Value::Int(*x.min(y)))
                }
                _ => {}
            }
            let args = args
                .into_iter()
                .map(double)
                .collect::<Result<Vec<f64>, String>>()?;
            let x = args[0];
            Value::Double(match function {
                MathFunction::Abs => x.abs(),
                MathFunction::Ceil => x.ceil(),
                MathFunction::Exp => x.exp(),
                MathFunction::Floor => x.floor(),
                MathFunction::Log => x.ln(),
                MathFunction::Log10 => x.log10(),
                MathFunction::Max => x.max(args[1]),
                MathFunction::Min => x.min(args[1]),
                MathFunction::Pow => x.powf(args[1]),
                MathFunction::Round => return Ok(Value::Int(java_round(x))),
                MathFunction::Sqrt => x.sqrt(),
            })
        }
    })
}

/// Java's `Math.round(double)`: halves up (-2.5 to -2), NaN to 0, beyond a long to its
/// bounds, and exact just below a half (0.49999999999999994 to 0, where adding 0.5 would
/// round up).
fn java_round(x: f64) -> i64 {
    let floor = x.floor();
    // The difference is exact: both are within one unit of each other.
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    // `as` saturates, and takes NaN to 0, as Java does.
    rounded as i64
}

fn boolean(value: Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(format!("expected a boolean, found {other:?}")),
    }
}

fn double(value: Value) -> Result<f64, String> {
    match value {
        Value::Int(i) => Ok(i as f64),
        Value::Double(d) => Ok(d),
        Value::Null => Err("a null value in arithmetic".to_owned()),
        Value::Bool(_) => Err("a boolean in arithmetic".to_owned()),
    }
}

fn apply(op: BinaryOp, left: Value, right: Value) -> Result<Value, String> {
    use BinaryOp::*;
    match op {
        Eq | NotEq => {
            let equal = match (left, right) {
                (Value::Null, Value::Null) => true,
                (Value::Null, _) | (_, Value::Null) => false,
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (a, b) => double(a)? == double(b)?,
            };
            return Ok(Value::Bool(if op == Eq { equal } else { !equal }));
        }
        Less | LessEq | Greater | GreaterEq => {
            let (a, b) = (double(left)?, double(right)?);
            return Ok(Value::Bool(match op {
                Less => a < b,
                LessEq => a <= b,
                Greater => a > b,
                _ => a >= b,
            }));
        }
        _ => {}
    }
    if let (Value::Int(a), Value::Int(b)) = (left, right) {
        return Ok(Value::Int(match op {
            Add => a.wrapping_add(b),
            Sub => a.wrapping_sub(b),
            Mul => a.wrapping_mul(b),
            // Java's long division wraps where it overflows (Long.MIN_VALUE / -1).
            Div if b == 0 => return Err("division by zero".to_owned()),
            Div => a.wrapping_div(b),
            _ if b == 0 => return Err("division by zero".to_owned()),
            _ => a.wrapping_rem(b),
        }));
    }
    let (a, b) = (double(left)?, double(right)?);
    Ok(Value::Double(match op {
        Add => a + b,
        Sub => a - b,
        Mul => a * b,
        Div => a / b,
        _ => a % b,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(source: &str, vars: &[(&str, f64)]) -> Value {
        let script = Script::parse("bucket_script", Some(&json!(source))).unwrap();
        let vars = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        script.run(&vars).unwrap()
    }

    #[test]
    fn arithmetic_follows_precedence_and_painless_types() {
        let vars = [("a", 6.0), ("b", 4.0)];
        assert_eq!(run("params.a + params.b * 2", &vars), Value::Double(14.0));
        assert_eq!(run("(params.a + params.b) / 4", &vars), Value::Double(2.5));
        assert_eq!(
            run("return params['a'] - -params.b;", &vars),
            Value::Double(10.0)
        );
        assert_eq!(
            run("7 / 2", &[]),
            Value::Int(3),
            "integers divide as integers"
        );
        assert_eq!(run("7 / 2.0", &[]), Value::Double(3.5));
        assert_eq!(
            run("a % b", &vars),
            Value::Double(2.0),
            "expression language"
        );
        assert_eq!(
            run("Math.max(params.a, 10) + Math.sqrt(16)", &vars),
            Value::Double(14.0)
        );
        assert_eq!(run("Math.round(2.5)", &[]), Value::Int(3));
        assert_eq!(run("Math.round(-2.5)", &[]), Value::Int(-2));
        assert_eq!(run("Math.round(0.49999999999999994)", &[]), Value::Int(0));
        assert_eq!(run("Math.round(1e300)", &[]), Value::Int(i64::MAX));
        assert_eq!(run("Math.round(0.0 / 0.0)", &[]), Value::Int(0));
        assert_eq!(run("Math.max(2, 3)", &[]), Value::Int(3));
        assert_eq!(run("Math.min(2, 3.5)", &[]), Value::Double(2.0));
        assert_eq!(run("Math.abs(-4)", &[]), Value::Int(4));
        // Long arithmetic wraps as Java's does; only a zero divisor is an error.
        assert_eq!(
            run("(-9223372036854775807 - 1) / -1", &[]),
            Value::Int(i64::MIN)
        );
        assert_eq!(run("params.a / 0", &vars), Value::Double(f64::INFINITY));
    }

    #[test]
    fn conditions_compare_and_a_gap_compares_false() {
        let vars = [("total", 150.0), ("gap", f64::NAN)];
        assert_eq!(run("params.total > 100", &vars), Value::Bool(true));
        assert_eq!(
            run("params.total > 100 && params.total <= 150", &vars),
            Value::Bool(true)
        );
        assert_eq!(
            run("!(params.total == 150) || false", &vars),
            Value::Bool(false)
        );
        assert_eq!(run("params.gap > 0", &vars), Value::Bool(false));
        assert_eq!(run("params.gap <= 0", &vars), Value::Bool(false));
        assert_eq!(
            run("params.total != null ? params.total : 0", &vars),
            Value::Double(150.0)
        );
        assert_eq!(run("1 < 2 == true", &[]), Value::Bool(true));
    }

    #[test]
    fn script_params_are_variables() {
        let script = Script::parse(
            "bucket_selector",
            Some(&json!({ "source": "params.total > params.threshold", "params": { "threshold": 100 } })),
        )
        .unwrap();
        let vars = HashMap::from([("total".to_owned(), 120.0)]);
        assert_eq!(script.run(&vars).unwrap(), Value::Bool(true));
    }

    #[test]
    fn what_it_cannot_run_is_refused_when_parsed() {
        for source in [
            "doc['bytes'].value",
            "params.a +",
            "def x = 1; x",
            "Math.hypot(params.a, 1)",
            "params.a.length()",
            &"(".repeat(200),
        ] {
            let error = Script::parse("bucket_script", Some(&json!(source))).unwrap_err();
            assert!(
                error.to_string().contains("is not supported"),
                "{source}: {error}"
            );
        }
        let error = Script::parse(
            "bucket_script",
            Some(&json!({ "source": "1", "lang": "mustache" })),
        )
        .unwrap_err();
        assert!(error.to_string().contains("[mustache]"));
    }

    #[test]
    fn errors_while_running_say_what() {
        let script = Script::parse("bucket_script", Some(&json!("params.missing * 2"))).unwrap();
        let error = script.run(&HashMap::new()).unwrap_err();
        assert!(
            error.to_string().contains("unknown variable [missing]"),
            "{error}"
        );
        let script = Script::parse("bucket_script", Some(&json!("1 / 0"))).unwrap();
        assert!(script.run(&HashMap::new()).is_err());
    }
}
