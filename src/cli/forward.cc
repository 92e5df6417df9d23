// `recur forward`: load a torch.nn.RNN/LSTM/GRU state_dict (safetensors), run it on a .npy
// input, write outputs (and, with --grad-output, every gradient) — all files are written only
// after every computation succeeded. Leaves out: models other than a bare recurrent stack.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "recur/error.h"
#include "recur/io.h"
#include "recur/onnx.h"
#include "recur/rnn.h"

namespace recur::cli {
namespace {

struct ForwardArgs {
  std::string weights, input, output, mode, lengths, h0, c0, hn, cn;
  std::string grad_output, grad_hn, grad_cn, grads;
  std::string onnx;                         // a model.onnx in place of --weights
  std::vector<std::string> feeds, fetches;  // NAME=FILE.npy
  bool batch_first = false;
};

// Output files are first written next to their targets as PATH.partial and renamed into
// place only when every one of them was written, so a failure leaves no output at all.
class StagedOutputs {
 public:
  ~StagedOutputs() {
    for (const auto& [partial, target] : staged_) std::remove(partial.c_str());
  }
  std::string stage(const std::string& target) {
    staged_.emplace_back(target + ".partial", target);
    return staged_.back().first;
  }
  void commit() {
    for (const auto& [partial, target] : staged_)
      RECUR_CHECK(std::rename(partial.c_str(), target.c_str()) == 0,
                  "cannot write '" + target + "': " + std::strerror(errno));
    staged_.clear();
  }

