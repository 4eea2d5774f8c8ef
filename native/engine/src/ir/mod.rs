//! The program IR shared by slicing and taint: places (`place`) and the one call resolver
//! (`resolve`). Between `program`/`scopes` and the analyses: it imports only `program` and
//! `syntax`, and every analysis that needs an access path or a callee asks it.
//!
//! - `place.rs` — `Place`: a base variable and projections (field, constant key or index, any
//!   index), bounded by `MAX_PROJECTIONS` with cuts that degrade to the prefix; `place_of` is
//!   the engine's one access-path function.
//! - `lower.rs` — each scope's CFG sites lowered once into places defined and used, call
//!   sites with their argument places, returns, raises, yields and declarations (`IrCache`).
//! - `bindings.rs` — which names a scope binds (assignments, targets, `:=`, imports, `def`,
//!   `del`, augmented assignments apart), with its `global`/`nonlocal` declarations: computed
//!   once per scope from its text, read by taint and slicing alike.
//! - `binding.rs` — how a call's arguments bind to a callee's parameters: the one rule both
//!   analyses apply, over the shape of the arguments as written (`bind`).
//! - `effects.rs` — call effects as IR facts: the parameters' places a scope mutates, the
//!   globals it writes, whether it yields; a lowered call site's arguments bound by `binding`.
//! - `resolve.rs` — `resolve_call`, `targets`, `call_reference`, `member_reference`: which
//!   scopes a call may run, given what its callee or receiver refers to; `Syntactic` answers
//!   that from the syntax (slicing), taint answers it from abstract values.

pub mod binding;
pub mod bindings;
pub mod effects;
pub mod lower;
pub mod place;
pub mod resolve;
