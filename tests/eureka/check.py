#!/usr/bin/env python3
"""Real Eureka clients against a 3-node cluster (run by check.sh): py_eureka_client in this
process (through node 1, XML reads, deltas) and eureka-js-client (js_client.js, through node 2,
JSON reads, shouldUseDelta) as a child process. Each registers, heartbeats, sees the other,
follows a status override through its deltas, registers again after its instance is removed
(the heartbeat's 404), and cancels on shutdown. The registry itself is checked at each step on
node 3, through /eureka/apps and /discovery/fetch. The first failed check exits 1.

usage: check.py NODE1 NODE2 NODE3 JS_DIR   (NODE = host:port)
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import py_eureka_client.eureka_client as eureka_client

N1, N2, N3 = sys.argv[1:4]
JS_DIR = os.path.abspath(sys.argv[4])
PY_ID = "127.0.0.1:py-app:9091"
JS_ID = "127.0.0.1:js-app:9092"
ENV = "dev"

# Count the client's full fetches and deltas (the client module calls these by name).
calls = {"full": 0, "delta": 0}
for name, kind in (("get_applications", "full"), ("get_delta", "delta")):
    real = getattr(eureka_client, name)

    def counted(*args, _real=real, _kind=kind, **kwargs):
        calls[_kind] += 1
        return _real(*args, **kwargs)

    setattr(eureka_client, name, counted)


def step(text):
    print(f"eureka check: {text}", flush=True)


def fail(text):
    print(f"eureka check FAILED: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


def http(node, path, method="GET", accept=None):
    """(status, body) of a request to node."""
    request = urllib.request.Request(f"http://{node}{path}", method=method)
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait(what, condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.2)
    fail(f"timed out after {timeout:.0f} s waiting for: {what} (last: {last!r})")


def eureka_status(node, app, instance_id):
    """(status, overriddenstatus) of an instance as node 3 shows it in XML (no Accept), or
    None when the node answers 404."""
    code, body = http(node, f"/eureka/apps/{app}/{urllib.parse.quote(instance_id, safe='')}")
    if code == 404:
        return None
    if code != 200:
        fail(f"GET apps/{app}/{instance_id} on {node}: {code} {body}")
    root = ET.fromstring(body)
    return root.findtext("status"), root.findtext("overriddenstatus")


def listed(node, app, instance_id):
    """Whether node lists the instance in the full registry (XML, root <applications>)."""
    code, body = http(node, "/eureka/apps/")
    root = ET.fromstring(body)
    if code != 200 or root.tag != "applications":
        fail(f"GET apps/ on {node}: {code} {body[:200]}")
    return any(
        a.findtext("name") == app and any(i.findtext("instanceId") == instance_id for i in a.iter("instance"))
        for a in root.iter("application")
    )


def discovery_status(node, appid, hostname):
    """The discovery status (1 UP, 2 WAITING) of the instance through /discovery/fetch, or None."""
    _, body = http(node, f"/discovery/fetch?env={ENV}&appid={appid}&status=3")
    doc = json.loads(body)
    if doc["code"] != 0:
        return None
    for instances in doc["data"]["instances"].values():
        for instance in instances:
            if instance["hostname"] == hostname:
                return instance["status"]
    return None


def in_delta(node, app, instance_id, action):
    """Whether node's apps/delta (JSON) reports the instance with this actionType."""
    code, body = http(node, "/eureka/apps/delta", accept="application/json")
    if code != 200:
        fail(f"GET apps/delta on {node}: {code} {body}")
    apps = json.loads(body)["applications"]["application"]
    return any(
        a["name"] == app and any(i["instanceId"] == instance_id and i["actionType"] == action for i in a["instance"])
        for a in apps
    )


class JsClient:
    """eureka-js-client in a child process; its view is the state file it rewrites."""

    def __init__(self, node):
        self.state_file = os.path.join(tempfile.mkdtemp(), "js-state.json")
        self.process = subprocess.Popen(["node", os.path.join(JS_DIR, "js_client.js"), node, self.state_file], cwd=JS_DIR)

    def state(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return {"registered": 0, "heartbeats": 0, "full": False, "py": []}

    def py_statuses(self):
        return [i["status"] for i in self.state()["py"] if i["instanceId"] == PY_ID]

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=10)


def py_sees(client, app, instance_id):
    """The status py_eureka_client's own copy of the registry gives the instance, or None."""
    application = client.applications.get_application(app)
    for instance in application.instances if application else []:
        if instance.instanceId == instance_id:
            return instance.status
    return None


