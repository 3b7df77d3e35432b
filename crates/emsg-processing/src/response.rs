//! A provider's answer as the extraction sees it: status, headers, body bytes.

/// Borrowed from wherever the answer is kept (the HTTP client, a stored message).
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub status: u16,
    /// Header names in any case; the first of a repeated header wins.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> Response<'a> {
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
