#include "ithaca/model/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ithaca::model {

Result<SharedMemory> SharedMemory::create(const char* name, std::size_t bytes) {
  SharedMemory m;
  m.fd_ = Fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!m.fd_ || ftruncate(m.fd_.get(), static_cast<off_t>(bytes)) != 0) {
    return make_error(ErrorCode::streamer_failed,
                      std::string("shared memory: ") + std::strerror(errno));
  }
  fcntl(m.fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd_.get(), 0);
  if (p == MAP_FAILED) {
    return make_error(ErrorCode::streamer_failed, std::string("mmap: ") + std::strerror(errno));
  }
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = bytes;
  return m;
}

SharedMemory::SharedMemory(SharedMemory&& o) noexcept
    : fd_(std::move(o.fd_)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

SharedMemory::~SharedMemory() {
  if (data_) munmap(data_, size_);
}

}  // namespace ithaca::model
