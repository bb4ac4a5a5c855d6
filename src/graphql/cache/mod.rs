//! Cache administration (admins only): `cacheStats` and `invalidateCache`.

pub mod mutation;
pub mod query;
pub mod types;
