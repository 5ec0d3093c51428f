//! Endpoint resolution: settings and environment overrides, then region and partition.
