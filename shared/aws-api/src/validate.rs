//! Client-side validation of an input against the model.
