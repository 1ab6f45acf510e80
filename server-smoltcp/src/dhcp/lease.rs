//! The lease table: one slot per address of the pool, each remembering its MAC.
//!
//! A MAC keeps its address for as long as its slot is not taken by another client, and
//! a new MAC starts probing at a slot derived from a hash of the MAC, so a client gets
//! the same address again even after the appliance restarts with an empty table. Once no
//! slot is left that was never used, a new MAC gets the one whose last holder's time ran
//! out longest ago: the address least likely to be still configured on some machine.
//!
//! Each slot also records whether its holder was a MAC the inventory does not know, so
//! the server can bound the share of the pool such MACs hold (`LeaseTable::strangers_holding`).
//!
//! Panic contract: nothing here panics; every slot access is checked.

use ipxe_config::hash::fnv1a;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, Ipv4Address};

/// One address of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    mac: [u8; 6],
    state: LeaseState,
    expires: Instant,
    /// Given to a MAC the inventory did not know at the time.
    stranger: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeaseState {
    Free,
    /// Offered, not yet requested.
    Offered,
    /// Acknowledged.
    Bound,
    /// The client found the address in use (DHCPDECLINE); kept out of the pool a while.
    Declined,
    /// The appliance's own address or the router's.
    Reserved,
}

impl Lease {
    /// An unused slot.
    pub const FREE: Lease = Lease { mac: [0; 6], state: LeaseState::Free, expires: Instant::ZERO, stranger: false };
}

/// Addresses `first ..= first + slots.len() - 1` and who holds them.
pub(crate) struct LeaseTable<'a> {
    slots: &'a mut [Lease],
    first: u32,
    /// Slots that are not reserved: the addresses clients can have.
    usable: usize,
}

impl<'a> LeaseTable<'a> {
    /// A table for the pool `first ..= last`, capped at the slots given; addresses in
    /// `reserved` are never handed out.
    pub(crate) fn new(slots: &'a mut [Lease], first: Ipv4Address, last: Ipv4Address, reserved: &[Ipv4Address]) -> Self {
        let first_bits = u32::from(first);
        let size = usize::try_from(u32::from(last).saturating_sub(first_bits)).unwrap_or(usize::MAX).saturating_add(1);
        let count = slots.len().min(size);
        let slots = slots.get_mut(..count).unwrap_or_default();
        for slot in slots.iter_mut() {
            *slot = Lease::FREE;
        }
        let mut table = LeaseTable { slots, first: first_bits, usable: 0 };
        for address in reserved {
            if let Some(slot) = table.index_of(*address).and_then(|index| table.slots.get_mut(index)) {
                slot.state = LeaseState::Reserved;
            }
        }
        table.usable = table.slots.iter().filter(|slot| slot.state != LeaseState::Reserved).count();
        table
    }

    /// Leases bound and not yet expired at `now`.
    pub(crate) fn bound(&self, now: Instant) -> usize {
        self.slots.iter().filter(|lease| lease.state == LeaseState::Bound && lease.expires > now).count()
    }

    /// Number of addresses in the pool (the tests check how a range is clipped).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Addresses of the pool clients can have (the appliance's and the router's left out).
    pub(crate) fn usable(&self) -> usize {
        self.usable
    }

    /// The address of slot `index`.
    pub(crate) fn address(&self, index: usize) -> Ipv4Address {
        Ipv4Address::from(self.first.wrapping_add(u32::try_from(index).unwrap_or(0)))
    }

    /// The slot of `address`, if it is in the pool.
    pub(crate) fn index_of(&self, address: Ipv4Address) -> Option<usize> {
        let offset = u32::from(address).checked_sub(self.first)?;
        let index = usize::try_from(offset).ok()?;
        (index < self.slots.len()).then_some(index)
    }

    /// The slot currently held by `mac` (offered or bound, expired or not).
    pub(crate) fn find(&self, mac: EthernetAddress) -> Option<usize> {
        self.slots
            .iter()
            .position(|slot| slot.mac == mac.0 && matches!(slot.state, LeaseState::Offered | LeaseState::Bound))
    }

    /// The slot `mac` holds with time left on it (an offer or a lease).
    pub(crate) fn holding(&self, mac: EthernetAddress, now: Instant) -> Option<usize> {
        self.find(mac).filter(|&index| self.slots.get(index).is_some_and(|slot| slot.expires > now))
    }

    /// The slot of `address` if `mac` holds it with time left on it.
    pub(crate) fn held_by(&self, address: Ipv4Address, mac: EthernetAddress, now: Instant) -> Option<usize> {
        let index = self.index_of(address)?;
        let slot = self.slots.get(index)?;
        let held = slot.mac == mac.0 && matches!(slot.state, LeaseState::Offered | LeaseState::Bound);
        (held && slot.expires > now).then_some(index)
    }

