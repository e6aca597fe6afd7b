//! End-to-end tests across faultline's crates live in `tests/tests/`; this library holds
//! helpers they share.
