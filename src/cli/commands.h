// Registration of the CLI's sub-commands; each lives in its own file under src/cli/.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace recur::cli {

// `recur forward`: runs a PyTorch-trained recurrent layer, optionally with backward.
void add_forward_command(CLI::App& app);

// `recur train lm`, `recur eval`, `recur next`, `recur generate`, `recur data lm`.
void add_lm_commands(CLI::App& app);

// `recur train classify|mlp|forecast`, `recur predict` (needs add_lm_commands first, which
// creates `train`).
void add_sequence_commands(CLI::App& app);
// `recur eval` of a classifier or forecaster checkpoint (lm.cc dispatches here by kind) on
// `split` (train, valid or test; forecasters: test). Several classifiers (an ensemble) are
// evaluated on the mean of their class probabilities.
void run_sequence_eval(const std::vector<std::string>& models, const std::string& data_dir,
                       const std::string& split, const std::string& plot, bool json_out);
// "a,b,c" -> {"a", "b", "c"}; an empty entry is an Error.
std::vector<std::string> split_model_list(const std::string& models);

// `recur onnx-test DIR...` and `recur export --onnx`.
void add_onnx_commands(CLI::App& app);

// Thrown by a command that must end with a particular exit status (e.g. 130 after Ctrl-C).
struct Exit {
  int code;
};

// `recur plot`: train/valid loss curves from JSONL training logs as an SVG.
void add_plot_command(CLI::App& app);

// `recur bench`: recur's own timings of benchmark problems (peers: bench/harness).
void add_bench_command(CLI::App& app);

}  // namespace recur::cli
