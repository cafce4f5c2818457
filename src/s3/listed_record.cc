#include "s3/listed_record.h"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

namespace hangar::s3 {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// The fields a record must have: without one it is corrupt, not merely old. A listing needs the
// first six (kListingRequired), DecodeObject all (kAllRequired).
enum Required : unsigned {
  kKey = 1,
  kSize = 2,
  kEtag = 4,
  kLastModified = 8,
  kStorageClass = 16,
  kChecksum = 32,
  kListingRequired = 63,
  kBucket = 64,
  kHeaders = 128,
  kMeta = 256,
  kTags = 512,
  kSegments = 1024,
  kPartsCount = 2048,
  kSse = 4096,
  kAllRequired = 8191,
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

// Marks `bit` as seen and passes on the result of reading it: keeps field tables one line each.
error_code Seen(unsigned& seen, unsigned bit, error_code read) {
  seen |= bit;
  return read;
}

// Calls `read(name, value)` for every field of the object `v`.
template <typename F>
error_code ForEachField(od::value& v, F&& read) {
  od::object object;
  if (auto e = v.get_object().get(object)) return e;
  for (auto field : object) {
    std::string_view name;
    od::value value;
    if (auto e = field.unescaped_key().get(name)) return e;
    if (auto e = field.value().get(value)) return e;
    if (auto e = read(name, value)) return e;
  }
  return simdjson::SUCCESS;
}

// Reads the string fields named in `fields` into their targets; every one must be present.
error_code ReadStringFields(od::value& v,
                            std::initializer_list<std::pair<std::string_view, std::string*>> fields) {
  unsigned seen = 0;
  auto e = ForEachField(v, [&](std::string_view name, od::value& value) -> error_code {
    unsigned bit = 1;
    for (const auto& [field, target] : fields) {
      if (name == field) {
        seen |= bit;
        return ReadString(value, *target);
      }
      bit <<= 1;
    }
    return simdjson::SUCCESS;
  });
  if (e) return e;
  return seen == (1u << fields.size()) - 1 ? simdjson::SUCCESS : simdjson::NO_SUCH_FIELD;
}

// [[a, b, ...], ...]: each inner array of exactly `targets.size()` strings.
template <size_t N, typename Add>
error_code ReadStringTuples(od::value& v, Add&& add) {
  od::array outer;
  if (auto e = v.get_array().get(outer)) return e;
  for (auto item : outer) {
    od::array inner;
    if (auto e = item.get_array().get(inner)) return e;
    std::array<std::string, N> tuple;
    size_t n = 0;
    for (auto element : inner) {
      if (n == N) return simdjson::INCORRECT_TYPE;
      od::value value;
      if (auto e = element.get(value)) return e;
      if (auto e = ReadString(value, tuple[n++])) return e;
    }
    if (n != N) return simdjson::INCORRECT_TYPE;
    add(std::move(tuple));
  }
  return simdjson::SUCCESS;
}

error_code ReadPairs(od::value& v, KeyValues& out) {
  return ReadStringTuples<2>(v, [&](std::array<std::string, 2>&& t) {
    out.emplace_back(std::move(t[0]), std::move(t[1]));
  });
}

error_code ReadAcl(od::value& v, std::optional<AccessControlList>& out) {
  out.emplace();
  return ReadStringTuples<3>(v, [&](std::array<std::string, 3>&& t) {
    out->push_back({std::move(t[0]), std::move(t[1]), std::move(t[2])});
  });
}

error_code ReadHeaders(od::value& v, ContentHeaders& h) {
  return ReadStringFields(v, {{"type", &h.content_type},
                              {"encoding", &h.content_encoding},
                              {"disposition", &h.content_disposition},
                              {"language", &h.content_language},
                              {"cache_control", &h.cache_control},
                              {"expires", &h.expires}});
}

error_code ReadKeys(od::value& v, SegmentKeys& k) {
  return ReadStringFields(v, {{"salt", &k.salt},
                              {"wrapped", &k.wrapped_key},
                              {"kms", &k.kms_ciphertext},
                              {"salt2", &k.salt2},
                              {"kms2", &k.kms_ciphertext2}});
}

error_code ReadEncryption(od::value& v, ObjectEncryption& out) {
  const std::pair<std::string_view, std::string*> strings[] = {
      {"mode", &out.mode},
      {"kms_key_arn", &out.kms_key_arn},
      {"context", &out.context_json},
      {"customer_key_md5", &out.customer_key_md5},
      {"customer_key_hmac", &out.customer_key_hmac},
      {"customer_key_salt", &out.customer_key_salt}};
  constexpr unsigned kBucketKey = 1u << std::size(strings);
  unsigned seen = 0;
  auto e = ForEachField(v, [&](std::string_view name, od::value& value) -> error_code {
    if (name == "bucket_key") return Seen(seen, kBucketKey, value.get_bool().get(out.bucket_key));
    for (size_t i = 0; i < std::size(strings); ++i) {
      if (name == strings[i].first) return Seen(seen, 1u << i, ReadString(value, *strings[i].second));
    }
    return simdjson::SUCCESS;
  });
  if (e) return e;
  return seen == 2 * kBucketKey - 1 ? simdjson::SUCCESS : simdjson::NO_SUCH_FIELD;
}

// One segment; `inline_data` is what followed the record's JSON (its one inline segment's bytes).
error_code ReadSegment(od::value& v, std::string_view inline_data, Segment& s) {
  unsigned seen = 0;
  bool is_inline = false;
  auto e = ForEachField(v, [&](std::string_view name, od::value& value) -> error_code {
    if (name == "blob") return Seen(seen, 1, ReadString(value, s.blob_id));
    if (name == "size") return Seen(seen, 2, value.get_uint64().get(s.size));
    if (name == "part") {
      seen |= 4;
      int64_t part = 0;
      if (auto err = value.get_int64().get(part)) return err;
      s.part_number = static_cast<int>(part);
      return simdjson::SUCCESS;
    }
    if (name == "etag") return Seen(seen, 8, ReadString(value, s.etag));
    if (name == "checksum") return Seen(seen, 16, ReadChecksum(value, s.checksum));
    if (name == "keys") return Seen(seen, 32, ReadKeys(value, s.keys));
    if (name == "inline") return value.get_bool().get(is_inline);
    return simdjson::SUCCESS;
  });
  if (e) return e;
  if (seen != 63) return simdjson::NO_SUCH_FIELD;
  if (is_inline) {
    if (inline_data.empty()) return simdjson::NO_SUCH_FIELD;
    s.inline_data.assign(inline_data);
  }
  return simdjson::SUCCESS;
}

// One top-level field of a whole record (the listing's fields first, then the rest).
error_code ReadFullField(std::string_view name, od::value& v, std::string_view inline_data,
                         ObjectRecord& o, unsigned& seen) {
  if (name == "bucket") return Seen(seen, kBucket, ReadString(v, o.bucket));
  if (name == "headers") return Seen(seen, kHeaders, ReadHeaders(v, o.headers));
  if (name == "meta") return Seen(seen, kMeta, ReadPairs(v, o.user_metadata));
  if (name == "tags") return Seen(seen, kTags, ReadPairs(v, o.tags));
  if (name == "sse") return Seen(seen, kSse, ReadEncryption(v, o.encryption));
  if (name == "acl") return ReadAcl(v, o.acl);
  if (name == "lock_mode") return ReadString(v, o.lock.mode);
  if (name == "lock_until_ms") return v.get_int64().get(o.lock.until_ms);
  if (name == "legal_hold") return ReadString(v, o.lock.legal_hold);
  if (name == "parts_count") {
    seen |= kPartsCount;
    int64_t count = 0;
    if (auto e = v.get_int64().get(count)) return e;
    o.parts_count = static_cast<int>(count);
    return simdjson::SUCCESS;
  }
  if (name == "segments") {
    seen |= kSegments;
    od::array segments;
    if (auto e = v.get_array().get(segments)) return e;
    for (auto item : segments) {
      od::value value;
      if (auto e = item.get(value)) return e;
      if (auto e = ReadSegment(value, inline_data, o.segments.emplace_back())) return e;
    }
    return simdjson::SUCCESS;
  }
  return ReadField(name, v, o, seen);
}

}  // namespace

// The parser and padded buffer, reused across records.
struct RecordParser {
  od::parser parser;
  std::string buffer;  // the record followed by the padding simdjson reads ahead into

