"""Drives a running 3-node registry cluster with python-discovery-client (a bilibili/discovery
client nobody here wrote): register, renew, re-register after -404, fetch and watch (polls).

Usage: discovery_client_check.py ADDR1 ADDR2 ADDR3. Exits non-zero on the first failed check.
"""
import os
import sys
import threading
import time
import urllib.request

from discovery import Client, config_from_env
from discovery.client import DiscoveryError

FAILED = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        FAILED.append(what)


def wait_for(what, predicate, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                check(True, what)
                return
        except DiscoveryError:
            pass
        time.sleep(0.2)
    check(False, what + " (timed out)")


def hosts(instances_by_zone):
    return sorted(i["hostname"] for zone in instances_by_zone.values() for i in zone)


def main(n1, n2, n3):
    def client(domain, host):
        return Client(config_from_env(domain, region="r1", zone="z1", deploy_env="dev", hostname=host))

    writer = client(n1, "py-host-1")
    reader = client(n3, "py-reader")
    # register: addrs are sent comma-joined.
    writer.register("py.app", ["http://127.0.0.1:8000", "grpc://127.0.0.1:9000"])
    writer.register("py.other", ["http://127.0.0.1:8001"])
    wait_for("register through node 1 is fetched through node 3",
             lambda: hosts(reader.fetch("py.app")) == ["py-host-1"])
    instance = reader.fetch("py.app")["z1"][0]
    check(instance["addrs"] == ["http://127.0.0.1:8000", "grpc://127.0.0.1:9000"],
          "comma-joined addrs arrive as a list: %s" % instance["addrs"])
    check(instance["env"] == "dev" and instance["region"] == "r1", "env and region kept")
    check(instance["status"] == 1, "status up")
    check(isinstance(instance["reg_timestamp"], int) and instance["reg_timestamp"] > 10**18,
          "timestamps are Unix nanoseconds")

    # renew, as the client's 30 s job does it.
    renewed = writer._send(writer._renew_req("py.app"))
    check(renewed["code"] == 0, "renew answers 0")

    # -404 on renew makes the client register again.
    urllib.request.urlopen(urllib.request.Request(
        "http://%s/discovery/cancel" % n1,
        b"appid=py.app&env=dev&hostname=py-host-1&zone=z1", method="POST")).read()
    try:
        writer._send(writer._renew_req("py.app"))
        check(False, "renew after cancel answers -404")
    except DiscoveryError as e:
        check(e.code == -404, "renew after cancel answers -404 (got %s)" % e.code)
    writer._renew("py.app", writer._register_req("py.app", ["http://127.0.0.1:8000"], {}))()
    wait_for("the renew job re-registered after -404",
             lambda: hosts(reader.fetch("py.app")) == ["py-host-1"])

    # watch two apps: polls carries comma-joined appid and latest_timestamp.
    seen = []
    changed = threading.Event()

    def on_change(instances):
        seen.append(hosts(instances))
        if "py-host-2" in hosts(instances):
            changed.set()

    reader.watch("py.app", on_change)
    reader.watch("py.other", lambda instances: None)
    wait_for("the first poll delivers the current instances", lambda: ["py-host-1"] in seen)
    other = client(n2, "py-host-2")
    other.register("py.app", ["http://127.0.0.1:8002"])
    check(changed.wait(20), "the watch sees a register made through node 2: %s" % seen[-1:])

    for c in (writer, reader, other):
        c.stop()


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except Exception as e:  # any surprise is a failure too
        check(False, "unexpected %r" % e)
    print("%d failed" % len(FAILED), flush=True)
    # The client's worker threads may sit in a long-poll; do not wait for them.
    os._exit(1 if FAILED else 0)
