//! Deliberately broken variants of the runtime and the SDK, for the madsim tests' teeth
//! (`simtest`): each check there has a test that turns one of these on and shows the check
//! fails. Only `--cfg madsim` builds have this module; a release build cannot break this way.
//!
//! Per thread: madsim runs each seed's whole simulation on one thread, and runs seeds on
//! several threads at once, so a knob set by one seed's test never leaks into another's.

use std::cell::Cell;

/// One way to break the runtime or the SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    /// The SDK never moves on to another node after a failure.
    NoFailover,
    /// The SDK's watcher never moves its cursors (answered at once, again and again).
    FrozenCursors,
    /// The SDK's watcher drops what every answer says (it never learns of a change).
    DeafWatcher,
    /// The node sends no message to its peers (no replication, anti-entropy or sync).
    DropPeerMessages,
    /// `serve_until` returns without the graceful shutdown (the node just stops).
    AbruptStop,
}

impl Knob {
    fn bit(self) -> u8 {
        1 << self as u8
    }
}

thread_local! {
    static ON: Cell<u8> = const { Cell::new(0) };
}

/// Turns `knob` on for this thread's simulation.
pub fn set(knob: Knob) {
    ON.with(|on| on.set(on.get() | knob.bit()));
}

/// Turns every knob off.
pub fn clear() {
    ON.with(|on| on.set(0));
}

/// Whether `knob` is on.
pub fn on(knob: Knob) -> bool {
    ON.with(|on| on.get() & knob.bit() != 0)
}
