//! hyper's timer, implemented with tokio's `sleep`: hyper needs one for its header read
//! timeout. We write our own instead of hyper-util's `TokioTimer` so that, under madsim, the
//! sleeps are madsim's (they come through the `tokio` alias).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A [`hyper::rt::Timer`] backed by `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sleeper;

/// One pending sleep.
struct Nap(Pin<Box<tokio::time::Sleep>>);

impl Future for Nap {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for Nap {}

impl hyper::rt::Timer for Sleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Nap(Box::pin(tokio::time::sleep(duration))))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        // Via a duration: madsim's `Instant` has no `from_std`.
        self.sleep(deadline.saturating_duration_since(Instant::now()))
    }
}
