#include "kms/api_codec.h"

#include <openssl/crypto.h>

#include <cctype>
#include <climits>

#include "crypto/base64.h"
#include "kms/grant.h"
#include "kms/key_specs.h"

namespace hangar::kms::api {
namespace {

// MultiRegionConfiguration: every copy lists the primary and all replicas (this one included).
json MultiRegionJson(const KeyRecord& k) {
  const std::string& primary = k.primary_region.empty() ? k.region : k.primary_region;
  json replicas = json::array();
  for (const auto& region : k.replica_regions) {
    replicas.push_back({{"Arn", KeyArn(region, k.account_id, k.key_id)}, {"Region", region}});
  }
  return {{"MultiRegionKeyType", k.replica() ? "REPLICA" : "PRIMARY"},
          {"PrimaryKey", {{"Arn", KeyArn(primary, k.account_id, k.key_id)}, {"Region", primary}}},
          {"ReplicaKeys", std::move(replicas)}};
}

}  // namespace

std::string MemberPath(std::string_view name) {
  std::string path(name);
  if (!path.empty()) path[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(path[0])));
  return path;
}

// ---------------------------------------------------------------------------------------------
// Input

std::optional<std::string> Input::String(std::string_view name, bool required) {
  const json* v = Find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) return TypeError(name, "STRING_VALUE");
  return v->get<std::string>();
}

std::optional<int64_t> Input::Integer(std::string_view name, bool required) {
  const json* v = Find(name, required);
  if (!v) return std::nullopt;
  bool fits =
      v->is_number_integer() &&
      (v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX)
                               : v->get<int64_t>() >= INT32_MIN && v->get<int64_t>() <= INT32_MAX);
  if (!fits) return TypeError(name, "32-bit NUMBER_VALUE");
  return v->get<int64_t>();
}

std::optional<int64_t> Input::Timestamp(std::string_view name) {
  const json* v = Find(name, false);
  if (!v) return std::nullopt;
  if (!v->is_number()) return TypeError(name, "TIMESTAMP_VALUE");
  const double seconds = v->get<double>();
  // Beyond ±1e12 s the conversion to milliseconds would overflow int64.
  if (!(seconds > -1e12 && seconds < 1e12)) return TypeError(name, "TIMESTAMP_VALUE");
  return static_cast<int64_t>(seconds * 1000.0);
}

bool Input::Boolean(std::string_view name) {
  const json* v = Find(name, false);
  if (!v) return false;
  if (!v->is_boolean()) {
    TypeError(name, "BOOLEAN_VALUE");
    return false;
  }
  return v->get<bool>();
}

std::optional<std::string> Input::Blob(std::string_view name, bool required) {
  auto text = String(name, required);
  if (!text) return std::nullopt;
  auto decoded = crypto::Base64Decode(*text);
  if (!decoded) {
    if (serialization_.ok()) {
      serialization_ =
          Error(ErrorCode::kSerialization, "Invalid base64 in member " + std::string(name));
    }
    return std::nullopt;
  }
  return decoded;
}

EncryptionContext Input::Context(std::string_view name) {
  EncryptionContext out;
  const json* v = Find(name, false);
  if (!v) return out;
  if (!v->is_object()) {
    TypeError(name, "MAP_VALUE");
    return out;
  }
  for (const auto& [k, value] : v->items()) {
    if (!value.is_string()) {
      TypeError(name, "STRING_VALUE");
      return {};
    }
    out[k] = value.get<std::string>();
  }
  return out;
}

