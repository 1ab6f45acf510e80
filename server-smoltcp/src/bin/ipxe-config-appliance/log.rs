//! Logging set-up: the library's fd logger on stderr, levels from `RUST_LOG`.

use ipxe_config_server::host::FdLogger;

/// Installs the logger; `RUST_LOG` as in env_logger (`info` when unset).
pub fn install() {
    let spec = std::env::var("RUST_LOG").ok();
    // Only fails if a logger is already installed, which nothing else does.
    let _ = FdLogger::new(libc::STDERR_FILENO, spec.as_deref()).install();
}
