//! FNV-1a, the workspace's one hash: tiny, table-free and well spread for short keys
//! (URL-like strings in the string pool, MAC addresses in the server's DHCP lease table).

/// The 32-bit FNV-1a hash of `bytes`.
///
/// ```
/// use ipxe_config::hash::fnv1a;
/// assert_eq!(fnv1a(b""), 0x811c_9dc5);
/// assert_eq!(fnv1a(b"a"), 0xe40c_292c);
/// ```
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}
