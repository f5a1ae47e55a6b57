//! An error and its causes as the one line an operator reads.

use std::error::Error;

/// `error: cause: root cause`, each cause once.
///
/// Many of paxrisk's errors name their cause in their own message (`rules/reference/airports.csv:
/// No such file or directory`) and also return it as their `source()`, so that a caller can
/// inspect it. Printing the chain as it is (`{:#}` of an `anyhow::Error`) then repeats the cause:
/// `…airports.csv: No such file or directory (os error 2): No such file or directory (os error 2)`.
/// Here a cause whose text is already in the line is left out.
pub fn error_text(e: &(dyn Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}

/// Prints `paxrisk COMMAND: error: …` ([`error_text`]) to standard error: how every subcommand
/// reports the error that stops it.
pub fn print_error(command: &str, e: &(dyn Error + 'static)) {
    eprintln!("paxrisk {command}: error: {}", error_text(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Named {
        path: String,
        source: std::io::Error,
    }

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)")
    }

    #[test]
    fn a_cause_the_message_already_names_is_not_repeated() {
        let e = anyhow::Error::new(Named { path: "rules/reference/airports.csv".into(), source: not_found() });
        assert_eq!(format!("{e:#}").matches("No such file").count(), 2, "anyhow's chain repeats it");
        assert_eq!(error_text(e.as_ref()), "rules/reference/airports.csv: No such file or directory (os error 2)");
    }

    #[test]
    fn context_and_causes_it_does_not_name_are_kept_in_order() {
        let e = anyhow::Error::new(not_found()).context("reading the rule pack").context("paxrisk bench");
        assert_eq!(
            error_text(e.as_ref()),
            "paxrisk bench: reading the rule pack: No such file or directory (os error 2)"
        );
        let named = anyhow::Error::new(Named { path: "a.csv".into(), source: not_found() }).context("loading rules");
        assert_eq!(error_text(named.as_ref()), "loading rules: a.csv: No such file or directory (os error 2)");
    }
}
