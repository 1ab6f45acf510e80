//! Carving one caller-provided byte block into the typed slices of an
//! [`InventoryStorage`].
//!
//! C callers hand over a single `void *` of [`required_size`] bytes with no particular
//! alignment (`malloc`, a static `uint8_t` array, a shared-memory segment at an odd
//! offset). The regions are laid out in a fixed order, each aligned for its element type:
//!
//! ```text
//! [pad] nodes: NodeRecord × max_nodes   [pad] string index: u32 × slots
//! [pad] ports: PortRecord × max_ports   strings: u8 × string_bytes
//! ```
//!
//! All arithmetic is checked; the layout is computed without `unsafe`, and only
//! [`carve`] turns it into references.

use core::mem::{align_of, size_of};
use core::ptr;
use core::slice;

use ipxe_config::{InventoryStorage, NodeRecord, PortRecord};

// What the caller wants the storage to hold: core's one capacity type, which also sizes
// the string index (`InventoryCapacity::string_index_slots`). A plain comment: rustdoc
// 1.95 crashes on an intra-doc link in the docs of a renamed re-export.
pub use ipxe_config::InventoryCapacity as Capacities;

/// Offsets (from the start of the caller's block) of each region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Start of the node slots.
    pub nodes: usize,
    /// Start of the string index.
    pub index: usize,
    /// Slots of the string index.
    pub index_slots: usize,
    /// Start of the port slots.
    pub ports: usize,
    /// Start of the string pool.
    pub strings: usize,
    /// One past the last byte used.
    pub end: usize,
}

/// The byte length of `count` elements of `T`.
fn bytes_of<T>(count: usize) -> Option<usize> {
    count.checked_mul(size_of::<T>())
}

/// The first offset at or after `cursor` whose address (`base + offset`) is a multiple of
/// `align` (a power of two).
fn align_offset(base: usize, cursor: usize, align: usize) -> Option<usize> {
    let address = base.checked_add(cursor)?;
    let misalignment = address & align.checked_sub(1)?;
    let padding = align.checked_sub(misalignment)? & align.checked_sub(1)?;
    cursor.checked_add(padding)
}

/// Where each region goes for a block starting at address `base`; `None` if a size
/// overflows.
pub fn layout(base: usize, capacities: Capacities) -> Option<Layout> {
    let index_slots = capacities.string_index_slots()?;
    let nodes = align_offset(base, 0, align_of::<NodeRecord>())?;
    let nodes_end = nodes.checked_add(bytes_of::<NodeRecord>(capacities.nodes)?)?;
    let index = align_offset(base, nodes_end, align_of::<u32>())?;
    let index_end = index.checked_add(bytes_of::<u32>(index_slots)?)?;
    let ports = align_offset(base, index_end, align_of::<PortRecord>())?;
    let strings = ports.checked_add(bytes_of::<PortRecord>(capacities.ports)?)?;
    let end = strings.checked_add(capacities.string_bytes)?;
    Some(Layout { nodes, index, index_slots, ports, strings, end })
}

/// The worst-case padding [`layout`] puts before the aligned regions.
pub const SLACK_BYTES: usize = align_of::<NodeRecord>() - 1 + align_of::<u32>() - 1 + align_of::<PortRecord>() - 1;

/// Bytes a caller must provide so [`layout`] fits whatever the block's alignment:
/// the regions plus the worst-case padding before each aligned one. `None` if that does
/// not fit in `isize::MAX` (no allocation can be that large).
pub fn required_size(capacities: Capacities) -> Option<usize> {
    let slack = SLACK_BYTES;
    let total = [
        bytes_of::<NodeRecord>(capacities.nodes)?,
        bytes_of::<u32>(capacities.string_index_slots()?)?,
        bytes_of::<PortRecord>(capacities.ports)?,
        capacities.string_bytes,
        slack,
    ]
    .iter()
    .try_fold(0usize, |sum, bytes| sum.checked_add(*bytes))?;
    (isize::try_from(total).is_ok()).then_some(total)
}

/// Why a block cannot be carved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarveError {
    /// The capacities overflow the address space.
    Overflow,
    /// The block is shorter than the layout needs at its address.
    TooSmall {
        /// Bytes this block would need (at its alignment); [`required_size`] is enough
        /// at any alignment.
        needed: usize,
    },
}

/// The carved storage, plus raw pointers to the three regions an inventory is later
/// re-viewed from. The pointers are the parents of the references in `storage`, so they
/// stay usable after those references are gone.
pub struct Carved<'s> {
    /// The slices to load into.
    pub storage: InventoryStorage<'s>,
    /// Start of the node slots.
    pub nodes: *const NodeRecord,
    /// Start of the port slots.
    pub ports: *const PortRecord,
    /// Start of the string pool.
    pub strings: *const u8,
}

