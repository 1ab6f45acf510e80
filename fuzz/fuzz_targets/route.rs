//! `Route::parse` on arbitrary request targets: never a panic, every refusal maps to an
//! HTTP status the contract allows (400, 404, 414), and a parsed route writes back to a
//! target that parses to the same route. The MAC parser and the percent-decoder see the
//! same bytes.

#![no_main]

use ipxe_config::route::Route;
use ipxe_config::{percent, PortAddress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|target: &[u8]| {
    match Route::parse(target) {
        Ok(route) => {
            let mut written = String::new();
            if route.write_target(&mut written).is_err() {
                panic!("write_target failed for {route:?}");
            }
            assert_eq!(Route::parse(written.as_bytes()).as_ref(), Ok(&route), "{written}");
        }
        Err(error) => assert!(matches!(error.status(), 400 | 404 | 414), "{error:?}"),
    }
    if let Ok(address) = PortAddress::parse(target) {
        assert_eq!(PortAddress::parse(address.to_string().as_bytes()), Ok(address));
    }
    let mut decoded = [0u8; 64];
    if let Ok(bytes) = percent::decode(target, &mut decoded) {
        assert!(bytes.len() <= target.len());
    }
});
