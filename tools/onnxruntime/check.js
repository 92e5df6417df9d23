#!/usr/bin/env node
// Runs ONNX backend-test-format cases in ONNX Runtime and compares the outputs.
//
//   node tools/onnxruntime/check.js [--rtol R] [--atol A] [--onnx-proto FILE] DIR...
//
// Each DIR holds model.onnx and one or more test_data_set_N/ folders with input_K.pb and
// output_K.pb (serialized onnx.TensorProto). input_K feeds the K-th graph input (or the
// input its tensor name says), output_K is compared with the K-th graph output.
// A value passes when |actual - expected| <= atol + rtol * |expected| (NaN matches NaN);
// integer outputs must match exactly; shapes and element types must match.
//
// ONNX Runtime's CPU kernels reject LSTM/GRU/RNN with layout=1. Unless --no-layout-rewrite is
// given, such nodes are rewritten before the model is loaded: the node gets layout=0 and
// Transpose nodes convert X, initial_h, initial_c in and Y, Y_h, Y_c out, so the case's
// expected outputs (in layout=1 shapes) are still checked. A note goes to stderr.
//
// Prints one line per failing test (DIR, the data set, and why) and, as the last line,
// "N passed, M failed" (one test = one DIR/test_data_set_N). Exits 0 iff none failed,
// 2 on a usage error.
'use strict';

const fs = require('fs');
const path = require('path');

function usage(msg) {
  if (msg) console.error(`check.js: ${msg}`);
  console.error('usage: check.js [--rtol R] [--atol A] [--onnx-proto FILE] [--no-layout-rewrite] DIR...');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { rtol: 1e-3, atol: 1e-5, proto: '/usr/include/onnx/onnx.proto', layoutRewrite: true, dirs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const number = (s) => {
      const x = Number(s);
      if (!Number.isFinite(x) || x < 0) usage(`${a}: not a non-negative number: ${s}`);
      return x;
    };
    if (a === '--rtol') opts.rtol = number(value());
    else if (a === '--atol') opts.atol = number(value());
    else if (a === '--onnx-proto') opts.proto = value();
    else if (a === '--no-layout-rewrite') opts.layoutRewrite = false;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else opts.dirs.push(a);
  }
  if (opts.dirs.length === 0) usage('no DIR given');
  return opts;
}

// onnx.TensorProto.DataType values -> [ort type name, typed array constructor, field]
const DTYPES = {
  1: ['float32', Float32Array, 'floatData'],
  2: ['uint8', Uint8Array, 'int32Data'],
  3: ['int8', Int8Array, 'int32Data'],
  4: ['uint16', Uint16Array, 'int32Data'],
  5: ['int16', Int16Array, 'int32Data'],
  6: ['int32', Int32Array, 'int32Data'],
  7: ['int64', BigInt64Array, 'int64Data'],
  9: ['bool', Uint8Array, 'int32Data'],
  11: ['float64', Float64Array, 'doubleData'],
  12: ['uint32', Uint32Array, 'uint64Data'],
  13: ['uint64', BigUint64Array, 'uint64Data'],
};

// Decodes a serialized TensorProto file into an ort.Tensor (via the schema in onnx.proto).
function loadTensor(ort, TensorProto, file) {
  if (!fs.existsSync(file)) throw new Error(`missing file ${file}`);
  let msg;
  try {
    msg = TensorProto.decode(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`malformed TensorProto ${file}: ${e.message}`);
  }
  const info = DTYPES[msg.dataType];
  if (!info) throw new Error(`${file}: unsupported TensorProto data_type ${msg.dataType}`);
  const [type, Ctor, field] = info;
  const dims = (msg.dims || []).map((d) => Number(d));
  const count = dims.reduce((a, b) => a * b, 1);
  let data;
  if (msg.rawData && msg.rawData.length > 0) {
    const raw = msg.rawData;
    if (raw.length !== count * Ctor.BYTES_PER_ELEMENT) {
      throw new Error(`${file}: raw_data has ${raw.length} bytes, dims ${JSON.stringify(dims)} need ` +
        `${count * Ctor.BYTES_PER_ELEMENT}`);
    }
    // Copy into an aligned buffer (raw_data is little-endian, as is every platform ORT runs on).
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    data = new Ctor(copy.buffer);
  } else {
    const values = msg[field] || [];
    if (values.length !== count) {
      throw new Error(`${file}: ${values.length} values in ${field}, dims ${JSON.stringify(dims)} need ${count}`);
    }
    data = new Ctor(count);
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (Ctor === BigInt64Array || Ctor === BigUint64Array) data[i] = BigInt(v.toString());
      else data[i] = Number(v);
    }
  }
  return { name: msg.name || '', tensor: new ort.Tensor(type, data, dims) };
}

