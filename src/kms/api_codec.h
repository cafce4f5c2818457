#pragma once
// The KMS JSON codec's internals, shared by KmsApi (kms_api.cc) and the files that hold its
// operations (api_*.cc): the request reader, the response pieces several operations share, and the
// operation table's entry type. Not part of the kms module's interface: only the codec includes it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/request_context.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "kms/key_service.h"
#include "kms/validation.h"

namespace hangar::kms::api {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Requests

// A member's path in AWS's messages, and its name in CloudTrail records: the member name with a
// lower-case first letter ("KeyId" -> "keyId").
std::string MemberPath(std::string_view name);

// Reads members of a request object with AWS JSON's rules: a member of the wrong JSON type is a
// SerializationException; a missing required member is a validation error ("Value null at ...").
// Problems are collected as members are read and reported once by status(), so an operation reads
// all its members first and checks once. Borrows `object`; not thread-safe.
class Input {
 public:
  explicit Input(const json& object) : object_(object) {}

  std::optional<std::string> String(std::string_view name, bool required = false);
  std::string RequiredString(std::string_view name) { return String(name, true).value_or(""); }
  // AWS's Integer members are 32-bit: anything else cannot be deserialised.
  std::optional<int64_t> Integer(std::string_view name, bool required = false);
  // A timestamp member (epoch seconds, as the SDKs send them in JSON), in milliseconds.
  std::optional<int64_t> Timestamp(std::string_view name);
  bool Boolean(std::string_view name);
  // A base64 blob member, decoded.
  std::optional<std::string> Blob(std::string_view name, bool required = false);
  EncryptionContext Context(std::string_view name);
  std::vector<std::string> StringList(std::string_view name, bool required = false);
  // GrantConstraints: {"EncryptionContextEquals": {...}, "EncryptionContextSubset": {...}}.
  GrantConstraints Constraints(std::string_view name);
  std::vector<Tag> Tags(std::string_view name, bool required = false);
  bool Has(std::string_view name) const;

  // The first problem found: serialization errors win over validation errors.
  Status status() const;
  // Reads GrantTokens (format only: grants take effect at once here) after every other member,
  // then reports the first problem; a malformed token counts only when the members are sound.
  Status StatusWithGrantTokens();

 private:
  const json* Find(std::string_view name, bool required);
  std::nullopt_t TypeError(std::string_view name, std::string_view expected);
  // Keeps the first serialization error of a nested structure's reader.
  void Adopt(const Input& member);

  const json& object_;
  Status serialization_;
  ValidationErrors validation_;
};

// The KeyId of a request that has no other member.
Result<std::string> ReadKeyIdOnly(Input& in);

// Limit and Marker of a List operation, read after its other members.
struct PageRequest {
  std::optional<int64_t> limit;
  std::optional<std::string> marker;

  int LimitOr(int default_limit) const { return static_cast<int>(limit.value_or(default_limit)); }
  std::string Marker() const { return marker.value_or(""); }
};
PageRequest ReadPageRequest(Input& in);

// Overwrites bytes a caller sent (plaintext, messages, key material) once the service is done with
// them, so they do not linger in freed heap memory.
void Wipe(std::string& bytes);

// The error for a Recipient member (Nitro Enclaves attestation), which Hangar cannot honour.
Status RecipientUnsupported();

// ---------------------------------------------------------------------------------------------
// Responses

double EpochSeconds(int64_t ms);
std::string B64(std::string_view bytes);
std::string B64(const SecretBytes& bytes);

// The `{}` an operation answers with once `status` is OK.
Result<json> EmptyResponse(Status status);

// The one algorithm list a key's spec and usage offer (EncryptionAlgorithms, SigningAlgorithms,
// MacAlgorithms or KeyAgreementAlgorithms).
void AddAlgorithms(json& out, const KeyRecord& k);
json KeyMetadataJson(const KeyRecord& k);
json TagsJson(const std::vector<Tag>& tags);
json ContextJson(const EncryptionContext& context);

// A List operation's answer: `member` holds the page's items, each rendered by `to_json`, followed
// by AWS's Truncated/NextMarker.
template <typename T, typename ToJson>
json PageJson(std::string_view member, const Page<T>& page, ToJson to_json) {
  json items = json::array();
  for (const T& item : page.items) items.push_back(to_json(item));
  json out = {{std::string(member), std::move(items)}};
  out["Truncated"] = page.truncated;
  if (page.truncated) out["NextMarker"] = page.next_marker;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The operation table

// Reads the request's members, calls KeyService, and renders its answer.
using Handler = Result<json> (*)(KeyService& service, const auth::RequestContext& ctx, Input& in);

// Adjusts the requestParameters CloudTrail records (`recorded`, already stripped of secrets) with
// what the call learnt (`notes`), after the call, whether or not it succeeded.
using AuditAdjuster = void (*)(json& recorded, const auth::AuditNotes& notes);

// How an operation treats state. CloudTrail records the response of exactly the operations that
// change something, and marks the others readOnly.
enum class Mode {
  kWrite,       // changes state; its responseElements are recorded
  kRead,        // readOnly; runs on a worker thread
  kInlineRead,  // readOnly and touches only cached state, so it may run on an I/O thread
};

// One entry of the table: everything the codec and the HTTP layer know about an operation.
struct Operation {
  std::string_view name;  // after "TrentService."
  Handler handler;        // null: an AWS operation Hangar does not offer yet
  Mode mode;
  AuditAdjuster adjust_audit = nullptr;
};

// The operations by area, each list beside its handlers.
std::span<const Operation> KeyOperations();           // api_keys.cc
std::span<const Operation> KeyAttributeOperations();  // api_key_attributes.cc
std::span<const Operation> CryptoOperations();        // api_crypto.cc
std::span<const Operation> AsymmetricOperations();    // api_asymmetric.cc
std::span<const Operation> GrantOperations();         // api_grants.cc

}  // namespace hangar::kms::api
