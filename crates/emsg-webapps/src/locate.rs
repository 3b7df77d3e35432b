//! Where each field sits in the file: a map from field path to line and column, built from the
//! YAML event stream, so that errors found on the deserialized values can point at the text.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser};

/// One step of a field path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A field path such as `web_applications[2].exchange.source`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Path(Vec<Seg>);

impl Path {
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Self(segs)
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last()? {
            Seg::Key(key) => Some(key),
            Seg::Index(_) => None,
        }
    }

    fn parent(&self) -> Option<Self> {
        let (_, rest) = self.0.split_last()?;
        Some(Self(rest.to_vec()))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) if i == 0 => f.write_str(key)?,
                Seg::Key(key) => write!(f, ".{key}")?,
                Seg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column (the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

impl Pos {
    pub(crate) const START: Pos = Pos { line: 1, column: 1 };

    fn from_marker(marker: saphyr_parser::Marker) -> Self {
        Self {
            line: u32::try_from(marker.line()).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(marker.col())
                .unwrap_or(u32::MAX - 1)
                .saturating_add(1),
        }
    }
}

/// Which end of a `key: value` pair an error should point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The key: for unknown or forbidden keys.
    Key,
    /// The value: for wrong values. Missing fields resolve to their parent node.
    Value,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
}

/// A key that occurs twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    pub(crate) path: Path,
    pub(crate) at: Pos,
    pub(crate) first_line: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Locator {
    entries: HashMap<Path, Entry>,
    pub(crate) duplicate_keys: Vec<DuplicateKey>,
}

const COMPLEX_KEY: &str = "\u{0}complex key";

/// Deeper than any field of the format (`web_applications[0].exchange.source` is 4): nodes
/// below are not located, which keeps the walk linear however deep a hostile file nests.
const MAX_DEPTH: usize = 8;

enum Frame {
    Map {
        path: Path,
        /// The key just read, waiting for its value.
        pending_key: Option<(String, Pos)>,
        seen: HashMap<String, u32>,
    },
    Seq {
        path: Path,
        next: usize,
    },
}

impl Locator {
    /// Reads the positions of the first document in `text`. A YAML error ends the walk early;
    /// fields after it then resolve to the nearest located parent, or to line 1, column 1.
    pub(crate) fn new(text: &str) -> Self {
        let mut locator = Locator::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        let mut started = false;
        // Open nodes being stepped over: complex keys and anything deeper than any field.
        let mut skip = 0usize;
        while let Some(Ok((event, span))) = parser.next_event() {
            if skip > 0 {
                match event {
                    Event::MappingStart(..) | Event::SequenceStart(..) => skip += 1,
                    Event::MappingEnd | Event::SequenceEnd => skip -= 1,
                    _ => {}
                }
                continue;
            }
            let pos = Pos::from_marker(span.start);
            let (scalar, opens) = match &event {
                Event::Scalar(value, ..) => (Some(value.to_string()), None),
                Event::Alias(_) => (Some(String::new()), None),
                Event::MappingStart(..) => (None, Some(true)),
                Event::SequenceStart(..) => (None, Some(false)),
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    if stack.is_empty() {
                        break;
                    }
                    continue;
                }
                _ => continue,
            };
            // A scalar key: remember it and wait for the value.
            if let Some(Frame::Map {
                path,
                pending_key: pending @ None,
                seen,
            }) = stack.last_mut()
            {
                let key = match (&event, scalar) {
                    (Event::Scalar(..), Some(key)) => key,
                    // Complex keys (a mapping or list as a key) are rejected during validation;
                    // their insides are skipped.
                    _ => COMPLEX_KEY.to_owned(),
                };
                if key == COMPLEX_KEY {
                    // not compared: validation rejects it anyway
                } else if let Some(&first_line) = seen.get(&key) {
                    locator.duplicate_keys.push(DuplicateKey {
                        path: path.key(&key),
                        at: pos,
                        first_line,
                    });
                } else {
                    seen.insert(key.clone(), pos.line);
                }
                *pending = Some((key, pos));
                if opens.is_some() {
                    skip = 1;
                }
                continue;
            }
            let (path, key_pos) = match stack.last_mut() {
                None if started => break, // a second document: not ours to locate
                None => (Path::root(), None),
                Some(Frame::Map {
                    path, pending_key, ..
                }) => match pending_key.take() {
                    Some((key, key_pos)) => (path.key(&key), Some(key_pos)),
                    None => continue,
                },
                Some(Frame::Seq { path, next }) => {
                    *next += 1;
                    (path.index(*next - 1), None)
                }
            };
            started = true;
            locator.entries.entry(path.clone()).or_insert(Entry {
                key: key_pos,
                value: pos,
            });
            if let Some(is_map) = opens {
                if stack.len() < MAX_DEPTH {
                    stack.push(new_frame(is_map, path));
                } else {
                    skip = 1;
                }
            } else if stack.is_empty() {
                break;
            }
        }
        locator
    }

    /// The position for an error about `path`: its key or value if the path is in the file,
    /// else the nearest parent that is (a missing field points at the record that lacks it).
    pub(crate) fn resolve(&self, path: &Path, anchor: Anchor) -> Pos {
        if let Some(entry) = self.entries.get(path) {
            return match anchor {
                Anchor::Key => entry.key.unwrap_or(entry.value),
                Anchor::Value => entry.value,
            };
        }
        let mut current = path.parent();
        while let Some(parent) = current {
            if let Some(entry) = self.entries.get(&parent) {
                return entry.value;
            }
            current = parent.parent();
        }
        Pos::START
    }

    /// The line of a node, if it is in the file.
    pub(crate) fn line_of(&self, path: &Path) -> Option<u32> {
        self.entries.get(path).map(|entry| entry.value.line)
    }
}

fn new_frame(is_map: bool, path: Path) -> Frame {
    if is_map {
        Frame::Map {
            path,
            pending_key: None,
            seen: HashMap::new(),
        }
    } else {
        Frame::Seq { path, next: 0 }
    }
}
