//! Exit codes are written once, in `warden_cli::exit::EXIT_CODES`: `--help`
//! is made from it, and the README's list must say the same.

use warden_cli::exit::{EXIT_CODES, help, readme_sentence};

#[test]
fn every_code_is_listed_once_in_order() {
    let codes: Vec<u8> = EXIT_CODES.iter().map(|(code, _, _)| *code).collect();
    assert_eq!(
        codes,
        [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 141]
    );
}

#[test]
fn help_has_a_line_per_code_then_the_environment() {
    let help = help();
    assert!(help.starts_with("Exit codes:\n   0  success\n"), "{help}");
    assert!(
        help.contains("\n   6  out of memory (--memory) or a host resource limit\n"),
        "{help}"
    );
    assert!(help.contains("\n  13  throttled: "), "{help}");
    assert!(help.contains("\n\nEnvironment:\n  WARDEN_HOME "), "{help}");
}

/// The README's prose list says what `EXIT_CODES` says (line breaks aside);
/// if not, the failure prints the sentence to paste.
#[test]
fn readme_lists_the_same_exit_codes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md is readable");
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = readme_sentence();
    assert!(
        flat.contains(&expected),
        "README.md's exit-code list differs from EXIT_CODES in cli/src/exit.rs; it should read:\n{expected}"
    );
}
