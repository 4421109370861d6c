//! A workload's content digest, independent of record order and of how the records got
//! there: the sum, modulo 2²⁵⁶, of each record's SHA-256 (over its key's length, key and
//! value). A write subtracts the old record's hash and adds the new one, so the digest
//! is kept up to date in O(1) per write, and two stores holding the same records have the
//! same digest whatever order they were written in — what a migration's validation
//! compares (like Vitess's VDiff, without reading both sides in full).

use sha2::{Digest as _, Sha256};

/// The running sum, as four 64-bit limbs, most significant first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentDigest([u64; 4]);

/// One record's contribution to the digest.
pub fn record_hash(key: &str, value: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((key.len() as u64).to_le_bytes());
    hasher.update(key.as_bytes());
    hasher.update(value);
    hasher.finalize().into()
}

fn limbs(hash: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(hash.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(bytes);
    }
    limbs
}

impl ContentDigest {
    pub fn add(&mut self, hash: &[u8; 32]) {
        let other = limbs(hash);
        let mut carry = false;
        for i in (0..4).rev() {
            let (sum, c1) = self.0[i].overflowing_add(other[i]);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            self.0[i] = sum;
            carry = c1 || c2;
        }
    }

    pub fn subtract(&mut self, hash: &[u8; 32]) {
        let other = limbs(hash);
        let mut borrow = false;
        for i in (0..4).rev() {
            let (difference, b1) = self.0[i].overflowing_sub(other[i]);
            let (difference, b2) = difference.overflowing_sub(u64::from(borrow));
            self.0[i] = difference;
            borrow = b1 || b2;
        }
    }

    pub fn to_bytes(self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for (chunk, limb) in bytes.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        bytes
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> ContentDigest {
        ContentDigest(limbs(bytes))
    }

    /// Lower-case hex, as `workload show` prints it.
    pub fn to_hex(self) -> String {
        self.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_ignores_order_and_undoes_what_it_removes() {
        let (a, b, c) = (
            record_hash("a", b"1"),
            record_hash("b", b"2"),
            record_hash("c", b"3"),
        );
        let mut forwards = ContentDigest::default();
        for hash in [&a, &b, &c] {
            forwards.add(hash);
        }
        let mut backwards = ContentDigest::default();
        for hash in [&c, &b, &a] {
            backwards.add(hash);
        }
        assert_eq!(forwards, backwards);
        backwards.subtract(&b);
        let mut without_b = ContentDigest::default();
        without_b.add(&a);
        without_b.add(&c);
        assert_eq!(backwards, without_b);
        assert_eq!(ContentDigest::from_bytes(&forwards.to_bytes()), forwards);
        // The key and the value are told apart: "ab"+"" is not "a"+"b".
        assert_ne!(record_hash("ab", b""), record_hash("a", b"b"));
    }
}
