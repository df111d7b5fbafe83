// Deepens a BERT checkpoint by copying encoder layers (depth up-scaling: progressive stacking, Gong et al. 2019;
// SOLAR's overlapping copy, Kim et al. 2023), so that pre-training a deeper model starts from a trained one
// instead of from random weights. Everything but the encoder layers is kept; tokenizer files are copied.
//   node --import tsx scripts/model/grow-layers.ts models/rose-mini runs/grown --map 0,1,2,1,2,3
// writes a 6-layer model whose layers are copies of layers 0, 1, 2, 1, 2, 3 of the 4-layer one (float32).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { serializeSafetensors, type WriteTensor } from "../../src/io/safetensors.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";

const program = new Command()
  .argument("<src>", "Hugging Face BERT model directory")
  .argument("<out>", "new model directory")
  .requiredOption("--map <layers>", "source layer of each new layer, comma-separated (e.g. 0,1,2,1,2,3)")
  .parse();
const [src, out] = program.args as [string, string];
const map = (program.opts().map as string).split(",").map(Number);

const config = JSON.parse(readFileSync(join(src, "config.json"), "utf8")) as Record<string, unknown>;
const layers = config.num_hidden_layers as number;
if (!map.length || !map.every((l) => Number.isInteger(l) && l >= 0 && l < layers)) {
  throw new Error(`--map must list layers of ${src} (0-${layers - 1}), got ${program.opts().map}`);
}
const file = join(src, "model.safetensors");
const { tensors } = readSafetensors(file);
const LAYER = /^(.*encoder\.layer\.)(\d+)(\..*)$/;
const kept: [string, WriteTensor][] = [];
const byLayer = new Map<number, [string, string][]>(); // layer -> [prefix, suffix] of its tensors
for (const [name, t] of tensors) {
  const m = LAYER.exec(name);
  if (!m) {
    kept.push([name, { shape: t.shape, data: t.data }]);
    continue;
  }
  const l = Number(m[2]);
  if (!byLayer.has(l)) byLayer.set(l, []);
  byLayer.get(l)!.push([m[1]!, m[3]!]);
}
if (byLayer.size !== layers) throw new Error(`${file}: ${byLayer.size} encoder layers, config.json says ${layers}`);
const grown: [string, WriteTensor][] = [];
map.forEach((from, to) => {
  for (const [prefix, suffix] of byLayer.get(from)!) {
    const t = tensors.get(`${prefix}${from}${suffix}`)!;
    grown.push([`${prefix}${to}${suffix}`, { shape: t.shape, data: t.data.slice() }]);
  }
});
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "model.safetensors"), serializeSafetensors([...kept, ...grown], { format: "pt" }));
writeFileSync(join(out, "config.json"), `${JSON.stringify({ ...config, num_hidden_layers: map.length }, null, 2)}\n`);
for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]) {
  if (existsSync(join(src, f))) copyFileSync(join(src, f), join(out, f));
}
console.error(`${out}: ${map.length} layers (from ${src}'s ${map.join(", ")}), ${kept.length + grown.length} tensors`);
