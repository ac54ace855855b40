//! The `registry` binary as real processes on loopback: each test starts its own nodes on free
//! ports, talks to them over HTTP and stops them by pid.
// Real processes and real sockets: nothing here can run under madsim.
#![cfg(not(madsim))]

mod bad_input;
mod client_caps;
mod cluster;
mod eureka;
mod long_polls;
mod observability;
mod peer_auth;
mod protection;
mod sdk;
mod security;
mod status;
mod stopping;
mod support;
mod tls;
mod trust;
