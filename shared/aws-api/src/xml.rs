//! A small XML reader and writer for the XML protocols.
