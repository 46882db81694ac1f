//! Words of `@message` that its document's columns already hold.
//!
//! A flow record's line is its fields' values: `10.0.0.5 443 6 1420 …`. Its numbers and
//! addresses are the most varied words of `@message` (byte counts, times, ports, addresses),
//! and putting each of them into the inverted index was the largest cost of an ingest
//! (ARCHITECTURE.md has the numbers). So a
//! document whose line and columns agree is indexed without them, and a search for such a word
//! also looks for it in the columns:
//!
//! - a **column word** is a number written canonically (`1420`, not `01420`, at most
//!   `i64::MAX`) or an address as Rust writes it (`10.0.0.5`, `2001:db8::1`), see
//!   [`is_column_word`];
//! - the **column words of a document** are those of its address and keyword columns and of
//!   its record's long columns ([`ColumnWords`]; an AS number ingest adds is no word of the
//!   line); a long `-5` has the word `5`, as the tokenizer would make of `-5`;
//! - a document is **backed by its columns** when its `@message` has exactly those column
//!   words ([`ColumnWords::back`]). Its stored `@message` then starts with [`BACKED`]; the
//!   tokenizer indexes the marker word [`BACKED_WORD`] and leaves out every column word.
//!
//! A search for a column word `w` on `@message` is then: the postings of `w`, or a backed
//! document with a column whose value has the word `w` ([`WordValues`]).
//!
//! The other words of a record's line (`eni-0a1b`, `ACCEPT`, `OK`, `us-east-1`) are the values
//! of its keyword fields. So a backed document is **wholly backed** when, besides, every other
//! word of its message is the value of one of its record's keyword fields, compared as the
//! tokenizer lower-cases, and every such value is a word of the message ([`keyword_word`]
//! says which values are words). Its stored `@message` starts with [`WHOLLY_BACKED`]
//! and its only words in the postings are the two markers, [`BACKED_WORD`] and
//! [`WHOLLY_BACKED_WORD`]. A search for any other word `w` is then: the postings of `w`, or a
//! wholly backed document with a record keyword field whose value lower-cased is `w`.
//! Derived and Lambda fields (`protocol_name`, `@log_group`) are not words of the line, and
//! never count.
//!
//! Documents of other shapes (a client's `_bulk` document whose fields and message disagree,
//! or stores written before this) keep their words in the postings, so they are found as
//! before.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{trim_punctuation, MAX_WORD_BYTES};
use crate::backend::embedded::schema::to_ipv6;

/// First character of a stored `@message` whose column words are left to the columns.
pub const BACKED: char = '\u{1}';
/// First character of a stored `@message` that began with a marker character itself, so
/// that reading it back removes only what was added.
pub const ESCAPED: char = '\u{2}';
/// First character of a stored `@message` all of whose words are left to the columns.
pub const WHOLLY_BACKED: char = '\u{3}';
/// The word every backed document has in `@message`'s postings. No search of words finds
/// it: words never contain whitespace (searches for text with whitespace find nothing), and
/// `.` in a pattern does not match `\n`.
pub const BACKED_WORD: &str = "\n";
/// The word every wholly backed document has in `@message`'s postings, besides [`BACKED_WORD`].
pub const WHOLLY_BACKED_WORD: &str = "\n\n";

/// How much of a document's `@message` its columns hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Nothing: every word is in the postings.
    None,
    /// Its column words.
    ColumnWords,
    /// Every word: its column words, and its other words as record keyword values.
    Wholly,
}

impl Backing {
    /// What a stored `@message` says of itself.
    pub fn of_stored(stored: &str) -> Backing {
        if stored.starts_with(WHOLLY_BACKED) {
            Backing::Wholly
        } else if stored.starts_with(BACKED) {
            Backing::ColumnWords
        } else {
            Backing::None
        }
    }
}

/// The `@message` as written, from its stored text.
pub fn stored_message_text(stored: &str) -> &str {
    stored
        .strip_prefix([BACKED, WHOLLY_BACKED, ESCAPED])
        .unwrap_or(stored)
}

