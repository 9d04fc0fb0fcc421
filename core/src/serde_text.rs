//! Serde through a type's canonical text form.

/// Implements `Serialize` through `Display` and `Deserialize` through
/// `FromStr` (whose error becomes the deserializer's message) for types
/// whose text form is their canonical encoding (digests, keys, names, and
/// in `warden-agent` component references and session ids). The type must
/// implement `Display` and `FromStr` with an error that implements
/// `Display`; the calling crate must depend on `serde`.
#[macro_export]
macro_rules! serde_as_text {
    ($($ty:ty),+ $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}
