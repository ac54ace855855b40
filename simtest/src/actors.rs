//! The chaos test's clients, each on its own host: services (a registration kept by the SDK,
//! and planned writes) and watchers (the SDK's long-poll).

use std::collections::BTreeMap;
use std::time::Duration;

use registry::api::{Metadata, Status};
use registry::client::{Client, ClientError, Registration};
use tokio::time::{sleep, sleep_until, Instant};

use crate::chaos::{Plan, Write, APPS};
use crate::cluster::ENV;
use crate::reads::instance;

/// What a service believes it left registered, after the liveness period.
#[derive(Debug)]
pub struct Belief {
    /// Its app.
    pub appid: &'static str,
    /// Its host name.
    pub hostname: String,
    /// Whether it cancelled.
    pub cancelled: bool,
    /// Its last status.
    pub status: Status,
    /// Its metadata (every key it set, last value).
    pub metadata: Metadata,
    /// The writes it made (registration included), for the watchers' bound.
    pub writes: u32,
    /// Why it could not re-apply its state after the heal, if it could not.
    pub unsettled: Option<String>,
}

/// A service on its own host: registers through the SDK, renews, makes its planned writes
/// (whatever their answers: an unanswered write may or may not have happened), and 30 s after
/// the heal makes its last state certain by writing it again until a node takes it.
/// Returns the belief with the registration, which keeps renewing until dropped.
pub async fn service(
    id: usize,
    plan: Plan,
    mut nodes: Vec<String>,
    heal_at: Instant,
) -> (Belief, Option<Registration>) {
    let begun = Instant::now();
    let first = id % nodes.len();
    nodes.rotate_left(first);
    let client = Client::new(nodes);
    let appid = APPS[id % APPS.len()];
    let hostname = format!("s{id}");
    let args = instance(appid, &hostname);
    let mut belief = Belief {
        appid,
        hostname,
        cancelled: false,
        status: Status::Up,
        metadata: Metadata::new(),
        writes: 1,
        unsettled: None,
    };
    let registration = client.keep_registered(args.clone(), plan.renew_interval);
    let mut registration = Some(registration);
    for (at, write) in plan.writes {
        sleep_until(begun + at).await;
        belief.writes += 1;
        match write {
            Write::Status(status) => {
                belief.status = status;
                let _ = client.set(&args, Some(status), None).await;
            }
            Write::Metadata(key, value) => {
                belief.metadata.insert(key.clone(), value.clone());
                let _ = client
                    .set(&args, None, Some(Metadata::from([(key, value)])))
                    .await;
            }
            Write::Cancel => {
                belief.cancelled = true;
                if let Some(registration) = registration.take() {
                    let _ = registration.cancel().await;
                }
            }
        }
    }
    sleep_until(heal_at + Duration::from_secs(30)).await;
    belief.unsettled = settle(&client, &args, &belief).await.err();
    (belief, registration)
}

/// Writes the believed state again until a node takes it (at most 60 tries, 1 s apart).
async fn settle(
    client: &Client,
    args: &registry::api::RegisterArgs,
    belief: &Belief,
) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..60 {
        let result = if belief.cancelled {
            match client.cancel(args).await {
                Err(ClientError::Refused { code: -404, .. }) => Ok(()),
                other => other,
            }
        } else {
            client
                .set(args, Some(belief.status), Some(belief.metadata.clone()))
                .await
        };
        match result {
            Ok(()) => return Ok(()),
            Err(error) => last = error.to_string(),
        }
        sleep(Duration::from_secs(1)).await;
    }
    Err(last)
}

/// What a watcher saw last and how often it was answered.
#[derive(Debug)]
pub struct View {
    /// The watcher.
    pub id: usize,
    /// Per app, the host names of its UP instances in the last answer.
    pub apps: BTreeMap<&'static str, Vec<String>>,
    /// Answers with changes (long-polls that came back with data).
    pub answers: u32,
}

/// A watcher on its own host: long-polls every app through the SDK until `end_at`.
pub async fn watcher(id: usize, mut nodes: Vec<String>, end_at: Instant) -> View {
    let first = id % nodes.len();
    nodes.rotate_left(first);
    let client = Client::new(nodes);
    let mut watch = client.watch(ENV, &format!("watcher{id}"), &APPS);
    let mut view = View {
        id,
        apps: BTreeMap::new(),
        answers: 0,
    };
    while Instant::now() < end_at {
        match tokio::time::timeout(end_at - Instant::now(), watch.next()).await {
            Ok(Ok(changed)) => {
                view.answers += 1;
                for (appid, info) in changed {
                    let Some(app) = APPS.iter().find(|a| **a == appid) else {
                        continue;
                    };
                    let mut hosts: Vec<String> = info
                        .instances
                        .into_values()
                        .flatten()
                        .map(|i| i.hostname.to_string())
                        .collect();
                    hosts.sort();
                    view.apps.insert(app, hosts);
                }
            }
            Ok(Err(_)) => sleep(Duration::from_secs(1)).await,
            Err(_) => break,
        }
    }
    view
}
