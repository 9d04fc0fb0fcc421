//! `wasi:http` header fields and outgoing bodies, charged to the call's
//! host-memory budget.
//!
//! A `fields` resource lives on the host side (up to 128 KiB each) and an
//! outgoing body buffers what the guest wrote until the connection takes
//! it, so without accounting a component with a 64 MiB memory limit could
//! make the host hold gigabytes (30,000 fields of 120 KiB; a thousand
//! unsent bodies). Every byte a guest puts into fields (`new`, `from-list`,
//! `set`, `append`, `clone`) and every body's buffer
//! ([`BODY_BUFFER_BYTES`], reserved when the body is taken) is charged to
//! the call's budget, which equals the grant's memory limit. The budget is
//! cumulative for the call: what was charged is not refunded when the
//! guest drops the resource, so a call's host-side allocations through
//! `wasi:http` never exceed its memory limit in total.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi_http::FieldMap;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::HeaderResult;
use wasmtime_wasi_http::p2::bindings::http::types::{
    HeaderError, HostFields, HostOutgoingRequest, HostOutgoingResponse,
};
use wasmtime_wasi_http::p2::body::HostOutgoingBody;
use wasmtime_wasi_http::p2::types::{
    HostOutgoingRequest as Request, HostOutgoingResponse as Response,
};

use crate::sandbox::SandboxState;

const INTERFACE: &str = "wasi:http/types@0.2.12";

/// Bytes of one outgoing body's write chunk (the most one `write` may pass).
pub const BODY_CHUNK_BYTES: usize = 64 << 10;
/// Chunks an outgoing body buffers before the connection takes them.
pub const BODY_BUFFER_CHUNKS: usize = 1;
/// What one outgoing body may hold on the host side.
pub const BODY_BUFFER_BYTES: u64 = ((BODY_BUFFER_CHUNKS + 1) * BODY_CHUNK_BYTES) as u64;
/// What one field costs beyond its name and value (map entry, bookkeeping).
const FIELD_OVERHEAD: u64 = 64;

const WHAT: &str = "host memory for HTTP header fields and body buffers";

fn field_bytes(name: &str, value: &[u8]) -> u64 {
    (name.len() + value.len()) as u64 + FIELD_OVERHEAD
}

fn lower<T>(r: HeaderResult<T>) -> wasmtime::Result<Result<T, HeaderError>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) => e.downcast().map(Err),
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(INTERFACE)?;
    inst.func_wrap(
        "[constructor]fields",
        |mut store, (): ()| -> wasmtime::Result<(Resource<FieldMap>,)> {
            let state = store.data_mut();
            state.guard.charge(WHAT, FIELD_OVERHEAD)?;
            Ok((HostFields::new(&mut state.http())?,))
        },
    )?;
    inst.func_wrap(
        "[static]fields.from-list",
        |mut store, (entries,): (Vec<(String, Vec<u8>)>,)| {
            let state = store.data_mut();
            let bytes = entries.iter().map(|(n, v)| field_bytes(n, v)).sum::<u64>();
            state.guard.charge(WHAT, bytes + FIELD_OVERHEAD)?;
            Ok((lower(HostFields::from_list(&mut state.http(), entries))?,))
        },
    )?;
    inst.func_wrap(
        "[method]fields.set",
        |mut store, (fields, name, values): (Resource<FieldMap>, String, Vec<Vec<u8>>)| {
            let state = store.data_mut();
            let bytes = values.iter().map(|v| field_bytes(&name, v)).sum::<u64>();
            state.guard.charge(WHAT, bytes)?;
            Ok((lower(HostFields::set(
                &mut state.http(),
                fields,
                name,
                values,
            ))?,))
        },
    )?;
    inst.func_wrap(
        "[method]fields.append",
        |mut store, (fields, name, value): (Resource<FieldMap>, String, Vec<u8>)| {
            let state = store.data_mut();
            state.guard.charge(WHAT, field_bytes(&name, &value))?;
            Ok((lower(HostFields::append(
                &mut state.http(),
                fields,
                name,
                value,
            ))?,))
        },
    )?;
    inst.func_wrap(
        "[method]fields.clone",
        |mut store, (fields,): (Resource<FieldMap>,)| -> wasmtime::Result<(Resource<FieldMap>,)> {
            let state = store.data_mut();
            let source: &FieldMap = state.table().get(&fields)?;
            let bytes = source
                .iter()
                .map(|(n, v)| field_bytes(n.as_str(), v.as_bytes()))
                .sum::<u64>();
            state.guard.charge(WHAT, bytes + FIELD_OVERHEAD)?;
            Ok((HostFields::clone(&mut state.http(), fields)?,))
        },
    )?;
    inst.func_wrap(
        "[method]outgoing-request.body",
        |mut store,
         (request,): (Resource<Request>,)|
         -> wasmtime::Result<(Result<Resource<HostOutgoingBody>, ()>,)> {
            let state = store.data_mut();
            state.guard.charge(WHAT, BODY_BUFFER_BYTES)?;
            Ok((HostOutgoingRequest::body(&mut state.http(), request)?,))
        },
    )?;
    inst.func_wrap(
        "[method]outgoing-response.body",
        |mut store,
         (response,): (Resource<Response>,)|
         -> wasmtime::Result<(Result<Resource<HostOutgoingBody>, ()>,)> {
            let state = store.data_mut();
            state.guard.charge(WHAT, BODY_BUFFER_BYTES)?;
            Ok((HostOutgoingResponse::body(&mut state.http(), response)?,))
        },
    )?;
    Ok(())
}