function listIndexed(dir, prefix) {
  const out = [];
  for (let k = 0; fs.existsSync(path.join(dir, `${prefix}_${k}.pb`)); k++) {
    out.push(path.join(dir, `${prefix}_${k}.pb`));
  }
  return out;
}

// Compares one output; returns null when it matches, otherwise the reason.
function compare(actual, expected, rtol, atol) {
  if (actual.type !== expected.type) return `element type ${actual.type}, expected ${expected.type}`;
  const da = JSON.stringify(actual.dims);
  const de = JSON.stringify(expected.dims);
  if (da !== de) return `shape ${da}, expected ${de}`;
  const a = actual.data;
  const e = expected.data;
  const isFloat = actual.type === 'float32' || actual.type === 'float64';
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < e.length; i++) {
    if (!isFloat) {
      if (a[i] !== e[i]) {
        bad++;
        if (firstBad < 0) firstBad = i;
      }
      continue;
    }
    const x = a[i];
    const y = e[i];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (!(Number.isNaN(x) && Number.isNaN(y))) {
        bad++;
        if (firstBad < 0) firstBad = i;
      }
      continue;
    }
    const d = Math.abs(x - y);
    if (d > maxAbs) maxAbs = d;
    if (y !== 0 && d / Math.abs(y) > maxRel) maxRel = d / Math.abs(y);
    if (!(d <= atol + rtol * Math.abs(y))) {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
  }
  if (bad === 0) return null;
  const where = `first at flat index ${firstBad}: ${a[firstBad]} vs ${e[firstBad]}`;
  if (!isFloat) return `${bad}/${e.length} values differ, ${where}`;
  return `${bad}/${e.length} values out of tolerance, max abs diff ${maxAbs.toExponential(3)}, ` +
    `max rel diff ${maxRel.toExponential(3)}, ${where}`;
}

const RECURRENT_OPS = new Set(['LSTM', 'GRU', 'RNN']);
const ATTR_INTS = 7;

// Rewrites every layout=1 LSTM/GRU/RNN node of a decoded ModelProto (main graph only) into
// layout=0 between Transposes. Returns the number of nodes rewritten.
function rewriteLayout1(model) {
  const graph = model.graph;
  const nodes = [];
  let count = 0;
  for (const node of graph.node) {
    const layout = (node.attribute || []).find((a) => a.name === 'layout');
    if (!RECURRENT_OPS.has(node.opType) || !layout || Number(layout.i) !== 1) {
      nodes.push(node);
      continue;
    }
    count++;
    layout.i = 0;
    const tag = `${node.name || node.opType}_layout${count}`;
    const transpose = (input, output, perm) => ({
      opType: 'Transpose', name: `${tag}_${output}`, input: [input], output: [output],
      attribute: [{ name: 'perm', type: ATTR_INTS, ints: perm }],
    });
    // Inputs 0 (X), 5 (initial_h), 6 (initial_c): batch-major -> sequence/direction-major.
    for (const k of [0, 5, 6]) {
      if (k < node.input.length && node.input[k]) {
        const t = `${tag}_in${k}`;
        nodes.push(transpose(node.input[k], t, [1, 0, 2]));
        node.input[k] = t;
      }
    }
    nodes.push(node);
    // Outputs 0 (Y: [T, D, B, H] -> [B, T, D, H]), 1 (Y_h), 2 (Y_c: [D, B, H] -> [B, D, H]).
    for (let k = 0; k < node.output.length; k++) {
      if (!node.output[k]) continue;
      const t = `${tag}_out${k}`;
      const final = node.output[k];
      node.output[k] = t;
      nodes.push(transpose(t, final, k === 0 ? [2, 0, 1, 3] : [1, 0, 2]));
    }
  }
  graph.node = nodes;
  return count;
}

