//! Peer authentication against real processes: with a cluster secret, the peer endpoint acts
//! only on messages signed with it, so an outsider on the network can neither write through it
//! nor make a node send its registry to an address of the outsider's choosing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use registry::runtime::{now_unix_ms, PeerAuth, Secret, SIGNATURE_HEADER, TIME_HEADER};

use super::support::{
    cluster, fetch_path, register_form, request, wait_until, Node, Response, FAST,
};

const SECRET: &str = "test-cluster-secret-0123456789";
const OLD_SECRET: &str = "old-cluster-secret-0123456789";

fn config(secrets: &str) -> String {
    format!("{FAST}\n[peer_auth]\n{secrets}\n")
}

fn auth(secret: &str) -> PeerAuth {
    let secret = Secret::new(secret.as_bytes()).expect("long enough");
    PeerAuth::new(secret, None, Duration::from_secs(30))
}

/// A replicated register of an instance that no client registered, pointing elsewhere: what an
/// attacker would inject. `forward` asks the receiver to pass it on to its zone.
fn fake_register(hostname: &str) -> String {
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos(),
    )
    .expect("fits");
    serde_json::json!({
        "type": "replicate", "batch": 1, "forward": true, "sent_at": now,
        "ops": [{"write": {"put": {
            "zone": "z1", "env": "dev", "appid": "victim", "hostname": hostname,
            "addrs": ["http://203.0.113.66:80"], "status": 1,
            "reg_timestamp": now, "up_timestamp": now, "renew_timestamp": now,
            "dirty_timestamp": now, "latest_timestamp": now,
        }}}],
    })
    .to_string()
}

