//! A 0.2.0 tool's progress reports as MCP `notifications/progress`.
//!
//! Only a client that sent a `progressToken` with its `tools/call` gets
//! them; the library has already checked and bounded each report (finite,
//! increasing, message cut and redacted, a bounded number per call; see
//! `warden::progress`). Reports are sent while the call runs, and any still
//! queued when it ends are sent before its result.

use std::future::Future;

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RoleServer};
use tokio::sync::mpsc::UnboundedReceiver;
use warden::Progress;

/// Runs `call`, forwarding each report from `reports` to `peer` under
/// `token`, and returns what the call returns.
pub async fn forward_during<F: Future>(
    call: F,
    mut reports: UnboundedReceiver<Progress>,
    peer: &Peer<RoleServer>,
    token: ProgressToken,
) -> F::Output {
    tokio::pin!(call);
    let output = loop {
        tokio::select! {
            output = &mut call => break output,
            Some(report) = reports.recv() => send(peer, &token, report).await,
        }
    };
    while let Ok(report) = reports.try_recv() {
        send(peer, &token, report).await;
    }
    output
}

async fn send(peer: &Peer<RoleServer>, token: &ProgressToken, report: Progress) {
    let mut param = ProgressNotificationParam::new(token.clone(), report.progress);
    param.total = report.total;
    param.message = report.message;
    // A client that went away learns nothing more; the call's own answer
    // reports that.
    let _ = peer.notify_progress(param).await;
}
