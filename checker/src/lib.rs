//! Exercise checker (being written: waits for the HTTP role).
