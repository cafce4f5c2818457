#include "s3/listed_record.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace hangar::s3 {
namespace {

// A record with every field set, so that a listing field read from the wrong place shows.
ObjectRecord FullRecord() {
  ObjectRecord o;
  o.bucket = "bkt";
  o.key = "dir/\"quoted\" caf\xc3\xa9 \x01\t\\end";
  o.size = 18446744073709551615ull;  // uint64 max: size is unsigned on disk
  o.etag = "\"0123456789abcdef0123456789abcdef-2\"";
  o.last_modified_ms = 1796275403290;
  o.headers.content_type = "text/plain";
  o.user_metadata = {{"a", "1"}};
  o.tags = {{"t", "v"}};
  o.storage_class = "GLACIER";
  o.checksum = ChecksumValue{"CRC64NVME", "AAAAAAAAAAA=", "FULL_OBJECT"};
  Segment s;
  s.blob_id = "blob";
  s.size = 4;
  s.checksum = ChecksumValue{"CRC32", "1lyzmg==", "FULL_OBJECT"};
  s.keys.wrapped_key = "wrapped";
  o.segments = {s, s};
  o.parts_count = 2;
  o.encryption.mode = "aws:kms";
  o.encryption.kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/k";
  o.version_id = "AAZhs_VU9ZDNtNlrg2gtjKhvjBDk.u1v";
  o.version_stamp = 1796275403290000;
  o.lock = {"GOVERNANCE", 1796275409999, "ON"};
  o.owner_account = "444455556666";  // written by another account into an ACL bucket
  o.acl = AccessControlList{{"444455556666", "", "FULL_CONTROL"}};
  return o;
}

// The fields listings render, as DecodeObject reads them.
void ExpectListingFieldsEqual(const ObjectRecord& got, const ObjectRecord& want) {
  EXPECT_EQ(got.bucket, want.bucket);
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.etag, want.etag);
  EXPECT_EQ(got.last_modified_ms, want.last_modified_ms);
  EXPECT_EQ(got.storage_class, want.storage_class);
  ASSERT_EQ(got.checksum.has_value(), want.checksum.has_value());
  if (got.checksum) {
    EXPECT_EQ(got.checksum->algorithm, want.checksum->algorithm);
    EXPECT_EQ(got.checksum->value, want.checksum->value);
    EXPECT_EQ(got.checksum->type, want.checksum->type);
  }
  EXPECT_EQ(got.version_id, want.version_id);
  EXPECT_EQ(got.version_stamp, want.version_stamp);
  EXPECT_EQ(got.delete_marker, want.delete_marker);
  EXPECT_EQ(got.owner_account, want.owner_account);
  EXPECT_EQ(got.wire_version_id(), want.wire_version_id());
  EXPECT_EQ(got.stamp(), want.stamp());
}

Status Decode(std::string_view text, ObjectRecord& out) {
  ListedRecordDecoder decoder;
  return decoder.Decode(text, out);
}

TEST(ListedRecordTest, ReadsWhatDecodeObjectReads) {
  const std::string text = EncodeObject(FullRecord());
  auto full = DecodeObject(text);
  ASSERT_TRUE(full.ok());
  ObjectRecord listed;
  ASSERT_TRUE(Decode(text, listed).ok());
  ExpectListingFieldsEqual(listed, *full);
}

TEST(ListedRecordTest, LeavesWhatListingsDoNotShow) {
  ObjectRecord listed;
  ASSERT_TRUE(Decode(EncodeObject(FullRecord()), listed).ok());
  EXPECT_TRUE(listed.segments.empty());
  EXPECT_TRUE(listed.user_metadata.empty());
  EXPECT_TRUE(listed.tags.empty());
  EXPECT_EQ(listed.headers.content_type, "");
  EXPECT_EQ(listed.encryption.mode, "AES256");
  EXPECT_EQ(listed.parts_count, 0);
  EXPECT_EQ(listed.lock, ObjectLock{});
}

TEST(ListedRecordTest, DeleteMarkerWithoutChecksum) {
  ObjectRecord marker;
  marker.bucket = "bkt";
  marker.key = "k";
  marker.last_modified_ms = 5;
  marker.version_id = "AAZhs_VU9ZDNtNlrg2gtjKhvjBDk.u1v";
  marker.version_stamp = 5001;
  marker.delete_marker = true;
  ObjectRecord listed;
  ASSERT_TRUE(Decode(EncodeObject(marker), listed).ok());
  ExpectListingFieldsEqual(listed, marker);
  EXPECT_FALSE(listed.checksum.has_value());
}

// Records written before versioning have no version fields: the null version, stamped by date.
TEST(ListedRecordTest, OldRecordIsTheNullVersion) {
  ObjectRecord old = FullRecord();
  old.version_id.clear();
  old.version_stamp = 0;
  old.lock = {};
  const std::string text = EncodeObject(old);
  ASSERT_EQ(text.find("version"), std::string::npos);
  ObjectRecord listed;
  ASSERT_TRUE(Decode(text, listed).ok());
  EXPECT_EQ(listed.wire_version_id(), "null");
  EXPECT_EQ(listed.stamp(), old.last_modified_ms * 1000);
}