/// Splits `len` bytes at `base` into initialised, aligned, disjoint typed slices.
///
/// # Safety
/// `base` must be non-null and valid for reads and writes of `len` bytes, and nothing
/// else may access those bytes while the returned references (lifetime `'s`) are alive.
/// The bytes need not be initialised: every region is written before it is referenced.
// `layout` aligned each offset for the type it is cast to, at this very base address.
#[allow(clippy::cast_ptr_alignment)]
pub unsafe fn carve<'s>(base: *mut u8, len: usize, capacities: Capacities) -> Result<Carved<'s>, CarveError> {
    let at = layout(base.addr(), capacities).ok_or(CarveError::Overflow)?;
    if at.end > len {
        return Err(CarveError::TooSmall { needed: at.end });
    }
    // SAFETY: every offset below is at most `at.end <= len`, so each pointer stays inside
    // the caller's block (`add` requires that). `layout` aligned each typed region for its
    // element type and placed the regions one after another, so they do not overlap.
    // Each region is fully written (records with their EMPTY value, bytes and index
    // slots with zero) *before* a reference to it is made, so the references point to
    // valid, initialised values, as Rust requires even when C passes fresh `malloc`
    // memory. The caller guarantees exclusive access for `'s`.
    unsafe {
        let nodes = base.add(at.nodes).cast::<NodeRecord>();
        for slot in 0..capacities.nodes {
            ptr::write(nodes.add(slot), NodeRecord::EMPTY);
        }
        let index = base.add(at.index).cast::<u32>();
        ptr::write_bytes(index, 0, at.index_slots);
        let ports = base.add(at.ports).cast::<PortRecord>();
        for slot in 0..capacities.ports {
            ptr::write(ports.add(slot), PortRecord::EMPTY);
        }
        let strings = base.add(at.strings);
        ptr::write_bytes(strings, 0, capacities.string_bytes);
        Ok(Carved {
            storage: InventoryStorage {
                nodes: slice::from_raw_parts_mut(nodes, capacities.nodes),
                ports: slice::from_raw_parts_mut(ports, capacities.ports),
                strings: slice::from_raw_parts_mut(strings, capacities.string_bytes),
                string_index: slice::from_raw_parts_mut(index, at.index_slots),
            },
            nodes,
            ports,
            strings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPACITIES: Capacities = Capacities { nodes: 3, ports: 5, string_bytes: 101 };

    /// A u64-aligned block, so tests can start at any chosen misalignment.
    fn block(bytes: usize) -> Vec<u64> {
        vec![0xa5a5_a5a5_a5a5_a5a5; bytes / 8 + 2]
    }

    #[test]
    fn required_size_fits_every_misalignment() {
        let size = required_size(CAPACITIES).unwrap();
        for base in 0..64 {
            let at = layout(0x1000 + base, CAPACITIES).unwrap();
            assert!(at.end <= size, "base +{base}: {} > {size}", at.end);
        }
    }

    #[test]
    fn carves_aligned_disjoint_regions_from_odd_pointers() {
        let size = required_size(CAPACITIES).unwrap();
        for offset in 0..8 {
            let mut memory = block(size + offset);
            let base = memory.as_mut_ptr().cast::<u8>().wrapping_add(offset);
            // SAFETY: `memory` holds at least `size + offset` bytes from its start and is
            // not otherwise used while `carved` lives.
            let carved = unsafe { carve(base, size, CAPACITIES) }.unwrap();
            let storage = carved.storage;
            assert_eq!(storage.nodes.len(), 3);
            assert_eq!(storage.ports.len(), 5);
            assert_eq!(storage.strings.len(), 101);
            assert_eq!(storage.string_index.len(), CAPACITIES.string_index_slots().unwrap());
            assert!(storage.nodes.as_ptr().is_aligned());
            assert!(storage.string_index.as_ptr().is_aligned());
            assert!(storage.nodes.iter().all(|n| *n == NodeRecord::EMPTY));
            assert!(storage.ports.iter().all(|p| *p == PortRecord::EMPTY));
            assert!(storage.string_index.iter().all(|&slot| slot == 0));
            assert!(storage.strings.iter().all(|&b| b == 0));

            let start = base.addr();
            let mut regions =
                [span(storage.nodes), span(storage.string_index), span(storage.ports), span(storage.strings)];
            regions.sort_unstable();
            assert!(regions[0].0 >= start);
            assert!(regions[3].1 <= start + size);
            assert!(regions.windows(2).all(|pair| pair[0].1 <= pair[1].0));
        }
    }

    fn span<T>(slice: &[T]) -> (usize, usize) {
        let range = slice.as_ptr_range();
        (range.start.addr(), range.end.addr())
    }

    #[test]
    fn too_small_block_is_refused_with_the_size_needed() {
        let mut memory = block(64);
        let base = memory.as_mut_ptr().cast::<u8>().wrapping_add(1);
        // SAFETY: `memory` holds more than 64 bytes after `base`.
        let refused = unsafe { carve(base, 64, CAPACITIES) };
        let Err(CarveError::TooSmall { needed }) = refused else {
            panic!("a 64-byte block was carved");
        };
        assert!(needed > 64 && needed <= required_size(CAPACITIES).unwrap());
    }

    #[test]
    fn overflowing_capacities_have_no_size() {
        let huge = Capacities { nodes: usize::MAX / 2, ports: 0, string_bytes: 0 };
        assert_eq!(required_size(huge), None);
        assert_eq!(layout(8, huge), None);
        let near_limit = Capacities { nodes: 0, ports: 0, string_bytes: usize::MAX - 10 };
        assert_eq!(required_size(near_limit), None);
    }
}
