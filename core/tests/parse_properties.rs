//! Round-trip properties of the request side: MAC addresses in every spelling the design
//! accepts, UUIDs in every form `Route::parse` takes, percent-decoding, and arbitrary
//! request targets (never a panic; a parsed route written back parses to itself).

use std::fmt::Write as _;

use ipxe_config::percent::{self, PercentError};
use ipxe_config::route::{NodeKey, Route, MAX_TARGET};
use ipxe_config::{PortAddress, Uuid};
use proptest::collection::vec;
use proptest::prelude::*;

/// Writes `text` with each byte percent-encoded where `encode` says so, in upper or lower
/// case hex as `upper` says.
fn percent_encode(text: &[u8], encode: &[bool], upper: &[bool]) -> String {
    let mut out = String::new();
    for (index, &byte) in text.iter().enumerate() {
        let must = !(byte.is_ascii_alphanumeric() || b"-._~:{}".contains(&byte));
        if must || encode.get(index).copied().unwrap_or(false) {
            let _ = if upper.get(index).copied().unwrap_or(false) {
                write!(out, "%{byte:02X}")
            } else {
                write!(out, "%{byte:02x}")
            };
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

/// Changes the case of each letter where `upper` says so.
fn recase(text: &str, upper: &[bool]) -> String {
    text.chars()
        .enumerate()
        .map(|(index, c)| if upper.get(index).copied().unwrap_or(false) { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// The spellings of a MAC the design lists: colon, dash, bare and Cisco-dotted.
fn spell_mac(octets: [u8; 6], style: u8) -> String {
    let hex: Vec<String> = octets.iter().map(|octet| format!("{octet:02x}")).collect();
    match style % 4 {
        0 => hex.join(":"),
        1 => hex.join("-"),
        2 => hex.concat(),
        _ => hex.chunks(2).map(<[String]>::concat).collect::<Vec<_>>().join("."),
    }
}

/// The forms of a UUID the `uuid` crate parses: hyphenated, simple, braced and URN.
fn spell_uuid(uuid: Uuid, style: u8) -> String {
    match style % 4 {
        0 => uuid.hyphenated().to_string(),
        1 => uuid.simple().to_string(),
        2 => uuid.braced().to_string(),
        _ => uuid.urn().to_string(),
    }
}

/// An independent percent-decoder, to compare `percent::decode` with.
fn reference_decode(input: &[u8], capacity: usize) -> Result<Vec<u8>, PercentError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < input.len() {
        let byte = if input[at] == b'%' {
            let hex = input.get(at + 1..at + 3).and_then(|pair| std::str::from_utf8(pair).ok());
            match hex.filter(|pair| pair.bytes().all(|b| b.is_ascii_hexdigit())) {
                Some(pair) => {
                    at += 3;
                    u8::from_str_radix(pair, 16).map_err(|_| PercentError::BadEscape)?
                }
                None => return Err(PercentError::BadEscape),
            }
        } else {
            at += 1;
            input[at - 1]
        };
        if out.len() == capacity {
            return Err(PercentError::TooLong);
        }
        out.push(byte);
    }
    Ok(out)
}

const ENDPOINT: &str = "/v1/drivers/ipmi/vendor_passthru/ipxe_config";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any spelling, case and percent-encoding of a MAC parses to the same address, which
    /// displays lower case with colons, directly and through `Route::parse`.
    #[test]
    fn every_mac_spelling_parses_to_one_address(
        octets in any::<[u8; 6]>(),
        style in any::<u8>(),
        upper in vec(any::<bool>(), 17),
        encode in vec(any::<bool>(), 17),
        hex_upper in vec(any::<bool>(), 17),
        encode_name in any::<bool>(),
    ) {
        let canonical = spell_mac(octets, 0);
        let spelled = recase(&spell_mac(octets, style), &upper);
        let encoded = percent_encode(spelled.as_bytes(), &encode, &hex_upper);
        let expected = PortAddress(octets);
        prop_assert_eq!(PortAddress::parse(spelled.as_bytes()), Ok(expected), "{}", spelled);
        prop_assert_eq!(PortAddress::parse(encoded.as_bytes()), Ok(expected), "{}", encoded);
        prop_assert_eq!(expected.to_string(), canonical.clone());

        let name = if encode_name { "port%5Faddress" } else { "port_address" };
        let target = format!("{ENDPOINT}?{name}={encoded}");
        let route = Route::parse(target.as_bytes()).map_err(|e| TestCaseError::fail(format!("{target}: {e}")))?;
        let is_expected_key = matches!(&route, Route::NodeScript { key: NodeKey::Address(address), .. } if *address == expected);
        prop_assert!(is_expected_key, "{:?}", route);
        let mut written = String::new();
        route.write_target(&mut written).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(written, format!("{ENDPOINT}?port_address={canonical}"));
    }

    /// Near misses are refused, never mistaken for another address: one digit too few or
    /// too many, or separators mixed.
    #[test]
    fn mangled_macs_are_refused(octets in any::<[u8; 6]>(), style in 0u8..2, cut in 0usize..17) {
        let spelled = spell_mac(octets, style);
        let mut shorter = spelled.clone();
        shorter.remove(cut);
        prop_assert!(PortAddress::parse(shorter.as_bytes()).is_err(), "{}", shorter);
        let longer = format!("{spelled}0");
        prop_assert!(PortAddress::parse(longer.as_bytes()).is_err(), "{}", longer);
        let mixed = spelled.replacen([':', '-'], if style == 0 { "-" } else { ":" }, 1);
        prop_assert!(PortAddress::parse(mixed.as_bytes()).is_err(), "{}", mixed);
    }

    /// Any form, case and percent-encoding of a UUID routes to that UUID, and the route
    /// writes back in the canonical hyphenated lower-case form.
    #[test]
    fn every_uuid_form_routes_to_one_node(
        value in any::<u128>(),
        style in any::<u8>(),
        upper in vec(any::<bool>(), 45),
        encode in vec(any::<bool>(), 45),
        hex_upper in vec(any::<bool>(), 45),
    ) {
        let uuid = Uuid::from_u128(value);
        let spelled = recase(&spell_uuid(uuid, style), &upper);
        let encoded = percent_encode(spelled.as_bytes(), &encode, &hex_upper);
        let target = format!("{ENDPOINT}?node_uuid={encoded}");
        let route = Route::parse(target.as_bytes()).map_err(|e| TestCaseError::fail(format!("{target}: {e}")))?;
        let is_expected_key = matches!(&route, Route::NodeScript { key: NodeKey::Uuid(parsed), .. } if *parsed == uuid);
        prop_assert!(is_expected_key, "{}: {:?}", target, route);
        let mut written = String::new();
        route.write_target(&mut written).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(written, format!("{ENDPOINT}?node_uuid={}", uuid.hyphenated()));
    }

    /// Arbitrary bytes never panic the decoder, and its answer is the reference decoder's:
    /// the decoded bytes, or the first problem in input order.
    #[test]
    fn percent_decode_matches_a_reference_on_any_bytes(
        input in vec(prop_oneof![4 => any::<u8>(), 1 => Just(b'%'), 1 => proptest::sample::select(&b"0aF9g"[..])], 0..96),
        capacity in 0usize..100,
    ) {
        let mut out = vec![0u8; capacity];
        let decoded = percent::decode(&input, &mut out).map(<[u8]>::to_vec);
        prop_assert_eq!(decoded, reference_decode(&input, capacity));
    }

    /// Encoding any bytes (each one optionally, `%` always) and decoding gives them back.
    #[test]
    fn percent_encoding_round_trips(
        bytes in vec(any::<u8>(), 0..64),
        encode in vec(any::<bool>(), 64),
        hex_upper in vec(any::<bool>(), 64),
    ) {
        let encoded = percent_encode(&bytes, &encode, &hex_upper);
        let mut out = vec![0u8; bytes.len()];
        prop_assert_eq!(percent::decode(encoded.as_bytes(), &mut out), Ok(&bytes[..]));
    }

    /// Arbitrary request targets never panic the router; a route it parses writes back to a
    /// target that parses to the same route.
    #[test]
    fn any_target_parses_or_is_refused_and_routes_round_trip(
        prefix in proptest::sample::select(&[
            "", "/boot.ipxe", "/v1/drivers/", "/v1/drivers/ipmi/vendor_passthru/ipxe_config?",
            "http://10.99.0.1/v1/drivers/any/vendor_passthru/ipxe_config?", "/v1/drivers/a%2Db/vendor_passthru/ipxe_config?",
        ][..]),
        middle in vec(prop_oneof![
            4 => any::<u8>(),
            2 => proptest::sample::select(&b"%&=?/.-:"[..]),
            1 => Just(b'0'),
        ], 0..80),
        suffix in proptest::sample::select(&[
            "", "node_uuid=1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "port_address=52%3A54%3A00%3A12%3A34%3A56",
            "&node_uuid=1be26c0b03f24d2eae87c02d7f33c123", "/vendor_passthru/ipxe_config?port_address=525400123456",
        ][..]),
        pad in 0usize..(MAX_TARGET + 8),
        padded in any::<bool>(),
    ) {
        let mut target = prefix.as_bytes().to_vec();
        target.extend(&middle);
        target.extend(suffix.as_bytes());
        if padded {
            target.resize(pad.max(target.len()), b'a');
        }
        if let Ok(route) = Route::parse(&target) {
            let mut written = String::new();
            route.write_target(&mut written).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(Route::parse(written.as_bytes()), Ok(route), "{}", String::from_utf8_lossy(&target));
        }
    }
}
