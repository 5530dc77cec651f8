//! The Apache role (being written).