TEST(ListedRecordTest, OneDecoderServesManyRecords) {
  ListedRecordDecoder decoder;
  ObjectRecord a = FullRecord();
  ObjectRecord b = FullRecord();
  b.key = "a much longer key than the first one, so that the buffer has to grow " +
          std::string(500, 'x');
  b.checksum.reset();
  for (const ObjectRecord* want : {&a, &b, &a}) {
    ObjectRecord listed;
    ASSERT_TRUE(decoder.Decode(EncodeObject(*want), listed).ok());
    ExpectListingFieldsEqual(listed, *want);
  }
}

TEST(ListedRecordTest, CorruptRecordsAreInternalErrors) {
  const std::string good = EncodeObject(FullRecord());
  std::string missing_key = good;
  missing_key.replace(missing_key.find("\"key\""), 5, "\"kex\"");
  std::string wrong_type = good;
  wrong_type.replace(wrong_type.rfind("\"size\":"), 7, "\"size\":-");  // the top-level size
  std::string bad_checksum = good;
  bad_checksum.replace(bad_checksum.find("\"algorithm\""), 11, "\"algorithx\"");
  for (const std::string& text :
       {std::string(), std::string("[]"), std::string("{"), good.substr(0, good.size() - 1),
        good + "{}", missing_key, wrong_type, bad_checksum}) {
    ObjectRecord listed;
    Status s = Decode(text, listed);
    EXPECT_EQ(s.code(), ErrorCode::kInternal) << text;
  }
}

// DecodeObject reads back every field EncodeObject writes: re-encoding gives the same text.
TEST(DecodeObjectTest, EveryFieldRoundTrips) {
  ObjectRecord full = FullRecord();
  full.headers = {"text/plain", "gzip", "attachment", "en", "no-cache", "Thu, 01 Dec 2094"};
  full.user_metadata = {{"a", "1"}, {"a", "dup"}, {"\xc3\xa9", "\"q\""}};
  full.segments[0].part_number = 1;
  full.segments[0].etag = "\"p1\"";
  full.segments[1].blob_id.clear();
  full.segments[1].inline_data = std::string("\0\x01\xff{\"", 5);
  full.segments[1].keys = {"salt", "w", "kms", "salt2", "kms2"};
  full.encryption = {"aws:kms:dsse", "arn:k", true, "{\"c\":\"1\"}", "md5", "hmac", "salt"};
  full.delete_marker = true;
  full.acl = AccessControlList{{"1", "", "READ"}, {"", "AllUsers", "READ_ACP"}};
  const std::string text = EncodeObject(full);
  auto decoded = DecodeObject(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EncodeObject(*decoded), text);
  EXPECT_EQ(decoded->segments[1].inline_data, full.segments[1].inline_data);
  EXPECT_EQ(decoded->lock, full.lock);
  EXPECT_EQ(*decoded->acl, *full.acl);
  EXPECT_TRUE(decoded->encryption.bucket_key);
  // Optional fields absent: their defaults.
  ObjectRecord bare;
  bare.bucket = "b";
  bare.key = "k";
  auto plain = DecodeObject(EncodeObject(bare));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(EncodeObject(*plain), EncodeObject(bare));
  EXPECT_FALSE(plain->acl.has_value());
}

// Every field DecodeObject needs, at the top and nested, is checked: a record without one is
// corrupt (kInternal), never silently defaulted.
TEST(DecodeObjectTest, AMissingRequiredFieldIsCorruption) {
  const std::string good = EncodeObject(FullRecord());
  ASSERT_TRUE(DecodeObject(good).ok());
  for (const char* field :
       {"\"bucket\"", "\"headers\"", "\"meta\"", "\"tags\"", "\"segments\"", "\"parts_count\"",
        "\"sse\"", "\"storage_class\"", "\"bucket_key\"", "\"kms_key_arn\"", "\"expires\"",
        "\"wrapped\"", "\"kms2\"", "\"blob\"", "\"part\""}) {
    std::string text = good;
    const size_t at = text.find(field);
    ASSERT_NE(at, std::string::npos) << field;
    text[at + 1] = 'X';  // renames the field: it is then unknown and skipped
    auto decoded = DecodeObject(text);
    ASSERT_FALSE(decoded.ok()) << field;
    EXPECT_EQ(decoded.status().code(), ErrorCode::kInternal) << field;
  }
  // Wrong types and shapes.
  for (auto [from, to] : std::initializer_list<std::pair<const char*, const char*>>{
           {"\"meta\":[[\"a\",\"1\"]]", "\"meta\":[[\"a\"]]"},
           {"\"meta\":[[\"a\",\"1\"]]", "\"meta\":[[\"a\",1]]"},
           {"\"parts_count\":2", "\"parts_count\":\"2\""},
           {"\"bucket_key\":false", "\"bucket_key\":0"}}) {
    std::string text = good;
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, std::string_view(from).size(), to);
    EXPECT_EQ(DecodeObject(text).status().code(), ErrorCode::kInternal) << to;
  }
  // A segment that says its bytes are inline, in a record that carries none.
  ObjectRecord claims = FullRecord();
  claims.segments.resize(1);
  claims.segments[0].blob_id.clear();
  claims.segments[0].inline_data = "bytes";
  const std::string stored = EncodeObject(claims);
  EXPECT_EQ(DecodeObject(ObjectRecordJson(stored)).status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace hangar::s3
