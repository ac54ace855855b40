//! A Eureka REST facade over the same node: Netflix Eureka's client API (JSON and XML) under
//! `/eureka/` and `/eureka/v2/`, translated into the discovery requests the node already
//! handles. Nothing is kept here but the recent changes `apps/delta` answers (`delta.rs`);
//! the mapping is in ARCHITECTURE.md, "The Eureka facade".

mod answer;
mod delta;
mod mapping;
mod model;
mod overrides;
mod render;
mod routes;
mod status;
mod writes;

pub(super) use routes::routes;

#[cfg(test)]
mod delta_tests;
#[cfg(test)]
mod router_change_tests;
#[cfg(test)]
mod router_tests;
#[cfg(test)]
mod tests;
