//! `xsd:pattern` for the part of XML Schema's regular expressions the XSDs use: literal
//! characters, escapes (`\d`, `\.`…), character classes with ranges (`[0-9]`, `[A-Z0-9]`,
//! `[^…]`) and the quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`. A pattern is matched
//! against the whole value (XML Schema patterns are anchored). Anything else (alternation,
//! groups) is refused when the schema is loaded.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    text: String,
    atoms: Vec<(Atom, u32, Option<u32>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Char(char),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Pattern {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut atoms = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let atom = match chars[i] {
                '(' | ')' | '|' => return Err(format!("`{}` is not supported", chars[i])),
                '.' => Atom::Any,
                '\\' => {
                    i += 1;
                    escape(chars.get(i).copied())?
                }
                '[' => {
                    let (atom, next) = class(&chars, i + 1)?;
                    i = next;
                    atom
                }
                c @ ('?' | '*' | '+' | '{') => return Err(format!("`{c}` quantifies nothing")),
                c => Atom::Char(c),
            };
            i += 1;
            let (min, max, next) = quantifier(&chars, i)?;
            i = next;
            atoms.push((atom, min, max));
        }
        Ok(Self {
            text: text.to_owned(),
            atoms,
        })
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        let chars: Vec<char> = value.chars().collect();
        matches_from(&self.atoms, &chars)
    }
}

fn matches_from(atoms: &[(Atom, u32, Option<u32>)], chars: &[char]) -> bool {
    let Some(((atom, min, max), rest)) = atoms.split_first() else {
        return chars.is_empty();
    };
    let mut taken = 0usize;
    // Take as many as allowed, then give back one at a time (backtracking).
    while max.is_none_or(|m| taken < m as usize)
        && taken < chars.len()
        && atom.accepts(chars[taken])
    {
        taken += 1;
    }
    loop {
        if taken >= *min as usize && matches_from(rest, &chars[taken..]) {
            return true;
        }
        if taken == 0 {
            return false;
        }
        taken -= 1;
    }
}

impl Atom {
    fn accepts(&self, c: char) -> bool {
        match self {
            Self::Char(x) => *x == c,
            Self::Any => c != '\n' && c != '\r',
            Self::Class { negated, ranges } => {
                ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negated
            }
        }
    }
}

fn escape(c: Option<char>) -> Result<Atom, String> {
    match c {
        Some('d') => Ok(Atom::Class {
            negated: false,
            ranges: vec![('0', '9')],
        }),
        Some(
            c
            @ ('\\' | '.' | '-' | '[' | ']' | '(' | ')' | '{' | '}' | '?' | '*' | '+' | '|' | '^'),
        ) => Ok(Atom::Char(c)),
        Some(c) => Err(format!("the escape `\\{c}` is not supported")),
        None => Err("a pattern ends with `\\`".to_owned()),
    }
}

/// A class starting after `[`; returns the atom and the index of its `]`.
fn class(chars: &[char], mut i: usize) -> Result<(Atom, usize), String> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    while let Some(&c) = chars.get(i) {
        if c == ']' && !ranges.is_empty() {
            return Ok((Atom::Class { negated, ranges }, i));
        }
        let low = if c == '\\' {
            i += 1;
            match escape(chars.get(i).copied())? {
                Atom::Char(x) => x,
                _ => return Err("class escapes inside `[…]` are not supported".to_owned()),
            }
        } else if c == '[' {
            return Err("class subtraction is not supported".to_owned());
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|c| *c != ']') {
            let high = chars[i + 2];
            if high < low {
                return Err(format!("the range `{low}-{high}` is backwards"));
            }
            ranges.push((low, high));
            i += 3;
        } else {
            ranges.push((low, low));
            i += 1;
        }
    }
    Err("a `[` is never closed".to_owned())
}

fn quantifier(chars: &[char], i: usize) -> Result<(u32, Option<u32>, usize), String> {
    Ok(match chars.get(i) {
        Some('?') => (0, Some(1), i + 1),
        Some('*') => (0, None, i + 1),
        Some('+') => (1, None, i + 1),
        Some('{') => {
            let close = chars[i..]
                .iter()
                .position(|c| *c == '}')
                .ok_or("a `{` is never closed")?
                + i;
            let inside: String = chars[i + 1..close].iter().collect();
            let number = |t: &str| {
                t.parse::<u32>()
                    .map_err(|_| format!("`{{{inside}}}` is not a count"))
            };
            let (min, max) = match inside.split_once(',') {
                None => {
                    let n = number(&inside)?;
                    (n, Some(n))
                }
                Some((low, "")) => (number(low)?, None),
                Some((low, high)) => (number(low)?, Some(number(high)?)),
            };
            (min, max, close + 1)
        }
        _ => (1, Some(1), i),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Pattern;

    #[test]
    fn patterns_match_the_whole_value() {
        let digits = Pattern::parse("[0-9]+").unwrap();
        assert!(digits.matches("913238254"));
        assert!(!digits.matches("91323825A"));
        assert!(!digits.matches(""));
        let kid = Pattern::parse(r"\d{2,25}").unwrap();
        assert!(kid.matches("34000009324568708"));
        assert!(!kid.matches("3"));
        let mixed = Pattern::parse("[A-Z]{2}[^a-z]?x*").unwrap();
        assert!(mixed.matches("NO"));
        assert!(mixed.matches("NO9xx"));
        assert!(!mixed.matches("No"));
    }

    #[test]
    fn unsupported_syntax_is_refused_not_ignored() {
        for text in ["(a|b)", "a|b", "+a", "[a-", r"\p{L}", "[z-a]", "a{x}"] {
            assert!(Pattern::parse(text).is_err(), "{text}");
        }
    }
}
