//! The `apcu` Python module: APCu's user cache for the WSGI applications the lab hosts.
//!
//! ```python
//! import apcu
//! apcu.store("clave", {"a": 1}, ttl=60)
//! apcu.fetch("clave")            # {'a': 1}; None (or `default`) when missing
//! apcu.inc("visitas")            # exact across every process and thread of the group
//! apcu.cache_info()["num_hits"]
//! ```
//!
//! One cache per WSGI process group, in a shared memory file created when the group starts
//! (lost when it restarts); embedded mode has one for the lab process. Integers, strings,
//! bytes, floats, booleans and `None` are stored as they are; anything else is pickled.
//! The size comes from `WSGIApcuShmSize` (like `apc.shm_size`), default 32M.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use super::shm::{self, Shm};

/// The variable that tells a worker process which file holds its group's cache.
pub const ENV_FILE: &str = "LAB_APCU_FILE";

/// Default size of a group's cache (`apc.shm_size`'s default is 32M).
pub const DEFAULT_SIZE: u64 = 32 * 1024 * 1024;

static SIZE: Mutex<u64> = Mutex::new(DEFAULT_SIZE);
static FILE: Mutex<Option<PathBuf>> = Mutex::new(None);
static STORE: OnceLock<Result<Shm, String>> = OnceLock::new();

/// Sets the size new caches get (`WSGIApcuShmSize`).
pub fn set_size(bytes: u64) {
    *SIZE.lock().unwrap_or_else(|p| p.into_inner()) = bytes;
}

pub fn size() -> u64 {
    *SIZE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Creates the cache file of a group (or of embedded mode) at `path`.
pub fn create(path: &Path) -> Result<(), String> {
    Shm::create(path, size())
        .map(drop)
        .map_err(|e| format!("no se pudo crear la caché apcu {}: {e}", path.display()))
}

/// Empties the cache in `path` (the group restarted).
pub fn clear_file(path: &Path) {
    if let Ok(s) = Shm::open(path) {
        s.locked(|t| t.clear());
    }
}

/// Which file this process's `apcu` uses (embedded mode: set by the lab before the first
/// request; workers: from [`ENV_FILE`]).
pub fn use_file(path: &Path) {
    *FILE.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.to_path_buf());
}

fn store() -> PyResult<&'static Shm> {
    let r = STORE.get_or_init(|| {
        let path = FILE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .or_else(|| std::env::var_os(ENV_FILE).map(PathBuf::from));
        match path {
            Some(p) => Shm::open(&p).map_err(|e| format!("{}: {e}", p.display())),
            None => Err("este proceso no tiene caché apcu".to_string()),
        }
    });
    r.as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("apcu no está disponible: {e}")))
}

fn encode(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<(u8, Vec<u8>)> {
    if value.is_none() {
        return Ok((shm::T_NONE, Vec::new()));
    }
    if value.is_exact_instance_of::<PyBool>() {
        let b: bool = value.extract()?;
        return Ok((shm::T_BOOL, vec![u8::from(b)]));
    }
    if value.is_exact_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok((shm::T_INT, i.to_le_bytes().to_vec()));
        }
    }
    if value.is_exact_instance_of::<PyString>() {
        let s: &str = value.cast::<PyString>()?.to_str()?;
        return Ok((shm::T_STR, s.as_bytes().to_vec()));
    }
    if value.is_exact_instance_of::<PyBytes>() {
        return Ok((shm::T_BYTES, value.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    if value.is_exact_instance_of::<PyFloat>() {
        let f: f64 = value.extract()?;
        return Ok((shm::T_FLOAT, f.to_le_bytes().to_vec()));
    }
    let pickled = py.import("pickle")?.call_method1("dumps", (value, -1))?;
    Ok((
        shm::T_PICKLE,
        pickled.cast::<PyBytes>()?.as_bytes().to_vec(),
    ))
}

fn decode<'py>(py: Python<'py>, v: &shm::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v.vtype {
        shm::T_NONE => py.None().into_bound(py),
        shm::T_BOOL => PyBool::new(py, v.data.first() == Some(&1))
            .to_owned()
            .into_any(),
        shm::T_INT => {
            let i = i64::from_le_bytes(v.data.as_slice().try_into().unwrap_or([0; 8]));
            i.into_pyobject(py)?.into_any()
        }
        shm::T_STR => PyString::new(py, &String::from_utf8_lossy(&v.data)).into_any(),
        shm::T_BYTES => PyBytes::new(py, &v.data).into_any(),
        shm::T_FLOAT => {
            let f = f64::from_le_bytes(v.data.as_slice().try_into().unwrap_or([0; 8]));
            PyFloat::new(py, f).into_any()
        }
        _ => py
            .import("pickle")?
            .call_method1("loads", (PyBytes::new(py, &v.data),))?,
    })
}

fn key_bytes(key: &str) -> PyResult<&[u8]> {
    if key.is_empty() || key.len() > 4096 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "la clave de apcu debe tener entre 1 y 4096 bytes",
        ));
    }
    Ok(key.as_bytes())
}

