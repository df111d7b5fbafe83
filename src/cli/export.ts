import type { Command } from "commander";
import { exportModel } from "../app/export.ts";
import { hubOptions, type ModelFlags, modelOptions } from "./flags.ts";

export function registerExport(program: Command): void {
  const cmd = program
    .command("export")
    .description("write a Hugging Face directory with onnx/model.onnx (loadable by transformers and transformers.js)");
  modelOptions(cmd)
    .requiredOption("--out <dir>", "output directory")
    .option("--no-tokenizer", "do not write tokenizer files")
    .option("--json", "print one JSON line")
    .action(async (f: ModelFlags & { out: string; tokenizer: boolean; json?: boolean }) => {
      const r = await exportModel({ model: f.model, hub: hubOptions(f), out: f.out, skipTokenizer: !f.tokenizer });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (f.json) {
        process.stdout.write(`${JSON.stringify({ out: r.out, onnx: r.onnxFile, onnx_bytes: r.onnxBytes, tokenizer: r.tokenizer })}\n`);
      } else {
        process.stdout.write(`exported ${r.modelDir} to ${r.out} (ONNX: ${r.onnxFile}, ${(r.onnxBytes / 2 ** 20).toFixed(1)} MiB)\n`);
      }
    });
}
