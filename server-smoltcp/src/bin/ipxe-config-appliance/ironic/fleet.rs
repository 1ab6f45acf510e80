//! The appliance's copy of Ironic's nodes and ports (only the fields the renderer reads),
//! kept between syncs so an incremental poll can change one node and the whole inventory
//! document be rebuilt from it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Node fields the loader reads; everything else of Ironic's (links, `extra`, …) is left
/// out of the requests (`fields=`) and of the copy.
pub const NODE_FIELDS: &[&str] = &[
    "uuid",
    "driver",
    "provision_state",
    "deploy_interface",
    "boot_interface",
    "boot_mode",
    "driver_info",
    "instance_info",
    "driver_internal_info",
    "properties",
];

/// Port fields the loader reads.
pub const PORT_FIELDS: &[&str] = &["uuid", "address", "node_uuid", "pxe_enabled"];

/// A record of Ironic's trimmed to `fields`, keyed by its `uuid`; `None` without one.
fn trimmed(record: &Value, fields: &[&str]) -> Option<(String, Value)> {
    let object = record.as_object()?;
    let uuid = object.get("uuid")?.as_str()?.to_owned();
    let kept: Map<String, Value> = fields
        .iter()
        .filter_map(|field| object.get(*field).map(|value| ((*field).to_owned(), value.clone())))
        .collect();
    Some((uuid, Value::Object(kept)))
}

/// Nodes and ports as Ironic last showed them.
#[derive(Debug, Default, Clone)]
pub struct Fleet {
    nodes: BTreeMap<String, Value>,
    ports: BTreeMap<String, Value>,
    /// The newest node `updated_at` seen: a poll asks for what changed since.
    pub node_mark: Option<String>,
    /// The newest port `created_at` seen: a poll asks for ports enrolled since.
    pub port_mark: Option<String>,
}

impl Fleet {
    /// The fleet of one full sync. Records without a `uuid` are dropped (Ironic always
    /// sends one; the loader would refuse the document otherwise).
    pub fn new(nodes: &[Value], ports: &[Value], node_mark: Option<String>, port_mark: Option<String>) -> Self {
        Fleet {
            nodes: nodes.iter().filter_map(|node| trimmed(node, NODE_FIELDS)).collect(),
            ports: ports.iter().filter_map(|port| trimmed(port, PORT_FIELDS)).collect(),
            node_mark,
            port_mark,
        }
    }

    /// Replaces the nodes among `records` whose fields differ from the copy's; returns
    /// their UUIDs. Moves `node_mark` to the newest `updated_at` among them.
    pub fn apply_nodes(&mut self, records: &[Value]) -> Vec<String> {
        self.node_mark = newest(self.node_mark.take(), records, "updated_at");
        apply(&mut self.nodes, records, NODE_FIELDS)
    }

    /// As [`Fleet::apply_nodes`], for ports and their `created_at`.
    pub fn apply_ports(&mut self, records: &[Value]) -> Vec<String> {
        self.port_mark = newest(self.port_mark.take(), records, "created_at");
        apply(&mut self.ports, records, PORT_FIELDS)
    }

    /// How many nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A node's `provision_state`, for log lines.
    pub fn provision_state(&self, uuid: &str) -> &str {
        self.nodes.get(uuid).and_then(|node| node.get("provision_state")).and_then(Value::as_str).unwrap_or("null")
    }

    /// The inventory document (`{"nodes": […], "ports": […]}`) for the loader; ports of
    /// nodes outside the fleet (another conductor group or shard) are left out.
    pub fn document(&self) -> Vec<u8> {
        let ports: Vec<&Value> = self
            .ports
            .values()
            .filter(|port| {
                port.get("node_uuid").and_then(Value::as_str).is_some_and(|node| self.nodes.contains_key(node))
            })
            .collect();
        let nodes: Vec<&Value> = self.nodes.values().collect();
        let document = serde_json::json!({ "nodes": nodes, "ports": ports });
        document.to_string().into_bytes()
    }
}

fn apply(copy: &mut BTreeMap<String, Value>, records: &[Value], fields: &[&str]) -> Vec<String> {
    let mut changed = Vec::new();
    for (uuid, record) in records.iter().filter_map(|record| trimmed(record, fields)) {
        if copy.get(&uuid) != Some(&record) {
            copy.insert(uuid.clone(), record);
            changed.push(uuid);
        }
    }
    changed
}

