// recur checkpoints as ONNX models: each recurrent layer becomes one ONNX LSTM/GRU/RNN node
// (PyTorch's gate order mapped to ONNX's here and in recurrent.cc only), stacked layers are
// joined by the Squeeze / Transpose+Reshape PyTorch's exporter uses, and a language model adds
// the embedding Gather and the decoder MatMul + Add.
#include <onnx/onnx_pb.h>

#include <cmath>

#include "io/file.h"
#include "onnx/gate_order.h"
#include "onnx/proto.h"
#include "recur/error.h"
#include "recur/io.h"
#include "recur/language_model.h"
#include "recur/rnn.h"
#include "recur/sequence_model.h"
#include "recur/task_data.h"

namespace recur::onnx {
namespace {

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
  const size_t at = out->size();
  out->resize(at + t.numel());
  reorder_gate_blocks(mode, /*to_onnx=*/true, t.data(), t.numel() / gate_count(mode),
                      out->data() + at);
}

struct StackOutputs {
  std::string y, h_n, c_n;  // y: [T, B, D*H]
  std::string last_h;       // the top layer's Y_h [D, B, H]
};

// The recurrent stack `prefix` + PyTorch names, reading `x` ([T, B, I]).
StackOutputs add_stack(GraphBuilder& g, const std::map<std::string, Tensor>& sd,
                       const std::string& prefix, const RnnOptions& o, const std::string& x,
                       const std::string& sequence_lens = "") {
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
    inputs.push_back(o.bias ? g.initializer(L + "B", Value::floats({D, 2 * G * H}, B)) : "");
    if (!sequence_lens.empty()) inputs.push_back(sequence_lens);
    while (inputs.back().empty()) inputs.pop_back();
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
  out.last_h = hs.back();
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

std::string json_array(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t k = 0; k < items.size(); ++k) {
    s += k ? ",\"" : "\"";
    for (char c : items[k]) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += "\"";
  }
  return s + "]";
}

void add_metadata(::onnx::ModelProto* model, const std::string& key, const std::string& value) {
  auto* meta = model->add_metadata_props();
  meta->set_key(key);
  meta->set_value(value);
}

// y = x · Wᵀ + b for a [rows, in] x, as Gemm.
std::string linear(GraphBuilder& g, const std::map<std::string, Tensor>& sd,
                   const std::string& prefix, const std::string& x, const std::string& out) {
  std::vector<std::string> inputs = {
      x, g.initializer(prefix + "weight", Value::from_tensor(sd.at(prefix + "weight")))};
  auto b = sd.find(prefix + "bias");
  if (b != sd.end())
    inputs.push_back(g.initializer(prefix + "bias", Value::from_tensor(b->second)));
  auto* n = g.node("Gemm", inputs, {out});
  GraphBuilder::attr(n, "transB", int64_t{1});
  return out;
}

// y = x · Wᵀ (+ b) for x of any rank, as MatMul with the transposed weight (+ Add).
std::string linear_nd(GraphBuilder& g, const std::map<std::string, Tensor>& sd,
                      const std::string& prefix, const std::string& x, const std::string& out) {
  const Tensor& w = sd.at(prefix + "weight");
  const int64_t rows = w.size(0), cols = w.size(1);
  std::vector<float> wt(w.numel());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) wt[c * rows + r] = w[r * cols + c];
  auto b = sd.find(prefix + "bias");
  const std::string mm = b == sd.end() ? out : out + "_mm";
  g.node("MatMul", {x, g.initializer(prefix + "weight_t", Value::floats({cols, rows}, wt))}, {mm});
  if (b != sd.end())
    g.node("Add", {mm, g.initializer(prefix + "bias", Value::from_tensor(b->second))}, {out});
  return out;
}

// A reduction over axis 0 without keeping it; the axes move from attribute to input at opset
// 13 (ReduceSum) and 18 (the others).
std::string reduce_time(GraphBuilder& g, const std::string& op, const std::string& x,
                        const std::string& out, int64_t opset) {
  const bool as_input = op == "ReduceSum" ? opset >= 13 : opset >= 18;
  auto* n = as_input ? g.node(op, {x, g.ints(out + "_axes", {0})}, {out}) : g.node(op, {x}, {out});
  if (!as_input) GraphBuilder::attr(n, "axes", std::vector<int64_t>{0});
  GraphBuilder::attr(n, "keepdims", int64_t{0});
  return out;
}

