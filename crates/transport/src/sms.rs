//! Splitting a long SMS body, for callers who choose to split rather than shorten.
//! `messages().send` itself never splits silently.

use crate::validate::MAX_MESSAGE_CHARS;

/// Splits `body` into parts of at most 1,600 characters, at word boundaries where possible
/// (a single word longer than a part is cut). Whitespace between parts is dropped; nothing
/// else is lost.
///
/// ```
/// let parts = redial_transport::sms::split_body(&"word ".repeat(500));
/// assert_eq!(parts.len(), 2);
/// assert!(parts.iter().all(|p| p.chars().count() <= 1600));
/// ```
pub fn split_body(body: &str) -> Vec<String> {
    split_body_at(body, MAX_MESSAGE_CHARS)
}

fn split_body_at(body: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        if rest.chars().count() <= limit {
            parts.push(rest.to_owned());
            break;
        }
        // Byte offset just past `limit` characters.
        let hard = rest
            .char_indices()
            .nth(limit)
            .map_or(rest.len(), |(i, _)| i);
        // A part may end exactly at the limit when a space follows it.
        let at_space = rest[hard..].starts_with(char::is_whitespace);
        let cut = at_space.then_some(hard).or_else(|| {
            rest[..hard]
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map(|(i, _)| i)
                .filter(|&i| i > 0)
        });
        let cut = cut.unwrap_or(hard);
        parts.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_words_and_cuts_long_words() {
        assert_eq!(split_body_at("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(split_body_at("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(split_body_at("", 3), Vec::<String>::new());
        assert_eq!(split_body_at("héllo wörld", 6), ["héllo", "wörld"]);
    }

    #[test]
    fn nothing_but_separating_whitespace_is_lost() {
        let body = "lorem ipsum dolor sit amet ".repeat(200);
        let parts = split_body(&body);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_MESSAGE_CHARS));
        assert_eq!(parts.join(" "), body.trim());
    }
}
