// Model: ModelProto → a checked graph (nodes in order, initializers as Values) and its run.
// Everything is checked at load time — supported ops and domains, values defined before use,
// attribute types — so that run() fails only on what the caller feeds.
#include <filesystem>
#include <fstream>
#include <set>

#include "io/file.h"
#include "onnx/ops.h"
#include "onnx/proto.h"
#include "recur/error.h"

namespace recur::onnx {
namespace {

using ::onnx::AttributeProto;

void check_attribute_type(const Node& node, const std::string& name, const Attribute& a,
                          int32_t expected, const char* type_name) {
  RECUR_CHECK(a.type == expected,
              node.describe() + ": attribute '" + name + "' must be " + type_name);
}

bool default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

ValueInfo info_from_proto(const ::onnx::ValueInfoProto& proto) {
  ValueInfo info;
  info.name = proto.name();
  if (proto.type().has_tensor_type()) {
    const auto& t = proto.type().tensor_type();
    info.elem_type = t.elem_type();
    if (t.has_shape())
      for (const auto& d : t.shape().dim())
        info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
  }
  return info;
}

}  // namespace

std::string Node::describe() const { return "node '" + name + "' (" + op_type + ")"; }

int64_t Node::get_int(const std::string& attribute, int64_t fallback) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return fallback;
  check_attribute_type(*this, attribute, it->second, AttributeProto::INT, "an int");
  return it->second.i;
}

float Node::get_float(const std::string& attribute, float fallback) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return fallback;
  check_attribute_type(*this, attribute, it->second, AttributeProto::FLOAT, "a float");
  return it->second.f;
}

std::string Node::get_string(const std::string& attribute, const std::string& fallback) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return fallback;
  check_attribute_type(*this, attribute, it->second, AttributeProto::STRING, "a string");
  return it->second.s;
}

std::vector<int64_t> Node::get_ints(const std::string& attribute) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return {};
  check_attribute_type(*this, attribute, it->second, AttributeProto::INTS, "a list of ints");
  return it->second.ints;
}

std::vector<float> Node::get_floats(const std::string& attribute) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return {};
  check_attribute_type(*this, attribute, it->second, AttributeProto::FLOATS, "a list of floats");
  return it->second.floats;
}

std::vector<std::string> Node::get_strings(const std::string& attribute) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return {};
  check_attribute_type(*this, attribute, it->second, AttributeProto::STRINGS, "a list of strings");
  return it->second.strings;
}

const Value& Node::get_tensor(const std::string& attribute) const {
  auto it = attributes.find(attribute);
  RECUR_CHECK(it != attributes.end(), describe() + ": attribute '" + attribute + "' is missing");
  check_attribute_type(*this, attribute, it->second, AttributeProto::TENSOR, "a tensor");
  return it->second.t;
}