/// POSTs `body` to `to`'s peer endpoint claiming to come from `from`, with `headers` added.
fn post_peer(to: &Node, from: &str, body: &str, headers: &[(&str, &str)]) -> Response {
    let mut all = vec![
        ("x-registry-from", from),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    request(&to.addr, "POST", "/internal/peer", body, &all)
}

/// POSTs `body` signed by `auth` as sent by `from` at `time` (Unix ms).
fn post_signed(to: &Node, auth: &PeerAuth, from: &str, time: u64, body: &str) -> Response {
    let time = time.to_string();
    let signature = auth.sign(from, &time, body.as_bytes()).expect("auth on");
    post_peer(
        to,
        from,
        body,
        &[(TIME_HEADER, &time), (SIGNATURE_HEADER, &signature)],
    )
}

fn refused(node: &Node, reason: &str) -> u64 {
    node.metric(&format!(
        "registry_peer_messages_refused_total{{reason=\"{reason}\"}}"
    ))
}

#[test]
fn a_cluster_with_a_secret_replicates_and_acts_on_no_unsigned_or_forged_message() {
    let nodes = cluster(3, &config(&format!("secret = \"{SECRET}\"")));
    // Startup sync went through signed messages (all three are ready); so does replication.
    let reply = nodes[0].post("/discovery/register", &register_form("real", "r1"));
    assert_eq!(reply.code(), 0, "{}", reply.body);
    wait_until(Duration::from_secs(5), "r1 on n2", || {
        nodes[2].get(&fetch_path("real")).hostnames() == ["r1"]
    });
    assert_eq!(nodes[1].health().expect("health")["peer_auth"], true);

    let target = &nodes[1];
    let peer = nodes[0].addr.as_str();
    let now = now_unix_ms();
    let body = fake_register("fake");
    let wrong = auth("another-secret-0123456789");
    let right = auth(SECRET);
    let signature = right
        .sign(peer, &now.to_string(), body.as_bytes())
        .expect("auth on");
    let now_text = now.to_string();
    let attempts: [(&str, Response); 6] = [
        ("unsigned", post_peer(target, peer, &body, &[])),
        (
            "bad_signature",
            post_signed(target, &wrong, peer, now, &body),
        ),
        (
            "bad_signature",
            // A real peer's signature, replayed under another claimed sender.
            post_peer(
                target,
                &nodes[2].addr,
                &body,
                &[(TIME_HEADER, &now_text), (SIGNATURE_HEADER, &signature)],
            ),
        ),
        (
            "bad_signature",
            // A real peer's signature over another body.
            post_peer(
                target,
                peer,
                &fake_register("fake2"),
                &[(TIME_HEADER, &now_text), (SIGNATURE_HEADER, &signature)],
            ),
        ),
        (
            "stale",
            post_signed(target, &right, peer, now - 10 * 60 * 1000, &body),
        ),
        (
            "unsigned",
            // The reflection probe: an empty digest list would make the node send its whole
            // registry to the claimed sender.
            post_peer(
                target,
                "127.0.0.1:9",
                r#"{"type":"digests","digests":[]}"#,
                &[],
            ),
        ),
    ];
    for (reason, reply) in &attempts {
        assert_eq!(reply.status, 401, "{reason}: {}", reply.body);
        assert!(reply.body.contains("refused"), "{}", reply.body);
    }
    assert_eq!(refused(target, "unsigned"), 2);
    assert_eq!(refused(target, "bad_signature"), 3);
    assert_eq!(refused(target, "stale"), 1);

    // Two anti-entropy rounds later, no node holds the fake instance.
    std::thread::sleep(Duration::from_millis(2500));
    for node in &nodes {
        assert!(node.get(&fetch_path("victim")).hostnames().is_empty());
        assert_eq!(node.get(&fetch_path("real")).hostnames(), ["r1"]);
    }

    // The same message signed with the secret is a peer's, and is acted on: the refusals
    // above were the secret's doing, not a closed endpoint's.
    let reply = post_signed(target, &right, peer, now_unix_ms(), &body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    wait_until(
        Duration::from_secs(5),
        "the signed write on every node",
        || {
            nodes
                .iter()
                .all(|n| n.get(&fetch_path("victim")).hostnames() == ["fake"])
        },
    );
}

#[test]
fn mid_rotation_nodes_sign_with_different_secrets_and_still_replicate() {
    // Step 2 of a rotation (README): n0 already signs with the new secret, n1 still with the
    // old; each accepts the other's.
    let addrs: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", super::support::free_port()))
        .collect();
    let new_first = config(&format!(
        "secret = \"{SECRET}\"\nprevious_secret = \"{OLD_SECRET}\""
    ));
    let old_first = config(&format!(
        "secret = \"{OLD_SECRET}\"\nprevious_secret = \"{SECRET}\""
    ));
    let nodes = [
        Node::start(&addrs[0], "n0", &addrs, &new_first),
        Node::start(&addrs[1], "n1", &addrs, &old_first),
    ];
    nodes.iter().for_each(Node::wait_ready);
    for (i, node) in nodes.iter().enumerate() {
        let hostname = format!("h{i}");
        let reply = node.post("/discovery/register", &register_form("rot", &hostname));
        assert_eq!(reply.code(), 0, "{}", reply.body);
    }
    wait_until(Duration::from_secs(5), "both writes on both nodes", || {
        nodes
            .iter()
            .all(|n| n.get(&fetch_path("rot")).hostnames() == ["h0", "h1"])
    });
    for node in &nodes {
        assert_eq!(refused(node, "bad_signature"), 0);
    }

    // A node that knows only the new secret refuses the old one.
    let strict = Node::single(&config(&format!("secret = \"{SECRET}\"")));
    let reply = post_signed(
        &strict,
        &auth(OLD_SECRET),
        &nodes[1].addr,
        now_unix_ms(),
        &fake_register("old"),
    );
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(strict.get(&fetch_path("victim")).hostnames().is_empty());
}

#[test]
fn without_a_secret_health_says_peers_are_not_authenticated() {
    let node = Node::single(FAST);
    assert_eq!(node.health().expect("health")["peer_auth"], false);
    let reply = post_peer(&node, "127.0.0.1:9", &fake_register("open"), &[]);
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(node.get(&fetch_path("victim")).hostnames(), ["open"]);
}
