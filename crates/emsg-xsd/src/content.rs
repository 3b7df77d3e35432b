//! Matching a complex type's child elements against its sequences and choices, with every
//! occurrence count, by following all the ways a prefix can be matched (documents are small; the
//! set of positions never exceeds the number of children).

use std::collections::BTreeSet;

use crate::schema::{Occurs, Particle, TypeRef};

/// Whether the names, in order, are exactly what `particle` allows.
pub(crate) fn matches(particle: &Particle, names: &[&str]) -> bool {
    ends(particle, names, 0).contains(&names.len())
}

/// Every position at which a match of `particle` that starts at `start` can end.
fn ends(particle: &Particle, names: &[&str], start: usize) -> BTreeSet<usize> {
    match particle {
        Particle::Element { name, occurs, .. } => {
            let mut found = BTreeSet::new();
            let mut taken = 0u32;
            if occurs.min == 0 {
                found.insert(start);
            }
            while occurs.max.is_none_or(|m| taken < m)
                && names.get(start + taken as usize) == Some(&name.as_str())
            {
                taken += 1;
                if taken >= occurs.min {
                    found.insert(start + taken as usize);
                }
            }
            found
        }
        Particle::Sequence(items, occurs) => repeat(occurs, start, |from| {
            items
                .iter()
                .fold(BTreeSet::from([from]), |positions, item| {
                    positions
                        .iter()
                        .flat_map(|p| ends(item, names, *p))
                        .collect()
                })
        }),
        Particle::Choice(items, occurs) => repeat(occurs, start, |from| {
            items
                .iter()
                .flat_map(|item| ends(item, names, from))
                .collect()
        }),
    }
}

/// The ends of `min..=max` consecutive matches of one group.
fn repeat(
    occurs: &Occurs,
    start: usize,
    once: impl Fn(usize) -> BTreeSet<usize>,
) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut current = BTreeSet::from([start]);
    let mut seen = BTreeSet::new();
    let mut count = 0u32;
    loop {
        if count >= occurs.min {
            found.extend(current.iter().copied());
        }
        if occurs.max.is_some_and(|m| count >= m) || current.is_empty() {
            break;
        }
        let next: BTreeSet<usize> = current.iter().flat_map(|p| once(*p)).collect();
        count += 1;
        // A group that can match nothing would repeat forever: stop once no new position comes.
        if next.is_subset(&seen) && count > occurs.min {
            break;
        }
        seen.extend(next.iter().copied());
        current = next;
    }
    found
}

/// The type of the child element `name`, where the content model declares it.
pub(crate) fn child_type<'a>(particle: &'a Particle, name: &str) -> Option<&'a TypeRef> {
    match particle {
        Particle::Element {
            name: declared,
            type_ref,
            ..
        } => (declared == name).then_some(type_ref),
        Particle::Sequence(items, _) | Particle::Choice(items, _) => {
            items.iter().find_map(|item| child_type(item, name))
        }
    }
}

/// The content model in words: `innsending, skattegrunnlagOgBeregnetSkatt, merknad?`.
pub(crate) fn describe(particle: &Particle) -> String {
    fn suffix(occurs: &Occurs) -> String {
        match (occurs.min, occurs.max) {
            (1, Some(1)) => String::new(),
            (0, Some(1)) => "?".to_owned(),
            (0, None) => "*".to_owned(),
            (1, None) => "+".to_owned(),
            (min, None) => format!("{{{min},}}"),
            (min, Some(max)) => format!("{{{min},{max}}}"),
        }
    }
    match particle {
        Particle::Element { name, occurs, .. } => format!("{name}{}", suffix(occurs)),
        Particle::Sequence(items, occurs) => {
            let inner: Vec<String> = items.iter().map(describe).collect();
            if suffix(occurs).is_empty() {
                inner.join(", ")
            } else {
                format!("({}){}", inner.join(", "), suffix(occurs))
            }
        }
        Particle::Choice(items, occurs) => {
            let inner: Vec<String> = items.iter().map(describe).collect();
            format!("({}){}", inner.join(" | "), suffix(occurs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::Builtin;

    fn element(name: &str, min: u32, max: Option<u32>) -> Particle {
        Particle::Element {
            name: name.to_owned(),
            type_ref: TypeRef::Builtin(Builtin::String),
            occurs: Occurs { min, max },
        }
    }

    const ONCE: Occurs = Occurs {
        min: 1,
        max: Some(1),
    };

    #[test]
    fn sequences_choices_and_counts_match_exactly() {
        // a, (b | c), d*, e?
        let model = Particle::Sequence(
            vec![
                element("a", 1, Some(1)),
                Particle::Choice(
                    vec![element("b", 1, Some(1)), element("c", 1, Some(1))],
                    ONCE,
                ),
                element("d", 0, None),
                element("e", 0, Some(1)),
            ],
            ONCE,
        );
        for good in [
            &["a", "b"][..],
            &["a", "c", "d", "d", "e"],
            &["a", "b", "e"],
        ] {
            assert!(matches(&model, good), "{good:?}");
        }
        for bad in [
            &["a"][..],
            &["b", "a"],
            &["a", "b", "c"],
            &["a", "b", "e", "d"],
            &["a", "b", "e", "e"],
        ] {
            assert!(!matches(&model, bad), "{bad:?}");
        }
        assert_eq!(describe(&model), "a, (b | c), d*, e?");
    }

    #[test]
    fn a_repeated_group_that_may_be_empty_terminates() {
        let model =
            Particle::Sequence(vec![element("a", 0, Some(1))], Occurs { min: 0, max: None });
        assert!(matches(&model, &["a", "a", "a"]));
        assert!(matches(&model, &[]));
        assert!(!matches(&model, &["b"]));
    }
}
