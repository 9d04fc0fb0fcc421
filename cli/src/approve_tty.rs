//! The terminal approver of `warden tool call`: a grants.toml `ask` rule's
//! question is put on stderr and answered on stdin, only when both are a
//! terminal; otherwise nobody can be asked and the call is refused.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use warden::approval::{Answer, AnswerFuture, Approver, Question};

/// How long the terminal waits for an answer.
const WAIT: Duration = Duration::from_secs(300);

/// Asks on the terminal.
#[derive(Debug, Default)]
pub struct Terminal;

impl Approver for Terminal {
    fn channel(&self) -> &str {
        "terminal"
    }

    fn ask<'a>(&'a self, question: &'a Question) -> AnswerFuture<'a> {
        let text = question.text();
        Box::pin(async move {
            if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
                return Answer::Unavailable {
                    reason: "stdin and stderr are not both a terminal".into(),
                };
            }
            let read = tokio::task::spawn_blocking(move || {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "{text} [y/N] ");
                let _ = err.flush();
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map(|_| line)
            });
            match tokio::time::timeout(WAIT, read).await {
                Err(_) => Answer::Timeout {
                    after_secs: WAIT.as_secs(),
                },
                Ok(Ok(Ok(line))) => match line.trim().to_ascii_lowercase().as_str() {
                    "y" | "yes" => Answer::Accept,
                    "" => Answer::Cancel,
                    _ => Answer::Decline,
                },
                Ok(Ok(Err(e))) => Answer::Unavailable {
                    reason: format!("cannot read the answer from the terminal: {e}"),
                },
                Ok(Err(e)) => Answer::Unavailable {
                    reason: format!("cannot read the answer from the terminal: {e}"),
                },
            }
        })
    }
}
