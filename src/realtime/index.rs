//! The filter index: from a sensor, machine, line, workshop or order to the subscriptions
//! registered under it, so an event is offered only to the subscriptions it concerns —
//! looked up by its own ids, never by scanning every subscription.

use std::collections::HashMap;

/// What a subscription is registered under.
///
/// An entry's keys are all of one variant (its selector names sensors, or one machine, or
/// the workshops of its scope, …) and an event carries at most one key of each variant, so
/// [`Index::matching`] meets every entry at most once per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Sensor(i64),
    Equipment(i64),
    Line(i64),
    Workshop(i64),
    /// A production order.
    Order(i64),
    /// Every event of the kind (callers who see every workshop and named none).
    Any,
}

impl Key {
    fn variant(self) -> std::mem::Discriminant<Self> {
        std::mem::discriminant(&self)
    }
}

/// One registered entry: its keys (to leave them again) and its value.
struct Entry<V> {
    keys: Box<[Key]>,
    value: V,
}

/// Entries by id, and the ids of each key.
pub struct Index<V> {
    next_id: u64,
    entries: HashMap<u64, Entry<V>>,
    by_key: HashMap<Key, Vec<u64>>,
}

impl<V> Default for Index<V> {
    fn default() -> Self {
        Self {
            next_id: 0,
            entries: HashMap::new(),
            by_key: HashMap::new(),
        }
    }
}

impl<V> Index<V> {
    /// Registers `value` under `keys` (duplicates ignored; all of one variant) and returns
    /// its id. An entry without keys is never matched.
    pub fn insert(&mut self, keys: impl IntoIterator<Item = Key>, value: V) -> u64 {
        let mut keys: Vec<Key> = keys.into_iter().collect();
        debug_assert!(
            keys.windows(2).all(|w| w[0].variant() == w[1].variant()),
            "an entry's keys must be of one variant"
        );
        keys.sort_unstable();
        keys.dedup();
        self.next_id += 1;
        let id = self.next_id;
        for key in &keys {
            self.by_key.entry(*key).or_default().push(id);
        }
        self.entries.insert(
            id,
            Entry {
                keys: keys.into_boxed_slice(),
                value,
            },
        );
        id
    }

    /// Removes entry `id` from every key it was under.
    pub fn remove(&mut self, id: u64) -> Option<V> {
        let entry = self.entries.remove(&id)?;
        for key in entry.keys.iter() {
            if let Some(ids) = self.by_key.get_mut(key) {
                if let Some(at) = ids.iter().position(|i| *i == id) {
                    ids.swap_remove(at);
                }
                if ids.is_empty() {
                    self.by_key.remove(key);
                }
            }
        }
        Some(entry.value)
    }

    /// Whether some entry is registered under `key`.
    pub fn contains_key(&self, key: Key) -> bool {
        self.by_key.contains_key(&key)
    }

    /// The ids under `key`.
    pub fn ids(&self, key: Key) -> &[u64] {
        self.by_key.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The value of entry `id`.
    pub fn get(&self, id: u64) -> Option<&V> {
        self.entries.get(&id).map(|e| &e.value)
    }

    /// How many keys entry `id` is registered under.
    pub fn key_count(&self, id: u64) -> usize {
        self.entries.get(&id).map_or(0, |e| e.keys.len())
    }

    /// The entries under any of `keys` (one key per variant, as an event has them), each
    /// once.
    pub fn matching<'a>(&'a self, keys: &'a [Key]) -> impl Iterator<Item = (u64, &'a V)> + 'a {
        keys.iter()
            .flat_map(|key| self.ids(*key).iter())
            .filter_map(|id| self.get(*id).map(|value| (*id, value)))
    }

    /// Every value.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.values().map(|e| &e.value)
    }

    /// Entries registered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys with at least one entry (to show that leaving cleans up).
    pub fn key_len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(index: &Index<&'static str>, keys: &[Key]) -> Vec<&'static str> {
        let mut got: Vec<_> = index.matching(keys).map(|(_, v)| *v).collect();
        got.sort_unstable();
        got
    }

    #[test]
    fn an_event_meets_only_the_entries_of_its_keys_each_once() {
        let mut index = Index::default();
        index.insert([Key::Line(3)], "line 3");
        index.insert([Key::Line(4)], "line 4");
        index.insert([Key::Equipment(7)], "machine 7");
        index.insert([Key::Workshop(1), Key::Workshop(2)], "workshops 1 and 2");
        index.insert([Key::Any], "everything");
        // A machine 7 event on line 3 in workshop 2.
        let event = [Key::Equipment(7), Key::Line(3), Key::Workshop(2), Key::Any];
        assert_eq!(
            matched(&index, &event),
            ["everything", "line 3", "machine 7", "workshops 1 and 2"]
        );
        let elsewhere = [Key::Equipment(8), Key::Line(5), Key::Workshop(9), Key::Any];
        assert_eq!(matched(&index, &elsewhere), ["everything"]);
    }

    #[test]
    fn duplicate_keys_register_once() {
        let mut index = Index::default();
        let id = index.insert([Key::Sensor(1), Key::Sensor(1), Key::Sensor(2)], "s");
        assert_eq!(index.key_count(id), 2);
        assert_eq!(index.ids(Key::Sensor(1)), [id]);
    }

    #[test]
    fn a_removed_entry_leaves_every_key() {
        let mut index = Index::default();
        let a = index.insert([Key::Sensor(1), Key::Sensor(2)], "a");
        let b = index.insert([Key::Sensor(2)], "b");
        assert_eq!(index.remove(a), Some("a"));
        assert_eq!(index.remove(a), None, "removing twice is harmless");
        assert!(
            !index.contains_key(Key::Sensor(1)),
            "an empty key is dropped"
        );
        assert_eq!(index.ids(Key::Sensor(2)), [b]);
        index.remove(b);
        assert!(index.is_empty());
        assert_eq!(index.key_len(), 0);
    }

    #[test]
    fn an_entry_without_keys_is_never_matched() {
        let mut index = Index::default();
        index.insert(std::iter::empty(), "nothing in scope");
        assert_eq!(index.len(), 1);
        assert!(matched(&index, &[Key::Any, Key::Workshop(1)]).is_empty());
    }
}
