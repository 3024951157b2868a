//! What every CSV the service reads goes through before its cells are looked at: the quoting
//! check that keeps a broken quote from swallowing the lines after it, and the line numbers a
//! person sees in an editor.
//!
//! The csv crate is lenient by design: a quote that is never closed makes the rest of the file
//! one cell, and a quote inside an unquoted cell is kept as text. Either way lines can vanish
//! into another row's description without an error. Every CSV reader here therefore first
//! checks the file against RFC 4180's quoting, and refuses it, naming the line, when a quote
//! opens a cell that never closes, a quote stands inside an unquoted cell, or text follows a
//! closing quote. A file that passes has an even number of quotes, each opening or closing a
//! cell or doubled inside one, so the csv crate splits it into exactly the rows it shows.

/// A quoting fault: the file line it names (the header is line 1) and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteError {
    pub line: usize,
    pub message: String,
}

/// Checks the quoting of a comma-separated file (RFC 4180: a quoted cell starts with the quote,
/// doubles any quote inside, and ends at a comma, a line end or the end of the file).
///
/// A misplaced quote shows only where the scan runs into trouble, often lines later, so the
/// fault names the line where that row began, and the row before too when its number of cells
/// differs from the header's (the row a quote opened in and swallowed the line end of).
pub fn check_quotes(bytes: &[u8]) -> Result<(), Vec<QuoteError>> {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(bytes);
    match first_fault(body) {
        None => Ok(()),
        Some((at, message)) => Err(explain(bytes, bytes.len() - body.len(), at, message)),
    }
}

/// Where the first quoting fault is, and what it is.
fn first_fault(body: &[u8]) -> Option<(usize, &'static str)> {
    let mut i = 0;
    while let Some(found) = memchr::memchr(b'"', &body[i..]) {
        let open = i + found;
        if open > 0 && !matches!(body[open - 1], b',' | b'\n' | b'\r') {
            return Some((
                open,
                "a quote inside an unquoted cell: quote the whole cell and double the quote inside (\"5\"\" screen\")",
            ));
        }
        // Inside the quoted cell: find its closing quote, passing doubled ones.
        let mut j = open + 1;
        loop {
            let Some(found) = memchr::memchr(b'"', &body[j..]) else {
                return Some((open, "unterminated quoted field: a quote opens a cell that is never closed, so the lines after it would become part of that cell"));
            };
            let quote = j + found;
            match body.get(quote + 1) {
                Some(b'"') => j = quote + 2,
                None | Some(b',' | b'\n' | b'\r') => {
                    i = quote + 1;
                    break;
                }
                Some(_) => return Some((quote, "text after a closing quote: a quoted cell must end at a comma or the end of the line (double a quote that belongs to the text)")),
            }
        }
    }
    None
}

/// The fault as the rows it concerns: read again up to it, row by row.
fn explain(bytes: &[u8], offset: usize, at: usize, message: &str) -> Vec<QuoteError> {
    let body = &bytes[offset..];
    // (start offset, cells) of the header, the row before the fault's and the fault's own.
    let mut header_cells = None;
    let mut previous: Option<(usize, usize)> = None;
    let (mut start, mut cells, mut quoted, mut after_cr) = (0, 1, false, false);
    for (k, &b) in body[..at].iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => cells += 1,
            b'\n' if !quoted && after_cr => start = k + 1,
            b'\r' | b'\n' if !quoted => {
                if header_cells.is_none() {
                    header_cells = Some(cells);
                } else {
                    previous = Some((start, cells));
                }
                (start, cells) = (k + 1, 1);
            }
            _ => {}
        }
        after_cr = b == b'\r' && !quoted;
    }
    let line = |k: usize| line_at(bytes, offset + k);
    let mut faults = Vec::new();
    if let (Some(header), Some((prev_start, prev_cells))) = (header_cells, previous) {
        if prev_cells != header && line(prev_start) < line(start) {
            faults.push(QuoteError {
                line: line(prev_start),
                message: format!("this row has {prev_cells} cells where the header has {header}: a quote in it is probably not closed where it should be"),
            });
        }
    }
    let found = line(at);
    let (row, message) = if found > line(start) && !message.starts_with("unterminated") {
        (line(start), format!("unterminated quoted field: a quoted cell on this row runs on to line {found}, where it reads wrong: {message}"))
    } else {
        (line(start), message.to_string())
    };
    faults.push(QuoteError { line: row, message });
    faults
}

/// The line (from 1) that byte `at` is on: LF, CRLF and a CR alone each end a line.
fn line_at(bytes: &[u8], at: usize) -> usize {
    let mut line = 1;
    let mut after_cr = false;
    for &b in &bytes[..at.min(bytes.len())] {
        if b == b'\r' || (b == b'\n' && !after_cr) {
            line += 1;
        }
        after_cr = b == b'\r';
    }
    line
}

/// The file line each CSV record starts on, as a person opening the file counts them (the
/// header is line 1). The csv crate's own count lags a line behind after a CRLF line end (files
/// saved by Excel, exports from Partner Center): it takes a record's start before it has read
/// the LF of the line before. So lines are counted here from the record's byte offset, skipping
/// the line end it may start on.
pub struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Counted up to here...
    at: usize,
    /// ...where this line begins or goes on.
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineCounter { bytes, at: 0, line: 1 }
    }

    /// The line of the record that starts at byte `start` (records come in file order).
    pub fn line_of(&mut self, start: u64) -> usize {
        let mut start = usize::try_from(start).unwrap_or(usize::MAX).min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.at {
            (self.at, self.line) = (0, 1);
        }
        // LF, CRLF and a CR alone (old Mac files) each end a line. (`self.at` is never just
        // after a CR: it is 0 or a record's first byte.)
        let mut after_cr = false;
        for &b in &self.bytes[self.at..start] {
            if b == b'\r' || (b == b'\n' && !after_cr) {
                self.line += 1;
            }
            after_cr = b == b'\r';
        }
        self.at = start;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Option<usize> {
        check_quotes(text.as_bytes()).err().map(|e| e.last().unwrap().line)
    }

    #[test]
    fn well_quoted_files_pass() {
        assert_eq!(line("a,b\n1,\"x, \"\"y\"\"\nz\"\n2,\"\"\n"), None);
        assert_eq!(line("\u{feff}\"a\",b\r\n1,2\r\n"), None);
        assert_eq!(line("a,b\n1,\"end\""), None);
    }

    #[test]
    fn faults_name_their_line() {
        // The issue's case: line 3 opens a quote that never closes.
        assert_eq!(line("a,b\n1,x\n2,\"broken\n3,y\n4,z\n"), Some(3));
        assert_eq!(line("a,b\r\n1,x\r\n2,5\" screen\r\n"), Some(3));
        assert_eq!(line("a,b\r1,\"x\"y\r"), Some(2));
        assert!(check_quotes(b"a\n\"x").unwrap_err()[0].message.starts_with("unterminated quoted field"));
        // A cell left open on line 2 runs into line 3's opening quote: line 2 is named.
        let e = check_quotes(b"a,b\n1,\"open\n2,\"next\"\n").unwrap_err();
        assert_eq!(e[0].line, 2, "{e:?}");
        // Closed by mistake at the start of line 3's quoted comma, the quote that opens after it
        // runs to the end: line 2, where the row began, is named.
        let e = check_quotes(b"a,b,c\n1,\",x\n2,\",\",y\n").unwrap_err();
        assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), [2], "{e:?}");
    }
}
