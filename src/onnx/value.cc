// Value and its TensorProto form: the .pb files of the backend tests, initializers and constant
// attributes. Integers of every width are held as int64; float32 stays float; double is read as
// float (with its values rounded) so that test data written by numpy's defaults still loads.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/file.h"
#include "onnx/proto.h"
#include "recur/error.h"

namespace recur::onnx {
namespace {

using ::onnx::TensorProto;

int64_t checked_numel(const Shape& shape, const std::string& where) {
  int64_t n = 1;
  for (int64_t d : shape) {
    RECUR_CHECK(d >= 0, where + ": negative dimension in shape " + shape_string(shape));
    RECUR_CHECK(d == 0 || n <= (int64_t{1} << 40) / d,
                where + ": shape " + shape_string(shape) + " is too large");
    n *= d;
  }
  return n;
}

size_t element_bytes(int32_t type) {
  switch (type) {
    case TensorProto::FLOAT:
    case TensorProto::INT32:
    case TensorProto::UINT32:
      return 4;
    case TensorProto::INT64:
    case TensorProto::UINT64:
    case TensorProto::DOUBLE:
      return 8;
    case TensorProto::INT16:
    case TensorProto::UINT16:
      return 2;
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::BOOL:
      return 1;
    default:
      return 0;
  }
}

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86-64 and aarch64 are little-endian, as ONNX's raw_data
  return v;
}

// Reads the bytes of an externally stored tensor (data_location = EXTERNAL).
std::string external_bytes(const TensorProto& proto, const std::string& where,
                           const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = std::stoll(entry.value());
    if (entry.key() == "length") length = std::stoll(entry.value());
  }
  RECUR_CHECK(!location.empty(), where + ": external data without a 'location'");
  RECUR_CHECK(
      std::filesystem::path(location).is_relative() && location.find("..") == std::string::npos,
      where + ": external data location '" + location +
          "' must be a relative path inside the model's folder");
  const std::string path = (std::filesystem::path(base_dir) / location).string();
  uint64_t size = 0;
  std::ifstream in = io::open_input(path, where + ": external data " + path, &size);
  RECUR_CHECK(
      offset >= 0 && static_cast<uint64_t>(offset) <= size,
      where + ": external data offset " + std::to_string(offset) + " is past the end of " + path);
  const uint64_t n = length >= 0 ? static_cast<uint64_t>(length) : size - offset;
  RECUR_CHECK(offset + n <= size, where + ": external data of " + std::to_string(n) +
                                      " bytes at offset " + std::to_string(offset) +
                                      " runs past the end of " + path);
  std::string bytes(n, '\0');
  io::read_exact_at(in, offset, bytes.data(), n, where + ": external data " + path);
  return bytes;
}

}  // namespace

std::string elem_type_name(int32_t elem_type) {
  if (TensorProto::DataType_IsValid(elem_type))
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(elem_type));
  return "type " + std::to_string(elem_type);
}

Value Value::floats(Shape shape, std::vector<float> values) {
  RECUR_ASSERT(shape_numel(shape) == static_cast<int64_t>(values.size()));
  Value v;
  v.kind = Kind::kFloat;
  v.elem_type = TensorProto::FLOAT;
  v.shape = std::move(shape);
  v.f = std::move(values);
  return v;
}

Value Value::ints(Shape shape, std::vector<int64_t> values, int32_t elem_type) {
  RECUR_ASSERT(shape_numel(shape) == static_cast<int64_t>(values.size()));
  Value v;
  v.kind = Kind::kInt;
  v.elem_type = elem_type;
  v.shape = std::move(shape);
  v.i = std::move(values);
  return v;
}

Value Value::from_tensor(const Tensor& tensor) {
  return floats(tensor.shape(), tensor.to_vector());
}

Tensor Value::to_tensor() const {
  RECUR_CHECK(is_float(), "expected a FLOAT tensor, got " + elem_type_name(elem_type));
  return Tensor(shape, f);
}

int64_t Value::numel() const { return shape_numel(shape); }