/// Appends the text to store for `message` to `out`: marked as backed, or escaped when it
/// starts with a marker character of its own.
pub fn write_stored_message(out: &mut String, message: &str, backing: Backing) {
    match backing {
        Backing::Wholly => out.push(WHOLLY_BACKED),
        Backing::ColumnWords => out.push(BACKED),
        Backing::None if message.starts_with([BACKED, ESCAPED, WHOLLY_BACKED]) => out.push(ESCAPED),
        Backing::None => {}
    }
    out.push_str(message);
}

/// Whether a keyword value is one word to the tokenizer and to a search of its column: ASCII
/// (lower-cased byte by byte alike), nothing to trim, no whitespace, short enough to index.
pub fn keyword_word(value: &str) -> bool {
    value.is_ascii()
        && value.len() < MAX_WORD_BYTES
        && !value.is_empty()
        && trim_punctuation(value).len() == value.len()
        && !value.bytes().any(|b| b.is_ascii_whitespace())
}

/// Whether a keyword value lower-cased is `word`, byte by byte.
pub fn lowercases_to(value: &[u8], word: &[u8]) -> bool {
    value.len() == word.len()
        && value
            .iter()
            .zip(word)
            .all(|(v, w)| v.to_ascii_lowercase() == *w)
}

/// The longest column word: an IPv6 address (`i64::MAX` has 19 digits).
const MAX_COLUMN_WORD: usize = 39;

/// A column word, on the stack.
#[derive(Clone, Copy)]
pub struct Word {
    bytes: [u8; MAX_COLUMN_WORD],
    len: u8,
}

impl Word {
    fn new() -> Word {
        Word {
            bytes: [0; MAX_COLUMN_WORD],
            len: 0,
        }
    }

    /// Compared as bytes: checking UTF-8 again for every comparison cost a tenth of an ingest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Write for Word {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let start = self.len as usize;
        let end = start + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[start..end].copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

/// Whether `word` (as the tokenizer makes it) is a number or address a column could hold.
pub fn is_column_word(word: &str) -> bool {
    if let Some(answer) = is_digits_column_word(word) {
        return answer;
    }
    // Any other column word is an IPv6 address: a hex digit first, and colons. Most words of
    // a record (ids, actions, regions) are turned away by their first letter.
    let bytes = word.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_hexdigit)
        && bytes.contains(&b':')
        && canonical_address(word).is_some()
}

/// Whether a word as written, digits and dots only, is a column word: a number or an IPv4
/// address. Such a word is its own lower case, so the tokenizer asks this before it copies
/// the word; most words of a flow record are answered here.
pub fn is_digits_column_word(word: &str) -> Option<bool> {
    let bytes = word.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut dots = 0;
    for byte in bytes {
        match byte {
            b'0'..=b'9' => {}
            b'.' => dots += 1,
            _ => return None,
        }
    }
    Some(match dots {
        0 => canonical_number(word).is_some(),
        3 => canonical_ipv4(bytes).is_some(),
        _ => false,
    })
}

/// `word` as a number, if it is written as Rust writes a non-negative `i64`.
fn canonical_number(word: &str) -> Option<i64> {
    let bytes = word.as_bytes();
    let digits = !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit);
    if !digits || (bytes[0] == b'0' && bytes.len() > 1) || bytes.len() > 19 {
        return None;
    }
    // Eighteen digits or fewer always fit; nineteen may not.
    if bytes.len() == 19 {
        return word.parse::<i64>().ok();
    }
    Some(
        bytes
            .iter()
            .fold(0i64, |n, digit| n * 10 + i64::from(digit - b'0')),
    )
}

/// `word` as an address column holds it (IPv4 as mapped IPv6), if it is written as Rust writes
/// that address.
fn canonical_address(word: &str) -> Option<Ipv6Addr> {
    // Cheap rejections first: every record has a dozen words that are not addresses, and the
    // four that are IPv4 need no parser.
    let bytes = word.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_digit) && bytes.iter().all(|b| *b != b':') {
        return canonical_ipv4(bytes).map(|v4| v4.to_ipv6_mapped());
    }
    if bytes.len() < 2
        || bytes.len() > MAX_COLUMN_WORD
        || !bytes.iter().any(|b| *b == b'.' || *b == b':')
        || !bytes
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'a'..=b'f' | b'.' | b':'))
    {
        return None;
    }
    let ip = to_ipv6(word.parse::<IpAddr>().ok()?);
    (address_word(ip)?.as_bytes() == bytes).then_some(ip)
}

