//! A closed standard output ends warden quietly, as it ends any Unix
//! filter: `warden tool list | head` prints what `head` shows and exits
//! with [`BROKEN_PIPE`](crate::exit::BROKEN_PIPE), instead of a panic
//! message about a failed `println!`. Whatever the command recorded (the
//! audit record of a call) was written before its output.

/// Installs the panic hook that turns a failed write to a closed stdout
/// into a quiet exit; every other panic goes to the default hook.
pub fn exit_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if is_closed_stdout(message) {
            std::process::exit(i32::from(crate::exit::BROKEN_PIPE));
        }
        default(info)
    }));
}

/// Whether `message` is the panic of `print!`/`println!` on a closed pipe
/// ("failed printing to stdout: Broken pipe (os error 32)" on Linux).
fn is_closed_stdout(message: &str) -> bool {
    message.starts_with("failed printing to stdout")
        && message.to_ascii_lowercase().contains("broken pipe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_pipe_on_stdout_is_quiet() {
        // What the OS reports for a write to a pipe nobody reads (EPIPE).
        let broken = std::io::Error::from_raw_os_error(32);
        assert!(is_closed_stdout(&format!(
            "failed printing to stdout: {broken}"
        )));
        assert!(!is_closed_stdout(&format!(
            "failed printing to stderr: {broken}"
        )));
        let other = std::io::Error::from_raw_os_error(13);
        assert!(!is_closed_stdout(&format!(
            "failed printing to stdout: {other}"
        )));
        assert!(!is_closed_stdout("index out of bounds"));
    }
}
