#pragma once
// XML for the S3 wire: a small writer for responses and pugixml-based helpers for request bodies.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hangar::s3 {

inline constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// Builds one XML document. Element text is escaped; names are trusted constants.
class XmlWriter {
 public:
  explicit XmlWriter(std::string_view root, bool with_namespace = true);
  XmlWriter& Open(std::string_view name);
  XmlWriter& Close(std::string_view name);
  XmlWriter& Element(std::string_view name, std::string_view text);
  XmlWriter& Element(std::string_view name, uint64_t value);
  XmlWriter& Bool(std::string_view name, bool value);
  // Room for a document of about `bytes`, so that a long listing is not copied as it grows.
  void Reserve(size_t bytes);
  // Closes the root and returns the document.
  std::string Finish();

 private:
  std::string root_;
  std::string out_;
};

// Tags ('<') a request body may hold: CompleteMultipartUpload's 10,000 parts need about 80,000.
inline constexpr size_t kMaxXmlTags = 100000;

// An element and everything under it, copied out of a parsed body: for configurations nested
// deeper than Children/Grandchildren reach (lifecycle rules).
struct XmlNode {
  std::string name;
  std::string text;
  std::vector<XmlNode> children;  // elements only, in document order

  // The first child named `name`, or null.
  const XmlNode* Child(std::string_view child_name) const;
  std::vector<const XmlNode*> All(std::string_view child_name) const;
};

// A parsed request body: the text of child elements by path. Errors: kMalformedXml, also for a
// body of more than kMaxXmlTags tags.
class XmlDocument {
 public:
  static Result<XmlDocument> Parse(std::string_view body, std::string_view expected_root);
  ~XmlDocument();
  XmlDocument(XmlDocument&&) noexcept;
  XmlDocument& operator=(XmlDocument&&) noexcept;

  // Each element named `name` under the root (or under `parent` elements of the root), as lists of
  // (child name, child text) pairs.
  using Fields = std::vector<std::pair<std::string, std::string>>;
  std::vector<Fields> Children(std::string_view name) const;
  std::vector<Fields> Grandchildren(std::string_view parent, std::string_view name) const;
  // Text of a direct child of the root, or "" if absent.
  std::string Text(std::string_view name) const;
  bool Has(std::string_view name) const;
  XmlNode Tree() const;

 private:
  XmlDocument();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string FieldValue(const XmlDocument::Fields& fields, std::string_view name);

// 400 MalformedXML `The XML you provided was not well-formed or did not validate against our
// published schema`: a body S3 cannot parse, or one that breaks its schema.
Status MalformedXmlError();
bool HasField(const XmlDocument::Fields& fields, std::string_view name);

}  // namespace hangar::s3