/// Four decimal octets without leading zeros, dot-separated.
fn canonical_ipv4(bytes: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = bytes.split(|b| *b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        let canonical = matches!(part.len(), 1..=3)
            && part.iter().all(u8::is_ascii_digit)
            && (part[0] != b'0' || part.len() == 1);
        if !canonical {
            return None;
        }
        let value = part
            .iter()
            .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'));
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// The word of a long column's value: its digits, as the tokenizer leaves `-5` as `5`.
pub fn number_word(value: i64) -> Option<Word> {
    let magnitude = value.unsigned_abs();
    if magnitude > i64::MAX as u64 {
        return None;
    }
    let mut word = Word::new();
    word.write_str(itoa::Buffer::new().format(magnitude)).ok()?;
    Some(word)
}

/// The word of an address column's value, if the address as written is a word (`::1` is not:
/// the tokenizer trims its colons).
pub fn address_word(ip: Ipv6Addr) -> Option<Word> {
    let mut word = Word::new();
    if let Some(v4) = ip.to_ipv4_mapped() {
        // By hand: `Display` of an address goes through the formatting machinery, per record.
        let mut digits = itoa::Buffer::new();
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                word.write_str(".").ok()?;
            }
            word.write_str(digits.format(octet)).ok()?;
        }
        return Some(word);
    }
    write!(word, "{ip}").ok()?;
    let text = word.as_bytes();
    let is_word = text.first().is_some_and(u8::is_ascii_alphanumeric)
        && text.last().is_some_and(u8::is_ascii_alphanumeric);
    is_word.then_some(word)
}

/// The values a column word stands for, by column type: what a search for it looks up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WordValues {
    /// Long values whose word it is: `n` and `-n`.
    pub longs: Vec<i64>,
    /// The address it is. (Keyword columns hold it as it is.)
    pub address: Option<Ipv6Addr>,
}

impl WordValues {
    /// The column values `word` stands for; `None` when it is no column word.
    pub fn of(word: &str) -> Option<WordValues> {
        if let Some(n) = canonical_number(word) {
            let mut longs = vec![n];
            if n != 0 {
                longs.push(-n);
            }
            return Some(WordValues {
                longs,
                address: None,
            });
        }
        let address = canonical_address(word)?;
        Some(WordValues {
            longs: Vec::new(),
            address: Some(address),
        })
    }
}

/// The column words of one document, and its record keyword values that are words,
/// collected as its columns are filled.
#[derive(Default)]
pub struct ColumnWords {
    /// The words, back to back, in the order the columns were filled.
    text: Vec<u8>,
    /// Each word: where it ends in `text`, and whether it is a keyword value (not a column
    /// word).
    words: Vec<(usize, bool)>,
}

/// The most words a document can be backed with: one bit each.
const MAX_BACKING_WORDS: usize = 128;

impl ColumnWords {
    /// Forgets the words, keeping the memory for the next document's.
    pub fn clear(&mut self) {
        self.text.clear();
        self.words.clear();
    }

    pub fn add_long(&mut self, value: i64) {
        if let Some(word) = number_word(value) {
            self.push(word.as_bytes(), false);
        }
    }

    pub fn add_address(&mut self, ip: Ipv6Addr) {
        if let Some(word) = address_word(ip) {
            self.push(word.as_bytes(), false);
        }
    }

    /// A keyword value; `of_record` when the field is one of the record's, whose values are
    /// words of its line.
    pub fn add_keyword(&mut self, value: &str, of_record: bool) {
        if is_column_word(value) {
            self.push(value.as_bytes(), false);
        } else if of_record && keyword_word(value) {
            self.push(value.as_bytes(), true);
        }
    }

