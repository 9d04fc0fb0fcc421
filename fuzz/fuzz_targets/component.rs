//! The component inside a package: anyone can sign a package with their own
//! key, so `capabilities::check` (decoding the component's WIT and comparing
//! its imports with the manifest) sees arbitrary bytes. The first byte picks
//! the manifest's kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_registry::manifest::{Kind, Manifest};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, component)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(pick) % Kind::ALL.len()];
    let text = format!(
        "name = \"acme:fuzz\"\nversion = \"1.0.0\"\nkind = \"{kind}\"\ndescription = \"fuzz\"\n\
         world = \"warden:plugin/{world}@0.1.0\"\n\n[capabilities]\nhosts = [\"*.example.com:443\"]\n\
         env = [\"HOME\"]\ndirs = [{{ path = \"/src\", mode = \"ro\", purpose = \"fuzz\" }}]\n",
        kind = kind.as_str(),
        world = kind.world_name(),
    );
    let Ok(manifest) = Manifest::parse(&text) else {
        panic!("the fixed manifest does not parse:\n{text}");
    };
    let _ = warden_registry::capabilities::check(&manifest, component);
});
