//! Client SDK (placeholder).