/// The later of `mark` and every `key` timestamp of `records`. Ironic writes them all in
/// one ISO 8601 form in UTC, so the string order is the time order.
pub fn newest(mark: Option<String>, records: &[Value], key: &str) -> Option<String> {
    records.iter().filter_map(|record| record.get(key).and_then(Value::as_str)).fold(mark, |mark, stamp| match mark {
        Some(mark) if mark.as_str() >= stamp => Some(mark),
        _ => Some(stamp.to_owned()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123";
    const B: &str = "2be26c0b-03f2-4d2e-ae87-c02d7f33c123";

    fn node(uuid: &str, state: &str, updated_at: &str) -> Value {
        json!({"uuid": uuid, "driver": "ipmi", "provision_state": state, "updated_at": updated_at,
               "extra": {"big": "ignored"}, "links": [{"href": "x"}]})
    }

    #[test]
    fn only_changed_nodes_are_replaced_and_the_mark_moves_to_the_newest() {
        let mut fleet = Fleet::new(&[node(A, "deploying", "2026-01-01T00:00:01+00:00")], &[], None, None);
        let changed = fleet.apply_nodes(&[
            node(A, "deploying", "2026-01-01T00:00:01+00:00"),
            node(B, "active", "2026-01-01T00:00:02.5+00:00"),
        ]);
        assert_eq!(changed, vec![B.to_owned()]);
        assert_eq!(fleet.node_mark.as_deref(), Some("2026-01-01T00:00:02.5+00:00"));
        let changed = fleet.apply_nodes(&[node(A, "wait call-back", "2026-01-01T00:00:02+00:00")]);
        assert_eq!(changed, vec![A.to_owned()]);
        assert_eq!(fleet.provision_state(A), "wait call-back");
        assert_eq!(fleet.node_mark.as_deref(), Some("2026-01-01T00:00:02.5+00:00"), "an older stamp keeps the mark");
    }

    #[test]
    fn the_document_has_only_render_fields_and_ports_of_known_nodes() {
        let ports = [
            json!({"uuid": "p1", "address": "52:54:00:00:00:01", "node_uuid": A, "pxe_enabled": true, "extra": {}}),
            json!({"uuid": "p2", "address": "52:54:00:00:00:02", "node_uuid": B, "pxe_enabled": true}),
        ];
        let fleet = Fleet::new(&[node(A, "active", "t")], &ports, None, None);
        let document: Value = serde_json::from_slice(&fleet.document()).unwrap();
        assert_eq!(document["nodes"], json!([{"uuid": A, "driver": "ipmi", "provision_state": "active"}]));
        assert_eq!(
            document["ports"],
            json!([{"uuid": "p1", "address": "52:54:00:00:00:01", "node_uuid": A, "pxe_enabled": true}])
        );
    }

    #[test]
    fn the_document_loads_with_the_core_loader() {
        let fleet = Fleet::new(
            &[node(A, "active", "t")],
            &[json!({"uuid": "p", "address": "52:54:00:12:34:56", "node_uuid": A, "pxe_enabled": true})],
            None,
            None,
        );
        let mut buffers =
            ipxe_config::HeapInventoryBuffers::new(ipxe_config::InventoryCapacity::new(4, 4, 1024)).unwrap();
        let inventory = buffers.load(&fleet.document()).unwrap();
        assert_eq!((inventory.node_count(), inventory.port_count()), (1, 1));
    }

    #[test]
    fn records_without_a_uuid_are_dropped() {
        let fleet = Fleet::new(&[json!({"driver": "ipmi"}), json!("x")], &[], None, None);
        assert_eq!(fleet.node_count(), 0);
    }

    #[test]
    fn timestamps_without_fraction_order_before_those_with() {
        let records = [
            json!({"updated_at": "2026-01-01T00:00:01+00:00"}),
            json!({"updated_at": "2026-01-01T00:00:01.000001+00:00"}),
        ];
        assert_eq!(newest(None, &records, "updated_at").as_deref(), Some("2026-01-01T00:00:01.000001+00:00"));
        assert_eq!(newest(None, &[json!({"updated_at": null})], "updated_at"), None);
    }
}
