// The portable core: what runs wherever JavaScript and an onnxruntime binding do (browsers, web workers,
// Node). Nothing it imports touches a Node built-in or a native addon; the runtime binding and the tokenizer
// implementation are registered by the host (setRuntime, setTokenizerEngine). In Node, src/index.ts is the
// library: it registers Node's bindings and adds files on disk, the Hub, training runs and the commands.
export * from "./errors.ts";
export * from "./engine/index.ts";
export * from "./io/files.ts";
export * from "./io/json.ts";
export * from "./io/text.ts";
export * from "./io/safetensors.ts";
export * from "./io/config.ts";
export * from "./io/checkpoint.ts";
export * from "./io/padding.ts";
export * from "./io/tokenizer-engine.ts";
export * from "./io/tokenizer.ts";
export * from "./optim/rose.ts";
export * from "./optim/adamw.ts";
export * from "./optim/schedule.ts";
export * from "./optim/clip.ts";
export * from "./models/index.ts";
export * from "./models/losses.ts";
export * from "./models/pretrained.ts";
export * from "./data/batches.ts";
export * from "./train/step.ts";
