//! How many connections a node can hold: each one is a file descriptor, and a node that
//! runs out of them can no longer accept, open its database or answer `/readyz`. At start
//! the node raises its soft limit to the hard one (as Go's runtime does); listeners then
//! cap their connections well below it, leaving room for storage and peers.

/// Descriptors kept free for the database, logs, peers and outgoing calls.
const RESERVED: u64 = 256;
/// The caps' bounds, whatever the limit.
const FEWEST: usize = 64;
const MOST: usize = 16_384;

/// Raises the soft limit on open files to the hard limit; the soft limit after.
pub fn raise_to_hard_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return 1024;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    return raised.rlim_cur;
                }
            }
        }
        limit.rlim_cur
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// The connections one listener may hold given `limit` open files: three quarters of what
/// is left after the reserve.
pub fn connection_cap(limit: u64) -> usize {
    let usable = limit.saturating_sub(RESERVED) * 3 / 4;
    (usable.min(MOST as u64) as usize).max(FEWEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_limit() {
        assert_eq!(connection_cap(1024), 576);
        assert_eq!(connection_cap(100), FEWEST);
        assert_eq!(connection_cap(1 << 20), MOST);
    }
}
