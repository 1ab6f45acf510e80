//! Handing an open socket to a child process under the same descriptor number.
//!
//! Rust opens every descriptor close-on-exec, so nothing leaks into children by
//! accident. A socket meant for one child (QEMU's end of a socketpair, or the
//! appliance's) has the flag cleared in that child only, between `fork` and `exec`:
//! the parent's copy keeps it, and so does every other child started meanwhile.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `fd` survive into the program `command` runs, at the same number; the caller
/// keeps `fd` open until the child has started and passes the number on its command
/// line (QEMU's `local.str=<fd>`, the appliance's `--qemu-dgram-fd <fd>`).
pub fn inherit(command: &mut Command, fd: &impl AsRawFd) -> RawFd {
    let raw = fd.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only calls fcntl,
    // which is async-signal-safe; it touches no memory shared with other threads.
    unsafe {
        command.pre_exec(move || {
            let flags = libc::fcntl(raw, libc::F_GETFD);
            if flags < 0 || libc::fcntl(raw, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    /// A child sees the inherited descriptor and not its peer.
    #[test]
    fn only_the_chosen_end_reaches_the_child() -> Result<(), String> {
        let (kept, passed) = UnixDatagram::pair().map_err(|error| error.to_string())?;
        let mut command = Command::new("sh");
        let number = inherit(&mut command, &passed);
        command
            .arg("-c")
            .arg(format!("test -e /proc/self/fd/{number} && ! test -e /proc/self/fd/{}", kept.as_raw_fd()));
        let status = command.status().map_err(|error| error.to_string())?;
        assert!(status.success(), "child saw the wrong descriptors: {status}");
        Ok(())
    }
}
