// The layers of src/, bottom to top, and what each folder may import. A folder imports only folders listed
// for it, so imports run one way and folders form no cycle. The portable core (engine, io, optim, models and
// the training step) imports no Node built-in, no native addon and nothing from src/node/ (the Node edge).
const LAYERS = {
  // bottom: no model, no task, no file system
  engine: [],
  io: [],
  optim: [],
  // the Node edge: files, threads, the onnxruntime-node binding
  node: ["io", "engine"],
  models: ["engine", "io"],
  data: ["engine", "io", "node"],
  stats: ["engine"],
  infer: ["engine", "io", "optim", "models", "data"],
  train: ["engine", "io", "optim", "node", "models", "data", "infer"],
  pretrain: ["engine", "io", "optim", "node", "models", "data", "infer", "train"],
  robust: ["engine", "io", "node", "models", "data", "infer"],
  baseline: ["engine", "io", "node", "data"],
  landscape: ["engine", "io", "optim", "node", "models", "data", "infer", "train", "stats"],
  export: ["engine", "io", "node", "models"],
  report: ["engine", "io", "node", "data", "stats", "landscape"],
  sweep: ["engine", "io", "optim", "node", "models", "data", "stats", "infer", "train", "robust", "landscape"],
  app: ["*"],
  cli: ["*"],
};
const TOP = ["errors\\.ts", "defaults\\.ts"];

const layerRules = Object.entries(LAYERS)
  .filter(([, allowed]) => !allowed.includes("*"))
  .map(([folder, allowed]) => ({
    name: `layer-${folder}`,
    comment: `src/${folder}/ may import only ${[folder, ...allowed].join(", ")} (and src/errors.ts, src/defaults.ts)`,
    severity: "error",
    from: { path: `^src/${folder}/` },
    to: { path: "^src/", pathNot: `^src/(${[folder, ...allowed].join("|")})/|^src/(${TOP.join("|")})$` },
  }));

const CORE = "^src/(engine|io|optim|models)/|^src/train/step\\.ts$";

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "app-not-cli",
      comment: "the CLI is a thin layer over app/: nothing below it imports it",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "core-no-node-builtins",
      comment: "the portable core runs in browsers: no Node built-in",
      severity: "error",
      from: { path: CORE },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "core-no-native-or-node-edge",
      comment: "the portable core runs in browsers: no native addon, no onnxruntime-node, nothing from src/node/",
      severity: "error",
      from: { path: CORE },
      to: { path: "^src/node/|node_modules/(onnxruntime-node|tokenizers)/" },
    },
    {
      name: "no-circular",
      comment: "modules import each other in a loop",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], extensions: [".ts", ".js"] },
  },
};
