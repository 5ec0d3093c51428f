//! The wire protocols.
