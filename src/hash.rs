//! The hasher of the crate's internal maps (task ids, activity ids).
//!
//! `std`'s `RandomState` is SipHash-1-3, and on `wasm32-unknown-unknown` its keys are fixed
//! (the target has no randomness source), so there it buys no protection against crafted
//! colliding keys while adding its code to every app. This is the multiply-rotate hash of
//! rustc's `FxHasher`, eight bytes at a time. The keys it sees are the app's own server's task
//! and activity ids, bounded in number by the board and by `4 × activity_capacity`.
//!
//! The maps are the crates.io `hashbrown`'s, not `std`'s: every Leptos app already links that
//! `hashbrown` (through `indexmap`, under `reactive_graph`), and `std`'s `HashMap` is a second
//! copy of the same table code (0.3 kB gzip in the bundle benchmark's task-stream app).

use std::hash::{BuildHasher, Hasher};

/// A `HashMap` keyed with [`Fx`].
pub(crate) type FxMap<K, V> = hashbrown::HashMap<K, V, Fx>;
/// A `HashSet` keyed with [`Fx`].
pub(crate) type FxSet<K> = hashbrown::HashSet<K, Fx>;

const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Builds [`FxHasher`]s.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Fx;

impl BuildHasher for Fx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

/// Multiply-rotate hasher; words at a time.
pub(crate) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    /// Folds the high half into the low one, twice around a multiply: a product's high bits
    /// depend on all of its input, its low bits only on the input's low bits, and `hashbrown`
    /// on 32-bit targets (wasm) takes both the bucket and the tag from the low 32 bits.
    fn finish(&self) -> u64 {
        let h = (self.0 ^ (self.0 >> 32)).wrapping_mul(K);
        h ^ (h >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(s: &str) -> u64 {
        Fx.hash_one(s)
    }

    #[test]
    fn ids_that_differ_anywhere_or_only_in_length_hash_apart() {
        let ids = [
            "",
            "a",
            "a\0",
            "a\0\0",
            "t-1",
            "t-2",
            "t-10",
            "t-01",
            "abcdefgh",
            "abcdefgi",
            "abcdefgh\0",
            "bbcdefgh",
            "task-0000000001",
            "task-0000000002",
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(hash(a), hash(b), "{a:?} and {b:?}");
            }
        }
        assert_eq!(hash("t-1"), hash("t-1"));
    }

    /// How many distinct values `bits` low bits of the (32-bit) hash take over `ids`, and how
    /// many distinct 7-bit tags (bits 25..32, what `hashbrown` compares on 32-bit targets).
    fn spread(ids: &[String], bits: u32) -> (usize, usize) {
        let low: FxSet<u64> = ids.iter().map(|id| hash(id) & ((1 << bits) - 1)).collect();
        let tags: FxSet<u64> = ids.iter().map(|id| (hash(id) >> 25) & 0x7f).collect();
        (low.len(), tags.len())
    }

    #[test]
    fn sequential_ids_spread_over_buckets_and_tags() {
        // 1,000 random keys over 1,024 buckets fill about 630 of them; a hash whose low bits
        // ignore part of the id fills far fewer.
        let shapes: [fn(usize) -> String; 4] = [
            |i| format!("f-{i}"),
            |i| format!("task-{i:04}"),
            |i| format!("{i:08}"),
            |i| format!("agent-7/run-2026-11-25/step-{i:06}"),
        ];
        for shape in shapes {
            let ids: Vec<String> = (0..1000).map(shape).collect();
            let (buckets, tags) = spread(&ids, 10);
            assert!(buckets > 550, "{} … : {buckets} buckets", ids[0]);
            assert!(tags > 110, "{} … : {tags} tags", ids[0]);
        }
    }

    #[test]
    fn maps_and_sets_behave_as_std_ones() {
        let mut map: FxMap<String, usize> = FxMap::default();
        let mut set: FxSet<String> = FxSet::default();
        for i in 0..10_000 {
            map.insert(format!("task-{i}"), i);
            set.insert(format!("a{i}"));
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(set.len(), 10_000);
        assert!((0..10_000).all(|i| map[&format!("task-{i}")] == i));
        assert!(set.contains("a9999") && !set.contains("a10000"));
    }
}
