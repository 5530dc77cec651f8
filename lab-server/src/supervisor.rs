//! Supervisor (being written).
