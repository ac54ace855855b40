//! The status page of a real cluster: every node's answer, a peer that hangs or is gone shown
//! as not answering (within the peers' timeout, not the hang), and its JSON twin.

use std::time::{Duration, Instant};

use super::support::{cluster, register_form, wait_until, FAST};

/// Rows of the cluster table whose peer answered.
fn answered(html: &str) -> usize {
    html.matches("<td class=\"ok\">yes</td>").count()
}

/// The cluster table's row for `addr`.
fn row<'a>(html: &'a str, addr: &str) -> &'a str {
    let start = html
        .find(&format!("data-addr=\"{addr}\""))
        .unwrap_or_else(|| panic!("no row for {addr}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

#[test]
fn the_status_page_shows_each_node_and_peers_that_do_not_answer() {
    let mut nodes = cluster(3, FAST);
    let reply = nodes[0].post(
        "/discovery/register",
        &register_form("status.app", "h%3Cscript%3E"),
    );
    assert_eq!(reply.code(), 0);
    wait_until(
        Duration::from_secs(10),
        "every node answers and holds the app",
        || {
            let page = nodes[0].get("/").body;
            answered(&page) == 2
                && page.contains("The 3 node(s) that answered hold the same registry.")
        },
    );
    let page = nodes[0].get("/status");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for node in &nodes {
        assert!(page.body.contains(&format!("data-addr=\"{}\"", node.addr)));
    }
    assert!(page.body.contains("class=\"appid\">status.app<"));
    assert!(
        page.body.contains("h&lt;script&gt;"),
        "the hostname as text"
    );

    let json = nodes[0].get("/status.json?peers=true").json();
    let answers = json["peer_answers"].as_array().expect("peer answers");
    assert_eq!(answers.len(), 2);
    assert!(
        answers.iter().all(|a| a["status"]["node"]["ready"] == true),
        "{json}"
    );

    // A hung peer (stopped, its socket still accepting): the page waits for it no longer
    // than the peers' timeout.
    nodes[2].signal("STOP");
    // kill returns once the signal is sent; the process stops a moment later.
    let stat = format!("/proc/{}/stat", nodes[2].pid());
    wait_until(Duration::from_secs(5), "the peer is stopped", || {
        std::fs::read_to_string(&stat).is_ok_and(|s| s.contains(") T "))
    });
    let asked = Instant::now();
    let page = nodes[0].get("/").body;
    let took = asked.elapsed();
    nodes[2].signal("CONT");
    assert!(took < Duration::from_millis(1500), "the page took {took:?}");
    let hung = row(&page, &nodes[2].addr);
    assert!(hung.contains("no: no response within 500ms"), "{hung}");
    assert!(hung.contains("last answer"), "{hung}");
    assert!(page.contains("1 peer(s) did not answer."));

    // A peer that is gone: refused at once.
    nodes[1].kill9();
    let page = nodes[0].get("/").body;
    let gone = row(&page, &nodes[1].addr);
    assert!(gone.contains("no: cannot connect to"), "{gone}");
    assert_eq!(
        answered(row(&page, &nodes[2].addr)),
        1,
        "the other answers again"
    );
}
