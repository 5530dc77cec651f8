//! Lesson engine (grows with the lessons issue).
