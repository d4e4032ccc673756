#include "integrity/state_book.hpp"

namespace bulwark::integrity {

void state_book::make_room() {
  if (entries_.size() < max_entries_) return;
  std::erase_if(entries_, [](const auto& kv) { return !kv.second.changed; });
}

void state_book::touched(std::string_view source, const home& h) {
  auto it = entries_.find(source);
  if (it == entries_.end()) {
    make_room();
    // Still full: every source is waiting to be written; this one waits for
    // its next record (the caller writes out at least once a second).
    if (entries_.size() >= max_entries_) return;
    it = entries_.emplace(std::string(source), entry{}).first;
  }
  if (it->second.where != h) it->second.where = h;
  if (!it->second.changed) {
    it->second.changed = true;
    ++changed_;
  }
}

void state_book::placed(std::string_view source, const home& h) {
  auto it = entries_.find(source);
  if (it == entries_.end()) {
    make_room();
    if (entries_.size() >= max_entries_) return;
    it = entries_.emplace(std::string(source), entry{}).first;
  }
  it->second.where = h;
  if (it->second.changed) {
    it->second.changed = false;
    --changed_;
  }
}

std::vector<std::pair<std::string, home>> state_book::take_changed(const std::set<home>* only) {
  std::vector<std::pair<std::string, home>> out;
  if (changed_ == 0) return out;
  for (auto& [name, e] : entries_) {
    if (!e.changed || (only != nullptr && !only->contains(e.where))) continue;
    out.emplace_back(name, e.where);
    e.changed = false;
    --changed_;
  }
  return out;
}

std::vector<std::string> state_book::release(const home& h) {
  std::vector<std::string> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.where != h) {
      ++it;
      continue;
    }
    if (it->second.changed) --changed_;
    out.push_back(it->first);
    it = entries_.erase(it);
  }
  return out;
}

} // namespace bulwark::integrity
