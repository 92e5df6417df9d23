// Safetensors reading and writing: an 8-byte little-endian header length N, N bytes of JSON that
// map each tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" map of
// strings), then the data buffer. Files are written the way the reference implementation writes
// them (tensors in name order, contiguous data, header padded with spaces to 8 bytes).
// Leaves out: dtypes other than F32 (rejected by name), memory mapping, and the reference reader's
// demand that offsets tile the buffer exactly: unsorted or overlapping offsets are accepted, only
// offsets outside the buffer are errors.
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "io/file.h"
#include "recur/error.h"
#include "recur/io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "recur reads and writes little-endian files by copying memory; port this file first"
#endif

namespace recur {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr const char* kMetadataKey = "__metadata__";

uint64_t decode_u64_le(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// A JSON value that must be an unsigned integer no larger than int64's maximum.
bool is_size(const Json& value) {
  return value.is_number_unsigned() &&
         value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

std::map<std::string, std::string> parse_metadata(const Json& json, const std::string& where) {
  std::map<std::string, std::string> metadata;
  if (json.is_null()) return metadata;
  RECUR_CHECK(json.is_object(), where + "__metadata__ is a JSON " + json.type_name() +
                                    ", expected an object of strings");
  for (auto it = json.begin(); it != json.end(); ++it) {
    RECUR_CHECK(it.value().is_string(), where + "__metadata__ entry '" + it.key() + "' is a JSON " +
                                            it.value().type_name() + ", expected a string");
    metadata[it.key()] = it.value().get<std::string>();
  }
  return metadata;
}

struct Entry {
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Validates one header entry against a data buffer of `buffer_bytes` bytes.
Entry parse_entry(const std::string& name, const Json& json, uint64_t buffer_bytes,
                  const std::string& where) {
  const std::string tensor = where + "tensor '" + name + "' ";
  RECUR_CHECK(json.is_object(), tensor + "is a JSON " + json.type_name() +
                                    ", expected an object with dtype, shape and data_offsets");
  auto dtype = json.find("dtype");
  RECUR_CHECK(dtype != json.end() && dtype->is_string(), tensor + "has no string field 'dtype'");
  RECUR_CHECK(dtype->get<std::string>() == "F32",
              tensor + "has dtype " + dtype->get<std::string>() + "; recur reads F32 only");

  Entry entry;
  auto shape = json.find("shape");
  RECUR_CHECK(shape != json.end() && shape->is_array(), tensor + "has no array field 'shape'");
  int64_t numel = 1;
  for (const Json& dim : *shape) {
    RECUR_CHECK(is_size(dim), tensor + "has shape " + shape->dump() +
                                  ", expected non-negative integer dimensions");
    const int64_t d = dim.get<int64_t>();
    RECUR_CHECK(d == 0 || numel <= std::numeric_limits<int64_t>::max() / 4 / d,
                tensor + "has shape " + shape->dump() + ", whose size overflows");
    numel *= d;
    entry.shape.push_back(d);
  }

  auto offsets = json.find("data_offsets");
  RECUR_CHECK(offsets != json.end() && offsets->is_array() && offsets->size() == 2 &&
                  is_size((*offsets)[0]) && is_size((*offsets)[1]),
              tensor + "needs 'data_offsets': [begin, end] with non-negative integers, found " +
                  (offsets == json.end() ? std::string("none") : offsets->dump()));
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  RECUR_CHECK(entry.begin <= entry.end,
              tensor + "has data_offsets " + offsets->dump() + " with begin after end");
  const uint64_t bytes = static_cast<uint64_t>(numel) * sizeof(float);
  RECUR_CHECK(entry.end - entry.begin == bytes,
              tensor + "has shape " + shape_string(entry.shape) + " (" + std::to_string(bytes) +
                  " bytes of F32), but data_offsets " + offsets->dump() + " span " +
                  std::to_string(entry.end - entry.begin) + " bytes");
  RECUR_CHECK(entry.end <= buffer_bytes,
              tensor + "has data_offsets " + offsets->dump() + ", past the end of the " +
                  std::to_string(buffer_bytes) + "-byte data buffer (truncated file?)");
  return entry;
}

}  // namespace

SafeTensors load_safetensors(const std::string& path) {
  const std::string where = path + ": safetensors: ";
  uint64_t file_bytes = 0;
  std::ifstream in = io::open_input(path, where, &file_bytes);
  RECUR_CHECK(file_bytes >= 8, where + "file is " + std::to_string(file_bytes) +
                                   " bytes, too short for the 8-byte header length");
  unsigned char length_bytes[8];
  io::read_exact_at(in, 0, reinterpret_cast<char*>(length_bytes), 8, where);
  const uint64_t header_bytes = decode_u64_le(length_bytes);
  RECUR_CHECK(header_bytes <= kMaxHeaderBytes,
              where + "header length is " + std::to_string(header_bytes) + " bytes, over the " +
                  std::to_string(kMaxHeaderBytes) + "-byte limit (corrupt or not safetensors)");
  RECUR_CHECK(header_bytes <= file_bytes - 8,
              where + "header length is " + std::to_string(header_bytes) + " bytes, but only " +
                  std::to_string(file_bytes - 8) + " bytes follow the length field");

  std::string header(header_bytes, '\0');
  io::read_exact_at(in, 8, header.data(), header_bytes, where);
  Json json;
  try {
    json = Json::parse(header);
  } catch (const Json::exception& e) {
    throw_error(where + "header is not valid JSON (" + e.what() + ")");
  }
  RECUR_CHECK(json.is_object(),
              where + "header is a JSON " + json.type_name() + ", expected an object");

  const uint64_t data_start = 8 + header_bytes;
  const uint64_t buffer_bytes = file_bytes - data_start;
  SafeTensors file;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == kMetadataKey) {
      file.metadata = parse_metadata(it.value(), where);
      continue;
    }
    Entry entry = parse_entry(it.key(), it.value(), buffer_bytes, where);
    Tensor tensor(std::move(entry.shape));
    io::read_exact_at(in, data_start + entry.begin, reinterpret_cast<char*>(tensor.data()),
                      entry.end - entry.begin, where);
    file.tensors.emplace(it.key(), std::move(tensor));
  }
  return file;
}

void save_safetensors(const std::string& path, const SafeTensors& file) {
  const std::string where = path + ": safetensors: ";
  // ordered_json keeps "__metadata__" first and each entry's fields in the reference order.
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) {
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const auto& [key, value] : file.metadata) metadata[key] = value;
    json[kMetadataKey] = std::move(metadata);
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    RECUR_CHECK(name != kMetadataKey, where + "a tensor cannot be named '__metadata__'");
    RECUR_CHECK(tensor.defined(), where + "tensor '" + name + "' is undefined");
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * sizeof(float);
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = "F32";
    entry["shape"] = tensor.shape();
    entry["data_offsets"] = {offset, offset + bytes};
    json[name] = std::move(entry);
    offset += bytes;
  }

  std::string header;
  try {
    header = json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::strict);
  } catch (const nlohmann::ordered_json::exception& e) {
    throw_error(where + "tensor names and metadata must be valid UTF-8 (" + e.what() + ")");
  }
  header.append((8 - header.size() % 8) % 8, ' ');

  io::write_atomically(path, where, [&](std::ostream& out) {
    char length_bytes[8];
    for (int i = 0; i < 8; ++i)
      length_bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    out.write(length_bytes, 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& [name, tensor] : file.tensors) {
      if (tensor.numel() == 0) continue;
      out.write(reinterpret_cast<const char*>(tensor.data()),
                static_cast<std::streamsize>(tensor.numel() * sizeof(float)));
    }
  });
}

}  // namespace recur
