// Held-out masked-token accuracy of a masked-LM model directory, scored as `rose pretrain --heldout` scores it,
// optionally per bucket of positions (positions that pre-training never reached score far below the rest):
//   node --import tsx scripts/model/heldout-accuracy.ts MODEL_DIR HELDOUT.txt [--max-seq-length 128] [--batch-size 32]
//     [--by-position 32] [--threads N]
// Prints one JSON object. The masks depend on the length and the batch size: compare models at equal ones.
import "../../src/node/runtime.ts";
import { parseArgs } from "node:util";
import { heldoutAccuracy } from "../../src/pretrain/heldout.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles } from "../../src/node/files.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "max-seq-length": { type: "string", default: "128" },
    "batch-size": { type: "string", default: "32" },
    "by-position": { type: "string" },
    threads: { type: "string" },
  },
});
const [dir, ...files] = positionals;
if (!dir || !files.length) {
  console.error(
    "usage: node --import tsx scripts/model/heldout-accuracy.ts MODEL_DIR HELDOUT.txt [--max-seq-length N] [--batch-size N] [--by-position N] [--threads N]",
  );
  process.exit(2);
}
const int = (name: string, v: string | undefined): number | undefined => {
  if (v == null) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n > 0)) {
    console.error(`--${name} must be a positive integer, got ${v}`);
    process.exit(2);
  }
  return n;
};
const model = await PretrainedModel.load(dirFiles(dir), { heads: ["mlm"], seed: 1 });
const maxSeqLength = int("max-seq-length", values["max-seq-length"])!;
const r = await heldoutAccuracy(model, files, {
  maxSeqLength,
  batchSize: int("batch-size", values["batch-size"])!,
  ...(values.threads ? { threads: int("threads", values.threads)! } : {}),
  ...(values["by-position"] ? { positionBucket: int("by-position", values["by-position"])! } : {}),
});
console.log(JSON.stringify({ model: dir, maxSeqLength, ...r }));