async def main():
    started = time.monotonic()
    py = eureka_client.EurekaClient(
        eureka_server=f"http://{N1}/eureka/",
        app_name="py-app",
        instance_id=PY_ID,
        instance_host="127.0.0.1",
        instance_ip="127.0.0.1",
        instance_port=9091,
        renewal_interval_in_secs=1,
        duration_in_secs=30,
        metadata={"lang": "python"},
    )
    await py.start()
    step("py_eureka_client registered PY-APP through node 1")
    wait("node 3 lists PY-APP (XML)", lambda: listed(N3, "PY-APP", PY_ID))
    wait("node 3 serves PY-APP through /discovery/fetch, UP", lambda: discovery_status(N3, "py-app", PY_ID) == 1)
    if eureka_status(N3, "py-app", PY_ID) != ("UP", "UNKNOWN"):
        fail(f"PY-APP on node 3: {eureka_status(N3, 'py-app', PY_ID)}")

    js = JsClient(N2)
    try:
        step("eureka-js-client started: JS-APP through node 2")
        wait("node 3 lists JS-APP (the lower-case name upper-cased)", lambda: listed(N3, "JS-APP", JS_ID))
        wait("node 3 serves js-app through /discovery/fetch", lambda: discovery_status(N3, "js-app", JS_ID) == 1)
        wait("eureka-js-client heartbeats", lambda: js.state()["heartbeats"] >= 2)
        wait("node 1's delta reports JS-APP ADDED", lambda: in_delta(N1, "JS-APP", JS_ID, "ADDED"))
        # py_eureka_client 0.13.3 drops the first instance of an app it did not know from a
        # delta (its get_application answers a new empty app, not None); the hash code then
        # differs and it fetches everything: the reconciliation the hash code is for.
        wait("py_eureka_client sees JS-APP UP", lambda: py_sees(py, "JS-APP", JS_ID) == "UP")
        wait("eureka-js-client sees PY-APP UP", lambda: js.py_statuses() == ["UP"])

        await py.status_update("OUT_OF_SERVICE")
        step("py_eureka_client put a status override: OUT_OF_SERVICE")
        wait("node 3 shows the override", lambda: eureka_status(N3, "py-app", PY_ID) == ("OUT_OF_SERVICE", "OUT_OF_SERVICE"))
        wait("node 3's discovery API has PY-APP out of rotation", lambda: discovery_status(N3, "py-app", PY_ID) == 2)
        beats = js.state()["heartbeats"]
        wait("eureka-js-client sees PY-APP OUT_OF_SERVICE (a MODIFIED delta)", lambda: js.py_statuses() == ["OUT_OF_SERVICE"])
        wait("py_eureka_client sees itself OUT_OF_SERVICE", lambda: py_sees(py, "PY-APP", PY_ID) == "OUT_OF_SERVICE")
        time.sleep(2.5)  # heartbeats that say status=... go on; the override stays
        if eureka_status(N3, "py-app", PY_ID) != ("OUT_OF_SERVICE", "OUT_OF_SERVICE"):
            fail(f"the override did not survive heartbeats: {eureka_status(N3, 'py-app', PY_ID)}")
        if js.state()["heartbeats"] <= beats:
            fail("eureka-js-client stopped heartbeating")
        await py.delete_status_override()
        step("py_eureka_client deleted the override")
        wait("node 3 shows PY-APP UP again", lambda: eureka_status(N3, "py-app", PY_ID) == ("UP", "UNKNOWN"))
        wait("eureka-js-client sees PY-APP UP again", lambda: js.py_statuses() == ["UP"])

        # An instance removed behind its client's back (evicted, or cancelled by an operator):
        # the next heartbeat is 404 and the client registers again at once.
        for node, app, instance_id in ((N2, "PY-APP", PY_ID), (N1, "js-app", JS_ID)):
            registered = js.state()["registered"]
            code, body = http(node, f"/eureka/apps/{app}/{urllib.parse.quote(instance_id, safe='')}", "DELETE")
            if code != 200:
                fail(f"cancelling {instance_id} on {node}: {code} {body}")
            wait(f"{instance_id} registered again after its heartbeat's 404", lambda: eureka_status(N3, app, instance_id) is not None)
            if app == "js-app":
                wait("eureka-js-client counted a second registration", lambda: js.state()["registered"] > registered)
        step("both clients registered again after a 404")

        code = js.stop()
        if code != 0:
            fail(f"eureka-js-client exited {code} on shutdown")
        step("eureka-js-client stopped (deregistered)")
        if js.state()["deregistered"] != 1:
            fail(f"eureka-js-client deregistered {js.state()['deregistered']} times")
        wait("node 3 no longer has JS-APP", lambda: eureka_status(N3, "js-app", JS_ID) is None and discovery_status(N3, "js-app", JS_ID) is None)
        wait("py_eureka_client no longer sees JS-APP (a DELETED delta)", lambda: py_sees(py, "JS-APP", JS_ID) is None)
    finally:
        if js.process.poll() is None:
            js.process.kill()

    # py_eureka_client 0.13.3's stop() cancels its heartbeat threading.Timer, which fired long
    # ago: the heartbeat loop goes on, and its first round after the cancel registers the
    # instance again (the client no longer counts itself alive). Seen as this step failing in
    # 1 run of 8 against 45b5cde's node and 3 of 12 at the next commit: node 3 held PY-APP UP,
    # renewed, registered a moment after the cancel. Turn the loop's writes off first (stop()
    # would then skip its own cancel), then register DOWN and cancel as stop() does.
    py._EurekaClient__should_register = False
    await py._EurekaClient__stop_registery()
    step("py_eureka_client stopped (cancelled)")
    wait("node 3 no longer has PY-APP", lambda: eureka_status(N3, "py-app", PY_ID) is None and discovery_status(N3, "py-app", PY_ID) is None)
    step(f"py_eureka_client fetched the full registry {calls['full']} times and {calls['delta']} deltas")
    if calls["delta"] < 5:
        fail("py_eureka_client hardly used deltas")
    # The hash code matched after each delta, else the client fetches everything again: one
    # full fetch at start, one for JS-APP's first instance (above), one to spare.
    if calls["full"] > 3:
        fail("py_eureka_client's apps__hashcode did not match after deltas (full fetches repeated)")
    step(f"passed in {time.monotonic() - started:.1f} s")


asyncio.run(main())
