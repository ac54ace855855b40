//! Configured limits on client input, checked before a request touches anything.

use crate::api::SmolStr;
use crate::api::{BadRequest, Instance, InstanceKey, Metadata, Request};

use super::config::Limits;

/// Checks `request` against `limits`; the error names the first offending field.
pub(crate) fn check(request: &Request, limits: &Limits) -> Result<(), BadRequest> {
    let v = Validator { limits };
    match request {
        Request::Register(a) => v.registration(Registration {
            region: &a.region,
            zone: &a.key.zone,
            env: &a.key.env,
            appid: &a.key.appid,
            hostname: &a.key.hostname,
            version: &a.version,
            addrs: &a.addrs,
            metadata: &a.metadata,
        }),
        Request::Renew(a) => v.key(&a.key),
        Request::Cancel(a) => v.key(&a.key),
        Request::Set(a) => {
            v.fields(&[("zone", &a.zone), ("env", &a.env), ("appid", &a.appid)])?;
            v.list("hostname", &a.hostnames)?;
            a.metadata.iter().try_for_each(|m| v.metadata(m))
        }
        Request::Fetch(a) => v.fields(&[("zone", &a.zone), ("env", &a.env), ("appid", &a.appid)]),
        Request::Fetchs(a) => {
            v.fields(&[("zone", &a.zone), ("env", &a.env)])?;
            v.list("appid", &a.appids)
        }
        // A poll's zone is optional (empty means every zone).
        Request::Poll(a) => v.fields(&[
            ("zone", &a.zone),
            ("env", &a.env),
            ("appid", &a.appid),
            ("hostname", &a.hostname),
        ]),
        Request::Polls(a) => {
            v.fields(&[
                ("zone", &a.zone),
                ("env", &a.env),
                ("hostname", &a.hostname),
            ])?;
            v.list("appid", &a.appids)
        }
        Request::Nodes | Request::FetchAll => Ok(()),
    }
}

/// Checks a copy a peer sent against the limits a client's register is held to (what a client
/// could not store, a peer cannot either).
pub(crate) fn check_instance(instance: &Instance, limits: &Limits) -> Result<(), BadRequest> {
    Validator { limits }.registration(Registration {
        region: &instance.region,
        zone: &instance.zone,
        env: &instance.env,
        appid: &instance.appid,
        hostname: &instance.hostname,
        version: &instance.version,
        addrs: &instance.addrs,
        metadata: &instance.metadata,
    })
}

/// What a registration holds, from a client's register or a peer's copy.
struct Registration<'a> {
    region: &'a str,
    zone: &'a str,
    env: &'a str,
    appid: &'a str,
    hostname: &'a str,
    version: &'a str,
    addrs: &'a [SmolStr],
    metadata: &'a Metadata,
}

/// Checks the key of a cancel a peer sent.
pub(crate) fn check_key(key: &InstanceKey, limits: &Limits) -> Result<(), BadRequest> {
    Validator { limits }.key(key)
}

struct Validator<'a> {
    limits: &'a Limits,
}

impl Validator<'_> {
    /// One check for a registration however it arrives, fields in the order a client's form
    /// names them.
    fn registration(&self, r: Registration<'_>) -> Result<(), BadRequest> {
        self.fields(&[("region", r.region)])?;
        self.identity(r.zone, r.env, r.appid, r.hostname)?;
        self.fields(&[("version", r.version)])?;
        if r.addrs.is_empty() {
            return Err(BadRequest::new("addrs", "is required"));
        }
        self.addrs(r.addrs)?;
        self.metadata(r.metadata)
    }

    fn key(&self, key: &InstanceKey) -> Result<(), BadRequest> {
        self.identity(&key.zone, &key.env, &key.appid, &key.hostname)
    }

    /// An instance's identity: each part present (decoding sees to that for a client's form;
    /// a peer's message or a hand-built request is checked here) and within limits.
    fn identity(
        &self,
        zone: &str,
        env: &str,
        appid: &str,
        hostname: &str,
    ) -> Result<(), BadRequest> {
        let parts = [
            ("zone", zone),
            ("env", env),
            ("appid", appid),
            ("hostname", hostname),
        ];
        if let Some((name, _)) = parts.iter().find(|(_, value)| value.is_empty()) {
            return Err(BadRequest::new(*name, "is required"));
        }
        self.fields(&[
            ("zone", zone),
            ("env", env),
            ("appid", appid),
            ("hostname", hostname),
        ])
    }

    fn fields(&self, fields: &[(&str, &str)]) -> Result<(), BadRequest> {
        fields
            .iter()
            .try_for_each(|(name, value)| self.text(name, value, self.limits.max_field_len))
    }

    fn text(&self, name: &str, value: &str, max: usize) -> Result<(), BadRequest> {
        if value.len() > max {
            return Err(BadRequest::new(
                name,
                format!("is {} bytes long; the limit is {max}", value.len()),
            ));
        }
        // Control characters are U+0000-U+001F and U+007F-U+009F. Printable ASCII, nearly
        // every value, is told in one pass over the bytes; anything else is looked at as chars.
        let printable_ascii = value.bytes().all(|b| matches!(b, b' '..=b'~'));
        if !printable_ascii && value.chars().any(char::is_control) {
            return Err(BadRequest::new(name, "must not contain control characters"));
        }
        Ok(())
    }

    fn list(&self, name: &str, items: &[SmolStr]) -> Result<(), BadRequest> {
        let max = self.limits.max_list_len;
        if items.len() > max {
            return Err(BadRequest::new(
                name,
                format!("has {} values; the limit is {max}", items.len()),
            ));
        }
        items
            .iter()
            .try_for_each(|item| self.text(name, item, self.limits.max_field_len))
    }

    fn addrs(&self, addrs: &[SmolStr]) -> Result<(), BadRequest> {
        let max = self.limits.max_addrs;
        if addrs.len() > max {
            return Err(BadRequest::new(
                "addrs",
                format!("has {} values; the limit is {max}", addrs.len()),
            ));
        }
        addrs
            .iter()
            .try_for_each(|a| self.text("addrs", a, self.limits.max_addr_len))
    }

    /// Checked after any merge too: a set may grow metadata past the limit.
    pub(crate) fn metadata(&self, metadata: &Metadata) -> Result<(), BadRequest> {
        check_metadata(metadata, self.limits)
    }
}

/// Checks metadata size limits.
pub(crate) fn check_metadata(metadata: &Metadata, limits: &Limits) -> Result<(), BadRequest> {
    if metadata.len() > limits.max_metadata_entries {
        let (n, max) = (metadata.len(), limits.max_metadata_entries);
        return Err(BadRequest::new(
            "metadata",
            format!("has {n} entries; the limit is {max}"),
        ));
    }
    let bytes: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > limits.max_metadata_bytes {
        let max = limits.max_metadata_bytes;
        return Err(BadRequest::new(
            "metadata",
            format!("is {bytes} bytes; the limit is {max}"),
        ));
    }
    Ok(())
}
