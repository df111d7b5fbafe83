// Public surface of the robustness code: attacks (TextAttack-style recipes) and AdvGLUE scoring.

export type * from "./types.ts";
// Named apart from the engine's RunOptions: `export *` in src/index.ts would drop one of the two silently.
export { Attack, runAttack, type AttackSpec, type RunOptions as AttackRunOptions } from "./attack.ts";
export { buildAttack, isRecipeName, RECIPES, RECIPE_NAMES, type RecipeName, type RecipeOptions } from "./recipes.ts";
export { loadNeighbors, NeighborTable, type Neighbor } from "./neighbors.ts";
export { WordNet, defaultWordNetDir } from "./wordnet.ts";
export { summarize, formatSummaryTable, formatResult, type AttackSummary } from "./report.ts";
export {
  loadAdvGlue,
  parseAdvGlue,
  scoreAdvGlue,
  advGlueOverall,
  ADVGLUE_TASKS,
  ADVGLUE_TASK_NAMES,
  isAdvGlueTask,
  type AdvGlueTask,
  type AdvGlueSet,
  type AdvGlueExample,
  type AdvGlueScore,
  type AdvGlueOverall,
} from "./advglue.ts";
