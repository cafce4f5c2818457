#include "s3/records.h"

#include "common/stored_json.h"

namespace hangar::s3 {
namespace {

using nlohmann::json;

json ChecksumJson(const std::optional<ChecksumValue>& c) {
  if (!c) return nullptr;
  return {{"algorithm", c->algorithm}, {"value", c->value}, {"type", c->type}};
}

std::optional<ChecksumValue> ChecksumFrom(const json& j) {
  if (j.is_null()) return std::nullopt;
  return ChecksumValue{j.at("algorithm").get<std::string>(), j.at("value").get<std::string>(),
                       j.at("type").get<std::string>()};
}

json HeadersJson(const ContentHeaders& h) {
  return {{"type", h.content_type},         {"encoding", h.content_encoding},
          {"disposition", h.content_disposition}, {"language", h.content_language},
          {"cache_control", h.cache_control}, {"expires", h.expires}};
}

ContentHeaders HeadersFrom(const json& j) {
  return {j.at("type").get<std::string>(),        j.at("encoding").get<std::string>(),
          j.at("disposition").get<std::string>(), j.at("language").get<std::string>(),
          j.at("cache_control").get<std::string>(), j.at("expires").get<std::string>()};
}

json EncryptionJson(const ObjectEncryption& e) {
  return {{"mode", e.mode},
          {"kms_key_arn", e.kms_key_arn},
          {"bucket_key", e.bucket_key},
          {"context", e.context_json},
          {"customer_key_md5", e.customer_key_md5},
          {"customer_key_hmac", e.customer_key_hmac},
          {"customer_key_salt", e.customer_key_salt}};
}

ObjectEncryption EncryptionFrom(const json& j) {
  ObjectEncryption e;
  e.mode = j.at("mode").get<std::string>();
  e.kms_key_arn = j.at("kms_key_arn").get<std::string>();
  e.bucket_key = j.at("bucket_key").get<bool>();
  e.context_json = j.at("context").get<std::string>();
  e.customer_key_md5 = j.at("customer_key_md5").get<std::string>();
  e.customer_key_hmac = j.at("customer_key_hmac").get<std::string>();
  e.customer_key_salt = j.at("customer_key_salt").get<std::string>();
  return e;
}

json KeysJson(const SegmentKeys& k) {
  return {{"salt", k.salt},
          {"wrapped", k.wrapped_key},
          {"kms", k.kms_ciphertext},
          {"salt2", k.salt2},
          {"kms2", k.kms_ciphertext2}};
}

SegmentKeys KeysFrom(const json& j) {
  return SegmentKeys{j.at("salt").get<std::string>(), j.at("wrapped").get<std::string>(),
                     j.at("kms").get<std::string>(), j.at("salt2").get<std::string>(),
                     j.at("kms2").get<std::string>()};
}

json AclJson(const AccessControlList& acl) {
  json out = json::array();
  for (const AclGrant& g : acl) out.push_back({g.account, g.group, g.permission});
  return out;
}

std::optional<AccessControlList> AclFrom(const json& j, const char* name) {
  if (!j.contains(name)) return std::nullopt;
  AccessControlList acl;
  for (const json& g : j.at(name)) {
    acl.push_back({g.at(0).get<std::string>(), g.at(1).get<std::string>(),
                   g.at(2).get<std::string>()});
  }
  return acl;
}

// The ownership fields of objects and uploads, written only when set.
void AddOwnership(json& j, const std::string& owner, const std::optional<AccessControlList>& acl) {
  if (!owner.empty()) j["object_owner"] = owner;
  if (acl) j["acl"] = AclJson(*acl);
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::strict); }

}  // namespace

json PublicAccessBlockJson(const PublicAccessBlock& b) {
  return {{"block_public_acls", b.block_public_acls},
          {"ignore_public_acls", b.ignore_public_acls},
          {"block_public_policy", b.block_public_policy},
          {"restrict_public_buckets", b.restrict_public_buckets}};
}

PublicAccessBlock PublicAccessBlockFrom(const json& j) {
  return PublicAccessBlock{j.at("block_public_acls").get<bool>(),
                           j.at("ignore_public_acls").get<bool>(),
                           j.at("block_public_policy").get<bool>(),
                           j.at("restrict_public_buckets").get<bool>()};
}

std::string EncodePublicAccessBlock(const PublicAccessBlock& b) {
  return Dump(PublicAccessBlockJson(b));
}

Result<PublicAccessBlock> DecodePublicAccessBlock(std::string_view text) {
  return DecodeStored<PublicAccessBlock>(text, "public access block", PublicAccessBlockFrom);
}

