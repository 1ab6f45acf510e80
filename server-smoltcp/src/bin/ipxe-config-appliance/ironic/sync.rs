//! The two kinds of sync against Ironic's API.
//!
//! A **full sync** pages through every node and port (`GET /v1/nodes?fields=…` and
//! `GET /v1/ports?fields=…`, `limit`/`marker`): the only way to see deletions. The
//! `/detail` endpoints refuse `fields=`, so the lists are asked for the fields instead.
//! An **incremental poll** asks for the few nodes updated most recently
//! (`GET /v1/nodes/detail?sort_key=updated_at&sort_dir=desc&limit=K`) and the ports
//! created most recently, and pages on only while every record is at least as new as the
//! newest already seen: one small request each when nothing changed, whatever the fleet's
//! size. Either builds its result aside; nothing of a sync that failed half-way is kept.

use std::fmt::Write as _;

use serde_json::Value;

use super::client::{FetchError, IronicClient};
use super::fleet::{self, Fleet, NODE_FIELDS, PORT_FIELDS};

/// Which nodes this appliance serves.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    /// Only nodes of this conductor group.
    pub conductor_group: Option<String>,
    /// Only nodes of this shard.
    pub shard: Option<String>,
}

impl Filters {
    fn node_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(group) = &self.conductor_group {
            params.push(("conductor_group", group.clone()));
        }
        if let Some(shard) = &self.shard {
            params.push(("shard", shard.clone()));
        }
        params
    }
}

/// Page sizes.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// Records per page of a full sync (Ironic caps it at its `[api]max_limit`, 1,000 by
    /// default; a shorter page with a `next` link is followed all the same).
    pub full: usize,
    /// Records per page of an incremental poll.
    pub poll: usize,
    /// Most pages one poll follows; past that, so many changed at once that a full sync
    /// is cheaper.
    pub poll_pages: usize,
}

/// `path?name=value&…` with each value percent-encoded.
pub fn query(path: &str, params: &[(&str, String)]) -> String {
    let mut url = path.to_owned();
    for (position, (name, value)) in params.iter().enumerate() {
        url.push(if position == 0 { '?' } else { '&' });
        url.push_str(name);
        url.push('=');
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~,".contains(&byte) {
                url.push(char::from(byte));
            } else {
                let _ = write!(url, "%{byte:02X}");
            }
        }
    }
    url
}

/// The list named `key` (`nodes`, `ports`) of one page, and whether Ironic says another
/// follows (a `next` link).
fn page(answer: Value, key: &str) -> Result<(Vec<Value>, bool), FetchError> {
    let Value::Object(mut answer) = answer else { return Err(FetchError::Body(format!("not an object of `{key}`"))) };
    let more = answer.get("next").is_some_and(Value::is_string);
    match answer.remove(key) {
        Some(Value::Array(records)) => Ok((records, more)),
        _ => Err(FetchError::Body(format!("no `{key}` list"))),
    }
}

