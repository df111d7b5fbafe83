// Loaded by `npm test` (node --import ./test/setup.ts) before every test file: registers onnxruntime-node,
// as rose's Node entry points do, so tests that import engine modules directly can compile graphs.
import "../src/node/runtime.ts";
