//! Shared by the registry's integration tests: real components generated
//! from `wit/`, so archive, signature and store tests need no guest build.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A component for `world`, defined in the last of `sources`, which may use
/// the real `warden:plugin` package in `wit/`.
pub fn synthetic(sources: &[&str], world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let wit: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    resolve.push_dir(&wit).expect("wit/");
    let mut pkg = None;
    for (i, source) in sources.iter().enumerate() {
        pkg = Some(
            resolve
                .push_str(format!("test{i}.wit"), source)
                .expect("wit"),
        );
    }
    let world = resolve
        .select_world(&[pkg.expect("a source")], Some(world))
        .expect("world");
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("encode")
}

/// A tool component with the right world and no network imports.
pub fn tool() -> Vec<u8> {
    synthetic(
        &["package test:t;\nworld w { include warden:plugin/tool@0.1.0; }\n"],
        "w",
    )
}

/// A tool component that imports `wasi:http/outgoing-handler`.
pub fn http_tool() -> Vec<u8> {
    synthetic(
        &[
            "package wasi:http@0.2.0;\ninterface outgoing-handler { handle: func(); }\n\
           world w { include warden:plugin/tool@0.1.0; import outgoing-handler; }\n",
        ],
        "w",
    )
}