    /// The slot for `mac`: the one it holds (or held last), else one never used, probing
    /// from the slot its hash names, else the one that fell free longest ago.
    pub(crate) fn choose(&self, mac: EthernetAddress, now: Instant) -> Option<usize> {
        if let Some(index) = self.find(mac) {
            return Some(index);
        }
        let len = self.slots.len();
        if len == 0 {
            return None;
        }
        let start = usize::try_from(fnv1a(&mac.0) % u32::try_from(len).unwrap_or(u32::MAX)).unwrap_or(0);
        let never_used = (0..len).map(|step| (start + step) % len).find(|&index| {
            self.slots.get(index).is_some_and(|slot| slot.state == LeaseState::Free && slot.mac == [0; 6])
        });
        never_used.or_else(|| {
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| slot.available(now))
                .min_by_key(|(_, slot)| slot.expires)
                .map(|(index, _)| index)
        })
    }

    /// Whether `address` may go to `mac`: in the pool and free, expired or already its.
    pub(crate) fn grantable(&self, address: Ipv4Address, mac: EthernetAddress, now: Instant) -> Option<usize> {
        let index = self.index_of(address)?;
        let slot = self.slots.get(index)?;
        let own = slot.mac == mac.0 && matches!(slot.state, LeaseState::Offered | LeaseState::Bound);
        (own || slot.available(now)).then_some(index)
    }

    /// Slots a MAC unknown to the inventory holds with time left on them, counting
    /// addresses such a MAC declined: each was a new binding it was granted.
    pub(crate) fn strangers_holding(&self, now: Instant) -> usize {
        self.slots
            .iter()
            .filter(|slot| {
                slot.stranger
                    && slot.expires > now
                    && matches!(slot.state, LeaseState::Offered | LeaseState::Bound | LeaseState::Declined)
            })
            .count()
    }

    /// Marks slot `index` offered to `mac` until `now + hold`; a bound lease stays bound.
    pub(crate) fn offer(&mut self, index: usize, mac: EthernetAddress, now: Instant, hold: Duration, stranger: bool) {
        if let Some(slot) = self.slots.get_mut(index) {
            if !(slot.state == LeaseState::Bound && slot.mac == mac.0 && slot.expires > now) {
                *slot = Lease { mac: mac.0, state: LeaseState::Offered, expires: now + hold, stranger };
            }
        }
    }

    /// Binds slot `index` to `mac` until `now + lease`.
    pub(crate) fn bind(&mut self, index: usize, mac: EthernetAddress, now: Instant, lease: Duration, stranger: bool) {
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Lease { mac: mac.0, state: LeaseState::Bound, expires: now + lease, stranger };
        }
    }

    /// Frees the address offered to `mac`, if it holds only an offer (the client took
    /// another server's). A bound lease stays: a REQUEST naming another server may come
    /// from a client that lost track of its lease, or be forged, and handing the address
    /// on while its holder may still use it would put two machines on one address.
    pub(crate) fn release_offer(&mut self, mac: EthernetAddress) {
        if let Some(slot) = self.find(mac).and_then(|index| self.slots.get_mut(index)) {
            if slot.state == LeaseState::Offered {
                slot.state = LeaseState::Free;
            }
        }
    }

    /// Keeps `address` out of the pool until `now + hold` (DHCPDECLINE), if `mac` is the
    /// client it was given to; `false` (and nothing changes) otherwise. Only the holder can
    /// have found its address in use: a DECLINE from anyone else, forged or confused,
    /// would take the address from the client using it.
    pub(crate) fn decline(&mut self, address: Ipv4Address, mac: EthernetAddress, now: Instant, hold: Duration) -> bool {
        let Some(slot) = self.index_of(address).and_then(|index| self.slots.get_mut(index)) else { return false };
        if slot.mac != mac.0 || !matches!(slot.state, LeaseState::Offered | LeaseState::Bound) {
            return false;
        }
        // A stranger's declined address still counts against the strangers' share, or
        // binding and declining in turn would take the pool out of service.
        *slot = Lease { mac: [0; 6], state: LeaseState::Declined, expires: now + hold, stranger: slot.stranger };
        true
    }

    /// The slot of the oldest outstanding offer to a MAC `is_stranger` says the inventory
    /// does not know: what a node of the inventory may take when the pool is exhausted.
    /// Offers are reservations, not leases: the stranger's REQUEST is then refused and it
    /// starts over. Bound leases are never taken.
    pub(crate) fn stranger_offer(&self, now: Instant, is_stranger: impl Fn(EthernetAddress) -> bool) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| {
                slot.state == LeaseState::Offered && slot.expires > now && is_stranger(EthernetAddress(slot.mac))
            })
            .min_by_key(|(_, slot)| slot.expires)
            .map(|(index, _)| index)
    }
}

impl Lease {
    fn available(&self, now: Instant) -> bool {
        match self.state {
            LeaseState::Free => true,
            LeaseState::Reserved => false,
            LeaseState::Offered | LeaseState::Bound | LeaseState::Declined => self.expires <= now,
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    const A: EthernetAddress = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    const B: EthernetAddress = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x57]);

