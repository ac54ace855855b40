//! Closed-loop load: a fixed number of connections, each sending its next request as soon as
//! the previous one is answered, until a count of requests is reached or a time is up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::Conn;
use crate::latency::Summary;

/// One request of a phase.
#[derive(Debug)]
pub(crate) enum Call {
    /// `GET` this path and query.
    Get(String),
    /// `POST` this form to this path.
    Post(&'static str, String),
}

/// How much load to send.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Amount {
    /// Exactly this many requests (indices `0..n`).
    Requests(usize),
    /// As many as fit in this time.
    For(Duration),
}

/// What a phase measured on the load's side.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Outcome {
    /// Requests answered HTTP 200 with `"code":0`.
    pub(crate) ok: u64,
    /// Every other answer, and exchanges that failed.
    pub(crate) errors: u64,
    /// The first error, to say what went wrong.
    pub(crate) first_error: Option<String>,
    /// Wall time from the first request sent to the last answer.
    pub(crate) seconds: f64,
    /// Successful requests per second.
    pub(crate) req_per_s: f64,
    /// Latency of the successful requests.
    pub(crate) latency: Summary,
    /// Every successful request's latency, kept so that phases run in parts can be combined.
    #[serde(skip)]
    samples: Vec<Duration>,
}

impl Outcome {
    /// One outcome for two parts of a phase run one after the other.
    pub(crate) fn combine(mut self, other: Outcome) -> Outcome {
        self.samples.extend(other.samples);
        let seconds = self.seconds + other.seconds;
        let ok = self.ok + other.ok;
        Outcome {
            ok,
            errors: self.errors + other.errors,
            first_error: self.first_error.or(other.first_error),
            seconds,
            req_per_s: ok as f64 / seconds,
            latency: Summary::of(&mut self.samples),
            samples: self.samples,
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
}

/// Sends `amount` requests made by `call(index)` over `conns` connections to `addr`.
pub(crate) async fn run<F>(addr: &str, conns: usize, amount: Amount, call: F) -> Outcome
where
    F: Fn(usize) -> Call + Send + Sync + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = match amount {
        Amount::For(time) => Some(started + time),
        Amount::Requests(_) => None,
    };
    let limit = match amount {
        Amount::Requests(n) => n,
        Amount::For(_) => usize::MAX,
    };
    let mut workers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (addr, call, next, tally) =
            (addr.to_string(), call.clone(), next.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let mut local = Tally::default();
            match Conn::open(&addr).await {
                Ok(mut conn) => loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= limit || deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let sent = Instant::now();
                    let answer = match call(index) {
                        Call::Get(target) => conn.get(&target).await,
                        Call::Post(path, form) => conn.post(path, form).await,
                    };
                    match answer {
                        Ok(_) => {
                            local.ok += 1;
                            local.latencies.push(sent.elapsed());
                        }
                        Err(failure) => {
                            local.errors += 1;
                            local.first_error.get_or_insert(failure.to_string());
                            // A broken connection would fail every later request the same way.
                            if let Ok(fresh) = Conn::open(&addr).await {
                                conn = fresh;
                            }
                        }
                    }
                },
                Err(failure) => {
                    local.errors += 1;
                    local.first_error = Some(failure.to_string());
                }
            }
            merge(&tally, local);
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    Outcome {
        ok: tally.ok,
        errors: tally.errors,
        first_error: tally.first_error,
        seconds,
        req_per_s: tally.ok as f64 / seconds,
        latency: Summary::of(&mut tally.latencies),
        samples: tally.latencies,
    }
}

fn merge(tally: &Mutex<Tally>, local: Tally) {
    let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
    tally.ok += local.ok;
    tally.errors += local.errors;
    if tally.first_error.is_none() {
        tally.first_error = local.first_error;
    }
    tally.latencies.extend(local.latencies);
}
