// SPDX-License-Identifier: BUSL-1.1
//! A compact, read-only multimap from 64-bit hashes to small values, for the screening index.
//!
//! The index holds millions of keys (every word's deletion neighbourhood), most leading to a
//! single word. A general hash map of vectors spends some 70 bytes a key; this one spends 8:
//! the keys are sorted into `2^bits` buckets by their top bits (a directory of offsets), and
//! only the low 32 bits are kept to tell keys of one bucket apart. A lookup reads the
//! directory and a bucket of one or two entries. Two different keys that agree in their
//! bucket and their low 32 bits are confused; the index only uses the answers to find
//! candidates, which are then scored, so a confusion costs a candidate, never a match.

/// The multimap; build it once with [`Buckets::build`].
#[derive(Debug, Clone, Default)]
pub struct Buckets<V> {
    /// How far a hash is shifted right to give its bucket.
    shift: u32,
    /// Bucket `b` holds entries `starts[b]..starts[b + 1]`.
    starts: Vec<u32>,
    /// The low 32 bits of each entry's hash.
    tags: Vec<u32>,
    values: Vec<V>,
}

impl<V: Copy + Default> Buckets<V> {
    /// Builds the multimap from the entries `each` reports. `each` is called twice (to count,
    /// then to fill), and must report the same entries both times.
    pub fn build(mut each: impl FnMut(&mut dyn FnMut(u64, V))) -> Buckets<V> {
        let mut count = 0usize;
        each(&mut |_, _| count += 1);
        // About two entries a bucket; at least 16 buckets, at most 2^26.
        let bits = (usize::BITS - (count / 2).leading_zeros()).clamp(4, 26);
        let shift = u64::BITS - bits;
        let buckets = 1usize << bits;
        let mut starts = vec![0u32; buckets + 1];
        each(&mut |hash, _| starts[(hash >> shift) as usize + 1] += 1);
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let mut next: Vec<u32> = starts[..buckets].to_vec();
        let mut tags = vec![0u32; count];
        let mut values = vec![V::default(); count];
        each(&mut |hash, value| {
            let bucket = (hash >> shift) as usize;
            let at = next[bucket] as usize;
            next[bucket] += 1;
            if let (Some(tag), Some(slot)) = (tags.get_mut(at), values.get_mut(at)) {
                *tag = hash as u32;
                *slot = value;
            }
        });
        Buckets {
            shift,
            starts,
            tags,
            values,
        }
    }

    /// Calls `found` with every value stored under `hash`.
    pub fn get(&self, hash: u64, mut found: impl FnMut(V)) {
        let bucket = (hash >> self.shift) as usize;
        let (Some(&start), Some(&end)) = (self.starts.get(bucket), self.starts.get(bucket + 1))
        else {
            return;
        };
        let tag = hash as u32;
        for at in start as usize..end as usize {
            if self.tags.get(at) == Some(&tag) {
                if let Some(value) = self.values.get(at) {
                    found(*value);
                }
            }
        }
    }

    /// The number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_found_under_its_hash_and_no_other() {
        let entries: Vec<(u64, u32)> = (0..5000u64)
            .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15), (i % 7) as u32))
            .chain([(42, 1), (42, 2)])
            .collect();
        let map = Buckets::build(|add| {
            for (hash, value) in &entries {
                add(*hash, *value);
            }
        });
        assert_eq!(map.len(), entries.len());
        for (hash, value) in &entries {
            let mut found = Vec::new();
            map.get(*hash, |v| found.push(v));
            assert!(found.contains(value), "{hash}");
        }
        let mut found = Vec::new();
        map.get(42, |v| found.push(v));
        found.sort();
        assert_eq!(found, [1, 2]);
        let mut none = Vec::new();
        map.get(43, |v| none.push(v));
        assert!(none.is_empty());
        // An empty map answers nothing.
        let empty: Buckets<u32> = Buckets::build(|_| {});
        empty.get(42, |_| panic!("found in an empty map"));
    }
}
