//! `PortAddress`: a NIC's MAC address, parsed from any common spelling.

use core::fmt;

use crate::percent::{self, hex_value};

/// A 48-bit Ethernet MAC address, as Ironic stores it in a port's `address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PortAddress(pub [u8; 6]);

/// Why text is not a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortAddressError;

impl fmt::Display for PortAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a MAC address (expected e.g. 52:54:00:ab:cd:ef)")
    }
}

impl core::error::Error for PortAddressError {}

impl PortAddress {
    /// Parses `52:54:00:ab:cd:ef` in any case, with `:` or `-` separators, as bare
    /// 12-digit hex, as Cisco-style `5254.00ab.cdef`, and percent-encoded
    /// (`52%3A54%3A00%3Aab%3Acd%3Aef`, as iPXE sends `${mac}` inside a URL).
    ///
    /// ```
    /// use ipxe_config::PortAddress;
    /// let a = PortAddress::parse(b"52%3A54%3A00%3AAB%3Acd%3Aef").unwrap();
    /// assert_eq!(a, PortAddress::parse(b"52-54-00-ab-cd-ef").unwrap());
    /// assert_eq!(a, PortAddress::parse(b"525400abcdef").unwrap());
    /// assert!(PortAddress::parse(b"52:54:00:ab:cd").is_err());
    /// ```
    pub fn parse(text: &[u8]) -> Result<Self, PortAddressError> {
        let mut decoded = [0u8; 20];
        let text = percent::decode(text, &mut decoded).map_err(|_| PortAddressError)?;
        let mut digits = [0u8; 12];
        let mut count = 0;
        match text.len() {
            // Separated forms: every separator the same, at the same positions.
            17 | 14 => {
                let (step, separators) = if text.len() == 17 { (3, &b":-"[..]) } else { (5, &b"."[..]) };
                let separator = *text.get(step - 1).ok_or(PortAddressError)?;
                if !separators.contains(&separator) {
                    return Err(PortAddressError);
                }
                for (index, &byte) in text.iter().enumerate() {
                    if index % step == step - 1 {
                        if byte != separator {
                            return Err(PortAddressError);
                        }
                    } else {
                        *digits.get_mut(count).ok_or(PortAddressError)? = byte;
                        count += 1;
                    }
                }
            }
            12 => {
                digits.copy_from_slice(text);
                count = 12;
            }
            _ => return Err(PortAddressError),
        }
        if count != 12 {
            return Err(PortAddressError);
        }
        let mut octets = [0u8; 6];
        for (octet, pair) in octets.iter_mut().zip(digits.chunks_exact(2)) {
            let [high, low] = pair else {
                return Err(PortAddressError);
            };
            *octet = hex_value(*high).zip(hex_value(*low)).map(|(h, l)| h << 4 | l).ok_or(PortAddressError)?;
        }
        Ok(Self(octets))
    }
}

impl fmt::Display for PortAddress {
    /// Lower case with colons, the spelling iPXE's `${mac}` and Ironic both use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, octet) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str(":")?;
            }
            write!(f, "{octet:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED: PortAddress = PortAddress([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

    #[test]
    fn accepts_common_spellings() {
        for text in [
            &b"52:54:00:ab:cd:ef"[..],
            b"52:54:00:AB:CD:EF",
            b"52-54-00-ab-cd-ef",
            b"525400ABCDEF",
            b"5254.00ab.cdef",
            b"52%3A54%3A00%3Aab%3Acd%3Aef",
            b"52%3a54%3a00%3aab%3acd%3aef",
        ] {
            assert_eq!(PortAddress::parse(text), Ok(EXPECTED), "{text:?}");
        }
    }

    #[test]
    fn rejects_near_misses() {
        for text in [
            &b""[..],
            b"52:54:00:ab:cd",
            b"52:54:00-ab:cd:ef",
            b"52:54:00:ab:cd:eg",
            b"52:54:00:ab:cd:ef:",
            b"52::54:00:ab:cd:e",
            b"525400abcdef00",
            b"52%3G54",
        ] {
            assert_eq!(PortAddress::parse(text), Err(PortAddressError), "{text:?}");
        }
    }

    #[test]
    fn displays_lower_case_with_colons() {
        use core::fmt::Write;
        let mut text = heapless::String::<17>::new();
        write!(text, "{EXPECTED}").unwrap();
        assert_eq!(text, "52:54:00:ab:cd:ef");
    }
}
