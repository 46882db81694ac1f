//! Wildcard patterns (`*` any run of characters, `?` exactly one), as `wildcard` queries,
//! Lucene query strings and KQL write them.
//!
//! Nothing is compiled up front. A pattern turned into a regex and determinized (what tantivy's
//! `RegexQuery` does) can take seconds to build when it has many wildcards, before any deadline
//! is looked at; the fuzzers found such patterns. Here a value is matched by walking the
//! pattern ([`glob_match`], at most pattern × value steps), and a term dictionary is searched
//! by simulating the pattern's small nondeterministic automaton ([`WildcardTerms`]), whose cost
//! is proportional to the dictionary bytes it visits.

use std::sync::Arc;

use tantivy::query::{AutomatonWeight, EnableScoring, Query as TantivyQuery, Weight};
use tantivy::schema::Field;
use tantivy_fst::Automaton;

use super::SearchError;

/// The longest wildcard pattern accepted, in characters. Elasticsearch bounds the automaton
/// (`max_determinized_states`); bounding the pattern bounds the simulated automaton, and no
/// flow-log value is near this long.
pub const MAX_PATTERN_CHARS: usize = 256;

/// Refuses a pattern longer than [`MAX_PATTERN_CHARS`], naming the field.
pub fn check_pattern(field: &str, pattern: &str) -> Result<(), SearchError> {
    let chars = pattern.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(SearchError::illegal(format!(
            "the wildcard pattern for [{field}] is {chars} characters long; at most {MAX_PATTERN_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// Whether all of `text` matches `pattern`. Both are UTF-8; `?` takes one character. On a
/// mismatch it backtracks only to the last `*` (which then takes one more character): that is
/// enough, because an earlier `*` could only take less of what the later one can take.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                last_star = Some((p, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(text[t]);
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match last_star {
                Some((star, at)) => {
                    let at = at + char_len(text[at]);
                    p = star + 1;
                    t = at;
                    last_star = Some((star, at));
                }
                None => return false,
            },
        }
    }
    t == text.len() && pattern[p..].iter().all(|c| *c == b'*')
}

/// The length of the UTF-8 character that starts with `lead` (1 for a stray byte, so that
/// matching always advances).
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// The terms of an inverted-index field that match a wildcard pattern: tantivy walks the
/// field's term dictionary with this automaton, pruning every branch no term can match from.
#[derive(Clone, Debug)]
pub struct WildcardTerms {
    field: Field,
    automaton: Arc<PatternAutomaton>,
}

impl WildcardTerms {
    pub fn new(field: Field, pattern: &str) -> WildcardTerms {
        WildcardTerms {
            field,
            automaton: Arc::new(PatternAutomaton::new(pattern)),
        }
    }
}

impl TantivyQuery for WildcardTerms {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AutomatonWeight::<PatternAutomaton>::new(
            self.field,
            Arc::clone(&self.automaton),
        )))
    }
}

/// One step of a pattern's automaton.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// This byte.
    Byte(u8),
    /// Any byte, staying here (`*`); it may also be skipped.
    Star,
    /// The first byte of any character (`?`); the character's continuation bytes follow in
    /// the next `Continuation` steps when it has any.
    CharStart,
    /// One continuation byte of a `?`'s character, `remaining` of them left including this one.
    Continuation { remaining: u8 },
    /// The whole pattern has matched.
    End,
}

/// A pattern as a nondeterministic automaton over bytes, simulated with a set of active
/// steps: no determinization, so building it is linear in the pattern.
#[derive(Debug)]
struct PatternAutomaton {
    steps: Vec<Step>,
    /// For each step, where the step after it begins (a `?` occupies four steps).
    next: Vec<usize>,
}

/// Which steps of a [`PatternAutomaton`] are active, as a bit set.
type Active = Box<[u64]>;

impl PatternAutomaton {
    fn new(pattern: &str) -> PatternAutomaton {
        let mut steps: Vec<Step> = Vec::new();
        let mut next = Vec::new();
        let push = |steps: &mut Vec<Step>, next: &mut Vec<usize>, new: &[Step]| {
            let after = steps.len() + new.len();
            for step in new {
                steps.push(*step);
                next.push(after);
            }
        };
        for c in pattern.chars() {
            match c {
                // `**` is `*`.
                '*' if steps.last() == Some(&Step::Star) => {}
                '*' => push(&mut steps, &mut next, &[Step::Star]),
                '?' => push(
                    &mut steps,
                    &mut next,
                    &[
                        Step::CharStart,
                        Step::Continuation { remaining: 3 },
                        Step::Continuation { remaining: 2 },
                        Step::Continuation { remaining: 1 },
                    ],
                ),
                c => {
                    let mut buffer = [0; 4];
                    for byte in c.encode_utf8(&mut buffer).bytes() {
                        push(&mut steps, &mut next, &[Step::Byte(byte)]);
                    }
                }
            }
        }
        push(&mut steps, &mut next, &[Step::End]);
        PatternAutomaton { steps, next }
    }

    fn empty(&self) -> Active {
        vec![0; self.steps.len().div_ceil(64)].into_boxed_slice()
    }

    /// Activates `step`, and what follows a `*` (which may take nothing).
    fn activate(&self, active: &mut Active, mut step: usize) {
        loop {
            active[step / 64] |= 1 << (step % 64);
            match self.steps[step] {
                Step::Star => step = self.next[step],
                _ => return,
            }
        }
    }

