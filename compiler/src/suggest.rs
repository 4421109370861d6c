//! "Did you mean …?": the closest known name within edit distance 2.

/// The candidate nearest to `name` (Levenshtein distance at most 2, and less than the
/// name's length so that short names do not match everything). Ties go to the
/// alphabetically first candidate, so suggestions are stable.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = 2.min(name.chars().count().saturating_sub(1));
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (strsim::levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate.to_string())
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_close_names_only() {
        let known = ["coord.propose", "coord.resign", "limit"];
        assert_eq!(
            did_you_mean("coord.propse", known).as_deref(),
            Some("coord.propose")
        );
        assert_eq!(did_you_mean("limt", known).as_deref(), Some("limit"));
        assert_eq!(did_you_mean("zzz", known), None);
        assert_eq!(did_you_mean("a", ["b"]), None);
    }
}