    fn table(slots: &mut [Lease]) -> LeaseTable<'_> {
        LeaseTable::new(
            slots,
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 0, 4),
            &[Ipv4Address::new(10, 0, 0, 1)],
        )
    }

    #[test]
    fn same_mac_same_address_even_from_an_empty_table() {
        let now = Instant::from_secs(1);
        let mut slots = [Lease::FREE; 8];
        let mut first = table(&mut slots);
        assert_eq!(first.len(), 4);
        let index = first.choose(A, now).unwrap();
        first.bind(index, A, now, Duration::from_secs(60), false);
        assert_eq!(first.choose(A, now), Some(index));
        assert_ne!(first.choose(B, now), Some(index));
        let mut fresh_slots = [Lease::FREE; 8];
        let fresh = table(&mut fresh_slots);
        assert_eq!(fresh.choose(A, now), Some(index));
        assert_ne!(fresh.address(index), Ipv4Address::new(10, 0, 0, 1));
    }

    #[test]
    fn pool_exhaustion_and_expiry() {
        let now = Instant::from_secs(1);
        let mut slots = [Lease::FREE; 3];
        let mut table = table(&mut slots);
        for (n, mac) in [A, B].into_iter().enumerate() {
            let index = table.choose(mac, now).unwrap();
            table.bind(index, mac, now, Duration::from_secs(60), false);
            assert_eq!(table.find(mac), Some(index), "{n}");
        }
        let third = EthernetAddress([2, 0, 0, 0, 0, 3]);
        assert_eq!(table.choose(third, now), None);
        assert!(table.choose(third, now + Duration::from_secs(61)).is_some());
        assert_eq!(table.grantable(Ipv4Address::new(10, 0, 0, 9), A, now), None);
    }

    #[test]
    fn only_offers_to_strangers_can_be_taken_over() {
        let now = Instant::from_secs(1);
        let mut slots = [Lease::FREE; 3];
        let mut table = table(&mut slots);
        let a = table.choose(A, now).unwrap();
        table.bind(a, A, now, Duration::from_secs(60), false);
        let b = table.choose(B, now).unwrap();
        table.offer(b, B, now, Duration::from_secs(60), false);
        assert_eq!(table.stranger_offer(now, |_| true), Some(b), "the offer, never the bound lease");
        assert_eq!(table.stranger_offer(now, |mac| mac != B), None, "B is known");
        assert_eq!(table.stranger_offer(now + Duration::from_secs(61), |_| true), None, "expired: free anyway");
    }

    #[test]
    fn declines_and_other_server_requests_only_touch_what_the_mac_holds() {
        let now = Instant::from_secs(1);
        let mut slots = [Lease::FREE; 3];
        let mut table = table(&mut slots);
        let a = table.choose(A, now).unwrap();
        table.bind(a, A, now, Duration::from_secs(60), false);
        let address = table.address(a);
        assert!(!table.decline(address, B, now, Duration::from_secs(60)));
        table.release_offer(A);
        assert_eq!(table.find(A), Some(a), "bound lease kept");
        assert!(table.decline(address, A, now, Duration::from_secs(60)));
        assert_eq!(table.find(A), None);
        assert_eq!(table.grantable(address, B, now), None, "declined address held out of the pool");
    }

    #[test]
    fn new_macs_get_never_used_addresses_first_then_the_longest_free() {
        let now = Instant::from_secs(1);
        let mut slots = [Lease::FREE; 3];
        let mut table = table(&mut slots);
        let a = table.choose(A, now).unwrap();
        table.bind(a, A, now, Duration::from_secs(60), true);
        let b = table.choose(B, now).unwrap();
        table.bind(b, B, now, Duration::from_secs(30), false);
        assert_eq!(table.strangers_holding(now), 1, "A is the stranger");
        assert_eq!(table.held_by(table.address(a), A, now), Some(a));
        assert_eq!(table.held_by(table.address(a), B, now), None);
        let later = now + Duration::from_secs(61);
        assert_eq!(table.held_by(table.address(a), A, later), None, "expired");
        assert_eq!(table.strangers_holding(later), 0);
        let third = EthernetAddress([2, 0, 0, 0, 0, 3]);
        assert_eq!(table.choose(third, later), Some(b), "B's lease ran out first");
        assert_eq!(table.choose(A, later), Some(a), "a MAC gets back what it held");
    }

    #[test]
    fn a_strangers_declined_address_counts_against_the_strangers() {
        let now = Instant::from_secs(1);
        let mut slots = [Lease::FREE; 3];
        let mut table = table(&mut slots);
        let a = table.choose(A, now).unwrap();
        table.bind(a, A, now, Duration::from_secs(60), true);
        assert!(table.decline(table.address(a), A, now, Duration::from_secs(60)));
        assert_eq!(table.strangers_holding(now), 1);
        assert_eq!(table.usable(), 2, "three slots, the first reserved");
    }
}