    fn is_active(active: &Active, step: usize) -> bool {
        active[step / 64] & (1 << (step % 64)) != 0
    }

    fn active_steps(active: &Active) -> impl Iterator<Item = usize> + '_ {
        active.iter().enumerate().flat_map(|(word_index, &word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| word_index * 64 + bit)
        })
    }
}

impl Automaton for PatternAutomaton {
    type State = Active;

    fn start(&self) -> Active {
        let mut active = self.empty();
        self.activate(&mut active, 0);
        active
    }

    fn is_match(&self, active: &Active) -> bool {
        Self::is_active(active, self.steps.len() - 1)
    }

    fn can_match(&self, active: &Active) -> bool {
        active.iter().any(|word| *word != 0)
    }

    fn will_always_match(&self, active: &Active) -> bool {
        // A trailing `*` that is active matches whatever follows.
        let last = self.steps.len() - 1;
        last > 0 && self.steps[last - 1] == Step::Star && Self::is_active(active, last - 1)
    }

    fn accept(&self, active: &Active, byte: u8) -> Active {
        let mut after = self.empty();
        for step in Self::active_steps(active) {
            let next = self.next[step];
            match self.steps[step] {
                Step::Byte(b) if b == byte => self.activate(&mut after, next),
                Step::Byte(_) | Step::End => {}
                Step::Star => self.activate(&mut after, step),
                Step::CharStart => match char_len(byte) {
                    // A lone continuation byte starts no character.
                    1 if byte >= 0x80 => {}
                    1 => self.activate(&mut after, next),
                    // Skip the continuation steps this character does not need.
                    len => self.activate(&mut after, step + 1 + (4 - len)),
                },
                Step::Continuation { remaining } if (0x80..0xC0).contains(&byte) => {
                    if remaining == 1 {
                        self.activate(&mut after, next);
                    } else {
                        self.activate(&mut after, step + 1);
                    }
                }
                Step::Continuation { .. } => {}
            }
        }
        after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the automaton over all of `text`.
    fn automaton_matches(pattern: &str, text: &str) -> bool {
        let automaton = PatternAutomaton::new(pattern);
        let mut state = automaton.start();
        for byte in text.bytes() {
            if automaton.will_always_match(&state) {
                return true;
            }
            if !automaton.can_match(&state) {
                return false;
            }
            state = automaton.accept(&state, byte);
        }
        automaton.is_match(&state)
    }

    #[test]
    fn matcher_and_automaton_agree_on_whole_words() {
        let cases = [
            ("10.0.*", "10.0.1.5", true),
            ("10.0.*", "10.1.0.5", false),
            ("*443", "443", true),
            ("*443", "8443", true),
            ("*443", "4430", false),
            ("4?3", "443", true),
            ("4?3", "43", false),
            ("*.5", "10.0.0.5", true),
            ("*0*0*", "10.0.0.5", true),
            ("*0*0*", "1.2.3.0", false),
            ("*", "", true),
            ("**", "anything", true),
            ("?", "", false),
            ("a*b*c", "abbbc", true),
            ("a*b*c", "abcb", false),
            ("eni-0a*", "eni-0a1b2c", true),
            ("eni-0a*", "eni-0b", false),
            // `?` is one character, however many bytes it takes.
            ("caf?", "café", true),
            ("caf??", "café", false),
            ("?", "日", true),
            ("??", "日", false),
            ("日*", "日本", true),
            ("*本", "日本", true),
            ("*?本", "日本", true),
            ("*??本", "日本", false),
            ("?😀?", "a😀b", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_match(pattern.as_bytes(), text.as_bytes()),
                expected,
                "glob_match({pattern:?}, {text:?})"
            );
            assert_eq!(
                automaton_matches(pattern, text),
                expected,
                "automaton({pattern:?}, {text:?})"
            );
        }
    }

    #[test]
    fn patterns_with_many_wildcards_match() {
        // The shape the fuzzers found: as a regex it took seconds to determinize. (Its cost
        // is measured by `cargo bench --bench search`, not asserted here.)
        let pattern = format!("a{}*{}*,??", "?".repeat(60), "?".repeat(60));
        let automaton = PatternAutomaton::new(&pattern);
        let mut state = automaton.start();
        for _ in 0..10_000 {
            state = automaton.accept(&state, b'a');
        }
        assert!(automaton.can_match(&state));
        assert!(!automaton.is_match(&state));
        assert!(!glob_match(
            pattern.as_bytes(),
            "a".repeat(10_000).as_bytes()
        ));
        let matching = format!("a{}{},xy", "b".repeat(70), "c".repeat(70));
        assert!(glob_match(pattern.as_bytes(), matching.as_bytes()));
    }

    #[test]
    fn long_patterns_are_refused_naming_the_field() {
        assert!(check_pattern("interface_id", &"?".repeat(MAX_PATTERN_CHARS)).is_ok());
        let error = check_pattern("interface_id", &"*".repeat(MAX_PATTERN_CHARS + 1))
            .unwrap_err()
            .to_string();
        assert!(error.contains("[interface_id]"), "{error}");
        assert!(error.contains("257 characters"), "{error}");
    }
}
