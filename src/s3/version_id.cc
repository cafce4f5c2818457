#include "s3/version_id.h"

#include <array>
#include <cstring>

#include "crypto/digest.h"
#include "crypto/random.h"

namespace hangar::s3 {
namespace {

// 24 bytes = 8 stamp (big-endian) + 10 random + 6 check, written as 32 base64 characters over
// AWS's alphabet.
constexpr size_t kStampBytes = 8;
constexpr size_t kRandomBytes = 10;
constexpr size_t kCheckBytes = 6;
constexpr size_t kRawBytes = kStampBytes + kRandomBytes + kCheckBytes;
constexpr size_t kIdLength = kRawBytes / 3 * 4;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

using Raw = std::array<uint8_t, kRawBytes>;

// Not a secret MAC: the check only makes ids self-validating, as AWS's are. Who may read a
// version is decided by policy, not by knowing its id.
std::array<uint8_t, kCheckBytes> CheckOf(const Raw& raw) {
  std::string_view body(reinterpret_cast<const char*>(raw.data()), kStampBytes + kRandomBytes);
  auto digest = crypto::Sha256("hangar-version-id\n" + std::string(body));
  std::array<uint8_t, kCheckBytes> check;
  std::memcpy(check.data(), digest.data(), kCheckBytes);
  return check;
}

int Sextet(char c) {
  size_t at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

}  // namespace

std::string NewVersionId(int64_t stamp_us) {
  Raw raw{};
  for (size_t i = 0; i < kStampBytes; ++i) {
    raw[i] = static_cast<uint8_t>(static_cast<uint64_t>(stamp_us) >> (8 * (kStampBytes - 1 - i)));
  }
  crypto::RandomBytes(std::span<uint8_t>(raw.data() + kStampBytes, kRandomBytes));
  auto check = CheckOf(raw);
  std::memcpy(raw.data() + kStampBytes + kRandomBytes, check.data(), kCheckBytes);
  std::string id;
  id.reserve(kIdLength);
  for (size_t i = 0; i < kRawBytes; i += 3) {
    uint32_t v = (uint32_t{raw[i]} << 16) | (uint32_t{raw[i + 1]} << 8) | raw[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) id.push_back(kAlphabet[(v >> shift) & 63]);
  }
  return id;
}

std::optional<int64_t> VersionIdStamp(std::string_view version_id) {
  if (version_id.size() != kIdLength) return std::nullopt;
  Raw raw{};
  for (size_t i = 0, o = 0; i < kIdLength; i += 4, o += 3) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int s = Sextet(version_id[i + j]);
      if (s < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(s);
    }
    raw[o] = static_cast<uint8_t>(v >> 16);
    raw[o + 1] = static_cast<uint8_t>(v >> 8);
    raw[o + 2] = static_cast<uint8_t>(v);
  }
  auto check = CheckOf(raw);
  if (std::memcmp(check.data(), raw.data() + kStampBytes + kRandomBytes, kCheckBytes) != 0) {
    return std::nullopt;
  }
  uint64_t stamp = 0;
  for (size_t i = 0; i < kStampBytes; ++i) stamp = (stamp << 8) | raw[i];
  return static_cast<int64_t>(stamp);
}

}  // namespace hangar::s3
