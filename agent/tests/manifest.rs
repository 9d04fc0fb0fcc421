//! `agent.toml`: the documented example, defaults, round-trips and every
//! kind of error, each with where it is and what to write instead.

use warden_agent::manifest::EXAMPLE;
use warden_agent::{AgentManifest, Delegation, Limits, ManifestError, SkillSource, default_agent};

/// The error's line and reason, or a panic naming what parsed.
fn invalid(text: &str) -> (Option<usize>, Option<usize>, String) {
    match AgentManifest::parse(text) {
        Err(ManifestError::Invalid {
            line,
            column,
            reason,
            ..
        }) => (line, column, reason),
        other => panic!("expected an Invalid error for\n{text}\ngot {other:?}"),
    }
}

const MINIMAL: &str = r#"
name = "min"
planner = "warden:planner@^0.1"
provider = "warden:openai-provider@^0.1"
"#;

#[test]
fn the_documented_example_parses_with_every_field() {
    let m = AgentManifest::parse(EXAMPLE).expect("the example is valid");
    assert_eq!(m.name, "reviewer");
    assert_eq!(m.planner.to_string(), "warden:planner@^0.1");
    assert_eq!(m.provider.to_string(), "warden:openai-provider@^0.1");
    let tools: Vec<String> = m.tools.iter().map(ToString::to_string).collect();
    assert_eq!(
        tools,
        ["warden:fs@^0.1", "warden:grep@^0.1", "acme:lint@^1"]
    );
    assert_eq!(m.skills.len(), 2);
    assert!(matches!(&m.skills[0], SkillSource::Dir(d) if d.as_os_str() == "./skills"));
    assert!(
        matches!(&m.skills[1], SkillSource::Component(c) if c.name.to_string() == "acme:style-guide")
    );
    assert_eq!(
        m.skill_dirs(std::path::Path::new("/ws")),
        [std::path::PathBuf::from("/ws/./skills")]
    );
    assert_eq!(m.skill_components().len(), 1);
    assert_eq!(
        m.model.endpoint.as_deref(),
        Some("https://api.openai.com/v1")
    );
    assert_eq!(m.model.name.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(m.model.api_key_secret.as_deref(), Some("OPENAI_API_KEY"));
    // The example writes out the defaults.
    assert_eq!(m.limits, Limits::default());
    assert_eq!(m.delegation, Delegation::default());
}

#[test]
fn omitted_tables_take_the_documented_defaults() {
    let m = AgentManifest::parse(MINIMAL).expect("valid");
    assert!(m.tools.is_empty() && m.skills.is_empty());
    assert!(m.model.is_empty());
    assert_eq!(
        m.limits,
        Limits {
            max_turns: 30,
            max_tool_calls: 100,
            token_budget: 200_000,
            wall_clock_ms: 600_000,
        }
    );
    assert_eq!(
        m.delegation,
        Delegation {
            max_concurrent: 2,
            executor_max_turns: 10,
        }
    );
    // The executor default never exceeds the caller's turns.
    let m = AgentManifest::parse(&format!("{MINIMAL}[limits]\nmax_turns = 4\n")).expect("valid");
    assert_eq!(m.delegation.executor_max_turns, 4);
}

#[test]
fn manifests_round_trip_through_to_toml() {
    for m in [
        default_agent(),
        AgentManifest::parse(EXAMPLE).expect("valid"),
        AgentManifest::parse(MINIMAL).expect("valid"),
    ] {
        let text = m.to_toml();
        let back = AgentManifest::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, m, "{text}");
        assert_eq!(back.digest(), m.digest());
    }
}

#[test]
fn the_digest_ignores_comments_and_spelled_out_defaults_but_not_content() {
    let spelled_out = format!("# a comment\n{MINIMAL}\n[limits]\nwall_clock = \"600s\"\n");
    let a = AgentManifest::parse(MINIMAL).expect("valid");
    let b = AgentManifest::parse(&spelled_out).expect("valid");
    assert_eq!(a.digest(), b.digest());
    let c =
        AgentManifest::parse(&format!("{MINIMAL}tools = [\"warden:fs@^0.1\"]\n")).expect("valid");
    assert_ne!(a.digest(), c.digest());
}

