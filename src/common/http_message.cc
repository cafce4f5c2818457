#include "common/http_message.h"

#include <algorithm>

#include "common/strings.h"

namespace hangar {

void HeaderList::Add(std::string_view name, std::string_view value) {
  fields_.push_back({ToLower(name), std::string(value)});
}

void HeaderList::Set(std::string_view name, std::string_view value) {
  Remove(name);
  Add(name, value);
}

void HeaderList::Remove(std::string_view name) {
  std::string lower = ToLower(name);
  std::erase_if(fields_, [&](const Field& f) { return f.name == lower; });
}

const std::string* HeaderList::Find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (f.name.size() == name.size() &&
        std::equal(f.name.begin(), f.name.end(), name.begin(), [](char a, char b) {
          return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
        })) {
      return &f.value;
    }
  }
  return nullptr;
}

}  // namespace hangar
