#pragma once
// Helpers for records kept as JSON documents in the metadata store (IAM entities, S3 buckets and
// objects, KMS grants). Include only from .cc files: nlohmann/json is a heavy header.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace hangar {

// Decodes a stored record with `decode(json)`. The store holds only what we wrote, so any decoding
// failure is corruption (kInternal naming `what`).
template <typename T, typename F>
Result<T> DecodeStored(std::string_view text, std::string_view what, F&& decode) {
  try {
    return decode(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    return InternalError("stored " + std::string(what) + " is corrupt: " + e.what());
  }
}

// Ordered string pairs (tags, metadata) as [[k, v], ...]: order and duplicates survive.
inline nlohmann::json PairsJson(const std::vector<std::pair<std::string, std::string>>& pairs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, v] : pairs) out.push_back(nlohmann::json::array({k, v}));
  return out;
}

inline std::vector<std::pair<std::string, std::string>> PairsFrom(const nlohmann::json& j) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& p : j) pairs.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
  return pairs;
}

}  // namespace hangar