// Runs every test_data_set_N of one case folder; returns [{name, error|null}].
async function runCase(ort, ModelProto, TensorProto, dir, opts) {
  const name = dir.replace(/\/+$/, '');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    return [{ name, error: 'not a directory' }];
  }
  const modelFile = path.join(dir, 'model.onnx');
  if (!fs.existsSync(modelFile)) return [{ name, error: `missing file ${modelFile}` }];
  const sets = fs.readdirSync(dir).filter((f) => /^test_data_set_\d+$/.test(f)).sort();
  if (sets.length === 0) return [{ name, error: 'no test_data_set_N folder' }];

  let session;
  try {
    let model = fs.readFileSync(modelFile);
    if (opts.layoutRewrite) {
      const decoded = ModelProto.decode(model);
      const n = rewriteLayout1(decoded);
      if (n > 0) {
        model = ModelProto.encode(decoded).finish();
        console.error(`note: ${name}: ${n} layout=1 node(s) run as layout=0 between Transposes`);
      }
    }
    session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  } catch (e) {
    return [{ name, error: `ONNX Runtime cannot load model.onnx: ${e.message.split('\n')[0]}` }];
  }
  const results = [];
  for (const set of sets) {
    const testName = `${name}/${set}`;
    try {
      const setDir = path.join(dir, set);
      const inputFiles = listIndexed(setDir, 'input');
      const outputFiles = listIndexed(setDir, 'output');
      if (outputFiles.length === 0) throw new Error(`no output_0.pb in ${setDir}`);
      if (inputFiles.length !== session.inputNames.length) {
        throw new Error(`${inputFiles.length} input_K.pb files, model has ${session.inputNames.length} inputs ` +
          `(${session.inputNames.join(', ')})`);
      }
      if (outputFiles.length !== session.outputNames.length) {
        throw new Error(`${outputFiles.length} output_K.pb files, model has ${session.outputNames.length} ` +
          `outputs (${session.outputNames.join(', ')})`);
      }
      const feeds = {};
      inputFiles.forEach((f, k) => {
        const { name: n, tensor } = loadTensor(ort, TensorProto, f);
        feeds[session.inputNames.includes(n) ? n : session.inputNames[k]] = tensor;
      });
      const expected = outputFiles.map((f, k) => {
        const { name: n, tensor } = loadTensor(ort, TensorProto, f);
        return { name: session.outputNames.includes(n) ? n : session.outputNames[k], tensor };
      });
      const got = await session.run(feeds);
      const problems = [];
      for (const { name: n, tensor } of expected) {
        const why = compare(got[n], tensor, opts.rtol, opts.atol);
        if (why) problems.push(`output ${n}: ${why}`);
      }
      results.push({ name: testName, error: problems.length ? problems.join('; ') : null });
    } catch (e) {
      results.push({ name: testName, error: e.message.split('\n')[0] });
    }
  }
  return results;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let ort;
  let protobuf;
  try {
    ort = require('onnxruntime-node');
    protobuf = require('protobufjs');
  } catch (e) {
    console.error(`check.js: cannot load onnxruntime-node / protobufjs (${e.message.split('\n')[0]}); ` +
      'run scripts/setup-onnxruntime first');
    process.exit(2);
  }
  if (!fs.existsSync(opts.proto)) {
    console.error(`check.js: ${opts.proto} not found (Debian: apt-get install libonnx-dev, or --onnx-proto FILE)`);
    process.exit(2);
  }
  const root = protobuf.loadSync(opts.proto);
  const TensorProto = root.lookupType('onnx.TensorProto');
  const ModelProto = root.lookupType('onnx.ModelProto');
  let passed = 0;
  let failed = 0;
  for (const dir of opts.dirs) {
    for (const r of await runCase(ort, ModelProto, TensorProto, dir, opts)) {
      if (r.error) {
        failed++;
        console.log(`FAIL ${r.name}: ${r.error}`);
      } else {
        passed++;
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`check.js: ${e.stack || e}`);
  process.exit(2);
});
