//! HTTP trigger routing, as Spin does it: exact routes and trailing-wildcard
//! routes (`/prefix/...`); an exact match beats any wildcard, and among
//! wildcards the longest prefix wins.

use anyhow::{Result, bail};

/// A parsed trigger route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    raw: String,
    /// Path segments before the wildcard, or of the whole exact path.
    prefix: Vec<String>,
    wildcard: bool,
}

impl RoutePattern {
    /// Parses `/exact/path`, `/prefix/...` or `/...`.
    pub fn parse(route: &str) -> Result<Self> {
        if !route.starts_with('/') {
            bail!("route `{route}` must start with `/`");
        }
        let (base, wildcard) = match route.strip_suffix("/...") {
            Some(base) => (base, true),
            None => (route, false),
        };
        if base.contains("...") {
            bail!("route `{route}`: `...` may only end a route, as `/...`");
        }
        Ok(Self {
            raw: route.to_string(),
            prefix: segments(base),
            wildcard,
        })
    }

    /// The route as written in the manifest (`spin-matched-route`).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The route without its wildcard (`spin-component-route`).
    pub fn base(&self) -> String {
        join(&self.prefix)
    }

    /// If `path` matches, the part of it after the route's base
    /// (`spin-path-info`: empty for an exact match).
    pub fn matches(&self, path: &str) -> Option<String> {
        let segs = segments(path);
        if self.wildcard {
            if segs.len() >= self.prefix.len() && segs[..self.prefix.len()] == self.prefix[..] {
                let rest = &segs[self.prefix.len()..];
                let mut info = join(rest);
                if path.ends_with('/') && !rest.is_empty() {
                    info.push('/');
                }
                return Some(info);
            }
            None
        } else {
            (segs == self.prefix).then(String::new)
        }
    }

    /// Higher is more specific: exact routes first, then longer prefixes.
    fn specificity(&self) -> (bool, usize) {
        (!self.wildcard, self.prefix.len())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn join(segs: &[String]) -> String {
    segs.iter().map(|s| format!("/{s}")).collect()
}

/// A route bound to the component that serves it.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    /// The pattern.
    pub pattern: RoutePattern,
    /// The component id.
    pub component: String,
}

/// The result of routing a path.
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    /// The route that matched.
    pub entry: &'a RouteEntry,
    /// `spin-path-info`.
    pub path_info: String,
}

/// All public routes of the application, most specific first.
#[derive(Debug, Clone, Default)]
pub struct Router {
    entries: Vec<RouteEntry>,
}

impl Router {
    /// Builds a router from (route, component) pairs.
    pub fn new(routes: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut entries = routes
            .into_iter()
            .map(|(route, component)| {
                Ok(RouteEntry {
                    pattern: RoutePattern::parse(&route)?,
                    component,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by_key(|e| std::cmp::Reverse(e.pattern.specificity()));
        Ok(Self { entries })
    }

    /// The most specific route matching `path`.
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        self.entries.iter().find_map(|entry| {
            entry
                .pattern
                .matches(path)
                .map(|path_info| RouteMatch { entry, path_info })
        })
    }

    /// Every route, most specific first.
    pub fn entries(&self) -> &[RouteEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new([
            ("/...".to_string(), "fallback".to_string()),
            ("/api/...".to_string(), "api".to_string()),
            ("/api/users/...".to_string(), "users".to_string()),
            ("/api/users".to_string(), "users-exact".to_string()),
        ])
        .unwrap()
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router();
        assert_eq!(
            r.route("/api/users").unwrap().entry.component,
            "users-exact"
        );
        let m = r.route("/api/users/7").unwrap();
        assert_eq!(
            (m.entry.component.as_str(), m.path_info.as_str()),
            ("users", "/7")
        );
        let m = r.route("/api/other/x/").unwrap();
        assert_eq!(
            (m.entry.component.as_str(), m.path_info.as_str()),
            ("api", "/other/x/")
        );
        assert_eq!(r.route("/apix").unwrap().entry.component, "fallback");
        assert_eq!(r.route("/").unwrap().entry.component, "fallback");
    }

    #[test]
    fn no_match_without_catch_all() {
        let r = Router::new([("/a".to_string(), "a".to_string())]).unwrap();
        assert!(r.route("/b").is_none());
        assert!(r.route("/a/b").is_none());
    }

    #[test]
    fn base_and_raw() {
        let p = RoutePattern::parse("/x/y/...").unwrap();
        assert_eq!((p.base().as_str(), p.raw()), ("/x/y", "/x/y/..."));
        assert_eq!(RoutePattern::parse("/...").unwrap().base(), "");
        assert!(RoutePattern::parse("x").is_err());
        assert!(RoutePattern::parse("/a/.../b").is_err());
    }
}
