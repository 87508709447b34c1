//! Dynamic variants.
