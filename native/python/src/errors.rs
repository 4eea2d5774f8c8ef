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
            EngineError::Exclude(_) => "ConfigError",
            EngineError::Search(_) => "SearchIndexError",
            EngineError::Merge(_) => "MergeError",
        };
        match exception_class(py, class_name) {
            Ok(class) => PyErr::from_type(class, err.to_string()),
            Err(import_error) => import_error,
        }
    })
}

/// A panic inside the engine: a bug of ours, never a property of the analysed code.
pub struct EnginePanic(String);

/// Runs engine work, turning a panic into `EnginePanic` so that a bug surfaces as
/// `flowsight.errors.InternalError` (an `Exception`) instead of pyo3's `PanicException`
/// (a `BaseException` that would end the language server).
pub fn catch_panic<T>(work: impl FnOnce() -> T) -> Result<T, EnginePanic> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        EnginePanic(message)
    })
}

impl From<EnginePanic> for PyErr {
    fn from(panic: EnginePanic) -> PyErr {
        Python::with_gil(|py| {
            let message = format!("internal error in flowsight's engine (please report it): {}", panic.0);
            match exception_class(py, "InternalError") {
                Ok(class) => PyErr::from_type(class, message),
                Err(import_error) => import_error,
            }
        })
    }
}

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
