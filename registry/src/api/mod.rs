//! Wire types of bilibili/discovery's HTTP API, shared by the node, the server, clients and peers.
//!
//! Everything here is plain data plus pure decoding: no I/O, no clock. Field names and the JSON
//! envelope `{"code", "message", "ttl": 1, "data"}` match bilibili/discovery so its clients work.

mod args;
mod code;
mod decode;
mod form;
mod instance;
mod keys;
mod metadata;
mod peer;
mod reply;
mod version;

pub use args::{
    CancelArgs, FetchArgs, FetchsArgs, PollArgs, PollsArgs, RegisterArgs, RenewArgs, Request,
    SetArgs, StatusFilter,
};
pub use code::Code;
pub use decode::{decode_request, Route};
pub use form::{BadRequest, Form};
pub use instance::{Instance, InstanceInfo, NodeInfo, NodeStatus, Status};
pub use keys::{AppKey, InstanceKey};
pub use metadata::Metadata;
pub use peer::{AppState, OpResult, PeerMessage, ReplicatedOp};
pub use reply::{Data, Envelope, Reply};
/// The string type of identifiers: clones of short ones copy 24 bytes and allocate nothing.
pub use smol_str::SmolStr;
pub use version::{Tombstone, Version};

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
pub(crate) mod fuzz_tests;
