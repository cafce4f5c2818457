#include "kms/kms_api.h"

#include <nlohmann/json.hpp>

#include <openssl/crypto.h>

#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "common/json_writer.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "kms/key_specs.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

using nlohmann::json;

// AWS member paths in messages are the member name with a lower-case first letter.
std::string MemberPath(std::string_view name) {
  std::string path(name);
  if (!path.empty()) path[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(path[0])));
  return path;
}

double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// Reads members of a request object with AWS JSON's rules: a member of the wrong JSON type is a
// SerializationException; a missing required member is a validation error ("Value null at ...").
class Input {
 public:
  explicit Input(const json& object) : object_(object) {}

  std::optional<std::string> String(std::string_view name, bool required = false) {
    const json* v = Find(name, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) return TypeError(name, "STRING_VALUE");
    return v->get<std::string>();
  }
  std::string RequiredString(std::string_view name) { return String(name, true).value_or(""); }

  // AWS's Integer members are 32-bit: anything else cannot be deserialised.
  std::optional<int64_t> Integer(std::string_view name, bool required = false) {
    const json* v = Find(name, required);
    if (!v) return std::nullopt;
    bool fits = v->is_number_integer() &&
                (v->is_number_unsigned()
                     ? v->get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX)
                     : v->get<int64_t>() >= INT32_MIN && v->get<int64_t>() <= INT32_MAX);
    if (!fits) {
      TypeError(name, "32-bit NUMBER_VALUE");
      return std::nullopt;
    }
    return v->get<int64_t>();
  }

  // A timestamp member (epoch seconds, as the SDKs send them in JSON), in milliseconds.
  std::optional<int64_t> Timestamp(std::string_view name) {
    const json* v = Find(name, false);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      TypeError(name, "TIMESTAMP_VALUE");
      return std::nullopt;
    }
    const double seconds = v->get<double>();
    if (!(seconds > -1e12 && seconds < 1e12)) {
      TypeError(name, "TIMESTAMP_VALUE");
      return std::nullopt;
    }
    return static_cast<int64_t>(seconds * 1000.0);
  }

  bool Boolean(std::string_view name) {
    const json* v = Find(name, false);
    if (!v) return false;
    if (!v->is_boolean()) {
      TypeError(name, "BOOLEAN_VALUE");
      return false;
    }
    return v->get<bool>();
  }

  // A base64 blob member, decoded.
  std::optional<std::string> Blob(std::string_view name, bool required = false) {
    auto text = String(name, required);
    if (!text) return std::nullopt;
    auto decoded = crypto::Base64Decode(*text);
    if (!decoded) {
      if (serialization_.ok()) {
        serialization_ = Error(ErrorCode::kSerialization,
                               "Invalid base64 in member " + std::string(name));
      }
      return std::nullopt;
    }
    return decoded;
  }

  EncryptionContext Context(std::string_view name) {
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

  std::vector<std::string> StringList(std::string_view name, bool required = false) {
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

  // GrantConstraints: {"EncryptionContextEquals": {...}, "EncryptionContextSubset": {...}}.
  GrantConstraints Constraints(std::string_view name) {
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
    if (!member.serialization_.ok() && serialization_.ok()) serialization_ = member.serialization_;
    return out;
  }

  // GrantTokens: read and checked (format only; grants take effect at once here).
  Status GrantTokens() { return CheckGrantTokens(StringList("GrantTokens")); }

  bool Has(std::string_view name) const {
    auto it = object_.find(name);
    return it != object_.end() && !it->is_null();
  }

  std::vector<Tag> Tags(std::string_view name, bool required = false) {
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
      std::string base = MemberPath(name) + "." + std::to_string(i + 1) + ".member.";
      auto key = member.String("TagKey");
      auto value = member.String("TagValue");
      if (!member.serialization_.ok() && serialization_.ok()) serialization_ = member.serialization_;
      if (!key) validation_.AddNull(base + "tagKey");
      if (!value) validation_.AddNull(base + "tagValue");
      out.push_back({key.value_or(""), value.value_or("")});
    }
    return out;
  }

  // The first problem found: serialization errors win over validation errors.
  Status status() const {
    if (!serialization_.ok()) return serialization_;
    return validation_.ToStatus();
  }

 private:
  const json* Find(std::string_view name, bool required) {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) {
      if (required) validation_.AddNull(MemberPath(name));
      return nullptr;
    }
    return &*it;
  }

  std::nullopt_t TypeError(std::string_view name, std::string_view expected) {
    if (serialization_.ok()) {
      serialization_ = Error(ErrorCode::kSerialization,
                             "Unexpected value type for member " + std::string(name) +
                                 ": expected " + std::string(expected));
    }
    return std::nullopt;
  }

  const json& object_;
  Status serialization_;
  ValidationErrors validation_;
};

