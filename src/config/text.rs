//! Text of a config file, whatever its format: UTF-8 with an optional BOM, and
//! positions as the line and column a person looks for in an editor.

use std::path::Path;

use crate::base::error::{Error, Result};

/// The UTF-8 byte order mark some editors (Windows Notepad) put first.
pub const BOM: &str = "\u{feff}";

/// Split off a UTF-8 BOM and decode the rest; invalid UTF-8 is a
/// [`Error::ConfigSyntax`] at the first bad byte. Shared by every config format.
pub fn decode_text<'b>(path: &Path, bytes: &'b [u8]) -> Result<(bool, &'b str)> {
    let (bom, body) = match bytes.strip_prefix(BOM.as_bytes()) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let text = std::str::from_utf8(body).map_err(|e| {
        // The prefix up to the bad byte is valid UTF-8 by definition.
        let valid = std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default();
        let (line, column) = line_column(valid, valid.len());
        let bad = body.get(e.valid_up_to()).copied().unwrap_or_default();
        Error::ConfigSyntax {
            path: path.to_path_buf(),
            line,
            column,
            message: format!("invalid UTF-8 (byte 0x{bad:02x}); the file must be UTF-8"),
        }
    })?;
    Ok((bom, text))
}

/// 1-based line and column (in characters) of byte `pos`; CRLF and lone CR end lines.
pub fn line_column(text: &str, pos: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    let bytes = text.as_bytes();
    for (i, c) in text[..pos].char_indices() {
        if c == '\n' || (c == '\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
            column = 1;
        } else if c != '\r' {
            column += 1;
        }
    }
    (line, column)
}
