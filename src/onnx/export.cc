// recur checkpoints as ONNX models: each recurrent layer becomes one ONNX LSTM/GRU/RNN node
// (PyTorch's gate order mapped to ONNX's here and in recurrent.cc only), stacked layers are
// joined by the Squeeze / Transpose+Reshape PyTorch's exporter uses, and a language model adds
// the embedding Gather and the decoder MatMul + Add.
#include <onnx/onnx_pb.h>

#include "io/file.h"
#include "onnx/proto.h"
#include "recur/error.h"
#include "recur/io.h"
#include "recur/language_model.h"
#include "recur/rnn.h"

namespace recur::onnx {
namespace {

// ONNX gate block k takes PyTorch's block kFrom[k]: LSTM i,o,f,c ← i,f,g,o; GRU z,r,h ← r,z,n.
std::vector<int64_t> gate_blocks(RnnMode mode) {
  if (mode == RnnMode::kLstm) return {0, 3, 1, 2};
  if (mode == RnnMode::kGru) return {1, 0, 2};
  return {0};
}

class GraphBuilder {
 public:
  explicit GraphBuilder(::onnx::GraphProto* graph) : graph_(graph) {}

  const std::string& initializer(const std::string& name, const Value& value) {
    value_to_proto(value, name, graph_->add_initializer());
    return graph_->initializer(graph_->initializer_size() - 1).name();
  }
  std::string ints(const std::string& name, std::vector<int64_t> values) {
    const int64_t n = static_cast<int64_t>(values.size());
    return initializer(name, Value::ints({n}, std::move(values)));
  }
  ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs) {
    ::onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(graph_->node_size()));
    for (const auto& in : inputs) n->add_input(in);
    for (const auto& out : outputs) n->add_output(out);
    return n;
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name,
                   const std::vector<std::string>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::STRINGS);
    for (const auto& s : v) a->add_strings(s);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  // dims: a number, or a symbolic name such as "T".
  void io(bool input, const std::string& name, int32_t elem_type,
          const std::vector<std::string>& dims) {
    auto* info = input ? graph_->add_input() : graph_->add_output();
    info->set_name(name);
    auto* t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem_type);
    for (const auto& d : dims) {
      auto* dim = t->mutable_shape()->add_dim();
      if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])))
        dim->set_dim_value(std::stoll(d));
      else
        dim->set_dim_param(d);
    }
  }

 private:
  ::onnx::GraphProto* graph_;
};

// A [G*H, K] PyTorch weight (or [G*H] bias) with its gate blocks in ONNX order, appended to out.
void append_reordered(const Tensor& t, RnnMode mode, std::vector<float>* out) {
  const auto blocks = gate_blocks(mode);
  const int64_t rows = t.dim() == 2 ? t.size(0) : t.numel();
  const int64_t cols = t.dim() == 2 ? t.size(1) : 1;
  const int64_t block = rows / static_cast<int64_t>(blocks.size());
  for (int64_t from : blocks)
    out->insert(out->end(), t.data() + from * block * cols, t.data() + (from + 1) * block * cols);
}

struct StackOutputs {
  std::string y, h_n, c_n;  // y: [T, B, D*H]
};