// The one algorithm list a key's spec and usage offer (EncryptionAlgorithms, SigningAlgorithms,
// MacAlgorithms or KeyAgreementAlgorithms).
void AddAlgorithms(json& out, const KeyRecord& k) {
  AlgorithmList list = AlgorithmsFor(k.key_spec, k.key_usage);
  if (list.member.empty()) return;
  json names = json::array();
  for (std::string_view a : list.algorithms) names.push_back(a);
  out[std::string(list.member)] = std::move(names);
}

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

template <typename T>
void AddPaging(json& out, const Page<T>& page) {
  out["Truncated"] = page.truncated;
  if (page.truncated) out["NextMarker"] = page.next_marker;
}

json ContextJson(const EncryptionContext& context) {
  json out = json::object();
  for (const auto& [k, v] : context) out[k] = v;
  return out;
}

// GrantListEntry (botocore model); optional members only when set.
json GrantJson(const GrantRecord& g) {
  json entry = {{"KeyId", g.key_arn},
                {"GrantId", g.grant_id},
                {"CreationDate", EpochSeconds(g.creation_ms)},
                {"GranteePrincipal", g.grantee_principal},
                {"IssuingAccount", g.issuing_account},
                {"Operations", g.operations}};
  if (!g.name.empty()) entry["Name"] = g.name;
  if (!g.retiring_principal.empty()) entry["RetiringPrincipal"] = g.retiring_principal;
  if (!g.constraints.empty()) {
    json c = json::object();
    if (g.constraints.context_equals) {
      c["EncryptionContextEquals"] = ContextJson(*g.constraints.context_equals);
    }
    if (g.constraints.context_subset) {
      c["EncryptionContextSubset"] = ContextJson(*g.constraints.context_subset);
    }
    entry["Constraints"] = std::move(c);
  }
  return entry;
}

json GrantPageJson(const Page<GrantRecord>& page) {
  json grants = json::array();
  for (const auto& g : page.items) grants.push_back(GrantJson(g));
  json out = {{"Grants", std::move(grants)}};
  AddPaging(out, page);
  return out;
}

std::string B64(std::string_view bytes) { return crypto::Base64Encode(bytes); }
std::string B64(const SecretBytes& bytes) { return crypto::Base64Encode(bytes.span()); }

// DryRunModifiers: ["IGNORE_CIPHERTEXT"] lets a DryRun Decrypt/ReEncrypt check authorisation only.
bool IgnoresCiphertext(Input& in) {
  for (const auto& m : in.StringList("DryRunModifiers")) {
    if (m == "IGNORE_CIPHERTEXT") return true;
  }
  return false;
}

GenerateDataKeyInput ReadGenerateDataKeyInput(Input& in) {
  GenerateDataKeyInput input;
  input.key_id = in.RequiredString("KeyId");
  input.context = in.Context("EncryptionContext");
  input.number_of_bytes = in.Integer("NumberOfBytes");
  input.key_spec = in.String("KeySpec");
  input.dry_run = in.Boolean("DryRun");
  return input;
}

SignInput ReadSignInput(Input& in) {
  SignInput input;
  input.key_id = in.RequiredString("KeyId");
  input.message = in.Blob("Message", true).value_or("");
  input.message_type = in.String("MessageType").value_or("RAW");
  input.algorithm = in.RequiredString("SigningAlgorithm");
  input.dry_run = in.Boolean("DryRun");
  return input;
}

MacInput ReadMacInput(Input& in) {
  MacInput input;
  input.key_id = in.RequiredString("KeyId");
  input.message = in.Blob("Message", true).value_or("");
  input.algorithm = in.RequiredString("MacAlgorithm");
  input.dry_run = in.Boolean("DryRun");
  return input;
}

