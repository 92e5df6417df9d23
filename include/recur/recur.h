// recur: everything public in one include.
#pragma once

#include "recur/autograd.h"
#include "recur/data.h"
#include "recur/datasets.h"
#include "recur/error.h"
#include "recur/io.h"
#include "recur/language_model.h"
#include "recur/metrics.h"
#include "recur/nn.h"
#include "recur/onnx.h"
#include "recur/optim.h"
#include "recur/parameter.h"
#include "recur/rng.h"
#include "recur/rnn.h"
#include "recur/sequence_model.h"
#include "recur/task_data.h"
#include "recur/tensor.h"
