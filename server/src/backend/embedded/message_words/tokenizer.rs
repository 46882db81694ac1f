//! The words of `@message`: text between whitespace, with punctuation trimmed from both ends,
//! so `10.0.0.5`, `eni-0a1b2c3d` and `2001:db8::1` stay whole (as flow-log searches need)
//! while `warning:` or `(error)` are the words `warning` and `error`, as Elasticsearch's
//! standard analyzer has them. Words are lower-cased, and words of [`MAX_WORD_BYTES`] or more
//! are left out, in the same pass: every ingested record goes through here, and a chain of
//! tantivy filters would copy each word again.
//!
//! A stored message that starts with [`BACKED`] is one whose numbers and addresses its
//! columns hold (see [`super::column_words`]): its words are the marker [`BACKED_WORD`] and
//! every word that is not a column word. One that starts with [`WHOLLY_BACKED`] has all its
//! words in the columns: its words are the two markers alone.

use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use super::column_words::{
    is_column_word, is_digits_column_word, Backing, BACKED, BACKED_WORD, WHOLLY_BACKED,
    WHOLLY_BACKED_WORD,
};
use super::{trim_punctuation, MAX_WORD_BYTES};

/// The analyzer registered as [`crate::backend::embedded::schema::MESSAGE_TOKENIZER`]: indexes stored messages, backed ones
/// included (see [`super::column_words`]).
pub fn message_analyzer() -> TextAnalyzer {
    TextAnalyzer::from(FlowWordsTokenizer::for_stored_messages())
}

/// The words of text searched on `@message`: the same words, whatever the text starts with.
pub fn query_analyzer() -> TextAnalyzer {
    TextAnalyzer::from(FlowWordsTokenizer::default())
}

#[derive(Clone, Default)]
pub struct FlowWordsTokenizer {
    token: Token,
    /// Whether text starting with [`BACKED`] is a backed message: so for stored messages
    /// only, never for what a user searches.
    stored_messages: bool,
}

impl FlowWordsTokenizer {
    /// The tokenizer of stored messages, which knows backed ones.
    pub fn for_stored_messages() -> FlowWordsTokenizer {
        FlowWordsTokenizer {
            stored_messages: true,
            ..FlowWordsTokenizer::default()
        }
    }
}

pub struct FlowWordsStream<'a> {
    text: &'a str,
    /// Where the search for the next word starts.
    cursor: usize,
    token: &'a mut Token,
    /// Column words are left out.
    backed: bool,
    /// Marker words still to come, before any other.
    markers: &'static [&'static str],
}

impl Tokenizer for FlowWordsTokenizer {
    type TokenStream<'a> = FlowWordsStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> FlowWordsStream<'a> {
        self.token.reset();
        let backing = if self.stored_messages {
            Backing::of_stored(text)
        } else {
            Backing::None
        };
        let (cursor, markers): (usize, &'static [&'static str]) = match backing {
            Backing::None => (0, &[]),
            Backing::ColumnWords => (BACKED.len_utf8(), &[BACKED_WORD]),
            // Nothing but the markers.
            Backing::Wholly => (text.len(), &[BACKED_WORD, WHOLLY_BACKED_WORD]),
        };
        debug_assert_eq!(BACKED.len_utf8(), WHOLLY_BACKED.len_utf8());
        FlowWordsStream {
            text,
            cursor,
            token: &mut self.token,
            backed: backing != Backing::None,
            markers,
        }
    }
}

