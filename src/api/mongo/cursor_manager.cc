#include "api/mongo/cursor_manager.h"

#include <vector>

namespace amalgam::api::mongo {

int64_t CursorManager::Register(std::unique_ptr<Cursor> cursor) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id;
  do {
    id = static_cast<int64_t>(rng_() >> 2) + 1;  // positive, fits a signed 64-bit cursor id
  } while (cursors_.count(id) || checked_out_.count(id));
  cursor->id = id;
  cursors_[id] = std::move(cursor);
  return id;
}

std::unique_ptr<Cursor> CursorManager::CheckOut(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cursors_.find(id);
  if (it == cursors_.end()) return nullptr;
  std::unique_ptr<Cursor> c = std::move(it->second);
  cursors_.erase(it);
  checked_out_[id] = true;
  return c;
}

void CursorManager::CheckIn(std::unique_ptr<Cursor> cursor) {
  std::lock_guard<std::mutex> lock(mu_);
  checked_out_.erase(cursor->id);
  int64_t id = cursor->id;
  cursors_[id] = std::move(cursor);
}

void CursorManager::Discard(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  checked_out_.erase(id);
}

bool CursorManager::Kill(int64_t id) {
  std::unique_ptr<Cursor> victim;  // destroyed after the lock is released (it may free a snapshot)
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cursors_.find(id);
    if (it == cursors_.end()) return false;
    victim = std::move(it->second);
    cursors_.erase(it);
  }
  return true;
}

size_t CursorManager::ReapIdle(int64_t now_millis) {
  std::vector<std::unique_ptr<Cursor>> victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = cursors_.begin(); it != cursors_.end();) {
      if (now_millis - it->second->last_used_millis > idle_timeout_millis_) {
        victims.push_back(std::move(it->second));
        it = cursors_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return victims.size();
}

size_t CursorManager::CloseAll() {
  std::map<int64_t, std::unique_ptr<Cursor>> victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    victims.swap(cursors_);
  }
  return victims.size();
}

size_t CursorManager::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cursors_.size() + checked_out_.size();
}

}  // namespace amalgam::api::mongo