std::vector<std::string> Input::StringList(std::string_view name, bool required) {
  std::vector<std::string> out;
  const json* v = Find(name, required);
  if (!v) return out;
  if (!v->is_array()) {
    TypeError(name, "LIST_VALUE");
    return out;
  }
  for (const auto& item : *v) {
    if (!item.is_string()) {
      TypeError(name, "STRING_VALUE");
      return {};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

GrantConstraints Input::Constraints(std::string_view name) {
  GrantConstraints out;
  const json* v = Find(name, false);
  if (!v) return out;
  if (!v->is_object()) {
    TypeError(name, "STRUCTURE_VALUE");
    return out;
  }
  Input member(*v);
  if (member.Has("EncryptionContextEquals")) {
    out.context_equals = member.Context("EncryptionContextEquals");
  }
  if (member.Has("EncryptionContextSubset")) {
    out.context_subset = member.Context("EncryptionContextSubset");
  }
  Adopt(member);
  return out;
}

std::vector<Tag> Input::Tags(std::string_view name, bool required) {
  std::vector<Tag> out;
  const json* v = Find(name, required);
  if (!v) return out;
  if (!v->is_array()) {
    TypeError(name, "LIST_VALUE");
    return out;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_object()) {
      TypeError(name, "STRUCTURE_VALUE");
      return {};
    }
    Input member(item);
    // Validation paths name list members 1-based, as AWS's messages do ("tags.1.member.tagKey").
    std::string base = MemberPath(name) + "." + std::to_string(i + 1) + ".member.";
    auto key = member.String("TagKey");
    auto value = member.String("TagValue");
    Adopt(member);
    if (!key) validation_.AddNull(base + "tagKey");
    if (!value) validation_.AddNull(base + "tagValue");
    out.push_back({key.value_or(""), value.value_or("")});
  }
  return out;
}

bool Input::Has(std::string_view name) const {
  auto it = object_.find(name);
  return it != object_.end() && !it->is_null();
}

Status Input::status() const {
  if (!serialization_.ok()) return serialization_;
  return validation_.ToStatus();
}

Status Input::StatusWithGrantTokens() {
  Status tokens = CheckGrantTokens(StringList("GrantTokens"));
  HANGAR_RETURN_IF_ERROR(status());
  return tokens;
}

const json* Input::Find(std::string_view name, bool required) {
  auto it = object_.find(name);
  // JSON null is how some SDKs spell an absent member.
  if (it == object_.end() || it->is_null()) {
    if (required) validation_.AddNull(MemberPath(name));
    return nullptr;
  }
  return &*it;
}

std::nullopt_t Input::TypeError(std::string_view name, std::string_view expected) {
  if (serialization_.ok()) {
    serialization_ =
        Error(ErrorCode::kSerialization, "Unexpected value type for member " + std::string(name) +
                                             ": expected " + std::string(expected));
  }
  return std::nullopt;
}

void Input::Adopt(const Input& member) {
  if (!member.serialization_.ok() && serialization_.ok()) serialization_ = member.serialization_;
}

// ---------------------------------------------------------------------------------------------
// Request helpers

Result<std::string> ReadKeyIdOnly(Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  HANGAR_RETURN_IF_ERROR(in.status());
  return key_id;
}

PageRequest ReadPageRequest(Input& in) {
  PageRequest page;
  page.limit = in.Integer("Limit");
  page.marker = in.String("Marker");
  return page;
}

void Wipe(std::string& bytes) { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Status RecipientUnsupported() {
  return Error(ErrorCode::kKmsUnsupportedOperation,
               "Recipient (Nitro Enclaves attestation) is not supported by this server.");
}

// ---------------------------------------------------------------------------------------------
// Response helpers

double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string B64(std::string_view bytes) { return crypto::Base64Encode(bytes); }
std::string B64(const SecretBytes& bytes) { return crypto::Base64Encode(bytes.span()); }

Result<json> EmptyResponse(Status status) {
  HANGAR_RETURN_IF_ERROR(status);
  return json::object();
}

void AddAlgorithms(json& out, const KeyRecord& k) {
  AlgorithmList list = AlgorithmsFor(k.key_spec, k.key_usage);
  if (list.member.empty()) return;
  json names = json::array();
  for (std::string_view a : list.algorithms) names.push_back(a);
  out[std::string(list.member)] = std::move(names);
}

json KeyMetadataJson(const KeyRecord& k) {
  json m = {{"AWSAccountId", k.account_id},
            {"KeyId", k.key_id},
            {"Arn", k.arn},
            {"CreationDate", EpochSeconds(k.creation_ms)},
            {"Enabled", k.state == KeyState::kEnabled},
            {"Description", k.description},
            {"KeyUsage", k.key_usage},
            {"KeyState", KeyStateName(k.state)},
            {"Origin", k.origin},
            {"KeyManager", k.key_manager},
            {"CustomerMasterKeySpec", k.key_spec},
            {"KeySpec", k.key_spec},
            {"MultiRegion", k.multi_region}};
  AddAlgorithms(m, k);
  // Only symmetric keys show their key material id (an EXTERNAL one keeps it after deletion).
  if (k.symmetric() && !k.versions.empty()) m["CurrentKeyMaterialId"] = k.current().material_id;
  if (k.has_imported_material()) {
    m["ExpirationModel"] = k.expiration_model;
    if (k.valid_to_ms > 0) m["ValidTo"] = EpochSeconds(k.valid_to_ms);
  }
  if (k.state == KeyState::kPendingDeletion) m["DeletionDate"] = EpochSeconds(k.deletion_ms);
  if (k.state == KeyState::kPendingReplicaDeletion) {
    m["PendingDeletionWindowInDays"] = k.pending_window_days;
  }
  if (k.multi_region) m["MultiRegionConfiguration"] = MultiRegionJson(k);
  return m;
}

json TagsJson(const std::vector<Tag>& tags) {
  json out = json::array();
  for (const auto& t : tags) out.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
  return out;
}

json ContextJson(const EncryptionContext& context) {
  json out = json::object();
  for (const auto& [k, v] : context) out[k] = v;
  return out;
}

}  // namespace hangar::kms::api
