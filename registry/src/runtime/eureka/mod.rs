//! A Eureka REST facade over the same node: Netflix Eureka's client API (JSON and XML) under
//! `/eureka/` and `/eureka/v2/`, translated into the discovery requests the node already
//! handles. Nothing is kept here; the mapping is in ARCHITECTURE.md, "The Eureka facade".

mod mapping;
mod model;
mod render;
mod routes;

pub(super) use routes::routes;

#[cfg(test)]
mod router_tests;
#[cfg(test)]
mod tests;
