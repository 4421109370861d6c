//! Says what the parser expected, in words: pest reports the rules and tokens it tried at
//! the failing position; users should read "expected an expression or `}`", never rule
//! names.

use crate::error::Expected;
use crate::parser::Rule;
use pest::error::{Error, ErrorVariant};

pub fn expected_from(error: &Error<Rule>) -> Vec<Expected> {
    let mut expected = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        expected.extend(positives.iter().filter_map(|rule| describe_rule(*rule)));
    }
    if let Some(attempts) = error.parse_attempts() {
        for stack in attempts.call_stacks() {
            let rule = stack.deepest.get_rule().or(stack.parent.as_ref());
            expected.extend(rule.and_then(|rule| describe_rule(*rule)));
        }
        for token in attempts.expected_tokens() {
            expected.extend(describe_token(&token.to_string()));
        }
    }
    simplify(expected)
}

/// Drops what a broader expectation already covers, sorts and dedups.
fn simplify(mut expected: Vec<Expected>) -> Vec<Expected> {
    if expected.contains(&Expected::Expression) {
        expected.retain(|e| {
            !matches!(e, Expected::Name | Expected::String | Expected::Integer)
                && !matches!(e, Expected::Token("(" | "[" | "{" | "-" | "!" | "\""))
                && !matches!(e, Expected::Keyword("if" | "true" | "false" | "none"))
        });
    }
    if expected.contains(&Expected::Operator) {
        expected.retain(|e| !matches!(e, Expected::Token("." | "[" | "?" | "-" | "!")));
    }
    if expected.contains(&Expected::Modifier) {
        expected.retain(|e| !matches!(e, Expected::Keyword(_)));
        expected.retain(|e| *e != Expected::Trigger);
    }
    expected.sort();
    expected.dedup();
    expected
}

fn describe_rule(rule: Rule) -> Option<Expected> {
    Some(match rule {
        Rule::EOI => Expected::EndOfFile,
        Rule::item
        | Rule::import_kw
        | Rule::const_kw
        | Rule::type_kw
        | Rule::edges_kw
        | Rule::policy_kw
        | Rule::migration_kw
        | Rule::workflow_kw
        | Rule::extern_kw => Expected::Item,
        Rule::expr
        | Rule::paren
        | Rule::if_expr
        | Rule::list_lit
        | Rule::record_lit
        | Rule::number
        | Rule::mantissa
        | Rule::window
        | Rule::clock
        | Rule::path_expr
        | Rule::not_op
        | Rule::neg_op
        | Rule::true_kw
        | Rule::false_kw
        | Rule::none_kw => Expected::Expression,
        Rule::coalesce_op
        | Rule::or_op
        | Rule::and_op
        | Rule::eq_op
        | Rule::ne_op
        | Rule::le_op
        | Rule::ge_op
        | Rule::lt_op
        | Rule::gt_op
        | Rule::per_op
        | Rule::add_op
        | Rule::sub_op
        | Rule::mul_op
        | Rule::div_op
        | Rule::rem_op
        | Rule::field_get
        | Rule::opt_field
        | Rule::index => Expected::Operator,
        Rule::name | Rule::ident | Rule::op_path | Rule::path => Expected::Name,
        Rule::type_expr | Rule::type_name | Rule::list_type | Rule::record_type => Expected::Type,
        Rule::string | Rule::string_inner => Expected::String,
        Rule::integer => Expected::Integer,
        Rule::step | Rule::let_kw => Expected::Step,
        Rule::after_kw | Rule::retry_kw | Rule::timeout_kw | Rule::when_kw => Expected::Modifier,
        Rule::on_kw | Rule::trigger => Expected::Trigger,
        Rule::return_kw => Expected::Keyword("return"),
        Rule::as_kw => Expected::Keyword("as"),
        Rule::op_kw => Expected::Keyword("op"),
        Rule::else_kw => Expected::Keyword("else"),
        Rule::backoff_kw => Expected::Keyword("backoff"),
        Rule::schedule_kw => Expected::Keyword("schedule"),
        Rule::every_kw => Expected::Keyword("every"),
        Rule::event_kw => Expected::Keyword("event"),
        Rule::where_kw => Expected::Keyword("where"),
        _ => return None,
    })
}

fn describe_token(token: &str) -> Option<Expected> {
    const PUNCTUATION: &[&str] = &[
        "{", "}", "(", ")", "[", "]", ",", ":", "=", "->", ".", "?", "\"", "..", "-", "!",
    ];
    if let Some(known) = PUNCTUATION.iter().find(|p| **p == token) {
        return Some(Expected::Token(known));
    }
    // Keywords appear as tokens inside their atomic rules; the rules already say it.
    None
}

/// The longest word quoted whole after "unexpected".
const MAX_QUOTED_WORD: usize = 40;

/// What stands at `at`, for "unexpected …", and its length in bytes.
pub fn describe_found(src: &str, at: usize) -> (String, usize) {
    let rest = &src[at.min(src.len())..];
    let Some(first) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        // A word is quoted whole only when short: a huge one would flood the message.
        let shown = match rest[..len].char_indices().nth(MAX_QUOTED_WORD) {
            Some((cut, _)) => format!("`{}…` ({len} characters)", &rest[..cut]),
            None => format!("`{}`", &rest[..len]),
        };
        return (shown, len);
    }
    if first == '"' {
        return ("string literal".to_string(), 1);
    }
    (format!("`{first}`"), first.len_utf8())
}