struct Model::Impl {
  std::string source;
  int64_t opset = 0;
  std::vector<Node> nodes;
  std::vector<Kernel> kernels;
  std::map<std::string, Value> initializers;
  std::vector<ValueInfo> inputs;  // those without an initializer
  std::vector<ValueInfo> overridable;
  std::vector<ValueInfo> outputs;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::load(const std::string& path) {
  uint64_t size = 0;
  std::ifstream in = io::open_input(path, path, &size);
  std::string bytes(size, '\0');
  io::read_exact(in, bytes.data(), size, path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  return parse(bytes, path, dir.empty() ? "." : dir);
}

Model Model::parse(const std::string& bytes, const std::string& source,
                   const std::string& base_dir) {
  ::onnx::ModelProto proto;
  RECUR_CHECK(!bytes.empty(), source + ": empty file, not an ONNX model");
  RECUR_CHECK(proto.ParseFromString(bytes),
              source + ": not a valid ONNX model (malformed or truncated protobuf)");
  RECUR_CHECK(proto.has_graph() && proto.graph().node_size() > 0,
              source + ": the model has no graph (is this an ONNX model file?)");
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  for (const auto& op_set : proto.opset_import())
    if (default_domain(op_set.domain())) impl->opset = op_set.version();
  RECUR_CHECK(impl->opset > 0 || proto.opset_import_size() == 0,
              source + ": the model imports no version of the default ONNX domain");
  if (impl->opset == 0) impl->opset = 1;
  RECUR_CHECK(impl->opset <= 18, source + ": opset " + std::to_string(impl->opset) +
                                     " is newer than recur knows (up to 18)");
  const auto& graph = proto.graph();

  std::set<std::string> defined;
  for (const auto& init : graph.initializer()) {
    RECUR_CHECK(!init.name().empty(), source + ": an initializer has no name");
    impl->initializers[init.name()] =
        value_from_proto(init, source + ": initializer '" + init.name() + "'", base_dir);
    defined.insert(init.name());
  }
  for (const auto& in : graph.input()) {
    ValueInfo info = info_from_proto(in);
    if (impl->initializers.count(info.name))
      impl->overridable.push_back(info);
    else
      impl->inputs.push_back(info);
    defined.insert(info.name);
  }
  for (const auto& out : graph.output()) impl->outputs.push_back(info_from_proto(out));

  int64_t index = 0;
  for (const auto& np : graph.node()) {
    Node node;
    node.op_type = np.op_type();
    node.name = np.name().empty() ? node.op_type + "_" + std::to_string(index) : np.name();
    node.opset = impl->opset;
    ++index;
    RECUR_CHECK(default_domain(np.domain()), source + ": " + node.describe() + " is in domain '" +
                                                 np.domain() +
                                                 "'; recur runs only the default ONNX domain");
    Kernel kernel = find_kernel(node.op_type);
    if (!kernel) {
      std::string list;
      for (const auto& op : supported_ops()) list += (list.empty() ? "" : ", ") + op;
      throw_error(source + ": " + node.describe() + ": operator '" + node.op_type +
                  "' is not supported by recur (supported: " + list + ")");
    }
    node.inputs.assign(np.input().begin(), np.input().end());
    node.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& in : node.inputs)
      RECUR_CHECK(in.empty() || defined.count(in),
                  source + ": " + node.describe() + " reads '" + in +
                      "', which no graph input, initializer or earlier node defines");
    for (const auto& ap : np.attribute()) {
      Attribute a;
      a.type = ap.type();
      a.f = ap.f();
      a.i = ap.i();
      a.s = ap.s();
      if (ap.has_t())
        a.t = value_from_proto(
            ap.t(), source + ": " + node.describe() + " attribute '" + ap.name() + "'", base_dir);
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      a.strings.assign(ap.strings().begin(), ap.strings().end());
      RECUR_CHECK(a.type != AttributeProto::GRAPH && a.type != AttributeProto::GRAPHS,
                  source + ": " + node.describe() + ": subgraph attributes are not supported");
      node.attributes[ap.name()] = std::move(a);
    }
    for (const auto& out : node.outputs)
      if (!out.empty()) defined.insert(out);
    impl->nodes.push_back(std::move(node));
    impl->kernels.push_back(kernel);
  }
  for (const auto& out : impl->outputs)
    RECUR_CHECK(defined.count(out.name),
                source + ": graph output '" + out.name + "' is never computed");
  return Model(std::move(impl));
}

const std::vector<ValueInfo>& Model::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& Model::outputs() const { return impl_->outputs; }
int64_t Model::opset() const { return impl_->opset; }

std::vector<std::string> Model::op_types() const {
  std::vector<std::string> ops;
  for (const auto& n : impl_->nodes) ops.push_back(n.op_type);
  return ops;
}

namespace {

void check_feed(const std::string& source, const ValueInfo& info, const Value& v) {
  if (info.elem_type != 0) {
    const bool want_float = info.elem_type == 1 || info.elem_type == 11;
    RECUR_CHECK(want_float == v.is_float(), source + ": input '" + info.name + "' must be " +
                                                elem_type_name(info.elem_type) + ", got " +
                                                elem_type_name(v.elem_type));
  }
  if (!info.shape.empty()) {
    bool ok = info.shape.size() == v.shape.size();
    for (size_t k = 0; ok && k < info.shape.size(); ++k)
      ok = info.shape[k] < 0 || info.shape[k] == v.shape[k];
    std::string want = "[";
    for (size_t k = 0; k < info.shape.size(); ++k)
      want +=
          (k ? ", " : "") + (info.shape[k] < 0 ? std::string("?") : std::to_string(info.shape[k]));
    RECUR_CHECK(ok, source + ": input '" + info.name + "' has shape " + shape_string(v.shape) +
                        ", the model expects " + want + "]");
  }
}

}  // namespace

std::vector<Value> Model::run(const std::map<std::string, Value>& feeds) const {
  const Impl& m = *impl_;
  std::map<std::string, const Value*> env;
  std::map<std::string, Value> produced;
  for (const auto& [name, value] : m.initializers) env[name] = &value;
  for (const auto& [name, value] : feeds) {
    bool known = false;
    for (const auto* list : {&m.inputs, &m.overridable})
      for (const auto& info : *list) known = known || info.name == name;
    if (!known) {
      std::string names;
      for (const auto& info : m.inputs) names += (names.empty() ? "" : ", ") + info.name;
      throw_error(m.source + ": '" + name + "' is not an input of the model (its inputs: " + names +
                  ")");
    }
  }
  for (const auto& info : m.inputs) {
    auto it = feeds.find(info.name);
    RECUR_CHECK(it != feeds.end(), m.source + ": input '" + info.name + "' is not given");
    check_feed(m.source, info, it->second);
    env[info.name] = &it->second;
  }
  for (const auto& info : m.overridable) {
    auto it = feeds.find(info.name);
    if (it == feeds.end()) continue;
    check_feed(m.source, info, it->second);
    env[info.name] = &it->second;
  }

  for (size_t k = 0; k < m.nodes.size(); ++k) {
    const Node& node = m.nodes[k];
    std::vector<const Value*> in;
    for (const auto& name : node.inputs) in.push_back(name.empty() ? nullptr : env.at(name));
    std::vector<Value> out = m.kernels[k](node, in);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      RECUR_CHECK(o < out.size(),
                  m.source + ": " + node.describe() + " has no output " + std::to_string(o));
      Value& slot = produced[node.outputs[o]];
      slot = std::move(out[o]);
      env[node.outputs[o]] = &slot;
    }
  }
  std::vector<Value> outputs;
  for (const auto& info : m.outputs) outputs.push_back(*env.at(info.name));
  return outputs;
}

}  // namespace recur::onnx