std::string export_sequence_model(::onnx::ModelProto* model, GraphBuilder& g,
                                  const std::string& checkpoint_path, int64_t opset) {
  const SequenceCheckpoint c = load_sequence_checkpoint(checkpoint_path);
  const SequenceModelConfig& cfg = c.model->config();
  const auto sd = c.model->state_dict();
  model->mutable_graph()->set_name("recur_" + c.kind);
  add_metadata(model, "recur.kind", c.kind);
  add_metadata(model, "recur.config", cfg.to_json());
  if (!c.class_names.empty()) add_metadata(model, "recur.classes", json_array(c.class_names));
  if (c.vocab.size() > 2) add_metadata(model, "recur.vocab", c.vocab.to_json());
  for (const auto& [k, v] : c.info) add_metadata(model, "recur.info." + k, v);

  const bool tokens = cfg.vocab_size > 0, rnn = cfg.model == "rnn";
  const std::string T = rnn ? "T" : std::to_string(cfg.steps);
  std::string summary =
      c.kind + " (" +
      (rnn ? mode_name(cfg.cell) + " " + cfg.pooling + " pooling" : std::string("mlp")) +
      "); inputs: ";
  std::string x;
  if (tokens) {
    g.io(true, "tokens", 7, {T, "B"});
    g.node("Gather",
           {g.initializer("embedding.weight", Value::from_tensor(sd.at("embedding.weight"))),
            "tokens"},
           {"embedded"});
    x = "embedded";
    summary += "tokens [" + T + ", B] int64";
  } else {
    g.io(true, "features", 1, {T, "B", std::to_string(cfg.feature_size)});
    x = "features";
    summary += "features [" + T + ", B, " + std::to_string(cfg.feature_size) + "]";
  }
  std::string h;
  if (rnn) {
    g.io(true, "lengths", 7, {"B"});
    summary += ", lengths [B] int64 (each in 1..T)";
    auto* cast = g.node("Cast", {"lengths"}, {"sequence_lens"});
    GraphBuilder::attr(cast, "to", int64_t{6});
    RnnOptions o;
    o.mode = cfg.cell;
    o.input_size = tokens ? cfg.embed : cfg.feature_size;
    o.hidden_size = cfg.hidden;
    o.num_layers = cfg.layers;
    o.bidirectional = cfg.bidirectional;
    const StackOutputs s = add_stack(g, sd, "rnn.", o, x, "sequence_lens");
    const int64_t D = o.num_directions();
    // valid[t, b] = t < lengths[b], for the pooling modes that must skip padded steps.
    auto valid_mask = [&]() {
      g.node("Shape", {x}, {"x_shape"});
      auto* gather =
          g.node("Gather", {"x_shape", g.initializer("zero", Value::ints({}, {0}))}, {"steps"});
      GraphBuilder::attr(gather, "axis", int64_t{0});
      g.node("Range",
             {g.initializer("range_start", Value::ints({}, {0})), "steps",
              g.initializer("range_delta", Value::ints({}, {1}))},
             {"step_index"});
      g.node("Unsqueeze", {"step_index", g.ints("unsqueeze_1", {1})}, {"step_column"});
      g.node("Less", {"step_column", "lengths"}, {"valid"});
      g.node("Unsqueeze", {"valid", g.ints("unsqueeze_2", {2})}, {"valid3"});
      return std::string("valid3");
    };
    const std::string& pool = cfg.pooling;
    if (pool == "last") {
      if (D == 1) {
        g.node("Squeeze", {s.last_h, g.ints("squeeze_0", {0})}, {"pooled"});
      } else {
        auto* t = g.node("Transpose", {s.last_h}, {"last_bdh"});
        GraphBuilder::attr(t, "perm", std::vector<int64_t>{1, 0, 2});
        g.node("Reshape", {"last_bdh", g.ints("pooled_shape", {0, -1})}, {"pooled"});
      }
    } else if (pool == "mean" || pool == "max" || pool == "mean+max") {
      // mean: Y is zero past each length, so a plain sum over time divided by the length.
      auto mean = [&](const std::string& out) {
        reduce_time(g, "ReduceSum", s.y, "summed", opset);
        auto* cast_f = g.node("Cast", {"lengths"}, {"lengths_f"});
        GraphBuilder::attr(cast_f, "to", int64_t{1});
        g.node("Unsqueeze", {"lengths_f", g.ints("unsqueeze_len", {1})}, {"lengths_col"});
        g.node("Div", {"summed", "lengths_col"}, {out});
      };
      // max: the padded steps are set to -inf first.
      auto max = [&](const std::string& out) {
        const std::string mask = valid_mask();
        g.node("Where", {mask, s.y, g.initializer("minus_inf", Value::floats({}, {-INFINITY}))},
               {"masked"});
        reduce_time(g, "ReduceMax", "masked", out, opset);
      };
      if (pool == "mean") mean("pooled");
      if (pool == "max") max("pooled");
      if (pool == "mean+max") {  // side by side, mean first, as the model concatenates them
        mean("pooled_mean");
        max("pooled_max");
        auto* cat = g.node("Concat", {"pooled_mean", "pooled_max"}, {"pooled"});
        GraphBuilder::attr(cat, "axis", int64_t{1});
      }
    } else {
      RECUR_CHECK(pool == "attention",
                  checkpoint_path + ": pooling '" + pool + "' cannot be exported to ONNX yet");
      // attention: softmax over the valid steps of a learned score, then a weighted sum
      const std::string mask = valid_mask();
      linear_nd(g, sd, "attention.", s.y, "att_pre");
      g.node("Tanh", {"att_pre"}, {"att"});
      linear_nd(g, sd, "attention_score.", "att", "score");
      g.node("Where", {mask, "score", g.initializer("minus_inf", Value::floats({}, {-INFINITY}))},
             {"score_masked"});
      auto* sm = g.node("Softmax", {"score_masked"}, {"weights"});
      GraphBuilder::attr(sm, "axis", int64_t{0});
      g.node("Mul", {"weights", s.y}, {"weighted"});
      reduce_time(g, "ReduceSum", "weighted", "pooled", opset);
    }
    h = "pooled";
  } else {  // mlp: [T, B, F] → [B, T*F]
    auto* t = g.node("Transpose", {x}, {"x_btf"});
    GraphBuilder::attr(t, "perm", std::vector<int64_t>{1, 0, 2});
    g.node("Reshape", {"x_btf", g.ints("flat_shape", {0, -1})}, {"flat"});
    h = "flat";
  }
  for (size_t k = 0; k < cfg.head.size(); ++k) {
    const std::string name = "head" + std::to_string(k);
    linear(g, sd, "head." + std::to_string(k) + ".", h, name + "_pre");
    g.node("Relu", {name + "_pre"}, {name});
    h = name;
  }
  const bool classify = cfg.task == "classify";
  const std::string out = classify ? "logits" : "values";
  linear(g, sd, "out.", h, out);
  const std::string outputs = std::to_string(cfg.outputs);
  g.io(false, out, 1, {"B", outputs});
  summary += "; outputs: " + out + " [B, " + outputs + "]";
  if (classify) {
    auto* sm = g.node("Softmax", {"logits"}, {"probabilities"});
    GraphBuilder::attr(sm, "axis", int64_t{1});
    g.io(false, "probabilities", 1, {"B", outputs});
    summary += ", probabilities [B, " + outputs + "]";
  }
  return summary;
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
    const std::string& k = kind->second;
    RECUR_CHECK(k == "language_model" || k == "sequence_classifier" || k == "mlp_classifier" ||
                    k == "forecaster",
                checkpoint_path + ": cannot export a '" + k +
                    "' checkpoint (recur exports recurrent weights, language models, "
                    "classifiers and forecasters)");
    if (k != "language_model") {
      summary = export_sequence_model(&model, g, checkpoint_path, opset);
      const std::string bytes = model.SerializeAsString();
      io::write_atomically(path, path, [&](std::ostream& out) { out << bytes; });
      return summary;
    }
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
