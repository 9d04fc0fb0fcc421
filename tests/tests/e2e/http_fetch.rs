//! The `http-fetch` tool against a real HTTP server on 127.0.0.1.

use warden::CallError;
use warden::bindings::Capability;
use warden_tests::{TestServer, block_on, builtin, grant_hosts, hostile, runtime};

fn fetch(grant: &warden::Grant, url: &str) -> Result<serde_json::Value, CallError> {
    let input = serde_json::json!({ "url": url }).to_string();
    block_on(runtime().call_tool(&builtin("http-fetch"), "fetch", &input, grant)).map(|r| r.output)
}

fn assert_network_denied(result: Result<serde_json::Value, CallError>, target: &str) {
    match result {
        Err(CallError::Denied { denial, .. }) => {
            assert_eq!(denial.capability, Capability::Network);
            assert_eq!(denial.target, target);
            assert!(
                denial.reason.contains("not in") && denial.reason.contains("network grant"),
                "{}",
                denial.reason
            );
            // The reason is read by models and library users: no CLI flags.
            assert!(!denial.reason.contains("--"), "{}", denial.reason);
        }
        other => panic!("expected a network denial for {target}, got {other:?}"),
    }
}

#[test]
fn fetches_from_a_granted_host() {
    let server = TestServer::start();
    let grant = grant_hosts(&[&format!("127.0.0.1:{}", server.port())]);
    let out = fetch(&grant, &format!("http://127.0.0.1:{}/hello", server.port())).expect("fetch");
    assert_eq!(out["status"], 200);
    assert_eq!(out["body"], "hello from the test server\n");

    let out = fetch(&grant, &format!("http://127.0.0.1:{}/json", server.port())).expect("fetch");
    assert_eq!(out["content_type"], "application/json");

    let out = fetch(
        &grant,
        &format!("http://127.0.0.1:{}/missing", server.port()),
    )
    .expect("a 404 is a result");
    assert_eq!(out["status"], 404);
}

#[test]
fn large_bodies_are_truncated_not_unbounded() {
    let server = TestServer::start();
    let grant = grant_hosts(&[&format!("127.0.0.1:{}", server.port())]);
    let url = format!("http://127.0.0.1:{}/big", server.port());
    let out = fetch(&grant, &url).expect("the default bound fits the default output limit");
    assert_eq!(out["truncated"], true);
    let input = serde_json::json!({ "url": url, "max_bytes": 4096 }).to_string();
    let out = block_on(runtime().call_tool(&builtin("http-fetch"), "fetch", &input, &grant))
        .expect("fetch");
    assert_eq!(out.output["truncated"], true);
    assert_eq!(out.output["body"].as_str().map(str::len), Some(4096));
}

#[test]
fn a_host_that_is_not_granted_is_denied_and_the_next_call_works() {
    let granted = TestServer::start();
    let other = TestServer::start();
    let grant = grant_hosts(&[&format!("127.0.0.1:{}", granted.port())]);

    // Same address, other port.
    assert_network_denied(
        fetch(&grant, &format!("http://127.0.0.1:{}/hello", other.port())),
        &format!("127.0.0.1:{}", other.port()),
    );
    // Another loopback address.
    assert_network_denied(
        fetch(
            &grant,
            &format!("http://127.0.0.2:{}/hello", granted.port()),
        ),
        &format!("127.0.0.2:{}", granted.port()),
    );
    // No network grant at all.
    assert_network_denied(
        fetch(
            &warden::Grant::default(),
            &format!("http://127.0.0.1:{}/hello", granted.port()),
        ),
        &format!("127.0.0.1:{}", granted.port()),
    );
    let out = fetch(
        &grant,
        &format!("http://127.0.0.1:{}/hello", granted.port()),
    )
    .expect("next call works");
    assert_eq!(out["status"], 200);
}

#[test]
fn raw_sockets_are_checked_against_the_grant_too() {
    let granted = TestServer::start();
    let other = TestServer::start();
    let grant = grant_hosts(&[&format!("127.0.0.1:{}", granted.port())]);
    let connect = |port: u16| {
        let input = serde_json::json!({ "addr": format!("127.0.0.1:{port}") }).to_string();
        block_on(runtime().call_tool(&hostile(), "connect", &input, &grant))
    };
    let ok = connect(granted.port()).expect("granted address connects");
    assert_eq!(ok.output["connected"], true);
    match connect(other.port()) {
        Err(CallError::Denied { denial, .. }) => {
            assert_eq!(denial.capability, Capability::Network);
            assert_eq!(denial.target, format!("127.0.0.1:{}", other.port()));
        }
        other => panic!("expected a network denial, got {other:?}"),
    }
}

