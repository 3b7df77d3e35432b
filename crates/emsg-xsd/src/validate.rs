//! Checking a document: the root against the global elements, each element's children against
//! its complex type, each value against its simple type's chain of restrictions.

use roxmltree::{Document, Node};

use crate::content;
use crate::error::Violation;
use crate::schema::{Schema, TypeRef};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

impl Schema {
    /// Every way `document` breaks the schema, in document order; empty when it is valid.
    pub fn validate(&self, document: &str) -> Vec<Violation> {
        validate(self, document)
    }
}

fn validate(schema: &Schema, text: &str) -> Vec<Violation> {
    let document = match Document::parse(text) {
        Ok(document) => document,
        Err(error) => {
            let position = error.pos();
            return vec![Violation {
                line: position.row,
                column: position.col,
                path: "/".to_owned(),
                message: format!("not well-formed XML: {error}"),
            }];
        }
    };
    let mut checker = Checker {
        schema,
        document: &document,
        found: Vec::new(),
    };
    let root = document.root_element();
    let name = root.tag_name().name();
    let path = format!("/{name}");
    match schema.elements.get(name) {
        Some(type_ref) => {
            checker.namespace(root, &path);
            checker.element(root, type_ref, &path);
        }
        None => {
            let mut known: Vec<&str> = schema.elements.keys().map(String::as_str).collect();
            known.sort_unstable();
            checker.violation(
                root,
                &path,
                format!(
                    "the root element `{name}` is not one the schema declares ({})",
                    known.join(", ")
                ),
            );
        }
    }
    checker.found
}

struct Checker<'a, 'input> {
    schema: &'a Schema,
    document: &'a Document<'input>,
    found: Vec<Violation>,
}

impl Checker<'_, '_> {
    fn violation(&mut self, node: Node<'_, '_>, path: &str, message: String) {
        let position = self.document.text_pos_at(node.range().start);
        self.found.push(Violation {
            line: position.row,
            column: position.col,
            path: path.to_owned(),
            message,
        });
    }

    fn namespace(&mut self, node: Node<'_, '_>, path: &str) {
        let is_root = node.parent().is_some_and(|p| p.is_root());
        let expected = if is_root || self.schema.qualified {
            self.schema.target_namespace.as_deref()
        } else {
            None
        };
        let actual = node.tag_name().namespace();
        if actual != expected {
            let shown = |ns: Option<&str>| {
                ns.map_or_else(|| "no namespace".to_owned(), |n| format!("namespace `{n}`"))
            };
            self.violation(
                node,
                path,
                format!(
                    "`{}` is in {}; the schema wants {}",
                    node.tag_name().name(),
                    shown(actual),
                    shown(expected)
                ),
            );
        }
    }

    fn attributes(&mut self, node: Node<'_, '_>, path: &str) {
        for attribute in node.attributes() {
            if attribute.namespace() != Some(XSI) {
                self.violation(
                    node,
                    path,
                    format!("the attribute `{}` is not allowed here", attribute.name()),
                );
            }
        }
    }

    fn element(&mut self, node: Node<'_, '_>, type_ref: &TypeRef, path: &str) {
        self.attributes(node, path);
        if let TypeRef::Named(name) = type_ref
            && let Some(model) = self.schema.complex.get(name)
        {
            if node
                .children()
                .any(|c| c.is_text() && c.text().is_some_and(|t| !t.trim().is_empty()))
            {
                self.violation(
                    node,
                    path,
                    "has text, but its type holds only elements".to_owned(),
                );
            }
            let children: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
            let names: Vec<&str> = children.iter().map(|c| c.tag_name().name()).collect();
            if !content::matches(model, &names) {
                let unknown = children
                    .iter()
                    .find(|c| content::child_type(model, c.tag_name().name()).is_none());
                let message = match unknown {
                    Some(child) => format!(
                        "`{}` is not allowed in `{}`, which holds {}",
                        child.tag_name().name(),
                        node.tag_name().name(),
                        content::describe(model)
                    ),
                    None => format!(
                        "`{}` holds [{}], but its type wants {} (in this order and number)",
                        node.tag_name().name(),
                        names.join(", "),
                        content::describe(model)
                    ),
                };
                self.violation(unknown.copied().unwrap_or(node), path, message);
            }
            for child in children {
                let child_name = child.tag_name().name();
                let child_path = format!("{path}/{child_name}");
                self.namespace(child, &child_path);
                if let Some(child_type) = content::child_type(model, child_name) {
                    self.element(child, child_type, &child_path);
                }
            }
            return;
        }
        self.simple_content(node, type_ref, path);
    }

    fn simple_content(&mut self, node: Node<'_, '_>, type_ref: &TypeRef, path: &str) {
        if let Some(child) = node.children().find(Node::is_element) {
            self.violation(
                child,
                path,
                format!(
                    "`{}` holds a value, not the element `{}`",
                    node.tag_name().name(),
                    child.tag_name().name()
                ),
            );
            return;
        }
        let raw: String = node.children().filter_map(|c| c.text()).collect();
        // The chain of restrictions down to the built-in type; every level's facets apply.
        let mut levels = Vec::new();
        let mut current = type_ref;
        let builtin = loop {
            match current {
                TypeRef::Builtin(builtin) => break *builtin,
                TypeRef::Named(name) => match self.schema.simple_type(name) {
                    Some(simple) if levels.len() < 32 => {
                        levels.push((name.as_str(), simple));
                        current = &simple.base;
                    }
                    _ => {
                        self.violation(
                            node,
                            path,
                            format!("its type `{name}` is not a simple type"),
                        );
                        return;
                    }
                },
            }
        };
        let value = builtin.normalise(&raw);
        if let Err(message) = builtin.check(&value) {
            self.violation(node, path, message);
            return;
        }
        for (name, simple) in levels {
            let facets = &simple.facets;
            let length = value.chars().count();
            if !facets.enumeration.is_empty() && !facets.enumeration.contains(&value) {
                let shown: Vec<&str> = facets
                    .enumeration
                    .iter()
                    .take(12)
                    .map(String::as_str)
                    .collect();
                let more = facets.enumeration.len().saturating_sub(12);
                self.violation(
                    node,
                    path,
                    format!(
                        "`{value}` is not one of the values of {name}: {}{}",
                        shown.join(", "),
                        if more > 0 {
                            format!(" (and {more} more)")
                        } else {
                            String::new()
                        }
                    ),
                );
            }
            let mut bound = |ok: bool, what: String| {
                if !ok {
                    self.violation(
                        node,
                        path,
                        format!("`{value}` is {length} characters; {name} wants {what}"),
                    );
                }
            };
            if let Some(n) = facets.length {
                bound(length == n, format!("exactly {n}"));
            }
            if let Some(n) = facets.min_length {
                bound(length >= n, format!("at least {n}"));
            }
            if let Some(n) = facets.max_length {
                bound(length <= n, format!("at most {n}"));
            }
            for pattern in &facets.patterns {
                if !pattern.matches(&value) {
                    self.violation(
                        node,
                        path,
                        format!(
                            "`{value}` does not match {name}'s pattern `{}`",
                            pattern.text()
                        ),
                    );
                }
            }
        }
    }
}