 private:
  std::vector<std::pair<std::string, std::string>> staged_;
};

void check_output_paths(const std::vector<std::pair<const char*, std::string>>& outputs) {
  std::set<std::string> seen;
  for (const auto& [flag, path] : outputs) {
    if (path.empty()) continue;
    RECUR_CHECK(!std::filesystem::is_directory(path),
                std::string(flag) + " " + path + ": is a directory, expected a file path");
    RECUR_CHECK(seen.insert(path).second,
                std::string(flag) + " " + path + ": the same path is given for two outputs");
  }
}

Tensor load_optional(const std::string& path) {
  return path.empty() ? Tensor() : load_npy_tensor(path);
}

std::pair<std::string, std::string> name_and_file(const std::string& flag, const std::string& s) {
  const auto eq = s.find('=');
  RECUR_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < s.size(),
              flag + " " + s + ": expected NAME=FILE.npy");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

onnx::Value load_npy_value(const std::string& path) {
  NpyArray a = load_npy(path);
  if (a.dtype == NpyArray::Dtype::kFloat32) return onnx::Value::floats(a.shape, std::move(a.f32));
  return onnx::Value::ints(a.shape, std::move(a.i64));
}

void save_npy_value(const std::string& path, const onnx::Value& v) {
  if (v.is_float())
    save_npy(path, v.to_tensor());
  else
    save_npy_int64(path, v.i, v.shape);
}

// --onnx: the model's first input from --input, others from --feed; outputs 0, 1, 2 to
// --output, --hn, --cn and any output by name with --fetch.
void run_onnx_forward(const ForwardArgs& a) {
  RECUR_CHECK(a.weights.empty(), "give either --weights or --onnx, not both");
  RECUR_CHECK(a.lengths.empty() && a.h0.empty() && a.c0.empty() && a.mode.empty() && !a.batch_first,
              "--lengths, --h0, --c0, --mode and --batch-first describe a PyTorch state_dict; "
              "with --onnx, feed the model's inputs by name with --feed NAME=FILE.npy");
  RECUR_CHECK(a.grad_output.empty() && a.grads.empty(),
              "--onnx runs inference only (no --grad-output / --grads)");
  const onnx::Model model = onnx::Model::load(a.onnx);
  RECUR_CHECK(!model.inputs().empty(), a.onnx + ": the model has no inputs to feed");
  std::map<std::string, onnx::Value> feeds;
  feeds[model.inputs()[0].name] = load_npy_value(a.input);
  for (const auto& f : a.feeds) {
    auto [name, file] = name_and_file("--feed", f);
    RECUR_CHECK(!feeds.count(name), "--feed " + name + ": given twice (the first input, '" +
                                        model.inputs()[0].name + "', comes from --input)");
    feeds[name] = load_npy_value(file);
  }
  const std::vector<onnx::Value> out = model.run(feeds);
  std::vector<std::pair<const char*, std::string>> paths = {
      {"--output", a.output}, {"--hn", a.hn}, {"--cn", a.cn}};
  std::vector<std::pair<std::string, std::string>> fetched;
  for (const auto& f : a.fetches) {
    auto nf = name_and_file("--fetch", f);
    fetched.push_back(nf);
    paths.emplace_back("--fetch", nf.second);
  }
  check_output_paths(paths);
  StagedOutputs staged;
  const std::string flags[] = {a.output, a.hn, a.cn};
  for (size_t k = 0; k < 3; ++k) {
    if (flags[k].empty()) continue;
    RECUR_CHECK(k < out.size(), a.onnx + " has " + std::to_string(out.size()) +
                                    " output(s); nothing to write for " + paths[k].first);
    save_npy_value(staged.stage(flags[k]), out[k]);
  }
  for (const auto& [name, file] : fetched) {
    size_t k = 0;
    while (k < model.outputs().size() && model.outputs()[k].name != name) ++k;
    RECUR_CHECK(k < model.outputs().size(),
                "--fetch " + name + ": the model has no output '" + name + "'");
    save_npy_value(staged.stage(file), out[k]);
  }
  staged.commit();
}

void run_forward(const ForwardArgs& a) {
  if (!a.onnx.empty()) return run_onnx_forward(a);
  RECUR_CHECK(!a.weights.empty(),
              "give the model: --weights STATE_DICT.safetensors or --onnx "
              "MODEL.onnx");
  RECUR_CHECK(a.grads.empty() == a.grad_output.empty(),
              "--grads and --grad-output go together: --grad-output runs backward, --grads "
              "says where its gradients go");
  RECUR_CHECK(a.grad_output.size() || (a.grad_hn.empty() && a.grad_cn.empty()),
              "--grad-hn/--grad-cn need --grad-output (and --grads)");

  check_output_paths(
      {{"--output", a.output}, {"--hn", a.hn}, {"--cn", a.cn}, {"--grads", a.grads}});
  SafeTensors weights = load_safetensors(a.weights);
  Rnn loaded = Rnn::from_state_dict(weights.tensors, a.mode);
  RnnOptions options = loaded.options();
  options.batch_first = a.batch_first;
  Rnn rnn(options);
  rnn.load_state_dict(weights.tensors);
  const bool lstm = options.mode == RnnMode::kLstm;
  RECUR_CHECK(lstm || (a.c0.empty() && a.cn.empty() && a.grad_cn.empty()),
              "--c0/--cn/--grad-cn apply to an LSTM only, but the weights are a " +
                  mode_name(options.mode));

  Tensor input = load_npy_tensor(a.input);
  RnnArgs args;
  if (!a.lengths.empty()) {
    Shape shape;
    args.lengths = load_npy_int64(a.lengths, &shape);
    RECUR_CHECK(shape.size() == 1,
                a.lengths + ": lengths must be 1-D [B], found shape " + shape_string(shape));
  }
  args.h0 = load_optional(a.h0);
  args.c0 = load_optional(a.c0);

  StagedOutputs staged;
  if (a.grad_output.empty()) {
    RnnOutput out = rnn.forward(input, args);
    save_npy(staged.stage(a.output), out.output);
    if (!a.hn.empty()) save_npy(staged.stage(a.hn), out.h_n);
    if (!a.cn.empty()) save_npy(staged.stage(a.cn), out.c_n);
    staged.commit();
    return;
  }
  Tensor grad_output = load_npy_tensor(a.grad_output);
  Tensor grad_hn = load_optional(a.grad_hn);
  Tensor grad_cn = load_optional(a.grad_cn);
  RnnWorkspace workspace;
  RnnOutput out = rnn.forward_train(input, args, &workspace);
  RnnGrads grads = rnn.backward(workspace, grad_output, grad_hn, grad_cn);
  SafeTensors g;
  g.tensors = std::move(grads.parameters);
  g.tensors.emplace("input", std::move(grads.input));
  if (args.h0.defined()) g.tensors.emplace("h0", std::move(grads.h0));
  if (args.c0.defined()) g.tensors.emplace("c0", std::move(grads.c0));
  save_npy(staged.stage(a.output), out.output);
  if (!a.hn.empty()) save_npy(staged.stage(a.hn), out.h_n);
  if (!a.cn.empty()) save_npy(staged.stage(a.cn), out.c_n);
  save_safetensors(staged.stage(a.grads), g);
  staged.commit();
}

}  // namespace

void add_forward_command(CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  CLI::App* cmd = app.add_subcommand(
      "forward", "Run a PyTorch RNN/LSTM/GRU state_dict (or an ONNX model) on a .npy input");
  cmd->add_option("--weights", args->weights, "torch state_dict saved as safetensors")
      ->check(CLI::ExistingFile);
  cmd->add_option("--onnx", args->onnx,
                  "run an ONNX model instead: --input feeds its first input, --output/--hn/--cn "
                  "get its outputs 0/1/2")
      ->check(CLI::ExistingFile);
  cmd->add_option("--feed", args->feeds, "with --onnx: another input, NAME=FILE.npy (repeatable)");
  cmd->add_option("--fetch", args->fetches,
                  "with --onnx: write output NAME to FILE.npy, NAME=FILE.npy (repeatable)");
  cmd->add_option("--input", args->input, "input .npy, float32 [T, B, I] (or [B, T, I])")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", args->output, "where to write the output .npy [T, B, D*H]")
      ->required();
  cmd->add_option("--mode", args->mode,
                  "rnn_tanh, rnn_relu, lstm or gru (inferred; needed "
                  "only for rnn_relu)")
      ->check(CLI::IsMember({"rnn_tanh", "rnn_relu", "lstm", "gru"}));
  cmd->add_flag("--batch-first", args->batch_first, "input and output are [B, T, ...]");
  cmd->add_option("--lengths", args->lengths, "int64 .npy [B] of sequence lengths")
      ->check(CLI::ExistingFile);
  cmd->add_option("--h0", args->h0, "initial hidden state .npy [L*D, B, H]")
      ->check(CLI::ExistingFile);
  cmd->add_option("--c0", args->c0, "initial cell state .npy [L*D, B, H] (LSTM)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--hn", args->hn, "where to write the final hidden state .npy");
  cmd->add_option("--cn", args->cn, "where to write the final cell state .npy (LSTM)");
  cmd->add_option("--grad-output", args->grad_output, "d loss / d output .npy: runs backward")
      ->check(CLI::ExistingFile);
  cmd->add_option("--grad-hn", args->grad_hn, "d loss / d h_n .npy (default zeros)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--grad-cn", args->grad_cn, "d loss / d c_n .npy (default zeros)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--grads", args->grads,
                  "where to write the gradients (safetensors: parameters, input, h0, c0)");
  cmd->callback([args] { run_forward(*args); });
}

}  // namespace recur::cli
