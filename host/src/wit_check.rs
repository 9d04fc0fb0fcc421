//! Checks, at load time, that a component's `tools` export has exactly the
//! types of `wit/tools.wit`, so a mismatch is a load error naming the
//! function rather than a failure on the first call.

use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Type, types::ComponentInstance};

/// A `tools` export whose types differ from `wit/tools.wit`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitShapeError {
    /// The export lacks one of the two functions.
    #[error("`{function}` is not a function")]
    MissingFunction {
        /// `list-tools` or `call`.
        function: &'static str,
    },
    /// `list-tools` has another type.
    #[error("`list-tools` should be `func() -> list<tool-spec>`: {problem}")]
    ListTools {
        /// What differs.
        problem: ShapeProblem,
    },
    /// `call` has another type.
    #[error(
        "`call` should be `func(name: string, input: json) -> result<json, tool-error>`: {problem}"
    )]
    Call {
        /// What differs.
        problem: ShapeProblem,
    },
}

/// How one function's type differs from the one expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeProblem {
    /// It takes parameters where none are expected.
    #[error("it takes parameters")]
    TakesParameters,
    /// It returns something other than a list.
    #[error("it does not return a list")]
    NotAList,
    /// A list of something other than records.
    #[error("the list is not of records")]
    NotRecords,
    /// A record other than `tool-spec`.
    #[error("`tool-spec` must be a record of string fields name, description, input-schema")]
    ToolSpec,
    /// Parameters other than two strings.
    #[error("it must take two strings")]
    NotTwoStrings,
    /// It returns something other than a `result`.
    #[error("it does not return a result")]
    NotAResult,
    /// The result's ok type is not a string.
    #[error("its ok type is not a string")]
    OkNotString,
    /// The result's error type is not a variant.
    #[error("its error type is not the `tool-error` variant")]
    ErrNotVariant,
    /// `tool-error` with other cases.
    #[error("`tool-error` has cases {found:?}, expected {expected:?}")]
    ToolErrorCases {
        /// The cases found, in order.
        found: Vec<String>,
        /// The cases expected, in order.
        expected: Vec<String>,
    },
    /// Zero or several results.
    #[error("it must return exactly one value")]
    NotOneResult,
}

/// Checks the `list-tools` and `call` functions of `instance`; returns what
/// does not match.
pub fn check_tools_instance(
    engine: &Engine,
    instance: &ComponentInstance,
) -> Result<(), WitShapeError> {
    let mut list_tools = None;
    let mut call = None;
    for (name, item) in instance.exports(engine) {
        match (name, item.ty) {
            ("list-tools", ComponentItem::ComponentFunc(f)) => list_tools = Some(f),
            ("call", ComponentItem::ComponentFunc(f)) => call = Some(f),
            _ => {}
        }
    }
    let list_tools = list_tools.ok_or(WitShapeError::MissingFunction {
        function: "list-tools",
    })?;
    let call = call.ok_or(WitShapeError::MissingFunction { function: "call" })?;
    check_list_tools(&list_tools).map_err(|problem| WitShapeError::ListTools { problem })?;
    check_call(&call).map_err(|problem| WitShapeError::Call { problem })
}

fn check_list_tools(f: &ComponentFunc) -> Result<(), ShapeProblem> {
    if f.params().len() != 0 {
        return Err(ShapeProblem::TakesParameters);
    }
    let result = single_result(f)?;
    let Type::List(list) = result else {
        return Err(ShapeProblem::NotAList);
    };
    let Type::Record(record) = list.ty() else {
        return Err(ShapeProblem::NotRecords);
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
        return Err(ShapeProblem::ToolSpec);
    }
    Ok(())
}

fn check_call(f: &ComponentFunc) -> Result<(), ShapeProblem> {
    let params: Vec<(String, Type)> = f.params().map(|(n, t)| (n.to_string(), t)).collect();
    let params_ok = params.len() == 2 && params.iter().all(|(_, t)| matches!(t, Type::String));
    if !params_ok {
        return Err(ShapeProblem::NotTwoStrings);
    }
    let Type::Result(result) = single_result(f)? else {
        return Err(ShapeProblem::NotAResult);
    };
    if !matches!(result.ok(), Some(Type::String)) {
        return Err(ShapeProblem::OkNotString);
    }
    let Some(Type::Variant(err)) = result.err() else {
        return Err(ShapeProblem::ErrNotVariant);
    };
    let cases: Vec<String> = err.cases().map(|c| c.name.to_string()).collect();
    let expected = [
        "invalid-input",
        "unknown-tool",
        "not-found",
        "denied",
        "failed",
    ];
    if cases != expected {
        return Err(ShapeProblem::ToolErrorCases {
            found: cases,
            expected: expected.map(String::from).to_vec(),
        });
    }
    Ok(())
}

fn single_result(f: &ComponentFunc) -> Result<Type, ShapeProblem> {
    let mut results = f.results();
    match (results.next(), results.next()) {
        (Some(t), None) => Ok(t),
        _ => Err(ShapeProblem::NotOneResult),
    }
}
