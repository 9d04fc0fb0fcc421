//! The text operations of warden's `edit` component, with no file access:
//!
//! - [`replace_exact`]: replace one exact, unique occurrence of a string;
//!   a missing or repeated match is refused, saying which.
//! - [`parse_patch`] and [`apply_hunks`]: a unified diff, applied all or
//!   nothing: a hunk whose context does not match refuses the whole patch.
//! - [`page_lines`]: a window of a text by line numbers, bounded in lines
//!   and bytes.
//!
//! ```
//! let text = "fn main() {\n    println!(\"hi\");\n}\n";
//! let edited = edit_core::replace_exact(text, "\"hi\"", "\"hello\"").unwrap();
//! assert_eq!(edited.text, "fn main() {\n    println!(\"hello\");\n}\n");
//! assert_eq!(edited.line, 2);
//! ```

mod lines;
mod patch;
mod replace;

pub use lines::{LinePage, page_lines};
pub use patch::{FilePatch, Hunk, PatchError, apply_hunks, parse_patch};
pub use replace::{EditError, Edited, replace_exact};
