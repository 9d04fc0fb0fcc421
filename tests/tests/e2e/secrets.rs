//! Secrets go only to the scheme, host and port they are granted for, and a
//! server that reflects them (in headers or the body, as is or encoded)
//! never gets them back to the guest.

use serde_json::{Value, json};
use warden::secret::{Reflection, SecretValue, parse_secret};
use warden::{CallReport, Grant};
use warden_tests::reflect::{ReflectingServer, reflections};
use warden_tests::{block_on, grant_hosts, hostile_sizes, runtime};

use super::cli::warden;

const VALUE: &str = "sk-test/R3fl3ct+9?z=Q";

/// A grant reaching `servers` over http, with the secret `API_TOKEN` for
/// `secret_host`.
fn grant(servers: &[&ReflectingServer], secret_host: &str) -> Grant {
    let hosts: Vec<String> = servers
        .iter()
        .map(|s| format!("http://127.0.0.1:{}", s.port()))
        .collect();
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let mut grant = grant_hosts(&hosts);
    grant.secrets = vec![
        parse_secret(&format!("API_TOKEN@{secret_host}"), |_| {
            Some(SecretValue::new(VALUE))
        })
        .expect("secret"),
    ];
    grant
}

fn fetch(server: &ReflectingServer, grant: &Grant) -> CallReport {
    let input = json!({ "url": format!("http://127.0.0.1:{}/", server.port()) }).to_string();
    block_on(runtime().call_tool(&hostile_sizes(), "fetch", &input, grant)).expect("fetch")
}

#[test]
fn a_secret_goes_only_to_the_scheme_host_and_port_it_was_granted_for() {
    let (a, b) = (ReflectingServer::start(), ReflectingServer::start());
    let bearer = format!("Bearer {VALUE}");

    let to_a = grant(&[&a, &b], &format!("http://127.0.0.1:{}", a.port()));
    fetch(&a, &to_a);
    fetch(&b, &to_a);
    assert_eq!(a.authorizations(), vec![Some(bearer.clone())]);
    // Granted two hosts, the secret still goes only to its own.
    assert_eq!(b.authorizations(), vec![None]);

    // The scheme is part of the match: granted for https, a plain http
    // request to the same host and port carries nothing. A loopback address
    // written without a scheme means http (local servers speak plain http;
    // elsewhere the default stays https, see policy's network tests), so
    // that grant does reach the local server.
    for host in [
        format!("https://127.0.0.1:{}", a.port()),
        format!("127.0.0.1:{}", a.port()),
    ] {
        fetch(&a, &grant(&[&a], &host));
    }
    assert_eq!(
        a.authorizations(),
        vec![Some(bearer.clone()), None, Some(bearer)]
    );
}

#[test]
fn a_secret_granted_without_a_host_is_refused_with_a_hint() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = warden()
        .args(["grant", "builtin:http-fetch", "secret", "API_TOKEN"])
        .env("WARDEN_HOME", home.path())
        .output()
        .expect("warden grant");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("names no host"), "{stderr}");
    assert!(
        stderr.contains("hint: warden grant builtin:http-fetch secret API_TOKEN@https://"),
        "{stderr}"
    );
    let out = warden()
        .args(["tool", "call", "builtin:http-fetch", "fetch", "{}"])
        .args(["--secret", "API_TOKEN"])
        .env("API_TOKEN", VALUE)
        .env("WARDEN_HOME", home.path())
        .output()
        .expect("warden tool call");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("hint: pass --secret API_TOKEN@https://"),
        "{stderr}"
    );
}

#[test]
fn a_reflected_secret_never_reaches_the_guest_in_any_common_encoding() {
    let server = ReflectingServer::start();
    let grant = grant(&[&server], &format!("http://127.0.0.1:{}", server.port()));
    let report = fetch(&server, &grant);
    let bearer = format!("Bearer {VALUE}");
    // The server did receive it, and sent it back every way it knows.
    assert_eq!(server.authorizations(), vec![Some(bearer.clone())]);

    let output = serde_json::to_string(&report.output).expect("json");
    let checker = Reflection::new(&grant.secrets).expect("patterns");
    assert!(!checker.found_in(output.as_bytes()), "{output}");
    for text in [VALUE, bearer.as_str()] {
        for (name, form) in reflections(text) {
            assert!(
                !output.to_lowercase().contains(&form.to_lowercase()),
                "{name} of `{text}` reached the guest: {output}"
            );
        }
    }
    // Every reflecting header was replaced, and the body lines too.
    let headers = report.output["headers"].as_array().expect("headers");
    let reflected: Vec<&Value> = headers
        .iter()
        .filter(|h| h[0].as_str().is_some_and(|n| n.starts_with("x-reflect-")))
        .collect();
    assert_eq!(reflected.len(), 8, "{headers:?}");
    assert!(
        reflected.iter().all(|h| h[1] == "[REDACTED]"),
        "{headers:?}"
    );
    let body = report.output["body"].as_str().expect("body");
    assert_eq!(body.lines().count(), 8, "{body}");
    assert!(body.lines().all(|l| l.contains("[REDACTED]")), "{body}");

    // The same host serves the next call normally.
    let out = block_on(runtime().call_tool(
        &hostile_sizes(),
        "echo",
        r#"{"text":"next"}"#,
        &Grant::default(),
    ))
    .expect("echo");
    assert_eq!(out.output["text"], "next");
}
