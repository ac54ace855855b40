//! Watching apps by long-poll (`polls`), with failover and per-node cursors.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{code, fails_over, refused, Client, ClientError};
use crate::api::{Code, InstanceInfo, PollsArgs, Request, SmolStr};

/// Longer than the server's 30 s hold, so a -304 arrives before the client gives up.
const POLL_TIMEOUT: Duration = Duration::from_secs(40);
/// Pause before trying the next node after a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A long-poll subscription to a set of apps.
#[derive(Debug)]
pub struct Watcher {
    client: Client,
    env: String,
    hostname: String,
    cursors: BTreeMap<SmolStr, i64>,
    node: Option<String>,
}

impl Watcher {
    pub(super) fn new(client: Client, env: &str, hostname: &str, appids: &[&str]) -> Watcher {
        Watcher {
            client,
            env: env.into(),
            hostname: hostname.into(),
            cursors: appids.iter().map(|a| (SmolStr::from(*a), 0)).collect(),
            node: None,
        }
    }

    /// The node the watcher polls now.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// Waits until some watched app changed (at once on the first call, or after switching
    /// nodes) and returns the changed apps. Fails after every node failed twice in a row, or
    /// when the registry refuses the request.
    pub async fn next(&mut self) -> Result<BTreeMap<String, InstanceInfo>, ClientError> {
        let mut failures = 0;
        loop {
            let node = self.client.current_node().ok_or(ClientError::NoNodes)?;
            if self.node.as_deref() != Some(node.as_str()) {
                // Cursors are per node: another node's numbers mean nothing here.
                self.cursors.values_mut().for_each(|c| *c = 0);
                self.node = Some(node.clone());
            }
            let request = Request::Polls(PollsArgs {
                zone: SmolStr::default(),
                env: self.env.as_str().into(),
                appids: self.cursors.keys().cloned().collect(),
                hostname: self.hostname.as_str().into(),
                latest_timestamps: self.cursors.values().copied().collect(),
            });
            let error = match self.client.call_on(&node, &request, POLL_TIMEOUT).await {
                Ok(envelope) => match code(&envelope) {
                    Some(Code::Ok) => return self.take(&node, envelope.data),
                    Some(Code::NotModified) => continue,
                    code if fails_over(code) => refused(envelope),
                    _ => return Err(refused(envelope)),
                },
                Err(error) => error,
            };
            failures += 1;
            if failures >= 2 * self.client.nodes().len().max(1) {
                return Err(error);
            }
            self.client.advance_from(&node);
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    fn take(
        &mut self,
        node: &str,
        data: Option<serde_json::Value>,
    ) -> Result<BTreeMap<String, InstanceInfo>, ClientError> {
        let apps: BTreeMap<String, InstanceInfo> = serde_json::from_value(data.unwrap_or_default())
            .map_err(|e| ClientError::Protocol {
                node: node.to_string(),
                problem: e.to_string(),
            })?;
        #[cfg(madsim)]
        if crate::knobs::on(crate::knobs::Knob::DeafWatcher) {
            return Ok(BTreeMap::new());
        }
        for (appid, info) in &apps {
            #[cfg(madsim)]
            if crate::knobs::on(crate::knobs::Knob::FrozenCursors) {
                continue;
            }
            if let Some(cursor) = self.cursors.get_mut(appid.as_str()) {
                *cursor = info.latest_timestamp;
            }
        }
        Ok(apps)
    }
}
