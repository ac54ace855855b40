//! Configured limits on client input, checked before a request touches anything.

use crate::api::SmolStr;
use crate::api::{BadRequest, InstanceKey, Metadata, Request};

use super::config::Limits;

/// Checks `request` against `limits`; the error names the first offending field.
pub(crate) fn check(request: &Request, limits: &Limits) -> Result<(), BadRequest> {
    let v = Validator { limits };
    match request {
        Request::Register(a) => {
            v.fields(&[("region", &a.region)])?;
            v.key(&a.key)?;
            v.fields(&[("version", &a.version)])?;
            v.addrs(&a.addrs)?;
            v.metadata(&a.metadata)
        }
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
        Request::Poll(a) => v.identity(&a.zone, &a.env, &a.appid, &a.hostname),
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

struct Validator<'a> {
    limits: &'a Limits,
}

impl Validator<'_> {
    fn key(&self, key: &InstanceKey) -> Result<(), BadRequest> {
        self.identity(&key.zone, &key.env, &key.appid, &key.hostname)
    }

    fn identity(
        &self,
        zone: &str,
        env: &str,
        appid: &str,
        hostname: &str,
    ) -> Result<(), BadRequest> {
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
        // Control characters are U+0000-U+001F and U+007F-U+009F: in ASCII text, bytes.
        let control = if value.is_ascii() {
            value.bytes().any(|b| b.is_ascii_control())
        } else {
            value.chars().any(char::is_control)
        };
        if control {
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