/// `apcu.store(key, value, ttl=0)`: stores (replacing); False when it does not fit.
#[pyfunction]
#[pyo3(name = "store", signature = (key, value, ttl=0))]
fn store_value(py: Python<'_>, key: &str, value: &Bound<'_, PyAny>, ttl: u64) -> PyResult<bool> {
    let (t, data) = encode(py, value)?;
    let k = key_bytes(key)?;
    let s = store()?;
    Ok(py.detach(|| s.locked(|tb| tb.store(k, t, &data, ttl, false))))
}

/// `apcu.add(key, value, ttl=0)`: stores only when the key is not there.
#[pyfunction]
#[pyo3(signature = (key, value, ttl=0))]
fn add(py: Python<'_>, key: &str, value: &Bound<'_, PyAny>, ttl: u64) -> PyResult<bool> {
    let (t, data) = encode(py, value)?;
    let k = key_bytes(key)?;
    let s = store()?;
    Ok(py.detach(|| s.locked(|tb| tb.store(k, t, &data, ttl, true))))
}

/// `apcu.fetch(key, default=None)`.
#[pyfunction]
#[pyo3(signature = (key, default=None))]
fn fetch<'py>(
    py: Python<'py>,
    key: &str,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let k = key_bytes(key)?;
    let s = store()?;
    match s.locked(|tb| tb.fetch(k)) {
        Some(v) => decode(py, &v),
        None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
    }
}

#[pyfunction]
fn exists(key: &str) -> PyResult<bool> {
    let k = key_bytes(key)?;
    Ok(store()?.locked(|tb| tb.exists(k)))
}

#[pyfunction]
fn delete(key: &str) -> PyResult<bool> {
    let k = key_bytes(key)?;
    Ok(store()?.locked(|tb| tb.delete(k)))
}

/// `apcu.inc(key, step=1, ttl=0)`: the new value, or None when the entry is not an int.
#[pyfunction]
#[pyo3(signature = (key, step=1, ttl=0))]
fn inc(py: Python<'_>, key: &str, step: i64, ttl: u64) -> PyResult<Option<i64>> {
    let k = key_bytes(key)?;
    let s = store()?;
    Ok(py.detach(|| s.locked(|tb| tb.add_int(k, step, ttl))))
}

#[pyfunction]
#[pyo3(signature = (key, step=1, ttl=0))]
fn dec(py: Python<'_>, key: &str, step: i64, ttl: u64) -> PyResult<Option<i64>> {
    let k = key_bytes(key)?;
    let s = store()?;
    Ok(py.detach(|| s.locked(|tb| tb.add_int(k, step.wrapping_neg(), ttl))))
}

/// `apcu.cas(key, old, new)`: replaces an int only when it still is `old`.
#[pyfunction]
fn cas(key: &str, old: i64, new: i64) -> PyResult<bool> {
    let k = key_bytes(key)?;
    Ok(store()?.locked(|tb| tb.cas(k, old, new)))
}

/// `apcu.clear()`: empties the whole cache of the group.
#[pyfunction]
fn clear() -> PyResult<bool> {
    store()?.locked(|tb| tb.clear());
    Ok(true)
}

/// `apcu.cache_info()`: APCu's counters.
#[pyfunction]
fn cache_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let i = store()?.locked(|tb| tb.info());
    let d = PyDict::new(py);
    d.set_item("num_slots", i.num_slots)?;
    d.set_item("num_entries", i.num_entries)?;
    d.set_item("num_hits", i.num_hits)?;
    d.set_item("num_misses", i.num_misses)?;
    d.set_item("num_inserts", i.num_inserts)?;
    d.set_item("evictions", i.evictions)?;
    d.set_item("expunges", i.expunges)?;
    d.set_item("mem_size", i.mem_size)?;
    d.set_item("mem_used", i.mem_used)?;
    d.set_item("start_time", i.start_time)?;
    d.set_item("pid", std::process::id())?;
    Ok(d)
}

/// `apcu.enabled()`: whether this process has a cache.
#[pyfunction]
fn enabled() -> bool {
    store().is_ok()
}

/// Makes `import apcu` work in this interpreter.
pub fn register(py: Python<'_>) -> PyResult<()> {
    let m = pyo3::types::PyModule::new(py, "apcu")?;
    for f in [
        wrap_pyfunction!(store_value, &m)?,
        wrap_pyfunction!(add, &m)?,
        wrap_pyfunction!(fetch, &m)?,
        wrap_pyfunction!(exists, &m)?,
        wrap_pyfunction!(delete, &m)?,
        wrap_pyfunction!(inc, &m)?,
        wrap_pyfunction!(dec, &m)?,
        wrap_pyfunction!(cas, &m)?,
        wrap_pyfunction!(clear, &m)?,
        wrap_pyfunction!(cache_info, &m)?,
        wrap_pyfunction!(enabled, &m)?,
    ] {
        m.add_function(f)?;
    }
    m.setattr(
        "__doc__",
        "Caché de usuario del laboratorio, como APCu: compartida por los procesos e hilos de un grupo WSGI.",
    )?;
    py.import("sys")?.getattr("modules")?.set_item("apcu", m)?;
    Ok(())
}