impl TokenStream for FlowWordsStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        if let Some((marker, rest)) = self.markers.split_first() {
            self.markers = rest;
            self.token.text.push_str(marker);
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
        let bytes = self.text.as_bytes();
        while self.cursor < bytes.len() {
            // The next run of non-whitespace.
            let start = self.cursor
                + bytes[self.cursor..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(bytes.len() - self.cursor);
            let end = start
                + bytes[start..]
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .unwrap_or(bytes.len() - start);
            self.cursor = end;
            let run = &self.text[start..end];
            let word = trim_punctuation(run);
            if word.is_empty() {
                // Punctuation alone (a flow log's `-` for an absent field) is no word.
                continue;
            }
            self.token.position = self.token.position.wrapping_add(1);
            if word.len() >= MAX_WORD_BYTES {
                continue;
            }
            if self.backed && is_digits_column_word(word) == Some(true) {
                continue;
            }
            let offset = start + (word.as_ptr() as usize - run.as_ptr() as usize);
            self.token.offset_from = offset;
            self.token.offset_to = offset + word.len();
            push_lowercase(&mut self.token.text, word);
            if self.backed && is_column_word(&self.token.text) {
                self.token.text.clear();
                continue;
            }
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Appends `word` lower-cased character by character, as tantivy's `LowerCaser` does (so `Σ`
/// is always `σ`).
fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        let start = out.len();
        out.push_str(word);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(String, usize, usize)> {
        let mut tokenizer = FlowWordsTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            // Offsets point at the word as written.
            let mut written = String::new();
            push_lowercase(&mut written, &text[token.offset_from..token.offset_to]);
            assert_eq!(written, token.text);
            out.push((token.text.clone(), token.position, token.offset_from));
        }
        out
    }

    #[test]
    fn addresses_and_ids_stay_whole_and_punctuation_is_trimmed() {
        let found: Vec<String> = words(
            "2 123456789010 eni-0a1b2c3d 10.0.0.5 2001:db8::1 - 443 ACCEPT OK  warning: (error), «ünïcode»",
        )
        .into_iter()
        .map(|(text, _, _)| text)
        .collect();
        assert_eq!(
            found,
            [
                "2",
                "123456789010",
                "eni-0a1b2c3d",
                "10.0.0.5",
                "2001:db8::1",
                "443",
                "accept",
                "ok",
                "warning",
                "error",
                "ünïcode"
            ]
        );
    }

    #[test]
    fn words_are_lower_cased_as_tantivy_does_and_long_ones_left_out() {
        let long = "x".repeat(MAX_WORD_BYTES);
        let text = format!("REJECT ÜNÏCODE ΟΔΟΣ {long} {} tail", &long[1..]);
        let found: Vec<String> = words(&text).into_iter().map(|(t, _, _)| t).collect();
        assert_eq!(found, ["reject", "ünïcode", "οδοσ", &long[1..], "tail"]);
        // The same words as tantivy's own filters make of them.
        use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, TextAnalyzer};
        let mut reference =
            TextAnalyzer::builder(tantivy::tokenizer::WhitespaceTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
                .filter(LowerCaser)
                .build();
        let mut stream = reference.token_stream(&text);
        let mut expected = Vec::new();
        while let Some(token) = stream.next() {
            expected.push(token.text.clone());
        }
        assert_eq!(found, expected);
    }

    #[test]
    fn ascii_runs_are_trimmed_as_characters_are() {
        for run in [
            "",
            "-",
            "--",
            "a",
            "(a)",
            "-a-",
            "a-b",
            "..10.0.0.5,",
            "::1",
            "ü",
            "«ü»",
            "-ü-",
            "(a»",
        ] {
            let by_character = run.trim_matches(|c: char| !c.is_alphanumeric());
            assert_eq!(trim_punctuation(run), by_character, "{run:?}");
        }
    }

    #[test]
    fn positions_count_words_and_empty_text_has_none() {
        assert_eq!(
            words("  a - b  "),
            [("a".to_owned(), 0, 2), ("b".to_owned(), 1, 6)]
        );
        assert!(words("").is_empty());
        assert!(words(" -- ").is_empty());
    }

    #[test]
    fn a_backed_message_has_the_marker_and_no_column_words() {
        let collect = |stream: &mut FlowWordsStream| {
            let mut out = Vec::new();
            while let Some(token) = stream.next() {
                out.push(token.text.clone());
            }
            out
        };
        let line = "2 123456789012 eni-0a1 10.0.0.5 2001:DB8::1 0443 ACCEPT -";
        let mut tokenizer = FlowWordsTokenizer::for_stored_messages();
        let backed = format!("{BACKED}{line}");
        let found = collect(&mut tokenizer.token_stream(&backed));
        assert_eq!(found, [BACKED_WORD, "eni-0a1", "0443", "accept"]);
        assert_eq!(collect(&mut tokenizer.token_stream(line)).len(), 7);
        // What a user searches is only ever words.
        let mut queries = FlowWordsTokenizer::default();
        assert_eq!(collect(&mut queries.token_stream(&backed)).len(), 7);
        // A wholly backed message has the two markers alone.
        let wholly = format!("{WHOLLY_BACKED}{line}");
        let found = collect(&mut tokenizer.token_stream(&wholly));
        assert_eq!(found, [BACKED_WORD, WHOLLY_BACKED_WORD]);
        assert_eq!(collect(&mut queries.token_stream(&wholly)).len(), 7);
    }
}