// The recurrent stack `prefix` + PyTorch names, reading `x` ([T, B, I]).
StackOutputs add_stack(GraphBuilder& g, const std::map<std::string, Tensor>& sd,
                       const std::string& prefix, const RnnOptions& o, const std::string& x) {
  RECUR_CHECK(o.proj_size == 0,
              "an LSTM with proj_size has no ONNX operator; recur does not export projection "
              "LSTMs (export a model without --proj-size, or decompose it by hand)");
  const std::string op = o.mode == RnnMode::kLstm  ? "LSTM"
                         : o.mode == RnnMode::kGru ? "GRU"
                                                   : "RNN";
  const int64_t D = o.num_directions(), H = o.hidden_size, G = gate_count(o.mode);
  std::string input = x;
  std::vector<std::string> hs, cs;
  for (int64_t l = 0; l < o.num_layers; ++l) {
    const int64_t in = l == 0 ? o.input_size : D * H;
    std::vector<float> W, R, B;
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      append_reordered(sd.at(prefix + "weight_ih" + sfx), o.mode, &W);
      append_reordered(sd.at(prefix + "weight_hh" + sfx), o.mode, &R);
      if (o.bias) {
        append_reordered(sd.at(prefix + "bias_ih" + sfx), o.mode, &B);
        append_reordered(sd.at(prefix + "bias_hh" + sfx), o.mode, &B);
      }
    }
    const std::string L = prefix + "l" + std::to_string(l) + ".";
    std::vector<std::string> inputs = {input,
                                       g.initializer(L + "W", Value::floats({D, G * H, in}, W)),
                                       g.initializer(L + "R", Value::floats({D, G * H, H}, R))};
    if (o.bias) inputs.push_back(g.initializer(L + "B", Value::floats({D, 2 * G * H}, B)));
    std::vector<std::string> outputs = {L + "Y", L + "Y_h"};
    if (o.mode == RnnMode::kLstm) outputs.push_back(L + "Y_c");
    auto* n = g.node(op, inputs, outputs);
    GraphBuilder::attr(n, "hidden_size", H);
    if (D == 2) GraphBuilder::attr(n, "direction", std::string("bidirectional"));
    if (o.mode == RnnMode::kGru) GraphBuilder::attr(n, "linear_before_reset", int64_t{1});
    if (o.mode == RnnMode::kRnnRelu || o.mode == RnnMode::kRnnTanh)
      GraphBuilder::attr(
          n, "activations",
          std::vector<std::string>(D, o.mode == RnnMode::kRnnRelu ? "Relu" : "Tanh"));
    // Y [T, D, B, H] → [T, B, D*H]
    if (D == 1) {
      g.node("Squeeze", {L + "Y", g.ints(L + "squeeze_axes", {1})}, {L + "out"});
    } else {
      auto* t = g.node("Transpose", {L + "Y"}, {L + "Y_tbdh"});
      GraphBuilder::attr(t, "perm", std::vector<int64_t>{0, 2, 1, 3});
      g.node("Reshape", {L + "Y_tbdh", g.ints(L + "shape", {0, 0, -1})}, {L + "out"});
    }
    input = L + "out";
    hs.push_back(L + "Y_h");
    if (o.mode == RnnMode::kLstm) cs.push_back(L + "Y_c");
  }
  StackOutputs out;
  out.y = input;
  auto join = [&](const std::vector<std::string>& parts, const std::string& name) {
    auto* n = g.node("Concat", parts, {name});
    GraphBuilder::attr(n, "axis", int64_t{0});
    return name;
  };
  out.h_n = join(hs, "h_n");
  if (!cs.empty()) out.c_n = join(cs, "c_n");
  return out;
}

std::string dims_text(const std::string& name, const std::vector<std::string>& dims) {
  std::string s = name + " [";
  for (size_t k = 0; k < dims.size(); ++k) s += (k ? ", " : "") + dims[k];
  return s + "]";
}

}  // namespace

