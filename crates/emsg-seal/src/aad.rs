//! `Aad`: the associated data that binds a sealed value to the place it is stored.

/// Where a sealed value lives: its table, column and row.
///
/// It is authenticated with the ciphertext but not stored in it, so a value copied to another
/// row, column or table no longer opens. That stops someone with write access to the database
/// from moving a token from one connection to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: i64,
}

/// Versioned so that a future change of layout cannot be confused with this one.
const PREFIX: &[u8] = b"emsg:v1\0";

impl<'a> Aad<'a> {
    pub const fn new(table: &'a str, column: &'a str, row: i64) -> Self {
        Self { table, column, row }
    }

    /// `b"emsg:v1\0" ‖ table ‖ 0 ‖ column ‖ 0 ‖ row as decimal`.
    ///
    /// The NUL separators keep ("ab", "c") apart from ("a", "bc"); table and column names are
    /// identifiers from our own schema, so they never contain NUL themselves.
    pub fn to_bytes(&self) -> Vec<u8> {
        debug_assert!(!self.table.contains('\0') && !self.column.contains('\0'));
        let row = self.row.to_string();
        let mut bytes =
            Vec::with_capacity(PREFIX.len() + self.table.len() + self.column.len() + row.len() + 2);
        bytes.extend_from_slice(PREFIX);
        bytes.extend_from_slice(self.table.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(self.column.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(row.as_bytes());
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::Aad;

    #[test]
    fn associated_data_is_prefix_table_column_and_decimal_row_separated_by_nul() {
        let aad = Aad::new("connections", "refresh_token", -42);
        assert_eq!(
            aad.to_bytes(),
            b"emsg:v1\0connections\0refresh_token\0-42".to_vec()
        );
    }

    #[test]
    fn moving_a_character_between_table_and_column_changes_the_associated_data() {
        assert_ne!(
            Aad::new("ab", "c", 1).to_bytes(),
            Aad::new("a", "bc", 1).to_bytes()
        );
    }
}