namespace {

json CorsRulesJson(const std::vector<CorsRule>& rules) {
  json out = json::array();
  for (const CorsRule& r : rules) {
    json j = {{"id", r.id},
              {"methods", r.allowed_methods},
              {"origins", r.allowed_origins},
              {"headers", r.allowed_headers},
              {"expose", r.expose_headers}};
    if (r.max_age_seconds) j["max_age"] = *r.max_age_seconds;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<CorsRule> CorsRulesFrom(const json& rules) {
  std::vector<CorsRule> out;
  for (const json& j : rules) {
    CorsRule r;
    r.id = j.at("id").get<std::string>();
    r.allowed_methods = j.at("methods").get<std::vector<std::string>>();
    r.allowed_origins = j.at("origins").get<std::vector<std::string>>();
    r.allowed_headers = j.at("headers").get<std::vector<std::string>>();
    r.expose_headers = j.at("expose").get<std::vector<std::string>>();
    if (j.contains("max_age")) r.max_age_seconds = j.at("max_age").get<int64_t>();
    out.push_back(std::move(r));
  }
  return out;
}


void AddLock(json& j, const ObjectLock& lock) {
  if (!lock.mode.empty()) {
    j["lock_mode"] = lock.mode;
    j["lock_until_ms"] = lock.until_ms;
  }
  if (!lock.legal_hold.empty()) j["legal_hold"] = lock.legal_hold;
}

ObjectLock LockFrom(const json& j) {
  return ObjectLock{j.value("lock_mode", ""), j.value("lock_until_ms", int64_t{0}),
                    j.value("legal_hold", "")};
}


json TransitionsJson(const std::vector<LifecycleTransition>& transitions) {
  json out = json::array();
  for (const auto& t : transitions) {
    json j = {{"class", t.storage_class}};
    if (t.days) j["days"] = *t.days;
    if (t.date_ms) j["date_ms"] = *t.date_ms;
    if (t.newer_noncurrent_versions) j["newer"] = *t.newer_noncurrent_versions;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<LifecycleTransition> TransitionsFrom(const json& j) {
  std::vector<LifecycleTransition> out;
  for (const auto& t : j) {
    LifecycleTransition x;
    x.storage_class = t.at("class").get<std::string>();
    if (t.contains("days")) x.days = t.at("days").get<int>();
    if (t.contains("date_ms")) x.date_ms = t.at("date_ms").get<int64_t>();
    if (t.contains("newer")) x.newer_noncurrent_versions = t.at("newer").get<int>();
    out.push_back(std::move(x));
  }
  return out;
}

template <typename T>
void PutOptional(json& j, const char* name, const std::optional<T>& v) {
  if (v) j[name] = *v;
}

template <typename T>
void GetOptional(const json& j, const char* name, std::optional<T>& v) {
  if (j.contains(name)) v = j.at(name).get<T>();
}

json LifecycleJson(const LifecycleConfiguration& c) {
  json rules = json::array();
  for (const LifecycleRule& r : c.rules) {
    json j = {{"id", r.id},
              {"enabled", r.enabled},
              {"prefix", r.filter.prefix},
              {"tags", PairsJson(r.filter.tags)},
              {"form", static_cast<int>(r.filter.form)},
              {"prefix_element", r.filter.prefix_element},
              {"expired_marker", r.expired_object_delete_marker},
              {"transitions", TransitionsJson(r.transitions)},
              {"noncurrent_transitions", TransitionsJson(r.noncurrent_transitions)}};
    PutOptional(j, "gt", r.filter.size_greater_than);
    PutOptional(j, "lt", r.filter.size_less_than);
    PutOptional(j, "days", r.expiration_days);
    PutOptional(j, "date_ms", r.expiration_date_ms);
    PutOptional(j, "noncurrent_days", r.noncurrent_days);
    PutOptional(j, "newer", r.newer_noncurrent_versions);
    PutOptional(j, "abort_days", r.abort_after_days);
    rules.push_back(std::move(j));
  }
  return {{"rules", rules}, {"min_size", c.transition_minimum_size}};
}

LifecycleConfiguration LifecycleFrom(const json& j) {
  LifecycleConfiguration c;
  c.transition_minimum_size = j.value("min_size", "");
  for (const auto& r : j.at("rules")) {
    LifecycleRule rule;
    rule.id = r.at("id").get<std::string>();
    rule.enabled = r.at("enabled").get<bool>();
    rule.filter.prefix = r.at("prefix").get<std::string>();
    rule.filter.tags = PairsFrom(r.at("tags"));
    rule.filter.form = static_cast<LifecycleFilter::Form>(r.at("form").get<int>());
    rule.filter.prefix_element = r.value("prefix_element", true);
    GetOptional(r, "gt", rule.filter.size_greater_than);
    GetOptional(r, "lt", rule.filter.size_less_than);
    GetOptional(r, "days", rule.expiration_days);
    GetOptional(r, "date_ms", rule.expiration_date_ms);
    rule.expired_object_delete_marker = r.at("expired_marker").get<bool>();
    GetOptional(r, "noncurrent_days", rule.noncurrent_days);
    GetOptional(r, "newer", rule.newer_noncurrent_versions);
    GetOptional(r, "abort_days", rule.abort_after_days);
    rule.transitions = TransitionsFrom(r.at("transitions"));
    rule.noncurrent_transitions = TransitionsFrom(r.at("noncurrent_transitions"));
    c.rules.push_back(std::move(rule));
  }
  return c;
}

}  // namespace

std::string EncodeBucket(const BucketRecord& b) {
  json j = {{"name", b.name},
               {"owner", b.owner_account},
               {"region", b.region},
               {"created_ms", b.created_ms},
               {"tags", PairsJson(b.tags)},
               {"has_tags", b.has_tags},
               {"sse", {{"algorithm", b.encryption.algorithm},
                        {"kms_key_id", b.encryption.kms_key_id},
                        {"bucket_key", b.encryption.bucket_key_enabled},
                        {"configured", b.encryption.configured}}}};
  if (!b.policy.empty()) j["policy"] = b.policy;
  if (b.public_access_block) j["public_access_block"] = PublicAccessBlockJson(*b.public_access_block);
  if (!b.cors_rules.empty()) j["cors"] = CorsRulesJson(b.cors_rules);
  if (!b.incarnation.empty()) j["incarnation"] = b.incarnation;
  if (b.deleting) j["deleting"] = true;
  if (!b.versioning.empty()) j["versioning"] = b.versioning;
  if (!b.mfa_delete.empty()) j["mfa_delete"] = b.mfa_delete;
  if (b.object_lock_enabled) j["object_lock"] = true;
  if (b.lifecycle) j["lifecycle"] = LifecycleJson(*b.lifecycle);
  if (!b.default_retention.mode.empty()) {
    j["default_retention"] = {{"mode", b.default_retention.mode},
                              {"days", b.default_retention.days},
                              {"years", b.default_retention.years}};
  }
  if (!b.object_ownership.empty()) j["object_ownership"] = b.object_ownership;
  if (b.acl) j["acl"] = AclJson(*b.acl);
  return Dump(j);
}

Result<BucketRecord> DecodeBucket(std::string_view text) {
  return DecodeStored<BucketRecord>(text, "bucket", [](const json& j) {
    const json& sse = j.at("sse");
    BucketRecord b{j.at("name").get<std::string>(), j.at("owner").get<std::string>(),
                   j.at("region").get<std::string>(), j.at("created_ms").get<int64_t>(),
                   PairsFrom(j.at("tags")), j.at("has_tags").get<bool>(),
                   BucketEncryption{sse.at("algorithm").get<std::string>(),
                                    sse.at("kms_key_id").get<std::string>(),
                                    sse.at("bucket_key").get<bool>(),
                                    sse.value("configured", false)}};
    b.policy = j.value("policy", "");
    if (j.contains("public_access_block")) {
      b.public_access_block = PublicAccessBlockFrom(j.at("public_access_block"));
    }
    if (j.contains("cors")) b.cors_rules = CorsRulesFrom(j.at("cors"));
    b.incarnation = j.value("incarnation", "");
    b.deleting = j.value("deleting", false);
    b.versioning = j.value("versioning", "");
    b.mfa_delete = j.value("mfa_delete", "");
    b.object_lock_enabled = j.value("object_lock", false);
    if (j.contains("lifecycle")) b.lifecycle = LifecycleFrom(j.at("lifecycle"));
    if (j.contains("default_retention")) {
      const json& r = j.at("default_retention");
      b.default_retention = {r.at("mode").get<std::string>(), r.at("days").get<int>(),
                             r.at("years").get<int>()};
    }
    b.object_ownership = j.value("object_ownership", "");
    b.acl = AclFrom(j, "acl");
    return b;
  });
}

std::string EncodeObject(const ObjectRecord& o) {
  json segments = json::array();
  for (const auto& s : o.segments) {
    json segment = {{"blob", s.blob_id},
                    {"size", s.size},
                    {"part", s.part_number},
                    {"etag", s.etag},
                    {"checksum", ChecksumJson(s.checksum)},
                    {"keys", KeysJson(s.keys)}};
    if (!s.inline_data.empty()) segment["inline"] = true;
    segments.push_back(std::move(segment));
  }
  json j = {{"bucket", o.bucket},
            {"key", o.key},
            {"size", o.size},
            {"etag", o.etag},
            {"last_modified_ms", o.last_modified_ms},
            {"headers", HeadersJson(o.headers)},
            {"meta", PairsJson(o.user_metadata)},
            {"tags", PairsJson(o.tags)},
            {"storage_class", o.storage_class},
            {"checksum", ChecksumJson(o.checksum)},
            {"segments", segments},
            {"parts_count", o.parts_count},
            {"sse", EncryptionJson(o.encryption)}};
  if (!o.version_id.empty()) j["version_id"] = o.version_id;
  if (o.version_stamp != 0) j["version_stamp"] = o.version_stamp;
  if (o.delete_marker) j["delete_marker"] = true;
  AddLock(j, o.lock);
  AddOwnership(j, o.owner_account, o.acl);
  std::string stored = Dump(j);
  for (const auto& s : o.segments) {
    if (s.inline_data.empty()) continue;
    stored.push_back('\0');
    stored += s.inline_data;
    break;  // a record keeps at most one segment inline: a single write's
  }
  return stored;
}

std::string_view ObjectRecordJson(std::string_view stored) {
  return stored.substr(0, stored.find('\0'));
}

// DecodeObject: listed_record.cc (simdjson, without a DOM: it runs on every GET and HEAD).

std::string EncodeUpload(const UploadRecord& u) {
  json j = {{"bucket", u.bucket},
               {"key", u.key},
               {"upload_id", u.upload_id},
               {"initiated_ms", u.initiated_ms},
               {"owner", u.owner_account},
               {"headers", HeadersJson(u.headers)},
               {"meta", PairsJson(u.user_metadata)},
               {"tags", PairsJson(u.tags)},
               {"storage_class", u.storage_class},
               {"checksum_algorithm", u.checksum_algorithm},
               {"checksum_type", u.checksum_type},
               {"sse", EncryptionJson(u.encryption)},
               {"keys", KeysJson(u.upload_keys)}};
  if (!u.bucket_incarnation.empty()) j["bucket_incarnation"] = u.bucket_incarnation;
  if (u.key_revision_at_start >= 0) j["key_revision_at_start"] = u.key_revision_at_start;
  AddLock(j, u.lock);
  AddOwnership(j, u.object_owner, u.acl);
  return Dump(j);
}

Result<UploadRecord> DecodeUpload(std::string_view text) {
  return DecodeStored<UploadRecord>(text, "upload", [](const json& j) {
    UploadRecord u;
    u.bucket = j.at("bucket").get<std::string>();
    u.key = j.at("key").get<std::string>();
    u.upload_id = j.at("upload_id").get<std::string>();
    u.initiated_ms = j.at("initiated_ms").get<int64_t>();
    u.owner_account = j.at("owner").get<std::string>();
    u.headers = HeadersFrom(j.at("headers"));
    u.user_metadata = PairsFrom(j.at("meta"));
    u.tags = PairsFrom(j.at("tags"));
    u.storage_class = j.at("storage_class").get<std::string>();
    u.checksum_algorithm = j.at("checksum_algorithm").get<std::string>();
    u.checksum_type = j.at("checksum_type").get<std::string>();
    u.encryption = EncryptionFrom(j.at("sse"));
    u.upload_keys = KeysFrom(j.at("keys"));
    u.bucket_incarnation = j.value("bucket_incarnation", "");
    u.key_revision_at_start = j.value("key_revision_at_start", int64_t{-1});
    u.lock = LockFrom(j);
    u.object_owner = j.value("object_owner", "");
    u.acl = AclFrom(j, "acl");
    return u;
  });
}

std::string EncodePart(const PartRecord& p) {
  json j = {{"part", p.part_number},
            {"size", p.size},
            {"etag", p.etag},
            {"blob", p.blob_id},
            {"last_modified_ms", p.last_modified_ms},
            {"checksum", ChecksumJson(p.checksum)},
            {"keys", KeysJson(p.keys)}};
  if (!p.default_crc64nvme.empty()) j["crc64nvme"] = p.default_crc64nvme;
  return Dump(j);
}

Result<PartRecord> DecodePart(std::string_view text) {
  return DecodeStored<PartRecord>(text, "part", [](const json& j) {
    return PartRecord{j.at("part").get<int>(),          j.at("size").get<uint64_t>(),
                      j.at("etag").get<std::string>(),  j.at("blob").get<std::string>(),
                      j.at("last_modified_ms").get<int64_t>(), ChecksumFrom(j.at("checksum")),
                      KeysFrom(j.at("keys")),           j.value("crc64nvme", "")};
  });
}

}  // namespace hangar::s3
