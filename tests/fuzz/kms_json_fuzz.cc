// Every KMS JSON request body through KmsApi::Call on a real KeyService (SQLite store, key policies
// enforced through the real IdentityStore), as the account root.
//
// Input: byte 0 picks the operation (kOperations, modulo its size); the rest is the JSON body.
// Fixtures the body may name through placeholders, replaced before the call: $KEY (key id),
// $ARN (key ARN) of a key that alias/fuzz points to, $BLOB (a CiphertextBlob of it, encryption
// context {"purpose":"fuzz"}), $GRANT and $TOKEN (a grant on it). After an operation that may
// have changed them succeeds, the fixtures are made afresh (a new key), so that every input
// meets the same state.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.h"

namespace hangar::fuzz {
namespace {

using nlohmann::json;

// The operations KmsApi implements (kms_api.cc, Handlers()). The constructor checks each is known.
// clang-format off
constexpr std::string_view kOperations[] = {
    "CreateKey", "DescribeKey", "ListKeys", "UpdateKeyDescription", "EnableKey", "DisableKey",
    "ScheduleKeyDeletion", "CancelKeyDeletion", "CreateAlias", "UpdateAlias", "DeleteAlias",
    "ListAliases", "TagResource", "UntagResource", "ListResourceTags", "GetKeyPolicy",
    "PutKeyPolicy", "ListKeyPolicies", "EnableKeyRotation", "DisableKeyRotation",
    "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations", "Encrypt", "Decrypt",
    "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "CreateGrant", "ListGrants",
    "ListRetirableGrants", "RetireGrant", "RevokeGrant", "GenerateRandom",
};
// clang-format on

// Operations that leave the fixtures as they were (CreateKey makes a key nobody refers to).
bool LeavesFixtures(std::string_view op) {
  return op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get") ||
         op.starts_with("Generate") || op == "Encrypt" || op == "Decrypt" || op == "ReEncrypt" ||
         op == "CreateKey";
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

class KmsHarness {
 public:
  KmsHarness() : services_(Services::Get()) {
    for (std::string_view op : kOperations) {
      // Malformed JSON is refused before the operation runs, but only by a known operation.
      Result<std::string> r = services_.kms_api->Call(Context(), op, "{");
      if (r.ok() || r.status().code() == ErrorCode::kUnknownOperation) {
        std::fprintf(stderr, "kms_json_fuzz: KmsApi no longer knows %.*s\n",
                     static_cast<int>(op.size()), op.data());
        std::abort();
      }
    }
    MakeFixtures();
  }

  void Run(uint8_t selector, std::string body) {
    const std::string_view op = kOperations[selector % std::size(kOperations)];
    ReplaceAll(body, "$KEY", key_id_);
    ReplaceAll(body, "$ARN", key_arn_);
    ReplaceAll(body, "$BLOB", blob_);
    ReplaceAll(body, "$GRANT", grant_id_);
    ReplaceAll(body, "$TOKEN", grant_token_);
    Result<std::string> response = services_.kms_api->Call(Context(), op, body);
    if (response.ok()) {
      // A success is always a JSON object.
      const json parsed = json::parse(*response, nullptr, false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        std::fprintf(stderr, "kms_json_fuzz: %.*s answered non-JSON: %s\n",
                     static_cast<int>(op.size()), op.data(), response->c_str());
        std::abort();
      }
      if (!LeavesFixtures(op)) MakeFixtures();
    }
  }

 private:
  auth::RequestContext Context() const { return RootContext(kAccountId, services_.clock); }

  json Call(std::string_view op, const json& body) {
    return json::parse(Require(services_.kms_api->Call(Context(), op, body.dump()), op));
  }

  void MakeFixtures() {
    json key =
        Call("CreateKey", {{"Description", "fuzz fixture"},
                           {"Tags", json::array({{{"TagKey", "team"}, {"TagValue", "fuzz"}}})}});
    key_id_ = key["KeyMetadata"]["KeyId"];
    key_arn_ = key["KeyMetadata"]["Arn"];
    // An input may have deleted the alias: point it at the new key, or make it again.
    const json alias = {{"AliasName", "alias/fuzz"}, {"TargetKeyId", key_id_}};
    if (!services_.kms_api->Call(Context(), "UpdateAlias", alias.dump()).ok()) {
      Call("CreateAlias", alias);
    }
    blob_ = Call("Encrypt", {{"KeyId", key_id_},
                             {"Plaintext", "aGVsbG8gZnV6eg=="},
                             {"EncryptionContext", {{"purpose", "fuzz"}}}})["CiphertextBlob"];
    json grant = Call("CreateGrant", {{"KeyId", key_id_},
                                      {"GranteePrincipal", "arn:aws:iam::111122223333:user/alice"},
                                      {"RetiringPrincipal", "arn:aws:iam::111122223333:root"},
                                      {"Operations", {"Encrypt", "Decrypt", "RetireGrant"}}});
    grant_id_ = grant["GrantId"];
    grant_token_ = grant["GrantToken"];
  }

  Services& services_;
  std::string key_id_;
  std::string key_arn_;
  std::string blob_;
  std::string grant_id_;
  std::string grant_token_;
};

}  // namespace
}  // namespace hangar::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hangar::fuzz::KmsHarness* harness = new hangar::fuzz::KmsHarness();
  if (size == 0) return 0;
  harness->Run(data[0], std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
