//! Rust `EngineError` → Python exception hierarchy. The classes live in `flowsight.errors`
//! (pure Python) so users can import and catch them without touching `_native`.

use flowsight_engine::error::EngineError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;

static ERRORS_MODULE: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

fn exception_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module = ERRORS_MODULE.get_or_try_init(py, || PyModule::import(py, "flowsight.errors").map(|m| m.unbind()))?;
    Ok(module.bind(py).getattr(name)?.downcast_into::<PyType>()?)
}

/// Turns an engine error into the matching `flowsight.errors` exception.
pub fn to_py_err(err: EngineError) -> PyErr {
    Python::with_gil(|py| {
        let class_name = match &err {
            EngineError::Io { .. } => "FileReadError",
            EngineError::InvalidEdit(_) => "InvalidEditError",
            EngineError::UnknownFile(_) => "UnknownFileError",
            EngineError::Config { .. } => "RuleConfigError",
            EngineError::Criterion(_) => "UsageError",
        };
        match exception_class(py, class_name) {
            Ok(class) => PyErr::from_type(class, err.to_string()),
            Err(import_error) => import_error,
        }
    })
}

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
