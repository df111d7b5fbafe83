// Widens a BERT checkpoint (Net2WiderNet, Chen et al. 2016; bert2BERT's function-preserving init, Chen et al.
// 2022) so that pre-training a wider model starts from a trained one. New hidden units copy randomly chosen old
// ones (every table that writes the residual stream copies their columns), new attention heads copy old heads,
// new feed-forward units copy old units; a layer that reads copied units splits each old weight between the
// original and its copy at a random ratio, so the sum is unchanged and the copies get different gradients (an
// even split would keep them identical forever). The head dimension (64) stays, so attention scores are
// unchanged. LayerNorm is not exactly preserved (its mean and variance now also count the copies), and the new
// dims of the masked-LM transform start at zero so the tied decoder's logits are the old ones. With the hidden
// size unchanged (only the feed-forward grows) the widened model computes exactly what the old one did.
//   node --import tsx scripts/model/grow-width.ts models/rose-mini runs/wide/init --hidden 384 --intermediate 1536
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { Rng } from "../../src/engine/index.ts";
import { serializeSafetensors, type WriteTensor } from "../../src/io/safetensors.ts";
import { readSafetensors } from "../../src/node/safetensors.ts";

const program = new Command()
  .argument("<src>", "Hugging Face BERT model directory")
  .argument("<out>", "new model directory")
  .requiredOption("--hidden <n>", "new hidden size (a multiple of the head size, at most twice the old)", Number)
  .requiredOption("--intermediate <n>", "new feed-forward size (at most twice the old)", Number)
  .option("--seed <n>", "which units are copied and how weights are split", Number, 1)
  .parse();
const [src, out] = program.args as [string, string];
const o = program.opts<{ hidden: number; intermediate: number; seed: number }>();

const config = JSON.parse(readFileSync(join(src, "config.json"), "utf8")) as Record<string, number>;
const H = config.hidden_size!,
  heads = config.num_attention_heads!,
  I = config.intermediate_size!,
  dh = H / heads;
if (!(o.hidden >= H && o.hidden <= 2 * H && o.hidden % dh === 0))
  throw new Error(`--hidden must be in [${H}, ${2 * H}] and a multiple of ${dh}`);
if (!(o.intermediate >= I && o.intermediate <= 2 * I)) throw new Error(`--intermediate must be in [${I}, ${2 * I}]`);
const rng = new Rng(o.seed, 0x91de);

/** A map new index -> old index: the identity, then `extra` distinct old indices chosen at random. */
function growMap(old: number, extra: number): number[] {
  return [...Array.from({ length: old }, (_, i) => i), ...rng.shuffle(Array.from({ length: old }, (_, i) => i)).slice(0, extra)];
}
const gH = growMap(H, o.hidden - H);
const newHeads = growMap(heads, o.hidden / dh - heads);
const gA = newHeads.flatMap((h) => Array.from({ length: dh }, (_, r) => h * dh + r));
const gI = growMap(I, o.intermediate - I);

/** For a layer that reads units mapped by g (the first `old` the identity): each input's share of its old unit's weight. */
function shares(g: number[], old: number): Float32Array {
  const s = new Float32Array(g.length).fill(1);
  for (let j = old; j < g.length; j++) {
    const r = 0.3 + 0.4 * rng.next();
    s[g[j]!] = r;
    s[j] = 1 - r;
  }
  return s;
}
const sH = shares(gH, H),
  sA = shares(gA, H),
  sI = shares(gI, I);

const { tensors } = readSafetensors(join(src, "model.safetensors"));
const result: [string, WriteTensor][] = [];
const get = (n: string) => tensors.get(n)!.data as Float32Array;
/** W' [out', in'] = W[gOut, gIn] * share(in'); `null` maps keep the dimension. */
function matrix(name: string, gOut: number[] | null, gIn: number[] | null, sIn: Float32Array | null): void {
  const t = tensors.get(name)!;
  const [rows, cols] = t.shape as [number, number];
  const w = t.data as Float32Array,
    ro = gOut ?? [...Array(rows).keys()],
    ci = gIn ?? [...Array(cols).keys()];
  const data = new Float32Array(ro.length * ci.length);
  ro.forEach((r, i) => {
    ci.forEach((c, j) => {
      data[i * ci.length + j] = w[r * cols + c]! * (sIn ? sIn[j]! : 1);
    });
  });
  result.push([name, { shape: [ro.length, ci.length], data }]);
}
function vector(name: string, g: number[], zeroNew = false): void {
  const v = get(name);
  result.push([name, { shape: [g.length], data: Float32Array.from(g, (from, j) => (zeroNew && j >= v.length ? 0 : v[from]!)) }]);
}
for (const name of tensors.keys()) {
  const before = result.length;
  if (/embeddings\.(word|position|token_type)_embeddings\.weight$/.test(name)) matrix(name, null, gH, null);
  else if (/LayerNorm\.(weight|bias)$/.test(name)) vector(name, gH, name.startsWith("cls.predictions.transform."));
  else if (/attention\.self\.(query|key|value)\.weight$/.test(name)) matrix(name, gA, gH, sH);
  else if (/attention\.self\.(query|key|value)\.bias$/.test(name)) vector(name, gA);
  else if (/attention\.output\.dense\.weight$/.test(name)) matrix(name, gH, gA, sA);
  else if (/intermediate\.dense\.weight$/.test(name)) matrix(name, gI, gH, sH);
  else if (/intermediate\.dense\.bias$/.test(name)) vector(name, gI);
  else if (/\.output\.dense\.weight$/.test(name)) matrix(name, gH, gI, sI);
  else if (/dense\.bias$/.test(name)) vector(name, gH);
  else if (/(cls\.predictions\.transform|pooler)\.dense\.weight$/.test(name)) matrix(name, gH, gH, sH);
  else if (name === "classifier.weight") matrix(name, null, gH, sH);
  else if (name === "classifier.bias") result.push([name, { shape: tensors.get(name)!.shape, data: get(name).slice() }]);
  else if (name === "cls.predictions.bias" || name === "cls.predictions.decoder.bias")
    result.push([name, { shape: tensors.get(name)!.shape, data: get(name).slice() }]);
  if (result.length === before) throw new Error(`${src}: do not know how to widen ${name}`);
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "model.safetensors"), serializeSafetensors(result, { format: "pt" }));
const grown = { ...config, hidden_size: o.hidden, num_attention_heads: o.hidden / dh, intermediate_size: o.intermediate };
writeFileSync(join(out, "config.json"), `${JSON.stringify(grown, null, 2)}\n`);
for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]) {
  if (existsSync(join(src, f))) copyFileSync(join(src, f), join(out, f));
}
const params = result.reduce((n, [, t]) => n + t.data.length, 0);
console.error(
  `${out}: hidden ${H} -> ${o.hidden} (${o.hidden / dh} heads), feed-forward ${I} -> ${o.intermediate}, ${params.toLocaleString("en")} parameters`,
);