Result<json> DataKeyPair(KeyService& s, const auth::RequestContext& ctx, Input& in,
                         bool with_plaintext) {
  GenerateDataKeyPairInput input;
  input.key_id = in.RequiredString("KeyId");
  input.context = in.Context("EncryptionContext");
  input.key_pair_spec = in.RequiredString("KeyPairSpec");
  input.dry_run = in.Boolean("DryRun");
  if (with_plaintext && in.Has("Recipient")) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "Recipient (Nitro Enclaves attestation) is not supported by this server.");
  }
  Status tokens = in.GrantTokens();
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_RETURN_IF_ERROR(tokens);
  HANGAR_ASSIGN_OR_RETURN(GenerateDataKeyPairOutput out,
                          s.GenerateDataKeyPair(ctx, input, with_plaintext));
  json response = {{"PrivateKeyCiphertextBlob", B64(out.private_key_ciphertext)},
                   {"PublicKey", B64(out.public_key)},
                   {"KeyId", out.key_arn},
                   {"KeyPairSpec", out.key_pair_spec},
                   {"KeyMaterialId", out.material_id}};
  if (with_plaintext) response["PrivateKeyPlaintext"] = B64(out.private_key_plaintext);
  return response;
}

using Handler = std::function<Result<json>(KeyService&, const auth::RequestContext&, Input&)>;

// Each handler reads its members, checks the Input, calls the service and encodes the result.
#define HANGAR_CHECK_INPUT(in) HANGAR_RETURN_IF_ERROR((in).status())

