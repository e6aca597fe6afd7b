//! Exporter (being built).
