#pragma once
// The audit trail's tamper evidence, after CloudTrail's log file integrity validation
// (docs/reference/audit.md §3): every hour, and at shutdown, a digest file lists the log files
// closed since the previous digest with their SHA-256, and links to the previous digest by its
// hash and signature. Each digest is signed (SHA256withRSA) by the trail's digest key; the
// signature sits beside it in `<digest>.sig` (hex), as CloudTrail keeps it in object metadata.
//
// Layout under the audit directory (DATA_DIR/audit):
//   digest-key                          the key pair; the private half sealed under the root key
//   logs/<start>-<seq>.jsonl            one CloudTrail record per line, append-only
//   digests/<end>-<seq>.json(.sig)      the chain; names sort in chain order

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/root_key.h"

namespace hangar::audit {

inline constexpr std::string_view kLogsDir = "logs";
inline constexpr std::string_view kDigestsDir = "digests";

struct LogFileEntry {
  std::string path;  // relative to the audit directory: logs/....jsonl
  std::string sha256_hex;
  std::string oldest_event_time;  // ISO 8601; empty when the file holds no record
  std::string newest_event_time;
};

struct DigestLink {
  std::string path;  // digests/....json
  std::string sha256_hex;
  std::string signature_hex;
};

struct Digest {
  std::string account_id;
  TimePoint start;
  TimePoint end;
  std::string path;  // where this digest lives: digests/....json
  std::string key_fingerprint;
  std::optional<DigestLink> previous;  // none for the first digest of a trail
  std::vector<LogFileEntry> logs;
  // Every log file with a sequence number up to this one is covered by this digest or an earlier
  // one; files beyond it were written after it (or are being written).
  uint64_t log_sequence_end = 0;
};

std::string DigestJson(const Digest& digest);
// Errors: kInternal naming what is malformed.
Result<Digest> ParseDigest(std::string_view text);

// What is signed: the digest's end time, its path, the hex SHA-256 of its bytes and the previous
// digest's hex signature, joined by newlines (CloudTrail's string to sign).
std::string DigestStringToSign(const Digest& digest, std::string_view digest_sha256_hex);

// Retention: when old digests and their log files are removed, DIR/digests/retention.json
// (signed like a digest, in retention.json.sig) names the first digest kept and the link it holds
// to its removed predecessor, so the shortened chain still verifies — and a digest removed by
// anyone else still does not.
inline constexpr std::string_view kRetentionMarker = "retention.json";

struct RetentionCut {
  TimePoint cut_at;
  std::string first_digest;  // digests/....json: the oldest digest kept
  DigestLink removed;        // what first_digest's previous link names (path, hash, signature)
};

std::string RetentionJson(const RetentionCut& cut);
Result<RetentionCut> ParseRetention(std::string_view text);
// What the marker's signature covers.
std::string RetentionStringToSign(std::string_view marker_sha256_hex);

// The hex signature in a `.sig` file's text (one line).
std::string SignatureText(std::string_view file_text);

// File names. Sequence numbers are zero-padded so that names sort in time order.
std::string LogFileName(TimePoint start, uint64_t sequence);
std::string DigestFileName(TimePoint end, uint64_t sequence);
// The sequence number in a log or digest file name; nullopt if the name is not one of ours.
std::optional<uint64_t> SequenceOf(std::string_view file_name);
// The time in a log or digest file name.
std::optional<TimePoint> TimeOf(std::string_view file_name);

// The digest signing key: RSA 2048 made at the trail's first start.
class DigestKey {
 public:
  // Loads DIR/digest-key; with `create_if_missing`, a missing one is made (durably).
  static Result<std::unique_ptr<DigestKey>> Load(const std::string& audit_dir,
                                                 const crypto::RootKey& root_key,
                                                 bool create_if_missing);
  // The public key a verifier trusts: with the root key, the one whose sealed private half opens
  // under it (a replaced key file fails); without, the key file's public key as written.
  static Result<std::string> LoadPublicKey(const std::string& audit_dir,
                                           const crypto::RootKey* root_key);
  // A new key, and the JSON that keeps it (public key, private key sealed under the root key).
  struct Generated {
    std::unique_ptr<DigestKey> key;
    std::string json;
  };
  static Result<Generated> Generate(const crypto::RootKey& root_key);
  // The key kept in `text` (as Generate writes it); `where` names it in messages.
  static Result<std::unique_ptr<DigestKey>> FromJson(std::string_view text,
                                                     const crypto::RootKey& root_key,
                                                     std::string_view where);
  // The public key written in `text`, trusted as written.
  static Result<std::string> PublicKeyOfJson(std::string_view text, std::string_view where);
  // Hex SHA-256 of the DER public key.
  static std::string Fingerprint(std::string_view public_der);

  const std::string& public_der() const { return public_der_; }
  std::string fingerprint() const { return Fingerprint(public_der_); }
  // Hex signature of `message`.
  Result<std::string> SignHex(std::string_view message) const;

 private:
  DigestKey(SecretBytes private_der, std::string public_der)
      : private_der_(std::move(private_der)), public_der_(std::move(public_der)) {}
  SecretBytes private_der_;
  std::string public_der_;
};

}  // namespace hangar::audit
