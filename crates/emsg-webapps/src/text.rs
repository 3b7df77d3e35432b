//! Text shown back in messages: long values are cut, never the message.

/// `text` cut to `max_chars` characters, with `...` when something was cut.
pub fn shorten(text: &str, max_chars: usize) -> String {
    let short: String = text.chars().take(max_chars).collect();
    if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    }
}
