//! Integration tests for the registry live in `tests/`; this library is intentionally empty.
