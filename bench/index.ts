// npm run bench -- <engine|gemm|infer|train|pretrain|attack|landscape|rowsum|logits> [flags] [--json]
import "../src/node/runtime.ts";
import { benchAttack } from "./attack.ts";
import { benchEngine } from "./engine.ts";
import { benchGemm } from "./gemm.ts";
import { benchInfer } from "./infer.ts";
import { benchLandscape } from "./landscape.ts";
import { benchLogits } from "./logits.ts";
import { benchPretrain } from "./pretrain.ts";
import { benchRowSum } from "./rowsum.ts";
import { benchTrain } from "./train.ts";

const benches: Record<string, (argv: string[]) => Promise<Record<string, unknown>>> = {
  engine: benchEngine,
  gemm: benchGemm,
  infer: benchInfer,
  train: benchTrain,
  pretrain: benchPretrain,
  attack: benchAttack,
  landscape: benchLandscape,
  rowsum: benchRowSum,
  logits: benchLogits,
};

const [name, ...rest] = process.argv.slice(2);
const json = rest.includes("--json");
const argv = rest.filter((a) => a !== "--json");
const fn = name ? benches[name] : undefined;
if (!fn) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join("|")}> [flags] [--json]`);
  process.exit(2);
}
const result = await fn(argv);
if (json) console.log(JSON.stringify(result));
else for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(16)} ${v}`);
