//! Keeping the API key out of clap's error messages.
//!
//! clap quotes the argument it stumbled on ("unexpected argument 'X' found"). `--api-key`
//! takes values that start with `-`, so a key is never read as a flag; but a key split by a
//! stray space (`--api-key id: secret`) would still be quoted. Before a clap error is printed,
//! [`scrub`] replaces every string the operator meant as the key with [`REDACTED`].

use std::ffi::{OsStr, OsString};

/// What a redacted key reads as.
pub const REDACTED: &str = "<redacted>";

/// The flag that carries the API key.
const KEY_FLAG: &str = "--api-key";

/// The environment variable that carries the API key.
pub const KEY_ENV: &str = "NIXFLEX_API_KEY";

/// Shortest string [`scrub`] replaces, in bytes: replacing every `a` or `id` of a message
/// would garble it, and a key part that short protects nothing (assumed).
const MIN_SCRUBBED: usize = 4;

/// Every string of `argv` (and of the `NIXFLEX_API_KEY` value `env`) meant as the API key:
/// the value of `--api-key` (or `--api-key=`), the words after it up to the next flag (a key
/// split by a space), and the secret half after the first `:` of each.
pub fn key_values(argv: &[OsString], env: Option<&OsStr>) -> Vec<String> {
    let mut values = Vec::new();
    let mut words = argv.iter().map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        let first = if word == KEY_FLAG {
            // Hyphen values are allowed: the next word is the value, whatever it looks like.
            words.next().map(|w| w.into_owned())
        } else {
            word.strip_prefix(KEY_FLAG)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
        };
        let Some(first) = first else { continue };
        values.push(first);
        // Words that follow up to the next flag: the rest of a key split by spaces.
        for next in words.by_ref() {
            if next.starts_with('-') {
                break;
            }
            values.push(next.into_owned());
        }
    }
    values.extend(env.map(|v| v.to_string_lossy().into_owned()));
    let halves: Vec<String> = values
        .iter()
        .filter_map(|v| v.split_once(':').map(|(_, secret)| secret.to_owned()))
        .collect();
    values.extend(halves);
    values
}

/// `text` with every string of `secrets` at least [`MIN_SCRUBBED`] bytes long replaced by
/// [`REDACTED`], longest first.
///
/// ```
/// use redial_cli::redact::scrub;
/// let secrets = ["id:s3cr3t".to_owned(), "s3cr3t".to_owned()];
/// assert_eq!(scrub("unexpected 's3cr3t'", &secrets), "unexpected '<redacted>'");
/// ```
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.len() >= MIN_SCRUBBED)
        .collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in sorted {
        out = out.replace(secret, REDACTED);
    }
    out
}

/// Prints a clap error (usage error on stderr, `--help`/`--version` on stdout) with every
/// key string of `secrets` scrubbed.
pub fn print_clap_error(e: &clap::Error, secrets: &[String]) {
    if secrets.is_empty() {
        let _ = e.print();
        return;
    }
    let text = scrub(&e.render().to_string(), secrets);
    if e.use_stderr() {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_the_key_however_it_was_given() {
        let v = key_values(
            &argv(&["redial", "campaign", "--api-key", "-id:sec", "--agent", "a"]),
            None,
        );
        assert_eq!(v, ["-id:sec", "sec"]);
        let v = key_values(&argv(&["x", "--api-key=id:", "secret", "--out", "o"]), None);
        assert_eq!(v, ["id:", "secret", ""]);
        let v = key_values(&argv(&["x", "--agent", "a"]), Some(OsStr::new("e:f")));
        assert_eq!(v, ["e:f", "f"]);
    }

    #[test]
    fn scrubs_long_strings_only() {
        let s = vec!["abcd:efgh".to_owned(), "efgh".to_owned(), "ab".to_owned()];
        assert_eq!(
            scrub("'abcd:efgh' 'efgh' ab", &s),
            "'<redacted>' '<redacted>' ab"
        );
    }
}
