#pragma once
// LabelMap: uint64 label -> uint32 slot. Small labels (below about twice the number stored, as
// when the engine numbers documents densely) live in a direct array: 4 bytes each and one load
// per lookup. Others go to an open-addressing hash table with linear probing and backward-shift
// deletion (no tombstones), load factor <= 1/2. Internal to the vector index.
// Not thread-safe: the index guards it with its own lock.

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace amalgam::index {

class LabelMap {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  LabelMap() { Rehash(16); }

  size_t size() const { return size_ + direct_count_; }
  size_t MemoryBytes() const { return entries_.capacity() * sizeof(Entry) + direct_.capacity() * 4; }

  // The slot of `label`, or kNone.
  uint32_t Find(uint64_t label) const {
    if (label < direct_.size()) return direct_[label];
    return FindHashed(label);
  }

  // Sets label -> slot (inserting or overwriting).
  void Put(uint64_t label, uint32_t slot) {
    if (label >= direct_.size() && label < 2 * (size() + 512)) GrowDirect(label + 1);
    if (label < direct_.size()) {
      direct_count_ += direct_[label] == kNone;
      direct_[label] = slot;
      return;
    }
    PutHashed(label, slot);
  }

  // Removes `label`; returns its slot or kNone.
  uint32_t Erase(uint64_t label) {
    if (label < direct_.size()) {
      uint32_t slot = direct_[label];
      direct_[label] = kNone;
      direct_count_ -= slot != kNone;
      return slot;
    }
    return EraseHashed(label);
  }

  // Expects about n labels: sizes the direct array for labels 0..n-1.
  void Reserve(size_t n) {
    if (n > direct_.size()) GrowDirect(n);
  }

 private:
  struct Entry {
    uint64_t label = 0;
    uint32_t slot = kNone;
  };

  // Extends the direct array to cover labels < n (at least doubling) and moves the hashed
  // labels it now covers.
  void GrowDirect(size_t n) {
    size_t want = std::max<size_t>(n, direct_.size() * 2);
    direct_.resize(want, kNone);
    for (size_t i = 0; i < entries_.size();) {
      const Entry& e = entries_[i];
      if (e.slot != kNone && e.label < want) {
        uint64_t label = e.label;
        uint32_t slot = EraseHashed(label);  // may shift a later entry into position i
        direct_[label] = slot;
        ++direct_count_;
        continue;
      }
      ++i;
    }
  }

  uint32_t FindHashed(uint64_t label) const {
    size_t i = Hash(label) & mask_;
    while (true) {
      const Entry& e = entries_[i];
      if (e.slot == kNone) return kNone;
      if (e.label == label) return e.slot;
      i = (i + 1) & mask_;
    }
  }

  void PutHashed(uint64_t label, uint32_t slot) {
    if ((size_ + 1) * 2 > entries_.size()) Rehash(entries_.size() * 2);
    size_t i = Hash(label) & mask_;
    while (true) {
      Entry& e = entries_[i];
      if (e.slot == kNone) {
        e.label = label;
        e.slot = slot;
        ++size_;
        return;
      }
      if (e.label == label) {
        e.slot = slot;
        return;
      }
      i = (i + 1) & mask_;
    }
  }

  uint32_t EraseHashed(uint64_t label) {
    size_t i = Hash(label) & mask_;
    while (true) {
      Entry& e = entries_[i];
      if (e.slot == kNone) return kNone;
      if (e.label == label) break;
      i = (i + 1) & mask_;
    }
    uint32_t slot = entries_[i].slot;
    // Backward-shift: pull later entries of the probe run into the hole when their home
    // position does not lie cyclically in (hole, j].
    size_t hole = i, j = i;
    while (true) {
      j = (j + 1) & mask_;
      if (entries_[j].slot == kNone) break;
      size_t home = Hash(entries_[j].label) & mask_;
      bool between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!between) {
        entries_[hole] = entries_[j];
        hole = j;
      }
    }
    entries_[hole].slot = kNone;
    --size_;
    return slot;
  }

  static uint64_t Hash(uint64_t x) {  // splitmix64 finalizer: dense labels spread well
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  void Rehash(size_t n) {
    std::vector<Entry> old;
    old.swap(entries_);
    entries_.assign(n, Entry{});
    mask_ = n - 1;
    size_ = 0;
    for (const Entry& e : old)
      if (e.slot != kNone) PutHashed(e.label, e.slot);
  }
  std::vector<Entry> entries_;
  size_t mask_ = 0;
  size_t size_ = 0;  // hashed labels
  std::vector<uint32_t> direct_;
  size_t direct_count_ = 0;
};

}  // namespace amalgam::index
