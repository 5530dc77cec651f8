//! Exercise checker (grows with the lessons issue).
