//! The one binding module: `flowsight._native`. Only this crate imports pyo3.
//! Conversion rules: engine types become frozen pyclasses; `EngineError` becomes an exception
//! from `flowsight.errors` (see `errors.rs`); heavy calls release the GIL.

use pyo3::prelude::*;

mod errors;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    Ok(())
}
