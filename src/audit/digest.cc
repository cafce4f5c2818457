#include "audit/digest.h"

#include <cctype>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/rsa_signing.h"

namespace hangar::audit {
namespace {

using json = nlohmann::json;

constexpr std::string_view kKeyFile = "digest-key";
constexpr std::string_view kKeyContext = "audit-digest-key";
constexpr size_t kMaxKeyFile = 64 * 1024;

std::string OrEmpty(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The file name's prefix before '-': 20261202T070000Z.
std::string_view Stem(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  return file_name;
}

}  // namespace

std::string DigestJson(const Digest& d) {
  json logs = json::array();
  std::string oldest, newest;
  for (const LogFileEntry& log : d.logs) {
    logs.push_back({{"s3Bucket", "hangar-audit"},
                    {"s3Object", log.path},
                    {"hashValue", log.sha256_hex},
                    {"hashAlgorithm", "SHA-256"},
                    {"oldestEventTime", log.oldest_event_time.empty() ? json(nullptr)
                                                                      : json(log.oldest_event_time)},
                    {"newestEventTime", log.newest_event_time.empty() ? json(nullptr)
                                                                      : json(log.newest_event_time)}});
    if (!log.oldest_event_time.empty() && (oldest.empty() || log.oldest_event_time < oldest)) {
      oldest = log.oldest_event_time;
    }
    if (log.newest_event_time > newest) newest = log.newest_event_time;
  }
  json out{{"awsAccountId", d.account_id},
           {"digestStartTime", FormatIso8601(d.start, false)},
           {"digestEndTime", FormatIso8601(d.end, false)},
           {"digestS3Bucket", "hangar-audit"},
           {"digestS3Object", d.path},
           {"digestPublicKeyFingerprint", d.key_fingerprint},
           {"digestSignatureAlgorithm", "SHA256withRSA"},
           {"newestEventTime", newest.empty() ? json(nullptr) : json(newest)},
           {"oldestEventTime", oldest.empty() ? json(nullptr) : json(oldest)},
           {"previousDigestS3Bucket", d.previous ? json("hangar-audit") : json(nullptr)},
           {"previousDigestS3Object", d.previous ? json(d.previous->path) : json(nullptr)},
           {"previousDigestHashValue", d.previous ? json(d.previous->sha256_hex) : json(nullptr)},
           {"previousDigestHashAlgorithm", d.previous ? json("SHA-256") : json(nullptr)},
           {"previousDigestSignature",
            d.previous ? json(d.previous->signature_hex) : json(nullptr)},
           {"logFiles", std::move(logs)},
           {"hangarLogSequenceEnd", d.log_sequence_end}};
  return out.dump(2) + "\n";
}

Result<Digest> ParseDigest(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InternalError("not a JSON object");
  Digest d;
  d.account_id = OrEmpty(j, "awsAccountId");
  auto start = ParseIso8601(OrEmpty(j, "digestStartTime"));
  auto end = ParseIso8601(OrEmpty(j, "digestEndTime"));
  if (!start || !end) return InternalError("digestStartTime or digestEndTime is missing or malformed");
  d.start = *start;
  d.end = *end;
  d.path = OrEmpty(j, "digestS3Object");
  d.key_fingerprint = OrEmpty(j, "digestPublicKeyFingerprint");
  if (j.contains("previousDigestS3Object") && j["previousDigestS3Object"].is_string()) {
    d.previous = DigestLink{OrEmpty(j, "previousDigestS3Object"),
                            OrEmpty(j, "previousDigestHashValue"),
                            OrEmpty(j, "previousDigestSignature")};
  }
  if (!j.contains("logFiles") || !j["logFiles"].is_array()) return InternalError("logFiles is missing");
  for (const json& log : j["logFiles"]) {
    if (!log.is_object()) return InternalError("a logFiles entry is not an object");
    d.logs.push_back({OrEmpty(log, "s3Object"), OrEmpty(log, "hashValue"),
                      OrEmpty(log, "oldestEventTime"), OrEmpty(log, "newestEventTime")});
  }
  auto seq = j.find("hangarLogSequenceEnd");
  if (seq == j.end() || !seq->is_number_unsigned()) {
    return InternalError("hangarLogSequenceEnd is missing");
  }
  d.log_sequence_end = seq->get<uint64_t>();
  return d;
}

std::string RetentionJson(const RetentionCut& cut) {
  json out{{"cutAt", FormatIso8601(cut.cut_at, false)},
           {"firstDigestS3Object", cut.first_digest},
           {"removedDigestS3Object", cut.removed.path},
           {"removedDigestHashValue", cut.removed.sha256_hex},
           {"removedDigestSignature", cut.removed.signature_hex}};
  return out.dump(2) + "\n";
}

Result<RetentionCut> ParseRetention(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InternalError("not a JSON object");
  RetentionCut cut;
  auto at = ParseIso8601(OrEmpty(j, "cutAt"));
  if (!at) return InternalError("cutAt is missing or malformed");
  cut.cut_at = *at;
  cut.first_digest = OrEmpty(j, "firstDigestS3Object");
  cut.removed = DigestLink{OrEmpty(j, "removedDigestS3Object"), OrEmpty(j, "removedDigestHashValue"),
                           OrEmpty(j, "removedDigestSignature")};
  if (cut.first_digest.empty() || cut.removed.path.empty()) {
    return InternalError("the digests it names are missing");
  }
  return cut;
}

std::string RetentionStringToSign(std::string_view marker_sha256_hex) {
  return "hangar-audit-retention\n" + std::string(marker_sha256_hex);
}

std::string DigestStringToSign(const Digest& d, std::string_view digest_sha256_hex) {
  std::string s = FormatIso8601(d.end, false);
  s += "\n";
  s += d.path;
  s += "\n";
  s += digest_sha256_hex;
  s += "\n";
  s += d.previous ? d.previous->signature_hex : std::string();
  return s;
}

std::string SignatureText(std::string_view file_text) {
  while (!file_text.empty() && std::isspace(static_cast<unsigned char>(file_text.back()))) {
    file_text.remove_suffix(1);
  }
  return std::string(file_text);
}

std::string LogFileName(TimePoint start, uint64_t sequence) {
  char seq[24];
  std::snprintf(seq, sizeof(seq), "%010llu", static_cast<unsigned long long>(sequence));
  return FormatAmzDate(start) + "-" + seq + ".jsonl";
}

std::string DigestFileName(TimePoint end, uint64_t sequence) {
  char seq[24];
  std::snprintf(seq, sizeof(seq), "%010llu", static_cast<unsigned long long>(sequence));
  return FormatAmzDate(end) + "-" + seq + ".json";
}

std::optional<uint64_t> SequenceOf(std::string_view file_name) {
  std::string_view stem = Stem(file_name);
  // 20261202T070000Z-0000000001.jsonl
  if (stem.size() < 27 || stem[16] != '-') return std::nullopt;
  std::string_view digits = stem.substr(17, 10);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  std::string_view rest = stem.substr(27);
  if (rest != ".jsonl" && rest != ".json") return std::nullopt;
  return value;
}

std::optional<TimePoint> TimeOf(std::string_view file_name) {
  std::string_view stem = Stem(file_name);
  if (stem.size() < 16) return std::nullopt;
  return ParseAmzDate(stem.substr(0, 16));
}

// --- The key -----------------------------------------------------------------------------------

std::string DigestKey::Fingerprint(std::string_view public_der) {
  return crypto::Sha256Hex(public_der);
}

Result<DigestKey::Generated> DigestKey::Generate(const crypto::RootKey& root_key) {
  HANGAR_ASSIGN_OR_RETURN(crypto::RsaKeyPair pair, crypto::GenerateRsaKeyPair(2048));
  HANGAR_ASSIGN_OR_RETURN(std::string sealed, root_key.Wrap(pair.private_der.span(), kKeyContext));
  json file{{"algorithm", "RSA-2048"},
            {"fingerprint", Fingerprint(pair.public_der)},
            {"publicKey", crypto::Base64Encode(pair.public_der)},
            {"sealedPrivateKey", crypto::Base64Encode(sealed)}};
  return Generated{std::unique_ptr<DigestKey>(new DigestKey(std::move(pair.private_der),
                                                            std::move(pair.public_der))),
                   file.dump(2) + "\n"};
}

Result<std::unique_ptr<DigestKey>> DigestKey::FromJson(std::string_view text,
                                                       const crypto::RootKey& root_key,
                                                       std::string_view where) {
  json file = json::parse(text, nullptr, false);
  auto sealed = crypto::Base64Decode(file.is_object() ? OrEmpty(file, "sealedPrivateKey") : "");
  if (!sealed) return InternalError("the audit digest key " + std::string(where) + " is malformed");
  auto private_der = root_key.Unwrap(*sealed, kKeyContext);
  if (!private_der.ok()) {
    return InternalError("the audit digest key " + std::string(where) +
                         " does not open under the root key");
  }
  HANGAR_ASSIGN_OR_RETURN(std::string public_der, crypto::RsaPublicKeyOf(*private_der));
  return std::unique_ptr<DigestKey>(new DigestKey(std::move(private_der).value(),
                                                  std::move(public_der)));
}

Result<std::string> DigestKey::PublicKeyOfJson(std::string_view text, std::string_view where) {
  json file = json::parse(text, nullptr, false);
  auto public_der = crypto::Base64Decode(file.is_object() ? OrEmpty(file, "publicKey") : "");
  if (!public_der) return InternalError("the audit digest key " + std::string(where) + " is malformed");
  return *public_der;
}

Result<std::unique_ptr<DigestKey>> DigestKey::Load(const std::string& audit_dir,
                                                   const crypto::RootKey& root_key,
                                                   bool create_if_missing) {
  const std::string path = audit_dir + "/" + std::string(kKeyFile);
  if (!FileExists(path)) {
    if (!create_if_missing) return InternalError("the audit digest key " + path + " is missing");
    HANGAR_ASSIGN_OR_RETURN(Generated made, Generate(root_key));
    HANGAR_RETURN_IF_ERROR(WriteFileAtomically(path, made.json, 0600));
    return std::move(made.key);
  }
  HANGAR_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxKeyFile));
  return FromJson(text, root_key, path);
}

Result<std::string> DigestKey::LoadPublicKey(const std::string& audit_dir,
                                             const crypto::RootKey* root_key) {
  if (root_key != nullptr) {
    HANGAR_ASSIGN_OR_RETURN(auto key, Load(audit_dir, *root_key, false));
    return key->public_der();
  }
  const std::string path = audit_dir + "/" + std::string(kKeyFile);
  HANGAR_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxKeyFile));
  return PublicKeyOfJson(text, path);
}

Result<std::string> DigestKey::SignHex(std::string_view message) const {
  HANGAR_ASSIGN_OR_RETURN(std::string signature, crypto::RsaSha256Sign(private_der_, message));
  return HexEncode(signature);
}

}  // namespace hangar::audit
