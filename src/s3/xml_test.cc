#include "s3/xml.h"

#include <gtest/gtest.h>

namespace hangar::s3 {
namespace {

// Item 18: text is taken as sent; a key of one space is not the empty key.
TEST(XmlDocumentTest, Item18WhitespaceOnlyTextIsKept) {
  auto doc = XmlDocument::Parse("<Delete><Object><Key> </Key></Object>"
                                "<Object><Key>a&#13;b</Key></Object></Delete>",
                                "Delete");
  ASSERT_TRUE(doc.ok());
  auto objects = doc->Children("Object");
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(FieldValue(objects[0], "Key"), " ");
  EXPECT_EQ(FieldValue(objects[1], "Key"), "a\rb");
}

// Item 11: a body of millions of tiny elements is refused before a tree is built.
TEST(XmlDocumentTest, Item11TooManyTagsAreRefusedBeforeParsing) {
  std::string body = "<Delete>";
  for (size_t i = 0; i < kMaxXmlTags; ++i) body += "<Object/>";
  body += "</Delete>";
  EXPECT_EQ(XmlDocument::Parse(body, "Delete").status().code(), ErrorCode::kMalformedXml);
  EXPECT_TRUE(XmlDocument::Parse("<Delete><Object><Key>k</Key></Object></Delete>", "Delete").ok());
}

// Found by the s3_xml fuzz target: bytes that are not UTF-8 reached a stored record.
TEST(XmlDocumentTest, DocumentsMustBeUtf8) {
  EXPECT_EQ(XmlDocument::Parse("<R><K>alias/\xd3ws/s3</K></R>", "R").status().code(),
            ErrorCode::kMalformedXml);
  EXPECT_TRUE(XmlDocument::Parse("<R><K>alias/\xc3\xa9</K></R>", "R").ok());
}

}  // namespace
}  // namespace hangar::s3
