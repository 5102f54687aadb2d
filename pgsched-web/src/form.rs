//! A posted form read as its pairs, repeated names kept (the jobs list posts one `id` per
//! selected job).

/// The pairs of an `application/x-www-form-urlencoded` body.
#[derive(Debug, Default)]
pub(crate) struct Posted(Vec<(String, String)>);

impl Posted {
    /// Reads `body`.
    pub(crate) fn parse(body: &[u8]) -> Posted {
        Posted(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_kept_and_values_decoded() {
        let posted = Posted::parse(b"action=retry&id=a%2Fb&id=%3Cscript%3E&csrf=x");
        assert_eq!(posted.get("action"), Some("retry"));
        assert_eq!(posted.all("id").collect::<Vec<_>>(), ["a/b", "<script>"]);
        assert_eq!(posted.get("missing"), None);
    }
}
