//! The cluster protocol, driven through the public API by a small deterministic driver:
//! explicit message delivery, loss and reordering, one manual clock per node.

mod driver;
mod properties;
mod scenarios;