#[test]
fn the_default_agent_names_the_first_party_parts() {
    let m = default_agent();
    assert_eq!(m.planner.to_string(), "warden:planner@^0.1");
    assert_eq!(m.provider.to_string(), "warden:openai-provider@^0.1");
    let tools: Vec<String> = m.tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(
        tools,
        [
            "warden:fs",
            "warden:grep",
            "warden:http-fetch",
            "warden:edit"
        ]
    );
    assert_eq!(m.limits, Limits::default());
    assert_eq!(m.model.api_key_secret.as_deref(), Some("OPENAI_API_KEY"));
}

#[test]
fn unknown_fields_are_refused_where_they_are() {
    let (line, _, reason) = invalid(&format!("{MINIMAL}[limits]\nmax_turn = 3\n"));
    assert_eq!(line, Some(6));
    assert!(reason.contains("unknown field `max_turn`"), "{reason}");
    assert!(
        reason.contains("max_turns"),
        "lists the valid fields: {reason}"
    );

    let (line, _, reason) = invalid(&format!("{MINIMAL}planer = \"x\"\n"));
    assert_eq!(line, Some(5));
    assert!(reason.contains("unknown field `planer`"), "{reason}");
}

#[test]
fn missing_required_fields_say_what_to_add() {
    let (_, _, reason) = invalid("name = \"x\"\nprovider = \"warden:openai-provider@^0.1\"\n");
    assert!(reason.contains("missing field `planner`"), "{reason}");
    assert!(
        reason.contains("planner = \"warden:planner@^0.1\""),
        "{reason}"
    );
    let (_, _, reason) = invalid("planner = \"warden:planner@^0.1\"\nprovider = \"warden:p@1\"\n");
    assert!(reason.contains("missing field `name`"), "{reason}");
    assert!(reason.contains("name = \"my-agent\""), "{reason}");
}

#[test]
fn component_references_need_a_valid_name_and_range() {
    let text = MINIMAL.replace("warden:planner@^0.1", "warden:planner");
    let (line, column, reason) = invalid(&text);
    assert_eq!((line, column), (Some(3), Some(11)));
    assert!(reason.contains("`warden:planner@^0.1`"), "{reason}");

    let (line, _, reason) = invalid(&format!(
        "{MINIMAL}tools = [\"warden:fs@^0.1\", \"Acme:grep@1\"]\n"
    ));
    assert_eq!(line, Some(5));
    assert!(reason.contains("not a package name"), "{reason}");

    let (_, _, reason) = invalid(&format!("{MINIMAL}tools = [\"acme:grep@latest\"]\n"));
    assert!(reason.contains("not a semver range"), "{reason}");
}

#[test]
fn a_tool_or_skill_listed_twice_is_refused() {
    let (line, _, reason) = invalid(&format!(
        "{MINIMAL}tools = [\"acme:grep@1\",\n  \"acme:grep@^1.2\"]\n"
    ));
    assert_eq!(line, Some(6));
    assert!(reason.contains("lists `acme:grep` twice"), "{reason}");

    let (_, _, reason) = invalid(&format!("{MINIMAL}skills = [\"./s\", \"./s\"]\n"));
    assert!(reason.contains("twice"), "{reason}");
}

#[test]
fn a_skill_entry_is_a_directory_or_a_component() {
    let (_, _, reason) = invalid(&format!("{MINIMAL}skills = [\"skills\"]\n"));
    assert!(
        reason.contains("neither a directory nor a skill component"),
        "{reason}"
    );
    assert!(reason.contains("write `./skills`"), "{reason}");
    let (_, _, reason) = invalid(&format!("{MINIMAL}skills = [\"acme:style\"]\n"));
    assert!(reason.contains("`acme:style@^0.1`"), "{reason}");
    let m = AgentManifest::parse(&format!("{MINIMAL}skills = [\"/abs/skills\", \"..\"]\n"))
        .expect("valid");
    assert!(matches!(m.skills[0], SkillSource::Dir(_)));
    assert!(matches!(m.skills[1], SkillSource::Dir(_)));
}

