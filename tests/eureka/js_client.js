// eureka-js-client (unmodified) against one node of the cluster, driven by check.py: it
// registers JS-APP, heartbeats and fetches (full once, then deltas) every second, and writes
// what it sees to a state file the check reads. SIGTERM stops it (deregister), as an
// application shutting down would.
'use strict';
const fs = require('fs');
const { Eureka } = require('eureka-js-client');

const [node, stateFile] = process.argv.slice(2);
const [host, port] = node.split(':');
const client = new Eureka({
  // The app name in lower case: eureka-js-client sends it as given (py_eureka_client
  // upper-cases); the instance id is put in the path without percent-encoding.
  instance: {
    app: 'js-app',
    instanceId: '127.0.0.1:js-app:9092',
    hostName: '127.0.0.1',
    ipAddr: '127.0.0.1',
    port: { $: 9092, '@enabled': true },
    vipAddress: 'js-app',
    statusPageUrl: 'http://127.0.0.1:9092/info',
    dataCenterInfo: {
      '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo',
      name: 'MyOwn',
    },
  },
  eureka: {
    host,
    port: Number(port),
    servicePath: '/eureka/apps/',
    heartbeatInterval: 1000,
    registryFetchInterval: 1000,
    maxRetries: 1,
    requestRetryDelay: 200,
    // Keep every status in the cache, so the check sees PY-APP's override arrive.
    filterUpInstances: false,
  },
  shouldUseDelta: true,
  logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
});

const counts = { registered: 0, heartbeats: 0, deregistered: 0 };
client.on('registered', () => { counts.registered += 1; });
client.on('heartbeat', () => { counts.heartbeats += 1; });
client.on('deregistered', () => { counts.deregistered += 1; });

function writeState() {
  const seen = client.getInstancesByAppId('PY-APP').map((i) => ({
    instanceId: i.instanceId,
    status: i.status,
    actionType: i.actionType,
  }));
  const state = { ...counts, full: client.hasFullRegistry === true, py: seen };
  fs.writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
  fs.renameSync(`${stateFile}.tmp`, stateFile);
}

client.start((err) => {
  if (err) {
    console.error('eureka-js-client failed to start:', err);
    process.exit(1);
  }
});
const ticker = setInterval(writeState, 200);
process.on('SIGTERM', () => {
  client.stop((err) => {
    clearInterval(ticker);
    writeState();
    if (err) console.error('deregister failed:', err);
    process.exit(err ? 1 : 0);
  });
});