std::string export_onnx(const std::string& checkpoint_path, const std::string& path,
                        int64_t opset) {
  RECUR_CHECK(opset >= 14 && opset <= 18,
              "export: opset must be 14..18 (LSTM's layout attribute needs 14), got " +
                  std::to_string(opset));
  const SafeTensors file = load_safetensors(checkpoint_path);
  ::onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("recur");
  model.set_producer_version("0.1.0");
  auto* op_set = model.add_opset_import();
  op_set->set_domain("");
  op_set->set_version(opset);
  ::onnx::GraphProto* graph = model.mutable_graph();
  GraphBuilder g(graph);
  std::string summary;

  auto kind = file.metadata.find("recur.kind");
  if (kind == file.metadata.end()) {
    // A bare recurrent stack: PyTorch names, as `recur forward --weights` reads.
    std::string mode_hint;
    auto m = file.metadata.find("recur.mode");
    if (m != file.metadata.end()) mode_hint = m->second;
    const Rnn rnn = Rnn::from_state_dict(file.tensors, mode_hint);
    const RnnOptions& o = rnn.options();
    graph->set_name("recur_" + mode_name(o.mode));
    const std::vector<std::string> x_dims = {"T", "B", std::to_string(o.input_size)};
    g.io(true, "input", 1, x_dims);
    const StackOutputs s = add_stack(g, rnn.state_dict(), "", o, "input");
    g.node("Identity", {s.y}, {"output"});
    const int64_t LD = o.num_layers * o.num_directions();
    const std::string out_h = std::to_string(o.num_directions() * o.hidden_size);
    const std::vector<std::string> y_dims = {"T", "B", out_h},
                                   h_dims = {std::to_string(LD), "B",
                                             std::to_string(o.hidden_size)};
    g.io(false, "output", 1, y_dims);
    g.io(false, "h_n", 1, h_dims);
    summary = "inputs: " + dims_text("input", x_dims) +
              "; outputs: " + dims_text("output", y_dims) + ", " + dims_text("h_n", h_dims);
    if (!s.c_n.empty()) {
      g.io(false, "c_n", 1, h_dims);
      summary += ", " + dims_text("c_n", h_dims);
    }
    summary = mode_name(o.mode) + " stack (" + std::to_string(o.num_layers) + " layer(s), " +
              (o.bidirectional ? "bidirectional" : "unidirectional") + "); " + summary;
  } else {
    RECUR_CHECK(kind->second == "language_model",
                checkpoint_path + ": exporting a '" + kind->second +
                    "' checkpoint is not supported yet (recur exports recurrent weights and "
                    "language models)");
    const LoadedLm lm = load_language_model(checkpoint_path);
    const LmConfig& c = lm.model->config();
    const auto sd = lm.model->state_dict();
    graph->set_name("recur_language_model");
    auto* meta = model.add_metadata_props();
    meta->set_key("recur.vocab");
    meta->set_value(lm.vocab.to_json());
    g.io(true, "tokens", 7, {"T", "B"});
    const std::string table =
        g.initializer("embedding.weight", Value::from_tensor(sd.at("embedding.weight")));
    g.node("Gather", {table, "tokens"}, {"embedded"});
    RnnOptions o;
    o.mode = c.cell;
    o.input_size = c.embed;
    o.hidden_size = c.hidden;
    o.num_layers = c.layers;
    const StackOutputs s = add_stack(g, sd, "rnn.", o, "embedded");
    // logits = y · decoderᵀ + bias; a tied decoder reads the embedding table.
    auto dw = sd.find("decoder.weight");
    const Tensor& w = dw != sd.end() ? dw->second : sd.at("embedding.weight");
    std::vector<float> wt(w.numel());
    const int64_t V = w.size(0), Hd = w.size(1);
    for (int64_t v = 0; v < V; ++v)
      for (int64_t h = 0; h < Hd; ++h) wt[h * V + v] = w[v * Hd + h];
    g.node("MatMul", {s.y, g.initializer("decoder.weight_t", Value::floats({Hd, V}, wt))},
           {"decoded"});
    g.node("Add",
           {"decoded", g.initializer("decoder.bias", Value::from_tensor(sd.at("decoder.bias")))},
           {"logits"});
    const std::vector<std::string> l_dims = {"T", "B", std::to_string(V)},
                                   h_dims = {std::to_string(c.layers), "B",
                                             std::to_string(c.hidden)};
    g.io(false, "logits", 1, l_dims);
    g.io(false, "h_n", 1, h_dims);
    if (!s.c_n.empty()) g.io(false, "c_n", 1, h_dims);
    summary = "language model (" + mode_name(c.cell) + ", " + std::to_string(c.layers) +
              " layer(s), vocabulary " + std::to_string(V) +
              "); inputs: tokens [T, B] int64; "
              "outputs: " +
              dims_text("logits", l_dims) + ", " + dims_text("h_n", h_dims) +
              (s.c_n.empty() ? "" : ", " + dims_text("c_n", h_dims));
  }
  const std::string bytes = model.SerializeAsString();
  io::write_atomically(path, path, [&](std::ostream& out) { out << bytes; });
  return summary;
}

}  // namespace recur::onnx
