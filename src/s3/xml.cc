#include "s3/xml.h"

#include <pugixml.hpp>

#include <algorithm>

#include "common/strings.h"

namespace hangar::s3 {
namespace {

XmlDocument::Fields FieldsOf(const pugi::xml_node& node) {
  XmlDocument::Fields fields;
  for (const auto& child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    fields.emplace_back(child.name(), child.child_value());
  }
  return fields;
}

}  // namespace

XmlWriter::XmlWriter(std::string_view root, bool with_namespace) : root_(root) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out_ += root;
  if (with_namespace) {
    out_ += " xmlns=\"";
    out_ += kS3Namespace;
    out_ += "\"";
  }
  out_ += ">";
}

XmlWriter& XmlWriter::Open(std::string_view name) {
  out_ += "<";
  out_ += name;
  out_ += ">";
  return *this;
}

XmlWriter& XmlWriter::Close(std::string_view name) {
  out_ += "</";
  out_ += name;
  out_ += ">";
  return *this;
}

XmlWriter& XmlWriter::Element(std::string_view name, std::string_view text) {
  Open(name);
  AppendXmlEscaped(out_, text);
  return Close(name);
}

XmlWriter& XmlWriter::Element(std::string_view name, uint64_t value) {
  return Element(name, std::to_string(value));
}

XmlWriter& XmlWriter::Bool(std::string_view name, bool value) {
  return Element(name, value ? "true" : "false");
}

void XmlWriter::Reserve(size_t bytes) { out_.reserve(bytes); }

std::string XmlWriter::Finish() {
  Close(root_);
  return std::move(out_);
}

struct XmlDocument::Impl {
  pugi::xml_document doc;
  pugi::xml_node root;
};

XmlDocument::XmlDocument() : impl_(std::make_unique<Impl>()) {}
XmlDocument::~XmlDocument() = default;
XmlDocument::XmlDocument(XmlDocument&&) noexcept = default;
XmlDocument& XmlDocument::operator=(XmlDocument&&) noexcept = default;

Result<XmlDocument> XmlDocument::Parse(std::string_view body, std::string_view expected_root) {
  // The tree pugixml builds costs far more than the text: count the tags first, so two million
  // empty elements in a few megabytes are refused before any node is allocated.
  if (static_cast<size_t>(std::count(body.begin(), body.end(), '<')) > kMaxXmlTags) {
    return MalformedXmlError();
  }
  // The document is UTF-8 (pugixml passes other bytes through): text that is not valid UTF-8
  // would reach the records stored from it (found by the s3_xml fuzz target).
  if (!IsValidUtf8(body)) return MalformedXmlError();
  XmlDocument d;
  // No DTDs or entities beyond the predefined ones: pugixml does not expand external entities.
  // Whitespace-only text is kept where it is an element's only content: a key of one space is a
  // key of one space.
  pugi::xml_parse_result r = d.impl_->doc.load_buffer(
      body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
      pugi::encoding_utf8);
  if (!r) return MalformedXmlError();
  d.impl_->root = d.impl_->doc.document_element();
  if (!d.impl_->root || std::string_view(d.impl_->root.name()) != expected_root) return MalformedXmlError();
  return d;
}

std::vector<XmlDocument::Fields> XmlDocument::Children(std::string_view name) const {
  std::vector<Fields> out;
  for (const auto& child : impl_->root.children()) {
    if (child.type() == pugi::node_element && std::string_view(child.name()) == name) {
      out.push_back(FieldsOf(child));
    }
  }
  return out;
}

std::vector<XmlDocument::Fields> XmlDocument::Grandchildren(std::string_view parent,
                                                           std::string_view name) const {
  std::vector<Fields> out;
  for (const auto& p : impl_->root.children()) {
    if (p.type() != pugi::node_element || std::string_view(p.name()) != parent) continue;
    for (const auto& child : p.children()) {
      if (child.type() == pugi::node_element && std::string_view(child.name()) == name) {
        out.push_back(FieldsOf(child));
      }
    }
  }
  return out;
}

namespace {

XmlNode CopyNode(const pugi::xml_node& node) {
  XmlNode out{node.name(), node.child_value(), {}};
  for (const auto& child : node.children()) {
    if (child.type() == pugi::node_element) out.children.push_back(CopyNode(child));
  }
  return out;
}

}  // namespace

XmlNode XmlDocument::Tree() const { return CopyNode(impl_->root); }

const XmlNode* XmlNode::Child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::All(std::string_view child_name) const {
  std::vector<const XmlNode*> out;
  for (const auto& c : children) {
    if (c.name == child_name) out.push_back(&c);
  }
  return out;
}

std::string XmlDocument::Text(std::string_view name) const {
  for (const auto& child : impl_->root.children()) {
    if (child.type() == pugi::node_element && std::string_view(child.name()) == name) {
      return child.child_value();
    }
  }
  return "";
}

bool XmlDocument::Has(std::string_view name) const {
  for (const auto& child : impl_->root.children()) {
    if (child.type() == pugi::node_element && std::string_view(child.name()) == name) return true;
  }
  return false;
}

Status MalformedXmlError() {
  return Error(ErrorCode::kMalformedXml,
               "The XML you provided was not well-formed or did not validate against our "
               "published schema");
}

std::string FieldValue(const XmlDocument::Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "";
}

bool HasField(const XmlDocument::Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return true;
  }
  return false;
}

}  // namespace hangar::s3