    fn push(&mut self, word: &[u8], keyword: bool) {
        self.text.extend_from_slice(word);
        self.words.push((self.text.len(), keyword));
    }

    fn word(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.words[i - 1].0 };
        &self.text[start..self.words[i].0]
    }

    fn is_keyword(&self, i: usize) -> bool {
        self.words[i].1
    }

    /// How much of `message` these hold. It is backed when its column words are exactly
    /// these: each of these is a word of the message, and each column word of the message is
    /// one of these. A message with no column words at all is not backed: nothing would be
    /// saved, and an `exists` search finds a backed message by its marker word. It is wholly
    /// backed when, besides, each of its other words is one of the record keyword values
    /// and each of those is a word of it.
    pub fn back(&self, message: &str) -> Backing {
        let count = self.words.len();
        let no_column_words = self.words.iter().all(|(_, keyword)| *keyword);
        if no_column_words || count > MAX_BACKING_WORDS {
            return Backing::None;
        }
        // Which of the words the message has, one bit each.
        let mut found = 0u128;
        // Where the next is expected: a record's line has its fields in the order its columns
        // were filled, each as the column has it, so nearly every run of the line is the
        // expected word and nothing more need be done with it.
        let mut next = 0;
        let mut wholly = true;
        let mut lowered = [0u8; MAX_COLUMN_WORD];
        for run in message.split_ascii_whitespace() {
            if next < count && run.as_bytes() == self.word(next) {
                found |= 1 << next;
                next += 1;
                continue;
            }
            let word = trim_punctuation(run);
            if word.is_empty() || word.len() >= MAX_WORD_BYTES {
                // No word to the tokenizer.
                continue;
            }
            if let Some(candidate) = column_word_candidate(word, &mut lowered) {
                // Column words start with a digit, or a hex letter for IPv6.
                if candidate[0].is_ascii_hexdigit()
                    && std::str::from_utf8(candidate).is_ok_and(is_column_word)
                {
                    let known =
                        (0..count).find(|i| !self.is_keyword(*i) && self.word(*i) == candidate);
                    match known {
                        Some(i) => {
                            found |= 1 << i;
                            next = i + 1;
                            continue;
                        }
                        None => return Backing::None,
                    }
                }
            }
            if wholly {
                let word = word.as_bytes();
                let known = (0..count)
                    .find(|i| self.is_keyword(*i) && self.word(*i).eq_ignore_ascii_case(word));
                match known {
                    Some(i) => {
                        found |= 1 << i;
                        next = i + 1;
                    }
                    None => wholly = false,
                }
            }
        }
        // A value several columns hold counts as found when one of them was.
        let was_found = |i: usize| found & (1 << i) != 0;
        let all_found = |keywords: bool| {
            (0..count)
                .filter(|i| self.is_keyword(*i) == keywords && !was_found(*i))
                .all(|i| {
                    (0..count).any(|j| {
                        was_found(j)
                            && self.is_keyword(j) == keywords
                            && self.word(j).eq_ignore_ascii_case(self.word(i))
                    })
                })
        };
        if !all_found(false) {
            Backing::None
        } else if wholly && all_found(true) {
            Backing::Wholly
        } else {
            Backing::ColumnWords
        }
    }
}

