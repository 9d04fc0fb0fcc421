//! `wasi:cli/environment` `get-environment`, noted: the guest is handed
//! the granted environment as a whole, so a call that asks for it counts
//! as using every granted variable (`crate::usage`); one that never asks
//! used none.

use wasmtime::component::Linker;
use wasmtime_wasi::cli::WasiCliView;
use wasmtime_wasi::p2::bindings::cli::environment;

use crate::sandbox::SandboxState;

const INTERFACE: &str = "wasi:cli/environment@0.2.12";

pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(INTERFACE)?;
    inst.func_wrap("get-environment", |mut store, (): ()| {
        let state = store.data_mut();
        state.usage.env_read();
        let env = environment::Host::get_environment(&mut state.cli())?;
        Ok((env,))
    })?;
    Ok(())
}
