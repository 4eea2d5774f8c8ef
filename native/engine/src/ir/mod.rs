//! The program IR shared by slicing and taint: places (`place`) and the one call resolver
//! (`resolve`). Between `program`/`scopes` and the analyses: it imports only `program` and
//! `syntax`, and every analysis that needs an access path or a callee asks it.
//!
//! - `place.rs` — `Place`: a base variable and projections (field, constant key or index, any
//!   index), bounded by `MAX_PROJECTIONS` with cuts that degrade to the prefix; `place_of` is
//!   the engine's one access-path function.
//! - `resolve.rs` — `resolve_call`, `targets`, `call_reference`, `member_reference`: which
//!   scopes a call may run, given what its callee or receiver refers to; `Syntactic` answers
//!   that from the syntax (slicing), taint answers it from abstract values.

pub mod lower;
pub mod place;
pub mod resolve;