/// The word the tokenizer makes of a word (trimmed), if it could be a column word: short,
/// ASCII (no other character lower-cases into one), lower-cased. It runs for every word of
/// every record, on the parsing thread, so it copies only words with capitals.
fn column_word_candidate<'a>(
    word: &'a str,
    lowered: &'a mut [u8; MAX_COLUMN_WORD],
) -> Option<&'a [u8]> {
    let word = word.as_bytes();
    if word.is_empty() || word.len() > MAX_COLUMN_WORD || !word.is_ascii() {
        return None;
    }
    if word.iter().any(u8::is_ascii_uppercase) {
        let out = &mut lowered[..word.len()];
        out.copy_from_slice(word);
        out.make_ascii_lowercase();
        return Some(out);
    }
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_words_are_numbers_and_addresses_as_rust_writes_them() {
        for word in [
            "0",
            "443",
            "9223372036854775807",
            "10.0.0.5",
            "2001:db8::1",
            "fe80::1:2",
        ] {
            assert!(is_column_word(word), "{word}");
        }
        for word in [
            "",
            "0443",
            "9223372036854775808",
            "10.00.0.5",
            "256.0.0.1",
            "10.0.5",
            "10.0.0.0.5",
            "2001:0db8::1",
            "2001:db8:0:0:0:0:0:1",
            "::ffff:10.0.0.5",
            "fe80",
            "ec2",
            "eni-0a1b2c3d",
            "accept",
            "1.5",
        ] {
            assert!(!is_column_word(word), "{word}");
        }
    }

    #[test]
    fn the_quick_answers_agree_with_the_parsers() {
        let by_parsing =
            |word: &str| canonical_number(word).is_some() || canonical_address(word).is_some();
        for word in [
            "",
            "0",
            "443",
            "0443",
            "9223372036854775807",
            "9223372036854775808",
            "10.0.0.5",
            "10.00.0.5",
            "256.0.0.1",
            "10.0.5",
            "1.5",
            "10.0.0.0.5",
            "1..2.3",
            "10.0.0.5.",
            "2001:db8::1",
            "2001:DB8::1",
            "2001:0db8::1",
            "fe80::1:2",
            "abcd::1",
            "ABCD::1",
            "::1",
            "g::1",
            "a:b",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "::ffff:10.0.0.5",
            "10.0.0.5a",
            "eni-0a1",
            "accept",
            "ec2",
            "fe80",
            "-1",
        ] {
            assert_eq!(is_column_word(word), by_parsing(word), "{word}");
        }
        for word in ["", "2001:db8::1", "fe80::1", "eni-0a1", "10.0.0.5a", "-1"] {
            assert_eq!(is_digits_column_word(word), None, "{word}");
        }
    }

    #[test]
    fn word_values_are_what_the_columns_hold() {
        let values = WordValues::of("443").unwrap();
        assert_eq!(values.longs, vec![443, -443]);
        assert_eq!(values.address, None);
        assert_eq!(WordValues::of("0").unwrap().longs, vec![0]);
        for digits in [
            "999999999999999999",
            "1000000000000000000",
            "9223372036854775807",
        ] {
            let n: i64 = digits.parse().unwrap();
            assert_eq!(WordValues::of(digits).unwrap().longs, vec![n, -n]);
        }
        let v4 = WordValues::of("10.0.0.5").unwrap();
        assert_eq!(
            v4.address,
            Some(
                "10.0.0.5"
                    .parse::<std::net::Ipv4Addr>()
                    .unwrap()
                    .to_ipv6_mapped()
            )
        );
        assert!(v4.longs.is_empty());
        assert_eq!(WordValues::of("accept"), None);
    }

    #[test]
    fn a_message_is_backed_when_its_column_words_are_the_columns() {
        let line = "2 123456789012 eni-0a1b 10.0.0.5 2001:DB8::1 443 -5 6 - ACCEPT OK";
        let mut words = ColumnWords::default();
        words.add_long(2);
        words.add_keyword("123456789012", true);
        words.add_keyword("eni-0a1b", true);
        words.add_address(to_ipv6("10.0.0.5".parse().unwrap()));
        words.add_address(to_ipv6("2001:db8::1".parse().unwrap()));
        words.add_long(443);
        words.add_long(-5);
        words.add_long(6);
        words.add_keyword("ACCEPT", true);
        // Not wholly: `OK` is no field's value.
        assert_eq!(Backing::ColumnWords, words.back(line));

        // A column value the line does not have.
        let mut extra = ColumnWords::default();
        extra.add_long(7);
        assert_eq!(Backing::None, extra.back("2 eni-0a1b"));
        // A column word of the line no column has.
        let mut missing = ColumnWords::default();
        missing.add_long(2);
        assert_eq!(Backing::None, missing.back("2 10.0.0.9"));
        // Words as the tokenizer makes them: punctuation trimmed, lower-cased, non-ASCII kept.
        let mut words = ColumnWords::default();
        words.add_address("2001:db8::1".parse().unwrap());
        assert_ne!(
            Backing::None,
            words.back("(2001:DB8::1), ünïcode 10.0.0.5é")
        );
        assert_eq!(Backing::None, words.back("2001:DB8::1 \"10.0.0.5\""));
        // A value two columns hold, written once or twice; columns in another order than
        // the line's.
        let mut twice = ColumnWords::default();
        twice.add_long(443);
        twice.add_long(80);
        twice.add_long(443);
        assert_ne!(Backing::None, twice.back("443 80"));
        assert_ne!(Backing::None, twice.back("80 443 443"));
        assert_eq!(Backing::None, twice.back("80"));
        // A number written another way is a word of its own.
        let mut padded = ColumnWords::default();
        padded.add_long(443);
        assert_eq!(Backing::None, padded.back("0443"));
    }

    #[test]
    fn a_message_is_wholly_backed_when_its_other_words_are_its_record_keywords() {
        let record = |keywords: &[(&str, bool)]| {
            let mut words = ColumnWords::default();
            words.add_long(443);
            for (value, of_record) in keywords {
                words.add_keyword(value, *of_record);
            }
            words
        };
        let line = "443 eni-0a1b ACCEPT IPv4 - OK";
        let all = [
            ("eni-0a1b", true),
            ("ACCEPT", true),
            ("IPv4", true),
            ("OK", true),
        ];
        assert_eq!(record(&all).back(line), Backing::Wholly);
        // In another order and case, with punctuation around words.
        assert_eq!(
            record(&all).back("ok, (accept) 443 IPV4 eni-0A1B"),
            Backing::Wholly
        );
        // A value two fields hold, written once.
        let twice = [&all[..], &[("ok", true)]].concat();
        assert_eq!(record(&twice).back(line), Backing::Wholly);
        // A word no record field holds; a derived or Lambda field's value does not count.
        let with_tcp = "443 eni-0a1b ACCEPT IPv4 OK tcp";
        assert_eq!(record(&all).back(with_tcp), Backing::ColumnWords);
        let derived = [&all[..], &[("tcp", false)]].concat();
        assert_eq!(record(&derived).back(with_tcp), Backing::ColumnWords);
        assert_eq!(record(&derived).back(line), Backing::Wholly);
        // A record value the line does not have.
        let extra = [&all[..], &[("us-east-1", true)]].concat();
        assert_eq!(record(&extra).back(line), Backing::ColumnWords);
        // Values the tokenizer makes other words of, or none it can find in the column.
        for odd in ["-x-", "two words", "ünï"] {
            let line = format!("443 {odd}");
            assert_eq!(
                record(&[(odd, true)]).back(&line),
                Backing::ColumnWords,
                "{odd}"
            );
        }
        // A word too long to index is no word: a field need not hold it, nor is its value one.
        let long = "x".repeat(MAX_WORD_BYTES);
        let line = format!("443 {long}");
        assert_eq!(record(&[]).back(&line), Backing::Wholly);
        assert_eq!(record(&[(&long, true)]).back(&line), Backing::Wholly);
        assert!(!keyword_word(&long) && keyword_word(&long[1..]));
        // Column words decide first.
        assert_eq!(record(&all).back("eni-0a1b ACCEPT IPv4 OK"), Backing::None);
        assert_eq!(
            record(&all).back("443 444 eni-0a1b ACCEPT IPv4 OK"),
            Backing::None
        );
    }

    #[test]
    fn stored_messages_read_back_as_written() {
        for message in [
            "2 eni 10.0.0.5",
            "\u{1}odd",
            "\u{2}odder",
            "\u{3}odd too",
            "",
        ] {
            for backing in [Backing::None, Backing::ColumnWords, Backing::Wholly] {
                // Appended after what a buffer already holds.
                let mut stored = String::from("before");
                write_stored_message(&mut stored, message, backing);
                let stored = stored.strip_prefix("before").unwrap();
                assert_eq!(stored_message_text(stored), message);
                assert_eq!(Backing::of_stored(stored), backing);
            }
        }
    }
}
