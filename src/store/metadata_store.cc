#include "store/metadata_store.h"

namespace hangar::store {

Mutation Mutation::Create(Document doc) {
  return Mutation{Kind::kPut, std::move(doc), Precondition::kMustNotExist, 0};
}
Mutation Mutation::Upsert(Document doc) {
  return Mutation{Kind::kPut, std::move(doc), Precondition::kNone, 0};
}
Mutation Mutation::Update(Document doc, int64_t expected_revision) {
  return Mutation{Kind::kPut, std::move(doc), Precondition::kRevisionIs, expected_revision};
}
Mutation Mutation::Delete(std::string collection, std::string partition, std::string id) {
  Document doc;
  doc.collection = std::move(collection);
  doc.partition = std::move(partition);
  doc.id = std::move(id);
  return Mutation{Kind::kDelete, std::move(doc), Precondition::kNone, 0};
}
Mutation Mutation::DeleteIfRevision(std::string collection, std::string partition, std::string id,
                                    int64_t expected_revision) {
  Mutation m = Delete(std::move(collection), std::move(partition), std::move(id));
  m.precondition = Precondition::kRevisionIs;
  m.expected_revision = expected_revision;
  return m;
}

Mutation Mutation::RequireRevision(std::string collection, std::string partition, std::string id,
                                   int64_t expected_revision) {
  Mutation m = DeleteIfRevision(std::move(collection), std::move(partition), std::move(id),
                                expected_revision);
  m.kind = Kind::kCheck;
  return m;
}

bool PreconditionHolds(const Mutation& m, int64_t current_revision) {
  switch (m.precondition) {
    case Precondition::kNone:
      return true;
    case Precondition::kMustNotExist:
      return current_revision == 0;
    case Precondition::kMustExist:
      return current_revision != 0;
    case Precondition::kRevisionIs:
      return current_revision == m.expected_revision;
  }
  return false;
}

// The smallest string greater than every string starting with `prefix`, or "" if none exists.
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace hangar::store
