// Assembles the optimizer's WebAssembly kernel, src/optim/adamw.wat, into src/optim/adamw-wasm.ts: its bytes
// in base64, so the kernel loads without a file system (in Node, a browser, or a bundle).
// Run after editing the .wat: `node --import tsx scripts/build-wasm.ts` (a test checks the two agree).
import { readFileSync, writeFileSync } from "node:fs";
import { assembleWat, wasmModuleSource } from "./wasm.ts";

const src = new URL("../src/optim/adamw.wat", import.meta.url);
const out = new URL("../src/optim/adamw-wasm.ts", import.meta.url);
const bytes = await assembleWat(readFileSync(src, "utf8"));
writeFileSync(out, wasmModuleSource(bytes));
console.log(`wrote ${out.pathname} (${bytes.length} bytes of WebAssembly)`);
