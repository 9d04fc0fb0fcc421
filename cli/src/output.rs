//! Human and `--json` output.

use std::process::ExitCode;

use serde_json::{Value, json};
use warden::error::capability_name;
use warden::guest_log::CapturedLog;
use warden::{CallError, CallReport, ListedTool, ToolSource};

use super::{exit, hint};

/// Prints one JSON value on stdout.
pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

pub fn tool_list_json(source: &ToolSource, tools: &[ListedTool]) -> Value {
    json!({
        "ok": true,
        "component": source.name(),
        "kind": source.kind(),
        "origin": source.origin(),
        "tools": tools,
    })
}

pub fn call_json(source: &ToolSource, tool: &str, report: &CallReport) -> Value {
    json!({
        "ok": true,
        "component": source.name(),
        "kind": source.kind(),
        "tool": tool,
        "output": report.output,
        "log": report.log,
        "stats": report.stats,
        "denials": report.denials.iter().map(|d| json!({
            "capability": warden::error::capability_name(d.capability),
            "target": d.target,
            "reason": d.reason,
        })).collect::<Vec<_>>(),
    })
}

/// Prints what the guest logged, one `[component] level: message` line each, on stderr.
pub fn print_guest_log(component: &str, log: &CapturedLog) {
    for line in &log.lines {
        eprintln!("[{component}] {}: {}", line.level, line.message);
    }
    if log.dropped_bytes > 0 {
        eprintln!(
            "[{component}] ({} more bytes of log dropped)",
            log.dropped_bytes
        );
    }
}

pub fn print_tool_list(source: &ToolSource, tools: &[ListedTool]) {
    println!(
        "{} ({}, {}): {} tool{}",
        source.name(),
        source.kind(),
        source.origin(),
        tools.len(),
        if tools.len() == 1 { "" } else { "s" }
    );
    for tool in tools {
        println!();
        println!("  {}", tool.name);
        for line in tool.description.lines() {
            println!("      {line}");
        }
        let schema = &tool.input_schema;
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = schema["properties"].as_object() {
            println!("    input:");
            for (name, prop) in props {
                let ty = match &prop["type"] {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("|"),
                    _ => "any".to_string(),
                };
                let flag = if required.contains(&name.as_str()) {
                    ""
                } else {
                    " (optional)"
                };
                let desc = prop["description"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("");
                println!("      {name}: {ty}{flag}  {desc}");
            }
        }
    }
}

pub fn print_call(report: &CallReport, verbose: u8) {
    print_json(&report.output);
    for d in &report.denials {
        eprintln!(
            "note: during the call the host refused {} access to `{}`: {}",
            warden::error::capability_name(d.capability),
            d.target,
            d.reason
        );
    }
    if verbose > 0 {
        let s = &report.stats;
        eprintln!(
            "took {:.1} ms, {} fuel, peak memory {} KiB",
            s.duration.as_secs_f64() * 1000.0,
            s.fuel_used,
            s.peak_memory_bytes / 1024
        );
    }
}

/// Prints `err` (as JSON with `--json`, else as an error chain on stderr)
/// and returns the exit code for its kind.
pub fn report_error(err: &anyhow::Error, json: bool) -> ExitCode {
    let code = exit::code_for(err);
    if json {
        let mut detail = json!({ "message": format!("{err:#}") });
        detail["kind"] = json!(kind_of(err));
        if let Some(call) = err.chain().find_map(|c| c.downcast_ref::<CallError>()) {
            add_call_detail(&mut detail, call);
        }
        let hints = hint::hints(err);
        if !hints.is_empty() {
            detail["hints"] = json!(hints);
        }
        print_json(&json!({ "ok": false, "exit_code": code, "error": detail }));
    } else {
        eprintln!("error: {err}");
        // Skip a cause its parent's message already quotes.
        let mut shown = err.to_string();
        let mut causes = Vec::new();
        for cause in err.chain().skip(1) {
            let text = cause.to_string();
            if !shown.contains(&text) {
                causes.push(text.clone());
            }
            shown = text;
        }
        if !causes.is_empty() {
            eprintln!("\nCaused by:");
            for cause in causes {
                eprintln!("    {cause}");
            }
        }
        for hint in hint::hints(err) {
            eprintln!("hint: {hint}");
        }
    }
    ExitCode::from(code)
}

fn kind_of(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CallError>() {
            return e.kind();
        }
        if cause.downcast_ref::<warden::LoadError>().is_some() {
            return "load";
        }
    }
    "error"
}

fn add_call_detail(detail: &mut Value, err: &CallError) {
    let denial = err.denial();
    if let Some(d) = denial {
        detail["capability"] = json!(capability_name(d.capability));
        detail["target"] = json!(d.target);
        detail["reason"] = json!(d.reason);
    }
    if let CallError::Trap { backtrace, .. } = err {
        detail["backtrace"] = json!(backtrace);
    }
}
