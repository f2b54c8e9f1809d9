//! Route patterns: `"POST /v1/calls"`, `"GET /v1/calls/{id}"`, `"GET *"`, `"*"`.
//!
//! Buckets, per-route limits and metrics labels all speak of routes by pattern, never by the
//! concrete path, so an id never becomes a label or a config key.

use std::fmt;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`: safe and idempotent.
    Get,
    /// `POST`: creates something; not idempotent without a key.
    Post,
    /// `PUT`: idempotent.
    Put,
    /// `PATCH`: not idempotent.
    Patch,
    /// `DELETE`: idempotent.
    Delete,
}

impl Method {
    /// Parses an upper-case method name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }

    /// The upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether repeating the request cannot act twice (RFC 9110 idempotent methods).
    pub fn is_idempotent(self) -> bool {
        matches!(self, Self::Get | Self::Put | Self::Delete)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    method: Option<Method>,
    segments: Option<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// Why a route pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The method is not one of GET, POST, PUT, PATCH, DELETE.
    #[error("unknown method `{0}`: expected GET, POST, PUT, PATCH or DELETE")]
    Method(String),
    /// The path does not start with `/` (or is not `*`).
    #[error("expected \"METHOD /path\", \"METHOD *\" or \"*\"")]
    Shape,
}

impl RoutePattern {
    /// Parses `"METHOD /path/{param}"`, `"METHOD *"` or `"*"`.
    ///
    /// # Errors
    /// [`RouteError`] naming what is malformed.
    pub fn parse(s: &str) -> Result<Self, RouteError> {
        let s = s.trim();
        if s == "*" {
            return Ok(Self {
                method: None,
                segments: None,
            });
        }
        let (method, path) = s.split_once(' ').ok_or(RouteError::Shape)?;
        let method =
            Method::from_name(method).ok_or_else(|| RouteError::Method(method.to_owned()))?;
        let path = path.trim();
        if path == "*" {
            return Ok(Self {
                method: Some(method),
                segments: None,
            });
        }
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            return Err(RouteError::Shape);
        }
        let segments = split_path(path)
            .map(|seg| {
                if seg.starts_with('{') && seg.ends_with('}') {
                    Segment::Param
                } else {
                    Segment::Literal(seg.to_owned())
                }
            })
            .collect();
        Ok(Self {
            method: Some(method),
            segments: Some(segments),
        })
    }

    /// How specific the pattern is, for choosing among several that match: a path beats `*`,
    /// more literal segments beat fewer, a method beats any method. Larger is more specific.
    pub fn specificity(&self) -> (bool, usize, usize, bool) {
        let literals = self.segments.as_ref().map_or(0, |segs| {
            segs.iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count()
        });
        let len = self.segments.as_ref().map_or(0, Vec::len);
        (
            self.segments.is_some(),
            literals,
            len,
            self.method.is_some(),
        )
    }

    /// Whether a request with this method and concrete path (no query) matches.
    pub fn matches(&self, method: Method, path: &str) -> bool {
        if self.method.is_some_and(|m| m != method) {
            return false;
        }
        let Some(segments) = &self.segments else {
            return true;
        };
        let mut concrete = split_path(path);
        for seg in segments {
            match (seg, concrete.next()) {
                (Segment::Literal(lit), Some(c)) if lit == c => {}
                (Segment::Param, Some(c)) if !c.is_empty() => {}
                _ => return false,
            }
        }
        concrete.next().is_none()
    }
}

fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('?')
        .next()
        .unwrap_or_default()
        .trim_matches('/')
        .split('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_literal_params_and_wildcards() {
        let p = RoutePattern::parse("GET /v1/calls/{id}").unwrap();
        assert!(p.matches(Method::Get, "/v1/calls/call_1"));
        assert!(!p.matches(Method::Get, "/v1/calls"));
        assert!(!p.matches(Method::Post, "/v1/calls/call_1"));
        assert!(!p.matches(Method::Get, "/v1/calls/call_1/extra"));
        assert!(
            RoutePattern::parse("*")
                .unwrap()
                .matches(Method::Delete, "/x")
        );
        assert!(
            RoutePattern::parse("POST *")
                .unwrap()
                .matches(Method::Post, "/v1/messages")
        );
        assert!(
            RoutePattern::parse("POST /v1/calls")
                .unwrap()
                .matches(Method::Post, "/v1/calls?x=1")
        );
    }

    #[test]
    fn specific_patterns_rank_higher() {
        let rank = |p: &str| RoutePattern::parse(p).unwrap().specificity();
        assert!(rank("POST /v1/calls") > rank("POST *"));
        assert!(rank("POST *") > rank("*"));
        assert!(rank("GET /v1/calls/status") > rank("GET /v1/calls/{id}"));
        assert!(rank("GET /v1/calls/{id}") > rank("GET /v1/calls"));
    }

    #[test]
    fn rejects_malformed_patterns() {
        assert_eq!(
            RoutePattern::parse("FETCH /x"),
            Err(RouteError::Method("FETCH".into()))
        );
        assert_eq!(RoutePattern::parse("/v1/calls"), Err(RouteError::Shape));
        assert_eq!(RoutePattern::parse("GET v1"), Err(RouteError::Shape));
    }
}
