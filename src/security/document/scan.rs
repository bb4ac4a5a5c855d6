//! One linear pass over a GraphQL document, before anything recursive sees it.
//!
//! The parser (pest) recurses once per nested `{`, `[` or `(`, so a few kilobytes of brackets
//! overflow a worker's stack and abort the process. This lexer understands exactly enough of
//! the grammar — strings, block strings, comments, names, numbers, punctuators — to count
//! tokens, directives and the deepest bracket nesting without recursion, and stops at the
//! first limit it passes, so its cost is bounded by the limits, not by the document.
//!
//! The token limit weighs what the parser spends: about 1 µs a token and 0.14 µs a byte
//! (strings, names, comments and white space are matched a character at a time), so every
//! [`BYTES_PER_TOKEN`] bytes of the document count as one token more.

use super::{Limit, Refusal};

/// Bytes of a document that cost the parser about as much as one token.
pub const BYTES_PER_TOKEN: usize = 8;

/// What the scan found in a document it accepted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Tokens, plus one per [`BYTES_PER_TOKEN`] bytes.
    pub tokens: usize,
    pub directives: usize,
    pub nesting: usize,
}

/// The limits the scan enforces.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    pub tokens: usize,
    pub directives: usize,
    pub nesting: usize,
}

/// Scans `doc`; refuses it at the first token past a limit.
pub fn scan(doc: &str, limits: ScanLimits) -> Result<Scan, Refusal> {
    let bytes = doc.as_bytes();
    let mut found = Scan::default();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = skip_line(bytes, i);
                continue;
            }
            b'"' => i = skip_string(bytes, i),
            b'{' | b'[' | b'(' => {
                depth += 1;
                found.nesting = found.nesting.max(depth);
                if depth > limits.nesting {
                    return Err(Refusal::new(Limit::Nesting, depth, limits.nesting));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                // An unbalanced closer is the parser's syntax error to report.
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'@' => {
                found.directives += 1;
                if found.directives > limits.directives {
                    return Err(Refusal::new(
                        Limit::Directives,
                        found.directives,
                        limits.directives,
                    ));
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                i += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => i = skip_number(bytes, i),
            // The byte order mark is ignored like white space (U+FEFF is EF BB BF in UTF-8).
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                i += 3;
                continue;
            }
            // Any other punctuator, or a character the parser will refuse: one token either way.
            _ => i += utf8_len(b),
        }
        found.tokens += 1;
        let weighted = found.tokens + i / BYTES_PER_TOKEN;
        if weighted > limits.tokens {
            return Err(Refusal::new(Limit::Tokens, weighted, limits.tokens));
        }
    }
    found.tokens += bytes.len() / BYTES_PER_TOKEN;
    if found.tokens > limits.tokens {
        return Err(Refusal::new(Limit::Tokens, found.tokens, limits.tokens));
    }
    Ok(found)
}

/// The index just past the comment starting at `i` (the line terminator is white space).
fn skip_line(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

/// The index just past the string or block string starting at `i`, or the end of the
/// document when it is unterminated.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return i;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // A string cannot span lines: the parser reports it; resume scanning there.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the number starting at `i` (`-`, digits, fraction, exponent).
fn skip_number(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        let exponent_sign = (b == b'+' || b == b'-') && matches!(bytes[i - 1], b'e' | b'E');
        if b.is_ascii_alphanumeric() || b == b'.' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// The length of the UTF-8 sequence a leading byte starts (1 for stray continuation bytes).
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: ScanLimits = ScanLimits {
        tokens: 1_000_000,
        directives: 1_000_000,
        nesting: 1_000_000,
    };

    fn scanned(doc: &str) -> Scan {
        scan(doc, WIDE).expect("accepted")
    }

    #[test]
    fn counts_tokens_depth_and_directives() {
        let doc = "query Q($a: [Int!]) { x(a: $a) @include(if: true) { y ...F } }";
        let s = scanned(doc);
        // query Q ( $ a : [ Int ! ] ) { x ( a : $ a ) @ include ( if : true ) { y ... F } }
        assert_eq!(s.tokens, 32 + doc.len() / BYTES_PER_TOKEN);
        assert_eq!(s.nesting, 2);
        assert_eq!(s.directives, 1);
    }

    #[test]
    fn brackets_inside_strings_comments_and_block_strings_do_not_nest() {
        let doc = "{ a(s: \"{{{[[[\\\"(((\", b: \"\"\"[[[ \\\"\"\" {{{\"\"\") # {{{{[[[[\n }";
        let s = scanned(doc);
        assert_eq!(s.nesting, 2, "{doc}");
        // { a ( s : "…" b : """…""" ) }
        assert_eq!(s.tokens, 11 + doc.len() / BYTES_PER_TOKEN);
    }

    #[test]
    fn refuses_at_the_first_token_past_a_limit() {
        let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        let limits = ScanLimits {
            nesting: 64,
            ..WIDE
        };
        let refused = scan(&deep, limits).expect_err("too deep");
        assert_eq!((refused.limit, refused.found), (Limit::Nesting, 65));
        let many = "{ a }".repeat(1000);
        let limits = ScanLimits {
            tokens: 100,
            ..WIDE
        };
        let refused = scan(&many, limits).expect_err("too many tokens");
        assert_eq!(refused.limit, Limit::Tokens);
        assert!((101..=102).contains(&refused.found), "{}", refused.found);
        // Long strings and white space weigh too: 8 bytes a token.
        assert!(scan(&" ".repeat(800), limits).is_ok());
        let refused = scan(&" ".repeat(808), limits).expect_err("white space weighs");
        assert_eq!((refused.limit, refused.found), (Limit::Tokens, 101));
        let directives = format!("{{ a {} }}", "@skip(if: false) ".repeat(20));
        let limits = ScanLimits {
            directives: 10,
            ..WIDE
        };
        let refused = scan(&directives, limits).expect_err("too many directives");
        assert_eq!(refused.limit, Limit::Directives);
    }

    #[test]
    fn unterminated_strings_and_odd_bytes_never_panic() {
        for doc in [
            "\"",
            "\"\"\"",
            "{ a(s: \"abc",
            "{ a(s: \"\\",
            "\"\"\"\\",
            "-",
            "1e",
            "\u{feff}{ a }",
            "\u{fffd}\u{1f3ed}",
            "}}}]]])))",
            "{ a(s: \"line\nbreak\") }",
        ] {
            let _ = scanned(doc);
        }
    }
}
