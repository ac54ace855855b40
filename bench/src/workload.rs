//! The instances and requests of a run, on bilibili/discovery's wire: instance `i` is host
//! `h<i>` of app `bench.app<i / 100>` (apps of 100 instances), zone `z1`, env `dev`.

/// Instances per app: the fetch phase reads one full app.
pub(crate) const PER_APP: usize = 100;

/// The app of instance `i`.
pub(crate) fn appid(i: usize) -> String {
    format!("bench.app{}", i / PER_APP)
}

/// The register form of instance `i` (status up, two addresses, a version and metadata, like
/// a typical SDK's registration).
pub(crate) fn register_form(i: usize) -> String {
    instance_form(&appid(i), &format!("h{i}"), i)
}

/// The register form of host `hostname` of `appid`, addressed after `i`.
pub(crate) fn instance_form(appid: &str, hostname: &str, i: usize) -> String {
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    format!(
        "zone=z1&env=dev&appid={appid}&hostname={hostname}&status=1\
         &addrs=http://{ip}:8080,grpc://{ip}:9090&version=v1.0.0\
         &metadata=%7B%22weight%22%3A%2210%22%2C%22cluster%22%3A%22c1%22%7D"
    )
}

/// The renew form of instance `i`.
pub(crate) fn renew_form(i: usize) -> String {
    format!("zone=z1&env=dev&appid={}&hostname=h{i}", appid(i))
}

/// A fetch of every zone's instances of `appid`, up and waiting (`status=3`).
pub(crate) fn fetch_target(appid: &str) -> String {
    format!("/discovery/fetch?zone=z1&env=dev&appid={appid}&status=3")
}

/// A long-poll on `appid` past `cursor`, by client `hostname`.
pub(crate) fn polls_target(appid: &str, cursor: i64, hostname: &str) -> String {
    format!("/discovery/polls?env=dev&appid={appid}&latest_timestamp={cursor}&hostname={hostname}")
}

/// The cursor (`data.latest_timestamp`) of a fetch answer.
pub(crate) fn fetch_cursor(body: &[u8]) -> Option<i64> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json["data"]["latest_timestamp"].as_i64()
}

/// The cursor of `appid` in a polls answer.
pub(crate) fn polls_cursor(body: &[u8], appid: &str) -> Option<i64> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json["data"][appid]["latest_timestamp"].as_i64()
}

/// Whether an answer names `hostname` (the visibility phase's marker).
pub(crate) fn names_host(body: &[u8], hostname: &str) -> bool {
    let needle = format!("\"hostname\":\"{hostname}\"");
    body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_fill_apps_of_one_hundred() {
        assert_eq!(appid(0), "bench.app0");
        assert_eq!(appid(99), "bench.app0");
        assert_eq!(appid(100), "bench.app1");
        assert!(register_form(257).contains("hostname=h257&"));
        assert!(register_form(257).contains("http://10.0.1.1:8080"));
    }

    #[test]
    fn cursors_are_read_from_fetch_and_polls_answers() {
        let fetch =
            br#"{"code":0,"message":"0","ttl":1,"data":{"instances":{},"latest_timestamp":42}}"#;
        assert_eq!(fetch_cursor(fetch), Some(42));
        let polls = br#"{"code":0,"message":"0","ttl":1,"data":{"a":{"instances":{},"latest_timestamp":7}}}"#;
        assert_eq!(polls_cursor(polls, "a"), Some(7));
        assert!(names_host(br#"[{"hostname":"v3"}]"#, "v3"));
        assert!(!names_host(br#"[{"hostname":"v31"}]"#, "v3"));
    }
}