const std::unordered_map<std::string_view, Handler>& Handlers() {
  static const auto* handlers = new std::unordered_map<std::string_view, Handler>{
      {"CreateKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         CreateKeyInput input;
         input.policy = in.String("Policy");
         input.description = in.String("Description").value_or("");
         input.key_usage = in.String("KeyUsage");
         input.key_spec = in.String("KeySpec");
         if (!input.key_spec) input.key_spec = in.String("CustomerMasterKeySpec");
         input.origin = in.String("Origin");
         input.custom_key_store_id = in.String("CustomKeyStoreId");
         input.bypass_policy_lockout_safety_check = in.Boolean("BypassPolicyLockoutSafetyCheck");
         input.tags = in.Tags("Tags");
         input.multi_region = in.Boolean("MultiRegion");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(KeyRecord key, s.CreateKey(ctx, input));
         return json{{"KeyMetadata", KeyMetadataJson(key)}};
       }},
      {"DescribeKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(KeyRecord key, s.DescribeKey(ctx, key_id));
         return json{{"KeyMetadata", KeyMetadataJson(key)}};
       }},
      {"ListKeys",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         auto limit = in.Integer("Limit");
         auto marker = in.String("Marker");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto page, s.ListKeys(ctx, static_cast<int>(limit.value_or(100)),
                                                       marker.value_or("")));
         json keys = json::array();
         for (const auto& k : page.items) keys.push_back({{"KeyId", k.key_id}, {"KeyArn", k.key_arn}});
         json out = {{"Keys", keys}};
         AddPaging(out, page);
         return out;
       }},
      {"UpdateKeyDescription",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         std::string description = in.RequiredString("Description");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.UpdateKeyDescription(ctx, key_id, description));
         return json::object();
       }},
      {"EnableKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.EnableKey(ctx, key_id));
         return json::object();
       }},
      {"DisableKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.DisableKey(ctx, key_id));
         return json::object();
       }},
      {"ScheduleKeyDeletion",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto window = in.Integer("PendingWindowInDays");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto out, s.ScheduleKeyDeletion(ctx, key_id, window));
         json response = {{"KeyId", out.key_arn},
                           {"KeyState", KeyStateName(out.state)},
                           {"PendingWindowInDays", out.pending_window_days}};
         // A primary waiting for its replicas has no deletion date yet.
         if (out.deletion_ms > 0) response["DeletionDate"] = EpochSeconds(out.deletion_ms);
         return response;
       }},
      {"ReplicateKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         ReplicateKeyInput input;
         input.key_id = in.RequiredString("KeyId");
         input.replica_region = in.RequiredString("ReplicaRegion");
         input.policy = in.String("Policy");
         input.bypass_policy_lockout_safety_check = in.Boolean("BypassPolicyLockoutSafetyCheck");
         input.description = in.String("Description");
         input.tags = in.Tags("Tags");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto out, s.ReplicateKey(ctx, input));
         json tags = json::array();
         for (const auto& t : out.replica.tags) tags.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
         return json{{"ReplicaKeyMetadata", KeyMetadataJson(out.replica)},
                     {"ReplicaPolicy", out.replica.policy},
                     {"ReplicaTags", std::move(tags)}};
       }},
      {"UpdatePrimaryRegion",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         std::string region = in.RequiredString("PrimaryRegion");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.UpdatePrimaryRegion(ctx, key_id, region));
         return json::object();
       }},
      {"CancelKeyDeletion",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(std::string arn, s.CancelKeyDeletion(ctx, key_id));
         return json{{"KeyId", arn}};
       }},
      {"CreateAlias",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string alias = in.RequiredString("AliasName");
         std::string target = in.RequiredString("TargetKeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.CreateAlias(ctx, alias, target));
         return json::object();
       }},
      {"UpdateAlias",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string alias = in.RequiredString("AliasName");
         std::string target = in.RequiredString("TargetKeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.UpdateAlias(ctx, alias, target));
         return json::object();
       }},
      {"DeleteAlias",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string alias = in.RequiredString("AliasName");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.DeleteAlias(ctx, alias));
         return json::object();
       }},
      {"ListAliases",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         auto key_id = in.String("KeyId");
         auto limit = in.Integer("Limit");
         auto marker = in.String("Marker");
         HANGAR_CHECK_INPUT(in);
         std::optional<std::string_view> filter;
         if (key_id) filter = *key_id;
         HANGAR_ASSIGN_OR_RETURN(auto page, s.ListAliases(ctx, filter,
                                                          static_cast<int>(limit.value_or(50)),
                                                          marker.value_or("")));
         json aliases = json::array();
         for (const auto& a : page.items) {
           json entry = {{"AliasName", a.alias_name}, {"AliasArn", a.alias_arn}};
           // A predefined AWS alias whose managed key does not exist yet has no target.
           if (!a.target_key_id.empty()) {
             entry["TargetKeyId"] = a.target_key_id;
             entry["CreationDate"] = EpochSeconds(a.created_ms);
             entry["LastUpdatedDate"] = EpochSeconds(a.updated_ms);
           }
           aliases.push_back(std::move(entry));
         }
         json out = {{"Aliases", aliases}};
         AddPaging(out, page);
         return out;
       }},
      {"TagResource",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto tags = in.Tags("Tags", true);
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.TagResource(ctx, key_id, tags));
         return json::object();
       }},
      {"UntagResource",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto keys = in.StringList("TagKeys", true);
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.UntagResource(ctx, key_id, keys));
         return json::object();
       }},
      {"ListResourceTags",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto limit = in.Integer("Limit");
         auto marker = in.String("Marker");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto page,
                                 s.ListResourceTags(ctx, key_id, static_cast<int>(limit.value_or(50)),
                                                    marker.value_or("")));
         json tags = json::array();
         for (const auto& t : page.items) tags.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
         json out = {{"Tags", tags}};
         AddPaging(out, page);
         return out;
       }},
      {"GetKeyPolicy",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         std::string name = in.String("PolicyName").value_or("default");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(std::string policy, s.GetKeyPolicy(ctx, key_id, name));
         return json{{"Policy", policy}, {"PolicyName", name}};
       }},
      {"PutKeyPolicy",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         std::string policy = in.RequiredString("Policy");
         std::string name = in.String("PolicyName").value_or("default");
         bool bypass = in.Boolean("BypassPolicyLockoutSafetyCheck");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.PutKeyPolicy(ctx, key_id, name, policy, bypass));
         return json::object();
       }},
      {"ListKeyPolicies",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto limit = in.Integer("Limit");
         auto marker = in.String("Marker");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto page,
                                 s.ListKeyPolicies(ctx, key_id, static_cast<int>(limit.value_or(100)),
                                                   marker.value_or("")));
         json out = {{"PolicyNames", page.items}};
         AddPaging(out, page);
         return out;
       }},
      {"EnableKeyRotation",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto period = in.Integer("RotationPeriodInDays");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.EnableKeyRotation(ctx, key_id, period));
         return json::object();
       }},
      {"DisableKeyRotation",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.DisableKeyRotation(ctx, key_id));
         return json::object();
       }},
      {"GetKeyRotationStatus",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto st, s.GetKeyRotationStatus(ctx, key_id));
         json out = {{"KeyRotationEnabled", st.enabled}, {"KeyId", st.key_arn}};
         if (st.period_days) out["RotationPeriodInDays"] = *st.period_days;
         if (st.next_rotation_ms) out["NextRotationDate"] = EpochSeconds(*st.next_rotation_ms);
         return out;
       }},
      {"RotateKeyOnDemand",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(std::string arn, s.RotateKeyOnDemand(ctx, key_id));
         return json{{"KeyId", arn}};
       }},
      {"ListKeyRotations",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto include = in.String("IncludeKeyMaterial");
         auto limit = in.Integer("Limit");
         auto marker = in.String("Marker");
         HANGAR_CHECK_INPUT(in);
         if (include) {
           ValidationErrors v;
           v.CheckEnum(*include, "includeKeyMaterial", {"ALL_KEY_MATERIAL", "ROTATIONS_ONLY"});
           HANGAR_RETURN_IF_ERROR(v.ToStatus());
         }
         HANGAR_ASSIGN_OR_RETURN(
             auto page, s.ListKeyRotations(ctx, key_id, include == "ALL_KEY_MATERIAL",
                                           static_cast<int>(limit.value_or(100)),
                                           marker.value_or("")));
         json rotations = json::array();
         for (const auto& r : page.items) {
           json entry = {{"KeyId", r.key_arn},
                         {"KeyMaterialId", r.material_id},
                         {"KeyMaterialState", r.material_state},
                         {"RotationDate", EpochSeconds(r.rotation_ms)}};
           if (!r.rotation_type.empty()) entry["RotationType"] = r.rotation_type;
           rotations.push_back(std::move(entry));
         }
         json out = {{"Rotations", rotations}};
         AddPaging(out, page);
         return out;
       }},
      {"Encrypt",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         EncryptInput input;
         input.key_id = in.RequiredString("KeyId");
         input.plaintext = in.Blob("Plaintext", true).value_or("");
         input.context = in.Context("EncryptionContext");
         input.algorithm = in.String("EncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
         input.dry_run = in.Boolean("DryRun");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         auto out = s.Encrypt(ctx, input);
         OPENSSL_cleanse(input.plaintext.data(), input.plaintext.size());
         if (!out.ok()) return out.status();
         return json{{"CiphertextBlob", B64(out->ciphertext)},
                     {"KeyId", out->key_arn},
                     {"EncryptionAlgorithm", out->algorithm}};
       }},
      {"Decrypt",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         DecryptInput input;
         input.dry_run = in.Boolean("DryRun");
         input.ignore_ciphertext = input.dry_run && IgnoresCiphertext(in);
         input.ciphertext = in.Blob("CiphertextBlob", !input.ignore_ciphertext).value_or("");
         input.context = in.Context("EncryptionContext");
         input.key_id = in.String("KeyId", input.ignore_ciphertext);
         input.algorithm = in.String("EncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(DecryptOutput out, s.Decrypt(ctx, input));
         json response = {{"KeyId", out.key_arn},
                          {"Plaintext", B64(out.plaintext)},
                          {"EncryptionAlgorithm", out.algorithm}};
         if (!out.material_id.empty()) response["KeyMaterialId"] = out.material_id;
         return response;
       }},
      {"ReEncrypt",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         ReEncryptInput input;
         input.dry_run = in.Boolean("DryRun");
         input.ignore_ciphertext = input.dry_run && IgnoresCiphertext(in);
         input.ciphertext = in.Blob("CiphertextBlob", !input.ignore_ciphertext).value_or("");
         input.source_context = in.Context("SourceEncryptionContext");
         input.source_key_id = in.String("SourceKeyId", input.ignore_ciphertext);
         input.destination_key_id = in.RequiredString("DestinationKeyId");
         input.destination_context = in.Context("DestinationEncryptionContext");
         input.source_algorithm =
             in.String("SourceEncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
         input.destination_algorithm =
             in.String("DestinationEncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(ReEncryptOutput out, s.ReEncrypt(ctx, input));
         json response = {{"CiphertextBlob", B64(out.ciphertext)},
                          {"SourceKeyId", out.source_key_arn},
                          {"KeyId", out.key_arn},
                          {"SourceEncryptionAlgorithm", out.source_algorithm},
                          {"DestinationEncryptionAlgorithm", out.destination_algorithm}};
         if (!out.source_material_id.empty()) {
           response["SourceKeyMaterialId"] = out.source_material_id;
         }
         if (!out.destination_material_id.empty()) {
           response["DestinationKeyMaterialId"] = out.destination_material_id;
         }
         return response;
       }},
      {"GenerateDataKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         GenerateDataKeyInput input = ReadGenerateDataKeyInput(in);
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(GenerateDataKeyOutput out,
                                 s.GenerateDataKey(ctx, input, /*with_plaintext=*/true));
         return json{{"CiphertextBlob", B64(out.ciphertext)},
                     {"Plaintext", B64(out.plaintext)},
                     {"KeyId", out.key_arn},
                     {"KeyMaterialId", out.material_id}};
       }},
      {"GenerateDataKeyWithoutPlaintext",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         GenerateDataKeyInput input = ReadGenerateDataKeyInput(in);
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(GenerateDataKeyOutput out,
                                 s.GenerateDataKey(ctx, input, /*with_plaintext=*/false));
         return json{{"CiphertextBlob", B64(out.ciphertext)},
                     {"KeyId", out.key_arn},
                     {"KeyMaterialId", out.material_id}};
       }},
      {"GetPublicKey",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(KeyRecord k, s.GetPublicKey(ctx, key_id));
         json out = {{"KeyId", k.arn},
                     {"PublicKey", B64(k.public_key)},
                     {"CustomerMasterKeySpec", k.key_spec},
                     {"KeySpec", k.key_spec},
                     {"KeyUsage", k.key_usage}};
         AddAlgorithms(out, k);
         return out;
       }},
      {"Sign",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         SignInput input = ReadSignInput(in);
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         auto out_or = s.Sign(ctx, input);
         OPENSSL_cleanse(input.message.data(), input.message.size());
         HANGAR_ASSIGN_OR_RETURN(SignOutput out, std::move(out_or));
         return json{{"KeyId", out.key_arn},
                     {"Signature", B64(out.signature)},
                     {"SigningAlgorithm", out.algorithm}};
       }},
      {"Verify",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         SignInput input = ReadSignInput(in);
         input.signature = in.Blob("Signature", true).value_or("");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         auto out_or = s.Verify(ctx, input);
         OPENSSL_cleanse(input.message.data(), input.message.size());
         HANGAR_ASSIGN_OR_RETURN(SignOutput out, std::move(out_or));
         return json{{"KeyId", out.key_arn},
                     {"SignatureValid", true},
                     {"SigningAlgorithm", out.algorithm}};
       }},
      {"GenerateMac",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         MacInput input = ReadMacInput(in);
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         auto out_or = s.GenerateMac(ctx, input);
         OPENSSL_cleanse(input.message.data(), input.message.size());
         HANGAR_ASSIGN_OR_RETURN(MacOutput out, std::move(out_or));
         return json{{"Mac", B64(out.mac)},
                     {"MacAlgorithm", out.algorithm},
                     {"KeyId", out.key_arn}};
       }},
      {"VerifyMac",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         MacInput input = ReadMacInput(in);
         input.mac = in.Blob("Mac", true).value_or("");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         auto out_or = s.VerifyMac(ctx, input);
         OPENSSL_cleanse(input.message.data(), input.message.size());
         HANGAR_ASSIGN_OR_RETURN(MacOutput out, std::move(out_or));
         return json{{"KeyId", out.key_arn},
                     {"MacValid", true},
                     {"MacAlgorithm", out.algorithm}};
       }},
      {"DeriveSharedSecret",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         DeriveSharedSecretInput input;
         input.key_id = in.RequiredString("KeyId");
         input.algorithm = in.RequiredString("KeyAgreementAlgorithm");
         input.public_key = in.Blob("PublicKey", true).value_or("");
         input.dry_run = in.Boolean("DryRun");
         if (in.Has("Recipient")) {
           return Error(ErrorCode::kKmsUnsupportedOperation,
                        "Recipient (Nitro Enclaves attestation) is not supported by this "
                        "server.");
         }
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(DeriveSharedSecretOutput out, s.DeriveSharedSecret(ctx, input));
         return json{{"KeyId", out.key_arn},
                     {"SharedSecret", B64(out.shared_secret)},
                     {"KeyAgreementAlgorithm", out.algorithm},
                     {"KeyOrigin", out.origin}};
       }},
      {"GenerateDataKeyPair",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         return DataKeyPair(s, ctx, in, /*with_plaintext=*/true);
       }},
      {"GenerateDataKeyPairWithoutPlaintext",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         return DataKeyPair(s, ctx, in, /*with_plaintext=*/false);
       }},
      {"GetParametersForImport",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         std::string algorithm = in.RequiredString("WrappingAlgorithm");
         std::string spec = in.RequiredString("WrappingKeySpec");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(ImportParameters out,
                                 s.GetParametersForImport(ctx, key_id, algorithm, spec));
         return json{{"KeyId", out.key_arn},
                     {"ImportToken", B64(out.import_token)},
                     {"PublicKey", B64(out.public_key)},
                     {"ParametersValidTo", EpochSeconds(out.valid_to_ms)}};
       }},
      {"ImportKeyMaterial",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         ImportKeyMaterialInput input;
         input.key_id = in.RequiredString("KeyId");
         input.import_token = in.Blob("ImportToken", true).value_or("");
         input.encrypted_key_material = in.Blob("EncryptedKeyMaterial", true).value_or("");
         input.expiration_model = in.String("ExpirationModel");
         input.valid_to_ms = in.Timestamp("ValidTo");
         input.import_type = in.String("ImportType");
         in.String("KeyMaterialDescription");
         in.String("KeyMaterialId");
         HANGAR_CHECK_INPUT(in);
         auto out = s.ImportKeyMaterial(ctx, input);
         OPENSSL_cleanse(input.encrypted_key_material.data(), input.encrypted_key_material.size());
         if (!out.ok()) return out.status();
         return json{{"KeyId", out->key_arn}, {"KeyMaterialId", out->material_id}};
       }},
      {"DeleteImportedKeyMaterial",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         auto material_id = in.String("KeyMaterialId");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(ImportedMaterial out,
                                 s.DeleteImportedKeyMaterial(ctx, key_id, material_id));
         json response = {{"KeyId", out.key_arn}};
         if (!out.material_id.empty()) response["KeyMaterialId"] = out.material_id;
         return response;
       }},
      {"CreateGrant",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         CreateGrantInput input;
         input.key_id = in.RequiredString("KeyId");
         input.grantee_principal = in.RequiredString("GranteePrincipal");
         input.retiring_principal = in.String("RetiringPrincipal");
         input.operations = in.StringList("Operations", true);
         input.constraints = in.Constraints("Constraints");
         input.name = in.String("Name");
         input.dry_run = in.Boolean("DryRun");
         Status tokens = in.GrantTokens();
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(tokens);
         HANGAR_ASSIGN_OR_RETURN(CreateGrantOutput out, s.CreateGrant(ctx, input));
         return json{{"GrantToken", out.grant_token}, {"GrantId", out.grant_id}};
       }},
      {"ListGrants",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         ListGrantsInput input;
         input.key_id = in.RequiredString("KeyId");
         input.grant_id = in.String("GrantId");
         input.grantee_principal = in.String("GranteePrincipal");
         input.limit = static_cast<int>(in.Integer("Limit").value_or(50));
         input.marker = in.String("Marker").value_or("");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(auto page, s.ListGrants(ctx, input));
         return GrantPageJson(page);
       }},
      {"ListRetirableGrants",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string principal = in.RequiredString("RetiringPrincipal");
         auto limit = in.Integer("Limit");
         auto marker = in.String("Marker");
         HANGAR_CHECK_INPUT(in);
         HANGAR_ASSIGN_OR_RETURN(
             auto page, s.ListRetirableGrants(ctx, principal, static_cast<int>(limit.value_or(50)),
                                              marker.value_or("")));
         return GrantPageJson(page);
       }},
      {"RetireGrant",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         RetireGrantInput input;
         input.grant_token = in.String("GrantToken");
         input.key_id = in.String("KeyId");
         input.grant_id = in.String("GrantId");
         input.dry_run = in.Boolean("DryRun");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.RetireGrant(ctx, input));
         return json::object();
       }},
      {"RevokeGrant",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         std::string key_id = in.RequiredString("KeyId");
         std::string grant_id = in.RequiredString("GrantId");
         bool dry_run = in.Boolean("DryRun");
         HANGAR_CHECK_INPUT(in);
         HANGAR_RETURN_IF_ERROR(s.RevokeGrant(ctx, key_id, grant_id, dry_run));
         return json::object();
       }},
      {"GenerateRandom",
       [](KeyService& s, const auth::RequestContext& ctx, Input& in) -> Result<json> {
         auto n = in.Integer("NumberOfBytes");
         auto store = in.String("CustomKeyStoreId");
         HANGAR_CHECK_INPUT(in);
         // Hangar has no custom key stores, so no id names one (AWS's answer for an unknown id).
         if (store) {
           ValidationErrors v;
           v.CheckLength(*store, "customKeyStoreId", 1, 64);
           HANGAR_RETURN_IF_ERROR(v.ToStatus());
           return Error(ErrorCode::kKmsCustomKeyStoreNotFound, "");
         }
         HANGAR_ASSIGN_OR_RETURN(SecretBytes bytes, s.GenerateRandom(ctx, n));
         return json{{"Plaintext", B64(bytes)}};
       }},
  };
  return *handlers;
}

