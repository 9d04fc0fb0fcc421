//! Standard input and output for `warden mcp` on stdio, read and written
//! on the thread that runs the server instead of through tokio's blocking
//! pool.
//!
//! `tokio::io::stdin()`/`stdout()` hand every read and every write to a
//! thread of the blocking pool and back: for one MCP call, a read and a
//! write, that is three thread switches on top of the call. On a quiet
//! machine each one can mean waking an idle CPU (tens of microseconds in a
//! VM), more than the sandboxed call itself costs. When both are pipes, as
//! they are under an MCP client, they are instead registered with the
//! runtime's event loop (non-blocking, `epoll`), so the answer is read,
//! handled and written without leaving the worker thread.
//!
//! Anything else (a terminal, a file, a socket) keeps tokio's own
//! `stdin`/`stdout`, and so does a stdout that is the same pipe as stderr
//! (`2>&1`): making it non-blocking would make a diagnostic written to a
//! full stderr fail instead of wait. Only descriptors of our own are made
//! non-blocking: the client holds the other ends of its pipes.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

/// The input and output of the stdio transport.
pub(super) type Stdio = (
    Box<dyn AsyncRead + Send + Unpin>,
    Box<dyn AsyncWrite + Send + Unpin>,
);

/// Standard input and output as the transport reads and writes them: on
/// the event loop when both are pipes, else through tokio's stdio.
pub(super) fn stdio() -> Stdio {
    match pipes() {
        Some((input, output)) => (Box::new(input), Box::new(output)),
        None => (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout())),
    }
}

/// Standard input and output as pipes registered with the event loop, if
/// both are pipes and stdout is not also stderr.
fn pipes() -> Option<(pipe::Receiver, pipe::Sender)> {
    let input = own(std::io::stdin().as_fd())?;
    let output = own(std::io::stdout().as_fd())?;
    let (in_meta, out_meta) = (input.metadata().ok()?, output.metadata().ok()?);
    if !in_meta.file_type().is_fifo() || !out_meta.file_type().is_fifo() {
        return None;
    }
    if let Some(err_meta) = own(std::io::stderr().as_fd()).and_then(|f| f.metadata().ok())
        && (err_meta.dev(), err_meta.ino()) == (out_meta.dev(), out_meta.ino())
    {
        return None;
    }
    let receiver = pipe::Receiver::from_file(input).ok()?;
    let sender = pipe::Sender::from_file(output).ok()?;
    Some((receiver, sender))
}

/// A descriptor of our own for standard stream `fd` (a duplicate: the same
/// open pipe).
fn own(fd: std::os::fd::BorrowedFd<'_>) -> Option<File> {
    fd.try_clone_to_owned().ok().map(File::from)
}
