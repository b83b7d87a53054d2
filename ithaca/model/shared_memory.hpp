// SharedMemory: an anonymous memfd mapped into the streamer, whose descriptor is handed to a
// worker once (the frame ring) or per start (a start image). Sealed against shrinking, so a
// worker cannot make the streamer's mapping fault.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ithaca/base/error.hpp"
#include "ithaca/model/worker_process.hpp"

namespace ithaca::model {

class SharedMemory {
 public:
  static Result<SharedMemory> create(const char* name, std::size_t bytes);
  SharedMemory(SharedMemory&& o) noexcept;
  SharedMemory& operator=(SharedMemory&&) = delete;
  ~SharedMemory();

  int fd() const { return fd_.get(); }
  std::size_t size() const { return size_; }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }

 private:
  SharedMemory() = default;
  Fd fd_;
  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ithaca::model