#[test]
fn the_agent_name_is_checked() {
    let (line, _, reason) = invalid(&MINIMAL.replace("\"min\"", "\"My Agent\""));
    assert_eq!(line, Some(2));
    assert!(reason.contains("name = \"code-reviewer\""), "{reason}");
}

#[test]
fn limits_are_checked_with_the_field_and_an_example() {
    let cases = [
        ("max_turns = 0", "`limits.max_turns` must be at least 1"),
        (
            "token_budget = 0",
            "`limits.token_budget` must be at least 1",
        ),
        ("wall_clock = \"10\"", "needs a unit"),
        ("wall_clock = \"2y\"", "unknown duration unit `y`"),
        ("wall_clock = \"0s\"", "longer than 0"),
        (
            "max_tool_calls = -1",
            "`limits.max_tool_calls`: invalid value",
        ),
        ("max_turns = \"ten\"", "`limits.max_turns`: invalid type"),
    ];
    for (line_text, expected) in cases {
        let (line, _, reason) = invalid(&format!("{MINIMAL}\n[limits]\n{line_text}\n"));
        assert_eq!(line, Some(7), "{line_text}: {reason}");
        assert!(reason.contains(expected), "{line_text}: {reason}");
    }
    let m = AgentManifest::parse(&format!(
        "{MINIMAL}[limits]\nmax_tool_calls = 0\nwall_clock = \"90s\"\n"
    ))
    .expect("0 tool calls is allowed");
    assert_eq!(m.limits.max_tool_calls, 0);
    assert_eq!(m.limits.wall_clock_ms, 90_000);
}

#[test]
fn delegation_is_checked_against_the_limits() {
    let (line, _, reason) = invalid(&format!(
        "{MINIMAL}[limits]\nmax_turns = 5\n[delegation]\nexecutor_max_turns = 8\n"
    ));
    assert_eq!(line, Some(8));
    assert!(reason.contains("above `limits.max_turns` (5)"), "{reason}");
    assert!(reason.contains("write at most 5"), "{reason}");

    let (_, _, reason) = invalid(&format!("{MINIMAL}[delegation]\nmax_concurrent = 1000\n"));
    assert!(reason.contains("above the maximum of 64"), "{reason}");
    let (_, _, reason) = invalid(&format!("{MINIMAL}[delegation]\nexecutor_max_turns = 0\n"));
    assert!(reason.contains("at least 1"), "{reason}");

    let m = AgentManifest::parse(&format!("{MINIMAL}[delegation]\nmax_concurrent = 0\n"))
        .expect("0 disables delegation");
    assert_eq!(m.delegation.max_concurrent, 0);
}

#[test]
fn the_model_table_never_holds_a_key() {
    let (line, _, reason) = invalid(&format!("{MINIMAL}[model]\napi_key = \"sk-abc123\"\n"));
    assert_eq!(line, Some(6));
    assert!(reason.contains("never holds a key"), "{reason}");
    assert!(
        reason.contains("api_key_secret = \"OPENAI_API_KEY\""),
        "{reason}"
    );
    assert!(
        !reason.contains("sk-abc123"),
        "the error must not echo the key: {reason}"
    );

    // The valid fields offered for a typo do not include `api_key`.
    let (_, _, reason) = invalid(&format!("{MINIMAL}[model]\nkey = \"x\"\n"));
    assert!(reason.contains("`api_key_secret`"), "{reason}");
    assert!(!reason.contains("`api_key`"), "{reason}");

    // Even a key pasted unquoted (a syntax error) is not echoed back.
    let (line, _, reason) = invalid(&format!("{MINIMAL}[model]\napi_key = sk-abc123\n"));
    assert_eq!(line, Some(6));
    assert!(
        !reason.contains("sk-abc123"),
        "the error must not echo the key: {reason}"
    );

    let (_, _, reason) = invalid(&format!(
        "{MINIMAL}[model]\napi_key_secret = \"sk-abc123\"\n"
    ));
    assert!(reason.contains("NAME of a secret"), "{reason}");
    assert!(
        !reason.contains("sk-abc123"),
        "the error must not echo the key: {reason}"
    );
}