/// The last record's `uuid`, the next page's marker.
fn marker(records: &[Value]) -> Result<String, FetchError> {
    records
        .last()
        .and_then(|record| record.get("uuid"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| FetchError::Body("a page ends without a uuid to continue from".into()))
}

/// Every record of a list endpoint.
fn every(
    client: &mut IronicClient,
    path: &str,
    key: &str,
    fields: &[&str],
    filters: &[(&'static str, String)],
    limit: usize,
) -> Result<Vec<Value>, FetchError> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut params: Vec<(&str, String)> = vec![("fields", fields.join(",")), ("limit", limit.to_string())];
        params.extend(filters.iter().cloned());
        if let Some(marker) = &next {
            params.push(("marker", marker.clone()));
        }
        let (records, more) = page(client.get_json(&query(path, &params))?, key)?;
        if !more || records.is_empty() {
            all.extend(records);
            return Ok(all);
        }
        next = Some(marker(&records)?);
        all.extend(records);
    }
}

/// The records of `path` (a `/detail` endpoint) whose `stamp` is at least `mark`, newest
/// first; `None` when more than `paging.poll_pages` pages of them exist.
fn since(
    client: &mut IronicClient,
    path: &str,
    key: &str,
    stamp: &str,
    mark: Option<&str>,
    filters: &[(&'static str, String)],
    paging: Paging,
) -> Result<Option<Vec<Value>>, FetchError> {
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..paging.poll_pages.max(1) {
        let mut params: Vec<(&str, String)> =
            vec![("sort_key", stamp.to_owned()), ("sort_dir", "desc".to_owned()), ("limit", paging.poll.to_string())];
        params.extend(filters.iter().cloned());
        if let Some(marker) = &next {
            params.push(("marker", marker.clone()));
        }
        let (records, more) = page(client.get_json(&query(path, &params))?, key)?;
        let last = marker(&records).ok();
        // A record older than the mark ends the search, since the rest are older still.
        // So does one without a stamp (never updated since enrolled): SQLite and MySQL
        // sort those after every stamp in descending order. (PostgreSQL sorts them first;
        // there, changes behind such nodes wait for the next full sync.)
        let mut reached_older = false;
        for record in records {
            match (record.get(stamp).and_then(Value::as_str), mark) {
                (Some(at), Some(mark)) if at < mark => reached_older = true,
                (None, _) => reached_older = true,
                _ => found.push(record),
            }
        }
        if reached_older || !more {
            return Ok(Some(found));
        }
        next = last;
        if next.is_none() {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The newest `stamp` of the list at `path` (one record asked for), `None` if no record
/// has one.
fn newest_stamp(
    client: &mut IronicClient,
    path: &str,
    key: &str,
    stamp: &str,
    filters: &[(&'static str, String)],
) -> Result<Option<String>, FetchError> {
    let mut params: Vec<(&str, String)> =
        vec![("sort_key", stamp.to_owned()), ("sort_dir", "desc".to_owned()), ("limit", "1".to_owned())];
    params.extend(filters.iter().cloned());
    let (records, _) = page(client.get_json(&query(path, &params))?, key)?;
    Ok(fleet::newest(None, &records, stamp))
}

/// A full sync: every node (of the filters) and every port.
pub fn full(client: &mut IronicClient, filters: &Filters, paging: Paging) -> Result<Fleet, FetchError> {
    let node_filters = filters.node_params();
    // The marks are read first: a change made while the pages are read is newer than
    // them, so the next poll sees it even if a page missed it.
    let node_mark = newest_stamp(client, "/v1/nodes/detail", "nodes", "updated_at", &node_filters)?;
    let port_mark = newest_stamp(client, "/v1/ports/detail", "ports", "created_at", &[])?;
    let nodes = every(client, "/v1/nodes", "nodes", NODE_FIELDS, &node_filters, paging.full)?;
    let ports = every(client, "/v1/ports", "ports", PORT_FIELDS, &[], paging.full)?;
    Ok(Fleet::new(&nodes, &ports, node_mark, port_mark))
}

/// What one poll found.
pub enum Poll {
    /// Node and port records as new as the marks or newer (some may be unchanged).
    Recent { nodes: Vec<Value>, ports: Vec<Value> },
    /// Too many changes for a poll: a full sync should follow.
    TooMany,
}

/// An incremental poll against the marks of `fleet`.
pub fn poll(client: &mut IronicClient, fleet: &Fleet, filters: &Filters, paging: Paging) -> Result<Poll, FetchError> {
    let node_filters = filters.node_params();
    let nodes =
        since(client, "/v1/nodes/detail", "nodes", "updated_at", fleet.node_mark.as_deref(), &node_filters, paging)?;
    let ports = since(client, "/v1/ports/detail", "ports", "created_at", fleet.port_mark.as_deref(), &[], paging)?;
    match (nodes, ports) {
        (Some(nodes), Some(ports)) => Ok(Poll::Recent { nodes, ports }),
        _ => Ok(Poll::TooMany),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_values_are_percent_encoded() {
        let url = query("/v1/nodes", &[("fields", "uuid,driver".into()), ("shard", "rack 1&2".into())]);
        assert_eq!(url, "/v1/nodes?fields=uuid,driver&shard=rack%201%262");
    }

    #[test]
    fn a_page_without_its_list_is_invalid() {
        assert!(page(json!({"error_message": "x"}), "nodes").is_err());
        assert!(page(json!([1]), "nodes").is_err());
        let (records, more) = page(json!({"nodes": [{"uuid": "a"}], "next": "http://x"}), "nodes").unwrap();
        assert_eq!((records.len(), more), (1, true));
        assert!(!page(json!({"nodes": []}), "nodes").unwrap().1);
    }
}
