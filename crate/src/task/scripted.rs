//! Scripted demos.
