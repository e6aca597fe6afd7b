//! End-to-end tests across faultline's crates live in `tests/tests/`; this library holds
//! helpers they share. The binaries in `src/bin/` are systems under test for those tests:
//! `store-under-test` is the reference store's server, `naive-store` a store that acknowledges
//! writes before they are durable (the canary a power cut must catch).