#[test]
fn the_model_endpoint_must_be_https_or_local() {
    for ok in [
        "https://api.openai.com/v1",
        "http://localhost:8080/v1",
        "http://127.0.0.1:11434",
        "http://[::1]:8080",
    ] {
        let text = format!("{MINIMAL}[model]\nendpoint = \"{ok}\"\n");
        AgentManifest::parse(&text).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for (bad, expected) in [
        (
            "http://api.example.com/v1",
            "use https://api.example.com/v1",
        ),
        ("https://user:pw@api.example.com", "holds credentials"),
        ("api.example.com", "is not a URL"),
        ("ftp://example.com", "scheme `ftp`"),
        ("https:///v1", "has no host"),
    ] {
        let (line, _, reason) = invalid(&format!("{MINIMAL}[model]\nendpoint = \"{bad}\"\n"));
        assert_eq!(line, Some(6), "{bad}");
        assert!(reason.contains(expected), "{bad}: {reason}");
    }
    let (_, _, reason) = invalid(&format!("{MINIMAL}[model]\nname = \" \"\n"));
    assert!(reason.contains("`model.name` is empty"), "{reason}");
}

#[test]
fn errors_name_the_file_they_come_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, "name = \"x\"\nbogus = 1\n").expect("write");
    let err = AgentManifest::load(&path).expect_err("invalid");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("at line 2"), "{message}");

    let err = AgentManifest::load(&dir.path().join("missing.toml")).expect_err("missing");
    assert!(matches!(err, ManifestError::Io { .. }), "{err}");
}

#[test]
fn session_retention_and_the_fallback_model_are_read_and_round_trip() {
    let m = AgentManifest::parse(EXAMPLE).expect("the example is valid");
    assert_eq!(m.sessions.keep_ms, Some(30 * 86_400_000));
    let fallback = m.fallback.as_ref().expect("a fallback");
    assert_eq!(
        fallback.model.endpoint.as_deref(),
        Some("http://127.0.0.1:8080/v1")
    );
    assert_eq!(fallback.model.name.as_deref(), Some("llama3.1:8b"));
    let again = AgentManifest::parse(&m.to_toml()).expect("round trip");
    assert_eq!(again, m);
    // Without the tables, nothing changes in the written form.
    let minimal = AgentManifest::parse(MINIMAL).expect("minimal");
    assert!(!minimal.to_toml().contains("sessions"));
    assert!(!minimal.to_toml().contains("fallback"));

    let (line, _, reason) = invalid(&format!("{MINIMAL}\n[sessions]\nkeep = \"30\"\n"));
    assert_eq!(line, Some(7));
    assert!(
        reason.contains("`sessions.keep`: `30` needs a unit"),
        "{reason}"
    );
    let (_, _, reason) = invalid(&format!("{MINIMAL}\n[fallback]\nname = \"llama\"\n"));
    assert!(
        reason.contains("`[fallback]` needs an `endpoint`"),
        "{reason}"
    );
    let (_, _, reason) = invalid(&format!(
        "{MINIMAL}\n[fallback]\nendpoint = \"http://cloud.example.com/v1\"\n"
    ));
    assert!(reason.contains("plain http to a remote host"), "{reason}");
}

#[test]
fn context_grants_are_read_and_a_bad_namespace_is_refused_where_it_is() {
    let m = AgentManifest::parse(EXAMPLE).expect("the example is valid");
    assert_eq!(m.context.read, ["team"]);
    assert_eq!(m.context.write, ["workspace"]);
    assert!(
        AgentManifest::parse(MINIMAL)
            .expect("valid")
            .context
            .is_empty()
    );
    let any =
        AgentManifest::parse(&format!("{MINIMAL}\n[context]\nread = [\"*\"]\n")).expect("valid");
    assert_eq!(any.context.read, ["*"]);
    let (line, _, reason) = invalid(&format!("{MINIMAL}\n[context]\nwrite = [\"Notes/../x\"]\n"));
    assert_eq!(line, Some(7));
    assert!(
        reason.contains("`context.write`: `Notes/../x` is not a namespace"),
        "{reason}"
    );
    let (_, _, reason) = invalid(&format!("{MINIMAL}\n[context]\nadmin = true\n"));
    assert!(reason.contains("unknown field `admin`"), "{reason}");
}