// AWS KMS operations that exist but are not offered yet: answered as unsupported, not unknown.
const std::unordered_set<std::string_view>& LaterOperations() {
  static const auto* ops = new std::unordered_set<std::string_view>{
      "CreateCustomKeyStore", "DescribeCustomKeyStores",
      "UpdateCustomKeyStore", "DeleteCustomKeyStore", "ConnectCustomKeyStore",
      "DisconnectCustomKeyStore", "GetKeyLastUsage"};
  return *ops;
}

// Members CloudTrail leaves out: key material, secrets and what they protect, and blobs a record
// has no use for (messages, signatures, MACs, public keys).
bool SecretMember(std::string_view name) {
  static const auto* names = new std::unordered_set<std::string_view>{
      "Plaintext", "CiphertextBlob", "CiphertextForRecipient", "GrantToken",
      "PrivateKeyPlaintext", "PrivateKeyCiphertextBlob", "SharedSecret", "Message", "Signature",
      "Mac", "PublicKey", "EncryptedKeyMaterial", "ImportToken"};
  return names->contains(name);
}

// Request or response members as CloudTrail records them: camelCase names all the way down,
// without plaintexts, data keys, ciphertext blobs or grant tokens (docs/reference/audit.md §2).
// Written straight from the parsed request, without a second tree: this runs for every request.
// `verbatim`: an encryption context, recorded as given (its keys are the caller's, not members).
void AppendForAudit(std::string& out, const json& value, bool verbatim = false) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [name, member] : value.items()) {
      if (!verbatim && SecretMember(name)) continue;
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, verbatim ? name : MemberPath(name));
      out += ':';
      AppendForAudit(out, member, verbatim || name == "EncryptionContext");
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ',';
      AppendForAudit(out, value[i], verbatim);
    }
    out += ']';
  } else if (value.is_string()) {
    AppendJsonString(out, value.get_ref<const std::string&>());
  } else {
    out += value.dump();
  }
}

