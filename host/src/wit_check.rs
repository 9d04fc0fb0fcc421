//! Checks, at load time, that a component's `tools` export has exactly the
//! types of `wit/tools.wit`, so a mismatch is a load error naming the
//! function rather than a failure on the first call.

use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Type, types::ComponentInstance};

/// Checks the `list-tools` and `call` functions of `instance`; returns what
/// does not match.
pub fn check_tools_instance(engine: &Engine, instance: &ComponentInstance) -> Result<(), String> {
    let mut list_tools = None;
    let mut call = None;
    for (name, item) in instance.exports(engine) {
        match (name, item.ty) {
            ("list-tools", ComponentItem::ComponentFunc(f)) => list_tools = Some(f),
            ("call", ComponentItem::ComponentFunc(f)) => call = Some(f),
            _ => {}
        }
    }
    let list_tools = list_tools.ok_or("`list-tools` is not a function")?;
    let call = call.ok_or("`call` is not a function")?;
    check_list_tools(&list_tools)
        .map_err(|e| format!("`list-tools` should be `func() -> list<tool-spec>`: {e}"))?;
    check_call(&call).map_err(|e| {
        format!(
            "`call` should be `func(name: string, input: json) -> result<json, tool-error>`: {e}"
        )
    })
}

fn check_list_tools(f: &ComponentFunc) -> Result<(), String> {
    if f.params().len() != 0 {
        return Err("it takes parameters".into());
    }
    let result = single_result(f)?;
    let Type::List(list) = result else {
        return Err("it does not return a list".into());
    };
    let Type::Record(record) = list.ty() else {
        return Err("the list is not of records".into());
    };
    let fields: Vec<(String, Type)> = record
        .fields()
        .map(|f| (f.name.to_string(), f.ty))
        .collect();
    let expected = ["name", "description", "input-schema"];
    let ok = fields.len() == expected.len()
        && fields
            .iter()
            .zip(expected)
            .all(|((n, t), e)| n == e && matches!(t, Type::String));
    if !ok {
        return Err(
            "`tool-spec` must be a record of string fields name, description, input-schema".into(),
        );
    }
    Ok(())
}

fn check_call(f: &ComponentFunc) -> Result<(), String> {
    let params: Vec<(String, Type)> = f.params().map(|(n, t)| (n.to_string(), t)).collect();
    let params_ok = params.len() == 2 && params.iter().all(|(_, t)| matches!(t, Type::String));
    if !params_ok {
        return Err("it must take two strings".into());
    }
    let Type::Result(result) = single_result(f)? else {
        return Err("it does not return a result".into());
    };
    if !matches!(result.ok(), Some(Type::String)) {
        return Err("its ok type is not a string".into());
    }
    let Some(Type::Variant(err)) = result.err() else {
        return Err("its error type is not the `tool-error` variant".into());
    };
    let cases: Vec<&str> = err.cases().map(|c| c.name).collect();
    let expected = [
        "invalid-input",
        "unknown-tool",
        "not-found",
        "denied",
        "failed",
    ];
    if cases != expected {
        return Err(format!(
            "`tool-error` has cases {cases:?}, expected {expected:?}"
        ));
    }
    Ok(())
}

fn single_result(f: &ComponentFunc) -> Result<Type, String> {
    let mut results = f.results();
    match (results.next(), results.next()) {
        (Some(t), None) => Ok(t),
        _ => Err("it must return exactly one value".into()),
    }
}
