//! Quart: Flask's API, asynchronous (`@app.route`, `add_url_rule`, `MethodView`); what
//! `quart.request` holds is in the `frameworks` rule pack.

use super::{EntryPoints, Shared};
use crate::program::Program;

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    super::flask::generate_for(program, entries, shared, "quart");
}
