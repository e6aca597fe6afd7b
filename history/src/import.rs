//! Importers (being built).
