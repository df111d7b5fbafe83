// Copies a pre-trained masked-LM directory into the repository as a shipped model: config, tokenizer and
// F16 weights (half the size; loaded back as float32).
// Usage: node --import tsx scripts/model/ship-model.ts SRC_DIR DEST_DIR
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { dirFiles, dirSink } from "../../src/node/files.ts";

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  console.error("usage: node --import tsx scripts/model/ship-model.ts SRC_DIR DEST_DIR");
  process.exit(2);
}
const model = await PretrainedModel.load(dirFiles(src), { heads: ["mlm"] });
if (model.report.newParams.length) throw new Error(`${src} lacks ${model.report.newParams.join(", ")}`);
model.save(dirSink(dest), { head: "MaskedLM", dtype: "F16" });
console.log(`wrote ${dest}`);