std::string ForAudit(const json& value) {
  std::string out;
  AppendForAudit(out, value);
  return out;
}

bool RecordsResponse(std::string_view operation) {
  for (std::string_view prefix : {"Create", "Update", "Put", "Enable", "Disable", "Schedule",
                                  "Cancel", "Tag", "Untag", "Delete", "Rotate", "Retire",
                                  "Revoke", "Replicate", "Import"}) {
    if (operation.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

bool KmsApi::RunsInline(std::string_view operation) {
  static const auto* inline_ops = new std::unordered_set<std::string_view>{
      "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
      "GenerateRandom", "Verify", "GenerateMac", "VerifyMac", "GetPublicKey"};
  return inline_ops->contains(operation);
}

bool KmsApi::IsReadOnly(std::string_view operation) {
  // Private-key work is left off the inline set (an RSA_4096 signature costs 4 ms, a key pair a
  // second: on an I/O thread that would stall every connection it serves) but changes nothing,
  // as CloudTrail marks it.
  return operation.starts_with("Describe") || operation.starts_with("Get") ||
         operation.starts_with("List") || RunsInline(operation) || operation == "Sign" ||
         operation == "DeriveSharedSecret" || operation.starts_with("GenerateDataKeyPair");
}

Result<std::string> KmsApi::Call(const auth::RequestContext& ctx, std::string_view operation,
                                 std::string_view body) {
  const auto& handlers = Handlers();
  auto it = handlers.find(operation);
  if (it == handlers.end()) {
    if (LaterOperations().contains(operation)) {
      return Error(ErrorCode::kNotImplemented,
                   "Operation " + std::string(operation) + " is not supported by this server yet.");
    }
    return Error(ErrorCode::kUnknownOperation, "");
  }
  // An empty body is an empty request object (the aws CLI sends "{}", others may send nothing).
  // Nesting is bounded before a tree is built: a body nested 500,000 deep must cost nothing.
  json request = body.empty() ? json::object()
                 : JsonNestingWithin(body, kMaxJsonDepth)
                     ? json::parse(body, nullptr, /*allow_exceptions=*/false)
                     : json(json::value_t::discarded);
  if (request.is_discarded()) {
    return Error(ErrorCode::kSerialization, "Start of structure or map found where not expected.");
  }
  if (!request.is_object()) {
    return Error(ErrorCode::kSerialization, "Request body must be a JSON object.");
  }
  if (ctx.audit) ctx.audit->request_parameters = ForAudit(request);
  Input input(request);
  auto result = it->second(service_, ctx, input);
  if (ctx.audit && (operation == "Decrypt" || operation == "ReEncrypt")) {
    // As AWS records them: the key the ciphertext named (resolved) and the algorithm used.
    json params = json::parse(ForAudit(request));
    if (!ctx.audit->resources.empty() && !params.contains("keyId")) {
      params["keyId"] = ctx.audit->resources.front().arn;
    }
    if (operation == "Decrypt" && !params.contains("encryptionAlgorithm")) {
      params["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT";
    }
    ctx.audit->request_parameters = params.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (!result.ok()) return result.status();
  json response = std::move(result).value();
  if (ctx.audit && RecordsResponse(operation)) {
    ctx.audit->response_elements = ForAudit(response);
  }
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hangar::kms
