#include "kms/grant.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "common/stored_json.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/random.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

// Token layout before base64: "hgt1\n<key arn>\n<grant id>\n<nonce>". The nonce makes every
// minted token distinct, as AWS's are; the tag rejects arbitrary base64.
constexpr std::string_view kTokenTag = "hgt1";

// Constraint keys are case-insensitive: the value of `key` in `context`, if present.
const std::string* FindFolded(const EncryptionContext& context, std::string_view key) {
  const std::string folded = ToLower(key);
  for (const auto& [k, v] : context) {
    if (ToLower(k) == folded) return &v;
  }
  return nullptr;
}

// Every pair of `required` is in `context` (keys folded, values exact).
bool ContainsAll(const EncryptionContext& context, const EncryptionContext& required) {
  return std::all_of(required.begin(), required.end(), [&](const auto& pair) {
    const std::string* v = FindFolded(context, pair.first);
    return v != nullptr && *v == pair.second;
  });
}

nlohmann::json ContextJson(const EncryptionContext& context) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : context) out[k] = v;
  return out;
}

EncryptionContext ContextFromJson(const nlohmann::json& j) {
  EncryptionContext out;
  for (const auto& [k, v] : j.items()) out[k] = v.get<std::string>();
  return out;
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

}  // namespace

bool GrantRecord::HasOperation(std::string_view operation) const {
  return std::find(operations.begin(), operations.end(), operation) != operations.end();
}

const std::vector<std::string_view>& GrantOperationNames() {
  static const auto* names =
      new std::vector<std::string_view>{"Decrypt",
                                        "Encrypt",
                                        "GenerateDataKey",
                                        "GenerateDataKeyWithoutPlaintext",
                                        "ReEncryptFrom",
                                        "ReEncryptTo",
                                        "Sign",
                                        "Verify",
                                        "GetPublicKey",
                                        "CreateGrant",
                                        "RetireGrant",
                                        "DescribeKey",
                                        "GenerateDataKeyPair",
                                        "GenerateDataKeyPairWithoutPlaintext",
                                        "GenerateMac",
                                        "VerifyMac",
                                        "DeriveSharedSecret"};
  return *names;
}

bool GrantNamesPrincipal(std::string_view grantee, const auth::Principal& principal) {
  if (principal.anonymous() || grantee.empty()) return false;
  if (grantee == principal.arn) return true;
  return principal.type == auth::PrincipalType::kAssumedRole && !principal.role_arn.empty() &&
         grantee == principal.role_arn;
}

bool ConstraintsAllow(const GrantConstraints& constraints, const EncryptionContext* context) {
  if (context == nullptr) return true;
  if (constraints.context_equals) {
    return context->size() == constraints.context_equals->size() &&
           ContainsAll(*context, *constraints.context_equals);
  }
  if (constraints.context_subset) return ContainsAll(*context, *constraints.context_subset);
  return true;
}

bool ConstraintsAtLeastAsStrict(const GrantConstraints& child, const GrantConstraints& parent) {
  if (parent.context_equals) {
    return child.context_equals && child.context_equals->size() == parent.context_equals->size() &&
           ContainsAll(*child.context_equals, *parent.context_equals);
  }
  if (parent.context_subset) {
    // Any context the child admits must contain the parent's pairs.
    if (child.context_equals) return ContainsAll(*child.context_equals, *parent.context_subset);
    if (child.context_subset) return ContainsAll(*child.context_subset, *parent.context_subset);
    return false;
  }
  return true;
}

bool GrantAllows(const GrantRecord& grant, const auth::Principal& principal,
                 std::string_view operation, const EncryptionContext* context) {
  return grant.HasOperation(operation) && GrantNamesPrincipal(grant.grantee_principal, principal) &&
         ConstraintsAllow(grant.constraints, context);
}

std::string MintGrantToken(const GrantRecord& grant) {
  std::array<uint8_t, 16> nonce{};
  crypto::RandomBytes(nonce);
  std::string raw(kTokenTag);
  raw += '\n' + grant.key_arn + '\n' + grant.grant_id + '\n' +
         HexEncode(std::span<const uint8_t>(nonce));
  return crypto::Base64Encode(raw);
}

Result<GrantTokenContents> ParseGrantToken(std::string_view token) {
  auto invalid = [] { return Error(ErrorCode::kKmsInvalidGrantToken, "Invalid grant token."); };
  auto raw = crypto::Base64Decode(token);
  if (!raw) return invalid();
  std::vector<std::string> parts = Split(*raw, '\n');
  if (parts.size() != 4 || parts[0] != kTokenTag || !parts[1].starts_with("arn:") ||
      parts[2].size() != 64 || !HexDecode(parts[2]) || parts[3].size() != 32) {
    return invalid();
  }
  return GrantTokenContents{parts[1], parts[2]};
}

Status CheckGrantTokens(const std::vector<std::string>& tokens) {
  ValidationErrors v;
  if (tokens.size() > 10) {
    v.Add(std::nullopt, "grantTokens", "Member must have length less than or equal to 10");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    v.CheckLength(tokens[i], "grantTokens." + std::to_string(i + 1) + ".member", 1, 8192,
                  /*secret=*/true);
  }
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  for (const auto& token : tokens) HANGAR_RETURN_IF_ERROR(ParseGrantToken(token).status());
  return Status::Ok();
}

std::string EncodeGrantRecord(const GrantRecord& g) {
  nlohmann::json j = {{"grant_id", g.grant_id},
                      {"key_id", g.key_id},
                      {"key_arn", g.key_arn},
                      {"name", g.name},
                      {"grantee", g.grantee_principal},
                      {"retiring", g.retiring_principal},
                      {"issuing_account", g.issuing_account},
                      {"operations", g.operations},
                      {"creation_ms", g.creation_ms}};
  if (!g.key_storage_id.empty()) j["key_storage_id"] = g.key_storage_id;
  if (g.constraints.context_equals)
    j["context_equals"] = ContextJson(*g.constraints.context_equals);
  if (g.constraints.context_subset)
    j["context_subset"] = ContextJson(*g.constraints.context_subset);
  return j.dump();
}

Result<GrantRecord> DecodeGrantRecord(std::string_view text) {
  return DecodeStored<GrantRecord>(text, "grant", [](const nlohmann::json& j) {
    GrantRecord g;
    g.grant_id = j.at("grant_id").get<std::string>();
    g.key_id = j.at("key_id").get<std::string>();
    g.key_arn = j.at("key_arn").get<std::string>();
    g.key_storage_id = j.value("key_storage_id", "");
    g.name = j.at("name").get<std::string>();
    g.grantee_principal = j.at("grantee").get<std::string>();
    g.retiring_principal = j.at("retiring").get<std::string>();
    g.issuing_account = j.at("issuing_account").get<std::string>();
    g.operations = j.at("operations").get<std::vector<std::string>>();
    g.creation_ms = j.at("creation_ms").get<int64_t>();
    if (j.contains("context_equals"))
      g.constraints.context_equals = ContextFromJson(j["context_equals"]);
    if (j.contains("context_subset"))
      g.constraints.context_subset = ContextFromJson(j["context_subset"]);
    return g;
  });
}

}  // namespace hangar::kms
