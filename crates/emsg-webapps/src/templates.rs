//! Where the body templates of web services come from when a file is imported: files under
//! `templates/messages/`. The templates emsg ships are built in, so the shipped web-apps.yaml
//! imports from any working directory; a file of the same name in the folder takes precedence.

use std::path::PathBuf;

/// Reads `templates/messages/NAME` for the parser.
pub trait TemplateSource {
    /// The template's text, or a message saying why it cannot be read; `None` when templates
    /// are not loaded at all (checking a file's syntax only).
    fn read(&self, name: &str) -> Option<Result<String, String>>;
}

/// Leaves body templates unread: `body` stays `None`.
pub struct NotLoaded;

impl TemplateSource for NotLoaded {
    fn read(&self, _name: &str) -> Option<Result<String, String>> {
        None
    }
}

/// The templates shipped with emsg, by file name.
const SHIPPED: [(&str, &str); 3] = [
    (
        "vat-return.json.hbs",
        include_str!("../../../templates/messages/vat-return.json.hbs"),
    ),
    (
        "mva-melding-validering.xml.hbs",
        include_str!("../../../templates/messages/mva-melding-validering.xml.hbs"),
    ),
    (
        "altinn-instance.json.hbs",
        include_str!("../../../templates/messages/altinn-instance.json.hbs"),
    ),
];

/// The largest body template read.
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// Reads `<folder>/NAME`, else a shipped template of that name.
#[derive(Debug, Clone)]
pub struct MessageTemplates {
    folder: Option<PathBuf>,
}

impl MessageTemplates {
    /// Templates from `folder` (usually `templates/messages`), then the shipped ones.
    pub fn new(folder: Option<PathBuf>) -> Self {
        Self { folder }
    }

    /// `templates/messages` below the working directory, then the shipped templates.
    pub fn default_folder() -> Self {
        Self::new(Some(PathBuf::from("templates").join("messages")))
    }
}

impl TemplateSource for MessageTemplates {
    fn read(&self, name: &str) -> Option<Result<String, String>> {
        if let Some(folder) = &self.folder {
            let path = folder.join(name);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.len() > MAX_TEMPLATE_BYTES => {
                    return Some(Err(format!(
                        "{} is larger than 256 KiB; a body template is a page of text",
                        path.display()
                    )));
                }
                Ok(_) => {
                    return Some(std::fs::read_to_string(&path).map_err(|e| {
                        format!(
                            "{} cannot be read ({e}); save it as UTF-8 text",
                            path.display()
                        )
                    }));
                }
                Err(_) => {}
            }
        }
        let shipped = SHIPPED.iter().find(|(file, _)| *file == name);
        Some(shipped.map(|(_, text)| (*text).to_owned()).ok_or_else(|| {
            let folder = self.folder.as_ref().map_or_else(
                || "templates/messages".to_owned(),
                |f| f.display().to_string(),
            );
            format!(
                "no body template `{name}` in {folder} (nor among the shipped ones: {}); create \
                 the file or correct the name",
                SHIPPED.map(|(file, _)| file).join(", ")
            )
        }))
    }
}
