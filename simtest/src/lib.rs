//! Seeded clusters of the real runtime on madsim's simulated hosts (see `tests/`).
#![cfg(madsim)]
