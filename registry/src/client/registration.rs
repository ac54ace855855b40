//! Keeping one instance registered: renew on an interval, register again on -404.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Client;
use crate::api::{Code, RegisterArgs};

/// A registration kept alive by a background task; [`Registration::cancel`] ends it and
/// cancels the instance, dropping it stops renewing (the lease then expires).
#[derive(Debug)]
pub struct Registration {
    client: Client,
    instance: RegisterArgs,
    task: JoinHandle<()>,
}

impl Registration {
    pub(super) fn start(
        client: Client,
        instance: RegisterArgs,
        interval: Duration,
    ) -> Registration {
        let task = tokio::task::spawn(keep_alive(client.clone(), instance.clone(), interval));
        Registration {
            client,
            instance,
            task,
        }
    }

    /// Stops renewing and cancels the instance.
    pub async fn cancel(self) -> Result<(), super::ClientError> {
        self.task.abort();
        self.client.cancel(&self.instance).await
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn keep_alive(client: Client, instance: RegisterArgs, interval: Duration) {
    let mut registered = false;
    loop {
        if !registered {
            match client.register(&instance).await {
                Ok(()) => registered = true,
                Err(error) => {
                    tracing::warn!(%error, appid = %instance.key.appid, "register failed")
                }
            }
        } else {
            match client.renew(&instance).await {
                Ok(Code::NothingFound) => {
                    // The node lost or never had it (restart, eviction): register again now.
                    registered = false;
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, appid = %instance.key.appid, "renew failed"),
            }
        }
        tokio::time::sleep(interval).await;
    }
}