Value value_from_proto(const TensorProto& proto, const std::string& where,
                       const std::string& base_dir) {
  Shape shape(proto.dims().begin(), proto.dims().end());
  const int64_t n = checked_numel(shape, where);
  const int32_t type = proto.data_type();
  const size_t width = element_bytes(type);
  RECUR_CHECK(width > 0, where + ": element type " + elem_type_name(type) +
                             " is not supported (recur reads float, double and integer tensors)");
  const bool external = proto.data_location() == TensorProto::EXTERNAL;
  const std::string raw = external ? external_bytes(proto, where, base_dir) : proto.raw_data();
  const bool use_raw = external || proto.has_raw_data();
  const bool is_float = type == TensorProto::FLOAT || type == TensorProto::DOUBLE;

  auto count_check = [&](int64_t found, const char* field) {
    RECUR_CHECK(found == n, where + ": shape " + shape_string(shape) + " needs " +
                                std::to_string(n) + " values, " + field + " holds " +
                                std::to_string(found));
  };
  // The number of values is checked before anything is allocated, so that a damaged shape
  // cannot ask for terabytes.
  if (use_raw) {
    RECUR_CHECK(raw.size() % width == 0, where + ": raw_data size " + std::to_string(raw.size()) +
                                             " is not a multiple of the element size " +
                                             std::to_string(width));
    count_check(static_cast<int64_t>(raw.size() / width), "raw_data");
  } else {
    switch (type) {
      case TensorProto::FLOAT:
        count_check(proto.float_data_size(), "float_data");
        break;
      case TensorProto::DOUBLE:
        count_check(proto.double_data_size(), "double_data");
        break;
      case TensorProto::INT64:
        count_check(proto.int64_data_size(), "int64_data");
        break;
      case TensorProto::UINT64:
      case TensorProto::UINT32:
        count_check(proto.uint64_data_size(), "uint64_data");
        break;
      default:
        count_check(proto.int32_data_size(), "int32_data");
        break;
    }
  }

  Value v;
  v.kind = is_float ? Value::Kind::kFloat : Value::Kind::kInt;
  v.elem_type = is_float ? static_cast<int32_t>(TensorProto::FLOAT) : type;
  v.shape = shape;
  if (is_float)
    v.f.resize(n);
  else
    v.i.resize(n);

  if (use_raw) {
    const char* p = raw.data();
    for (int64_t k = 0; k < n; ++k, p += width) {
      switch (type) {
        case TensorProto::FLOAT:
          v.f[k] = load_le<float>(p);
          break;
        case TensorProto::DOUBLE:
          v.f[k] = static_cast<float>(load_le<double>(p));
          break;
        case TensorProto::INT64:
          v.i[k] = load_le<int64_t>(p);
          break;
        case TensorProto::UINT64:
          v.i[k] = static_cast<int64_t>(load_le<uint64_t>(p));
          break;
        case TensorProto::INT32:
          v.i[k] = load_le<int32_t>(p);
          break;
        case TensorProto::UINT32:
          v.i[k] = load_le<uint32_t>(p);
          break;
        case TensorProto::INT16:
          v.i[k] = load_le<int16_t>(p);
          break;
        case TensorProto::UINT16:
          v.i[k] = load_le<uint16_t>(p);
          break;
        case TensorProto::INT8:
          v.i[k] = load_le<int8_t>(p);
          break;
        default:
          v.i[k] = load_le<uint8_t>(p);
          break;  // UINT8, BOOL
      }
    }
    return v;
  }
  switch (type) {
    case TensorProto::FLOAT:
      std::copy(proto.float_data().begin(), proto.float_data().end(), v.f.begin());
      break;
    case TensorProto::DOUBLE:
      for (int64_t k = 0; k < n; ++k) v.f[k] = static_cast<float>(proto.double_data(k));
      break;
    case TensorProto::INT64:
      std::copy(proto.int64_data().begin(), proto.int64_data().end(), v.i.begin());
      break;
    case TensorProto::UINT64:
    case TensorProto::UINT32:
      for (int64_t k = 0; k < n; ++k) v.i[k] = static_cast<int64_t>(proto.uint64_data(k));
      break;
    default:  // INT32, INT16, INT8, UINT16, UINT8, BOOL live in int32_data
      std::copy(proto.int32_data().begin(), proto.int32_data().end(), v.i.begin());
      break;
  }
  return v;
}

void value_to_proto(const Value& value, const std::string& name, TensorProto* proto) {
  proto->Clear();
  proto->set_name(name);
  for (int64_t d : value.shape) proto->add_dims(d);
  if (value.is_float()) {
    proto->set_data_type(TensorProto::FLOAT);
    proto->set_raw_data(
        std::string(reinterpret_cast<const char*>(value.f.data()), value.f.size() * sizeof(float)));
    return;
  }
  const int32_t type =
      value.elem_type == TensorProto::INT32 ? TensorProto::INT32 : TensorProto::INT64;
  proto->set_data_type(type);
  if (type == TensorProto::INT32) {
    std::vector<int32_t> narrow(value.i.begin(), value.i.end());
    proto->set_raw_data(
        std::string(reinterpret_cast<const char*>(narrow.data()), narrow.size() * sizeof(int32_t)));
  } else {
    proto->set_raw_data(std::string(reinterpret_cast<const char*>(value.i.data()),
                                    value.i.size() * sizeof(int64_t)));
  }
}

Value parse_tensor_pb(const std::string& bytes, const std::string& source, std::string* name) {
  TensorProto proto;
  RECUR_CHECK(proto.ParseFromString(bytes),
              source + ": not a valid onnx.TensorProto (malformed or truncated protobuf)");
  Value v = value_from_proto(proto, source, ".");
  if (name) *name = proto.name();
  return v;
}

Value read_tensor_pb(const std::string& path, std::string* name) {
  uint64_t size = 0;
  std::ifstream in = io::open_input(path, path, &size);
  std::string bytes(size, '\0');
  io::read_exact(in, bytes.data(), size, path);
  return parse_tensor_pb(bytes, path, name);
}

void write_tensor_pb(const std::string& path, const Value& value, const std::string& name) {
  TensorProto proto;
  value_to_proto(value, name, &proto);
  const std::string bytes = proto.SerializeAsString();
  io::write_atomically(path, path, [&](std::ostream& out) { out << bytes; });
}

}  // namespace recur::onnx
