//! TLS between clients, nodes and peers: a CA and node certificates made at test time
//! (rcgen), a two-node cluster serving only TLS, the SDK over TLS, and the startup errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use registry::client::Client;

use super::support::{
    binary, fetch_path, free_port, register_form, scratch_dir, try_request, wait_until, Node, FAST,
};

/// A CA and one certificate for 127.0.0.1 signed by it, written as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = scratch_dir().join(format!("pki-{name}"));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("registry test CA {name}"));
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let node_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("node params");
        let node_key = KeyPair::generate().expect("node key");
        let node_cert = node_params
            .signed_by(&node_key, &issuer)
            .expect("node certificate");
        let pki = Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("node.pem"),
            key: dir.join("node.key"),
        };
        std::fs::write(&pki.ca, ca_cert.pem()).expect("write CA");
        std::fs::write(&pki.cert, node_cert.pem()).expect("write cert");
        std::fs::write(&pki.key, node_key.serialize_pem()).expect("write key");
        pki
    }

    fn config(&self) -> String {
        format!(
            "{FAST}\n[tls]\ncert_file = {:?}\nkey_file = {:?}\nca_file = {:?}\n",
            self.cert, self.key, self.ca
        )
    }

    /// A client configuration trusting this CA.
    fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read_to_string(&self.ca).expect("read CA");
        let der = pem_to_der(&pem);
        roots.add(der.into()).expect("add CA");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

/// The DER bytes of the first PEM block.
fn pem_to_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_tls_cluster_replicates_answers_https_and_refuses_plain_http() {
    let pki = Pki::new("cluster");
    let addrs: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let nodes: Vec<Node> = addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            Node::start_with(
                addr,
                &format!("t{i}"),
                &addrs,
                &pki.config(),
                Some(pki.client()),
            )
        })
        .collect();
    nodes.iter().for_each(Node::wait_ready);

    let reply = nodes[0].post("/discovery/register", &register_form("tls.app", "h1"));
    assert_eq!(reply.code(), 0, "{}", reply.body);
    wait_until(Duration::from_secs(5), "node 2 holds h1 (over TLS)", || {
        nodes[1].get(&fetch_path("tls.app")).hostnames() == ["h1"]
    });
    assert!(nodes[0].metric("registry_peer_posts_total{result=\"delivered\"}") > 0);
    // A TLS node gives its own address as https:// where clients look for nodes.
    let own = nodes[0].get("/discovery/fetch?env=dev&appid=infra.discovery&status=3");
    let addrs: Vec<String> = own.json()["data"]["instances"]
        .as_object()
        .expect("instances by zone")
        .values()
        .flat_map(|list| list.as_array().into_iter().flatten())
        .flat_map(|i| i["addrs"].as_array().into_iter().flatten())
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(addrs.len(), 2, "{}", own.body);
    assert!(addrs.iter().all(|a| a.starts_with("https://")), "{addrs:?}");
    // The status page asks its peer over TLS too.
    let status = nodes[0].get("/status.json?apps=false&peers=true").json();
    let answer = &status["peer_answers"][0];
    assert_eq!(
        answer["status"]["node"]["addr"],
        nodes[1].addr.as_str(),
        "{status}"
    );

    // Plain HTTP to a TLS node gets no HTTP answer.
    for node in &nodes {
        let plain = try_request(&node.addr, "GET", "/health", "", &[]);
        assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
    }
    // A client trusting another CA does not get through the handshake.
    let stranger = Pki::new("stranger");
    let rogue = Node::connect_only(&nodes[0].addr, stranger.client());
    assert!(rogue.send("GET", "/health", "", &[]).is_err());

    // The SDK over TLS.
    let client = Client::new(vec![nodes[1].addr.clone()])
        .with_tls_ca(&pki.ca)
        .expect("the CA loads");
    let info = runtime()
        .block_on(client.fetch("dev", "tls.app"))
        .expect("fetch over TLS");
    let hosts: Vec<&str> = info
        .instances
        .values()
        .flatten()
        .map(|i| i.hostname.as_str())
        .collect();
    assert_eq!(hosts, ["h1"]);
    let plain_client = Client::new(vec![nodes[1].addr.clone()]);
    assert!(runtime()
        .block_on(plain_client.fetch("dev", "tls.app"))
        .is_err());
}

/// The binary with `args`, expected to exit 2 naming `needle` on stderr.
fn refuses_to_start(args: &[&str], needle: &str) {
    let addr = format!("127.0.0.1:{}", free_port());
    let output = Command::new(binary())
        .args(["--listen", &addr])
        .args(args)
        .output()
        .expect("registry runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
}

#[test]
fn missing_partial_or_bad_tls_files_stop_the_binary_with_a_clear_error() {
    let pki = Pki::new("errors");
    let path = |p: &Path| p.display().to_string();
    let (cert, key, ca) = (path(&pki.cert), path(&pki.key), path(&pki.ca));
    let missing = path(&scratch_dir().join("no-such-cert.pem"));
    refuses_to_start(
        &["--tls-cert", &missing, "--tls-key", &key, "--tls-ca", &ca],
        &format!("tls.cert_file {missing}"),
    );
    refuses_to_start(&["--tls-cert", &cert, "--tls-key", &key], "go together");
    refuses_to_start(&["--tls-ca", &ca], "go together");
    let garbage = scratch_dir().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let garbage = path(&garbage);
    refuses_to_start(
        &["--tls-cert", &cert, "--tls-key", &key, "--tls-ca", &garbage],
        &format!("tls.ca_file {garbage}"),
    );
    // A key that is not the certificate's.
    let other = Pki::new("other-key");
    let wrong_key = path(&other.key);
    refuses_to_start(
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &wrong_key,
            "--tls-ca",
            &ca,
        ],
        "tls.cert_file",
    );
    refuses_to_start(
        &["--tls-cert", &cert, "--tls-key", &cert, "--tls-ca", &ca],
        "tls.key_file",
    );
}
