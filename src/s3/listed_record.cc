#include "s3/listed_record.h"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hangar::s3 {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Fields DecodeObject also requires: a record without one is corrupt, not merely old.
enum Required : unsigned {
  kKey = 1,
  kSize = 2,
  kEtag = 4,
  kLastModified = 8,
  kStorageClass = 16,
  kChecksum = 32,
  kAllRequired = 63,
};

error_code ReadString(od::value& v, std::string& out) {
  std::string_view s;
  if (auto e = v.get_string().get(s)) return e;
  out.assign(s);
  return simdjson::SUCCESS;
}

// ChecksumJson's form: null, or {"algorithm", "type", "value"}, all three present.
error_code ReadChecksum(od::value& v, std::optional<ChecksumValue>& out) {
  bool is_null = false;
  if (auto e = v.is_null().get(is_null)) return e;
  if (is_null) {
    out.reset();
    return simdjson::SUCCESS;
  }
  od::object object;
  if (auto e = v.get_object().get(object)) return e;
  ChecksumValue c;
  unsigned seen = 0;
  for (auto field : object) {
    std::string_view name;
    od::value value;
    if (auto e = field.unescaped_key().get(name)) return e;
    if (auto e = field.value().get(value)) return e;
    const unsigned bit = name == "algorithm" ? 1 : name == "value" ? 2 : name == "type" ? 4 : 0;
    if (bit == 0) continue;  // the value is skipped unread
    if (auto e = ReadString(value, bit == 1 ? c.algorithm : bit == 2 ? c.value : c.type)) return e;
    seen |= bit;
  }
  if (seen != 7) return simdjson::NO_SUCH_FIELD;
  out = std::move(c);
  return simdjson::SUCCESS;
}

// One top-level field of the record; fields a listing does not show are skipped unread.
error_code ReadField(std::string_view name, od::value& v, ObjectRecord& o, unsigned& seen) {
  auto text = [&](std::string& out, unsigned bit) {
    seen |= bit;
    return ReadString(v, out);
  };
  if (name == "bucket") return text(o.bucket, 0);
  if (name == "key") return text(o.key, kKey);
  if (name == "etag") return text(o.etag, kEtag);
  if (name == "storage_class") return text(o.storage_class, kStorageClass);
  if (name == "version_id") return text(o.version_id, 0);
  if (name == "object_owner") return text(o.owner_account, 0);  // listings name the owner
  if (name == "size") {
    seen |= kSize;
    return v.get_uint64().get(o.size);
  }
  if (name == "last_modified_ms") {
    seen |= kLastModified;
    return v.get_int64().get(o.last_modified_ms);
  }
  if (name == "version_stamp") return v.get_int64().get(o.version_stamp);
  if (name == "delete_marker") return v.get_bool().get(o.delete_marker);
  if (name == "checksum") {
    seen |= kChecksum;
    return ReadChecksum(v, o.checksum);
  }
  return simdjson::SUCCESS;
}

}  // namespace

struct ListedRecordDecoder::Impl {
  od::parser parser;
  std::string buffer;  // the record followed by the padding simdjson reads ahead into
};

ListedRecordDecoder::ListedRecordDecoder() : impl_(std::make_unique<Impl>()) {}
ListedRecordDecoder::~ListedRecordDecoder() = default;

Status ListedRecordDecoder::Decode(std::string_view stored, ObjectRecord& out) {
  const std::string_view text = ObjectRecordJson(stored);
  auto corrupt = [](error_code e) {
    return InternalError(std::string("stored object is corrupt: ") + simdjson::error_message(e));
  };
  impl_->buffer.assign(text);
  impl_->buffer.append(simdjson::SIMDJSON_PADDING, ' ');
  od::document doc;
  od::object object;
  if (auto e = impl_->parser.iterate(impl_->buffer.data(), text.size(), impl_->buffer.size())
                   .get(doc)) {
    return corrupt(e);
  }
  if (auto e = doc.get_object().get(object)) return corrupt(e);
  unsigned seen = 0;
  for (auto field : object) {
    std::string_view name;
    od::value value;
    if (auto e = field.unescaped_key().get(name)) return corrupt(e);
    if (auto e = field.value().get(value)) return corrupt(e);
    if (auto e = ReadField(name, value, out, seen)) return corrupt(e);
  }
  // Past the object's '}' there is nothing left to point at, unless something follows it.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return corrupt(simdjson::TRAILING_CONTENT);
  }
  if (seen != kAllRequired) return corrupt(simdjson::NO_SUCH_FIELD);
  return Status::Ok();
}

}  // namespace hangar::s3
