// Assembles the optimizer's WebAssembly kernel: src/optim/adamw.wat -> src/optim/adamw.wasm.
// Run after editing the .wat: `node --import tsx scripts/build-wasm.ts` (a test checks the two agree).
import { readFileSync, writeFileSync } from "node:fs";
import { assembleWat } from "./wasm.ts";

const src = new URL("../src/optim/adamw.wat", import.meta.url);
const out = new URL("../src/optim/adamw.wasm", import.meta.url);
const bytes = await assembleWat(readFileSync(src, "utf8"));
writeFileSync(out, bytes);
console.log(`wrote ${out.pathname} (${bytes.length} bytes)`);
