#pragma once
// SecretBytes: key material in memory. Move-only, wiped with OPENSSL_cleanse on destruction, and
// deliberately without a stream operator or ToString so it cannot reach a log by accident.
// Its bytes live on OpenSSL's secure heap once the process has set one up (InitSecretMemory):
// pages locked in RAM (never swapped) and left out of core dumps (MADV_DONTDUMP).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace hangar {

// What InitSecretMemory achieved.
enum class SecretMemory { kLocked, kUnlocked, kUnavailable };

// Sets up the secure heap for SecretBytes (call once, before any secret is made). kUnlocked: the
// heap exists and is left out of core dumps, but mlock failed (RLIMIT_MEMLOCK); kUnavailable:
// secrets stay on the normal heap.
SecretMemory InitSecretMemory(size_t bytes);

// Allocates from the secure heap when it has room, else from the normal heap; either way the
// bytes are cleansed when freed.
template <typename T>
struct SecretAllocator {
  using value_type = T;
  SecretAllocator() = default;
  template <typename U>
  SecretAllocator(const SecretAllocator<U>&) {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t n);
  bool operator==(const SecretAllocator&) const { return true; }
};

void* AllocateSecret(size_t bytes);
void FreeSecret(void* p, size_t bytes);

template <typename T>
T* SecretAllocator<T>::allocate(size_t n) {
  return static_cast<T*>(AllocateSecret(n * sizeof(T)));
}
template <typename T>
void SecretAllocator<T>::deallocate(T* p, size_t n) {
  FreeSecret(p, n * sizeof(T));
}

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size) {}
  explicit SecretBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  ~SecretBytes() { Wipe(); }

  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      bytes_ = std::move(other.bytes_);
      other.bytes_.clear();
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit copy, so every duplication of key material is visible in the code.
  SecretBytes Clone() const { return SecretBytes(span()); }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  std::span<const uint8_t> span() const { return {bytes_.data(), bytes_.size()}; }
  std::span<uint8_t> mutable_span() { return {bytes_.data(), bytes_.size()}; }

 private:
  void Wipe();
  std::vector<uint8_t, SecretAllocator<uint8_t>> bytes_;
};

// Views bytes of a string as uint8_t (no copy).
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsStringView(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace hangar
