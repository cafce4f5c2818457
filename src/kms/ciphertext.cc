#include "kms/ciphertext.h"

#include <array>

#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace hangar::kms {
namespace {

constexpr uint8_t kFormatVersion = 0x01;
constexpr size_t kSaltSize = 16;
constexpr std::string_view kKdfInfo = "hangar-kms-ciphertext-v1";
constexpr size_t kMinKeyIdSize = 1;
constexpr size_t kMaxKeyIdSize = 64;

void AppendU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

Status Invalid() { return Error(ErrorCode::kKmsInvalidCiphertext, ""); }

struct ParsedBlob {
  CiphertextHeader header;
  size_t header_size = 0;
  std::string_view salt;
};

Result<ParsedBlob> Parse(std::string_view blob) {
  if (blob.size() < 2 || static_cast<uint8_t>(blob[0]) != kFormatVersion) return Invalid();
  size_t id_size = static_cast<uint8_t>(blob[1]);
  if (id_size < kMinKeyIdSize || id_size > kMaxKeyIdSize) return Invalid();
  size_t header_size = 2 + id_size + 4 + kSaltSize;
  if (blob.size() < header_size + crypto::kGcmTagSize) return Invalid();
  ParsedBlob p;
  p.header.key_id = std::string(blob.substr(2, id_size));
  const auto* v = reinterpret_cast<const uint8_t*>(blob.data() + 2 + id_size);
  p.header.version = uint32_t{v[0]} << 24 | uint32_t{v[1]} << 16 | uint32_t{v[2]} << 8 | v[3];
  p.salt = blob.substr(2 + id_size + 4, kSaltSize);
  p.header_size = header_size;
  return p;
}

// Per-request key (32 bytes) followed by the GCM nonce (12 bytes).
SecretBytes DeriveRequestKey(std::span<const uint8_t> material, std::string_view salt) {
  return crypto::HkdfSha256(material, AsBytes(salt), kKdfInfo,
                            crypto::kAes256KeySize + crypto::kGcmNonceSize);
}

}  // namespace

std::string CanonicalEncryptionContext(const EncryptionContext& context) {
  std::string out;
  AppendU32(out, static_cast<uint32_t>(context.size()));
  for (const auto& [k, v] : context) {  // std::map: sorted by key, binary order
    AppendU32(out, static_cast<uint32_t>(k.size()));
    out += k;
    AppendU32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  return out;
}

std::string SealCiphertext(std::string_view key_id, uint32_t version,
                           std::span<const uint8_t> material, std::span<const uint8_t> plaintext,
                           const EncryptionContext& context) {
  std::array<uint8_t, kSaltSize> salt{};
  crypto::RandomBytes(salt);
  std::string blob;
  blob.reserve(2 + key_id.size() + 4 + kSaltSize + plaintext.size() + crypto::kGcmTagSize);
  blob.push_back(static_cast<char>(kFormatVersion));
  blob.push_back(static_cast<char>(key_id.size()));
  blob.append(key_id);
  AppendU32(blob, version);
  blob.append(reinterpret_cast<const char*>(salt.data()), salt.size());
  std::string aad = blob + CanonicalEncryptionContext(context);
  SecretBytes derived =
      DeriveRequestKey(material, std::string_view(reinterpret_cast<const char*>(salt.data()),
                                                  salt.size()));
  auto span = derived.span();
  crypto::AesGcmSeal(span.subspan(0, crypto::kAes256KeySize),
                     span.subspan(crypto::kAes256KeySize), AsBytes(aad), plaintext, blob);
  return blob;
}

Result<CiphertextHeader> PeekCiphertext(std::string_view blob) {
  HANGAR_ASSIGN_OR_RETURN(ParsedBlob p, Parse(blob));
  return p.header;
}

Result<SecretBytes> OpenCiphertext(std::string_view blob, std::span<const uint8_t> material,
                                   const EncryptionContext& context) {
  HANGAR_ASSIGN_OR_RETURN(ParsedBlob p, Parse(blob));
  std::string aad = std::string(blob.substr(0, p.header_size)) + CanonicalEncryptionContext(context);
  SecretBytes derived = DeriveRequestKey(material, p.salt);
  auto span = derived.span();
  SecretBytes plaintext;
  if (!crypto::AesGcmOpen(span.subspan(0, crypto::kAes256KeySize),
                          span.subspan(crypto::kAes256KeySize), AsBytes(aad),
                          AsBytes(blob.substr(p.header_size)), plaintext)) {
    return Invalid();
  }
  return plaintext;
}

}  // namespace hangar::kms
