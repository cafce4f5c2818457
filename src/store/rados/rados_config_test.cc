#include "store/rados/rados_config.h"

#include <gtest/gtest.h>

namespace hangar::store {
namespace {

TEST(ParseRadosUriTest, ReadsPoolConfAndClient) {
  auto config = ParseRadosUri("rados://blobs?conf=/etc/ceph/hangar.conf&id=hangar");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->pool, "blobs");
  EXPECT_EQ(config->conf_path, "/etc/ceph/hangar.conf");
  EXPECT_EQ(config->client_id, "hangar");
}

TEST(ParseRadosUriTest, DefaultsToClientAdminAndLibradosConfSearch) {
  auto config = ParseRadosUri("rados://blobs");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->pool, "blobs");
  EXPECT_EQ(config->conf_path, "");
  EXPECT_EQ(config->client_id, "admin");
  EXPECT_EQ(config->stripe_size, size_t{4} << 20);

  auto id_only = ParseRadosUri("rados://blobs?id=hangar");
  ASSERT_TRUE(id_only.ok());
  EXPECT_EQ(id_only->conf_path, "");
  EXPECT_EQ(id_only->client_id, "hangar");
}

TEST(ParseRadosUriTest, DecodesPercentEncodedValues) {
  auto config = ParseRadosUri("rados://blobs?conf=/srv/my%20ceph/ceph.conf%26x&id=hangar");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->conf_path, "/srv/my ceph/ceph.conf&x");
}

void ExpectRejected(std::string_view uri, std::string_view says) {
  auto config = ParseRadosUri(uri);
  ASSERT_FALSE(config.ok()) << uri;
  EXPECT_EQ(config.status().code(), ErrorCode::kValidation) << uri;
  EXPECT_NE(config.status().message().find(says), std::string::npos)
      << uri << ": " << config.status().message();
}

TEST(ParseRadosUriTest, RejectsOtherSchemesAndAMissingPool) {
  ExpectRejected("s3://blobs", "rados://");
  ExpectRejected("RADOS://blobs", "rados://");
  ExpectRejected("rados://", "no pool");
  ExpectRejected("rados://?id=hangar", "no pool");
}

TEST(ParseRadosUriTest, RejectsPoolNamesThatNeedQuoting) {
  ExpectRejected("rados://a/b", "pool name 'a/b'");
  ExpectRejected("rados://.mgr", "pool name '.mgr'");
  ExpectRejected("rados://my pool", "pool name");
  ExpectRejected("rados://" + std::string(101, 'p'), "pool name");
}

TEST(ParseRadosUriTest, RejectsUnknownRepeatedAndEmptyParameters) {
  ExpectRejected("rados://blobs?stripe=1", "unknown parameter 'stripe' (known: conf, id)");
  ExpectRejected("rados://blobs?id=a&id=b", "'id' given twice");
  ExpectRejected("rados://blobs?conf=/a&conf=/b", "'conf' given twice");
  ExpectRejected("rados://blobs?conf=", "'conf' needs a value");
  ExpectRejected("rados://blobs?id", "'id' needs a value");
  ExpectRejected("rados://blobs?conf=/a&", "empty parameter");
  ExpectRejected("rados://blobs?", "empty parameter");
  ExpectRejected("rados://blobs?&id=x", "empty parameter");
}

TEST(ParseRadosUriTest, RejectsBadClientIdsAndEncodings) {
  ExpectRejected("rados://blobs?id=client.hangar", "without 'client.'");
  ExpectRejected("rados://blobs?id=a%20b", "client id 'a b'");
  ExpectRejected("rados://blobs?conf=/a%2", "bad percent-encoding in parameter 'conf'");
  ExpectRejected("rados://blobs?conf=/a%zz", "bad percent-encoding");
}

}  // namespace
}  // namespace hangar::store