  // Iterates the JSON object `text`, calling `read(name, value, seen)` per field; `required`: the
  // bits of `seen` that must all be set.
  template <typename F>
  Status Parse(std::string_view text, unsigned required, F&& read) {
    auto corrupt = [](error_code e) {
      return InternalError(std::string("stored object is corrupt: ") +
                           simdjson::error_message(e));
    };
    buffer.assign(text);
    buffer.append(simdjson::SIMDJSON_PADDING, ' ');
    od::document doc;
    od::object object;
    if (auto e = parser.iterate(buffer.data(), text.size(), buffer.size()).get(doc)) {
      return corrupt(e);
    }
    if (auto e = doc.get_object().get(object)) return corrupt(e);
    unsigned seen = 0;
    for (auto field : object) {
      std::string_view name;
      od::value value;
      if (auto e = field.unescaped_key().get(name)) return corrupt(e);
      if (auto e = field.value().get(value)) return corrupt(e);
      if (auto e = read(name, value, seen)) return corrupt(e);
    }
    // Past the object's '}' there is nothing left to point at, unless something follows it.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
      return corrupt(simdjson::TRAILING_CONTENT);
    }
    if ((seen & required) != required) return corrupt(simdjson::NO_SUCH_FIELD);
    return Status::Ok();
  }
};

Result<ObjectRecord> DecodeObject(std::string_view stored) {
  // One parser per thread: DecodeObject runs on every GET and HEAD. Nothing here suspends.
  thread_local RecordParser parser;
  const std::string_view text = ObjectRecordJson(stored);
  const std::string_view inline_data =
      text.size() < stored.size() ? stored.substr(text.size() + 1) : std::string_view();
  ObjectRecord o;
  HANGAR_RETURN_IF_ERROR(parser.Parse(
      text, kAllRequired,
      [&](std::string_view name, od::value& value, unsigned& seen) {
        return ReadFullField(name, value, inline_data, o, seen);
      }));
  return o;
}

struct ListedRecordDecoder::Impl {
  RecordParser parser;
};

ListedRecordDecoder::ListedRecordDecoder() : impl_(std::make_unique<Impl>()) {}
ListedRecordDecoder::~ListedRecordDecoder() = default;

Status ListedRecordDecoder::Decode(std::string_view stored, ObjectRecord& out) {
  return impl_->parser.Parse(ObjectRecordJson(stored), kListingRequired,
                             [&](std::string_view name, od::value& value, unsigned& seen) {
                               return ReadField(name, value, out, seen);
                             });
}

}  // namespace hangar::s3
