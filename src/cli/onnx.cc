// `recur onnx-test DIR...` (ONNX backend-test folders: one line per failure, then "N passed,
// M failed") and `recur export --onnx` (a recur checkpoint as model.onnx).
#include "recur/onnx.h"

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "recur/error.h"

namespace recur::cli {
namespace {

struct OnnxTestArgs {
  std::vector<std::string> dirs;
  double rtol = 1e-3, atol = 1e-5;
  bool verbose = false;
};

void run_onnx_test(const OnnxTestArgs& a) {
  int passed = 0, failed = 0;
  for (const auto& dir : a.dirs) {
    onnx::BackendTestResult r = onnx::run_backend_test(dir, a.rtol, a.atol);
    if (r.passed) {
      ++passed;
      if (a.verbose) std::cout << "PASS " << r.name << "\n";
    } else {
      ++failed;
      std::cout << "FAIL " << r.name << ": " << r.message << "\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  if (failed > 0) throw Exit{1};
}

struct ExportArgs {
  std::string checkpoint, output;
  int64_t opset = 14;
};

}  // namespace

void add_onnx_commands(CLI::App& app) {
  auto test = std::make_shared<OnnxTestArgs>();
  CLI::App* cmd = app.add_subcommand(
      "onnx-test",
      "Run ONNX backend-test folders (model.onnx + test_data_set_N/{input,output}_K.pb)");
  cmd->add_option("dirs", test->dirs, "test folders")->required();
  cmd->add_option("--rtol", test->rtol, "relative tolerance (default 1e-3)");
  cmd->add_option("--atol", test->atol, "absolute tolerance (default 1e-5)");
  cmd->add_flag("-v,--verbose", test->verbose, "also print a line for each passing test");
  cmd->callback([test] { run_onnx_test(*test); });

  auto exp = std::make_shared<ExportArgs>();
  CLI::App* ex = app.add_subcommand(
      "export", "Export a recur checkpoint (recurrent weights or a language model) to ONNX");
  ex->add_option("--onnx", exp->checkpoint, "the checkpoint to export (.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  ex->add_option("-o,--output", exp->output, "where to write the .onnx model")->required();
  ex->add_option("--opset", exp->opset, "ONNX opset version, 14 to 18 (default 14)")
      ->check(CLI::Range(14, 18));
  ex->callback([exp] {
    std::cout << onnx::export_onnx(exp->checkpoint, exp->output, exp->opset) << std::endl;
  });
}

}  // namespace recur::cli