#[test]
fn a_granted_name_that_resolves_to_loopback_is_refused_unless_granted_by_ip() {
    let server = TestServer::start();
    let grant = grant_hosts(&[&format!("localhost:{}", server.port())]);
    match fetch(&grant, &format!("http://localhost:{}/hello", server.port())) {
        Err(CallError::Denied { denial, .. }) => {
            assert_eq!(denial.capability, Capability::Network);
            assert!(denial.reason.contains("loopback"), "{}", denial.reason);
            assert!(denial.reason.contains("granted by IP"), "{}", denial.reason);
            assert!(!denial.reason.contains("--"), "{}", denial.reason);
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    // Granted by IP, the same server answers.
    let grant = grant_hosts(&[&format!("127.0.0.1:{}", server.port())]);
    let out = fetch(&grant, &format!("http://127.0.0.1:{}/hello", server.port())).expect("by IP");
    assert_eq!(out["status"], 200);
}

#[test]
fn redirects_are_checked_against_the_grant_again() {
    let granted = TestServer::start();
    let other = TestServer::start();
    let grant = grant_hosts(&[&format!("127.0.0.1:{}", granted.port())]);
    // A redirect within the grant is followed.
    let inside = format!(
        "http://127.0.0.1:{}/redirect?to=http://127.0.0.1:{}/hello",
        granted.port(),
        granted.port()
    );
    let out = fetch(&grant, &inside).expect("followed");
    assert_eq!(out["body"], "hello from the test server\n");
    // A redirect to a port that is not granted is refused.
    let outside = format!(
        "http://127.0.0.1:{}/redirect?to=http://127.0.0.1:{}/hello",
        granted.port(),
        other.port()
    );
    match fetch(&grant, &outside) {
        Err(CallError::Denied { denial, .. }) => {
            assert_eq!(denial.target, format!("127.0.0.1:{}", other.port()));
        }
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn a_secret_is_injected_by_the_host_and_redacted_from_everything_reported() {
    use warden::secret::{Redactor, SecretValue, parse_secret};
    let server = TestServer::start();
    let other = TestServer::start();
    let value = "s3cr3t-token-4f9a";
    let mut grant = grant_hosts(&[
        &format!("127.0.0.1:{}", server.port()),
        &format!("127.0.0.1:{}", other.port()),
    ]);
    grant.secrets = vec![
        parse_secret(
            &format!("API_TOKEN@http://127.0.0.1:{}", server.port()),
            |_| Some(SecretValue::new(value)),
        )
        .expect("secret"),
    ];
    let input =
        serde_json::json!({ "url": format!("http://127.0.0.1:{}/echo-auth", server.port()) })
            .to_string();
    let report = block_on(runtime().call_tool(&builtin("http-fetch"), "fetch", &input, &grant))
        .expect("fetch");
    // The server received the secret (it echoes it), but the output shows
    // only the redaction.
    assert_eq!(report.output["body"], "auth: Bearer [REDACTED]");
    let everything = serde_json::to_string(&report.output).expect("json")
        + &serde_json::to_string(&report.log).expect("json");
    assert!(!everything.contains(value), "{everything}");

    // A host the secret is not scoped to never receives it.
    let input =
        serde_json::json!({ "url": format!("http://127.0.0.1:{}/echo-auth", other.port()) })
            .to_string();
    let report = block_on(runtime().call_tool(&builtin("http-fetch"), "fetch", &input, &grant))
        .expect("fetch");
    assert_eq!(report.output["body"], "auth: none");

    // The guest cannot read it as an environment variable either.
    let out = block_on(runtime().call_tool(&hostile(), "env", r#"{"name":"API_TOKEN"}"#, &grant))
        .expect("env");
    assert_eq!(out.output["value"], serde_json::Value::Null);
    assert!(Redactor::new(&grant.secrets).redact(value) == "[REDACTED]");
}

/// Runs `warden tool call builtin:http-fetch fetch URL` granted `hosts`,
/// trusting the CA in `ca_file` if given; returns the exit code and the
/// JSON on stdout.
fn fetch_cli(
    url: &str,
    hosts: &[String],
    ca_file: Option<&std::path::Path>,
) -> (i32, serde_json::Value) {
    let input = serde_json::json!({ "url": url }).to_string();
    let mut cmd = super::cli::warden();
    cmd.args([
        "tool",
        "call",
        "builtin:http-fetch",
        "fetch",
        &input,
        "--json",
    ]);
    for h in hosts {
        cmd.args(["--allow-host", h]);
    }
    cmd.env_remove(warden::outbound::CA_FILE_ENV);
    if let Some(ca) = ca_file {
        cmd.env(warden::outbound::CA_FILE_ENV, ca);
    }
    let out = cmd.output().expect("warden runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// HTTPS goes to the address the policy checked, and the certificate is
/// verified for the URL's host name against trusted roots: a CA nobody
/// trusts, or a certificate for another name, gets no request through.
#[test]
fn https_is_verified_for_the_host_name_and_sent_to_the_checked_address() {
    use warden_tests::tls::{TestCa, TlsServer};
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write");
    let server = TlsServer::start(&ca, &["localhost"], "hello over tls\n");
    let port = server.port();
    let url = format!("https://localhost:{port}/hello");
    // `localhost` resolves to loopback, so the address is granted by IP too.
    let hosts = [format!("localhost:{port}"), format!("127.0.0.1:{port}")];

    let (code, out) = fetch_cli(&url, &hosts, Some(&ca_file));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["output"]["status"], 200, "{out}");
    assert_eq!(out["output"]["body"], "hello over tls\n", "{out}");
    assert_eq!(server.hits(), 1);

    // Without the CA the certificate is not trusted: no request is served.
    let (code, out) = fetch_cli(&url, &hosts, None);
    assert_ne!(code, 0, "{out}");
    assert_eq!(out["ok"], false, "{out}");
    assert_eq!(
        server.hits(),
        1,
        "a request got through an untrusted certificate"
    );

    // A certificate for another name is refused even from a trusted CA.
    let other = TlsServer::start(&ca, &["other.test"], "wrong server\n");
    let hosts = [
        format!("localhost:{}", other.port()),
        format!("127.0.0.1:{}", other.port()),
    ];
    let url = format!("https://localhost:{}/hello", other.port());
    let (code, out) = fetch_cli(&url, &hosts, Some(&ca_file));
    assert_ne!(code, 0, "{out}");
    assert_eq!(
        other.hits(),
        0,
        "a request got through a certificate for another name"
    );
}
