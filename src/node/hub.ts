// Model directories from the Hugging Face Hub. A local directory is used as is; otherwise the argument is a
// repo id whose config, weights and tokenizer files are fetched with @huggingface/hub into the standard cache
// layout (models--org--name/{blobs,refs,snapshots/<commit>}), which the Python libraries share. Only the files
// this project reads are downloaded, not the whole repo: one set of weights (safetensors when the repo has
// them, else pytorch_model.bin or its shards), no ONNX, TensorFlow or Flax files.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { downloadFileToCacheDir, getHFHubCachePath, modelInfo, HubApiError } from "@huggingface/hub";
import { ConfigError, RoseError } from "../errors.ts";
import { WEIGHT_FILES } from "../io/checkpoint.ts";
import { jsonProblem } from "../io/json.ts";
import { SENTENCEPIECE_FILES } from "../io/sentencepiece.ts";
import { writeFileAtomic } from "./files.ts";

/** The Hub could not be reached or refused a request, or (offline) the cache lacks the model. */
export class HubError extends RoseError {}

export const DEFAULT_ENDPOINT = "https://huggingface.co";

/** Tokenizer files fetched when the repo has them. */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  ...SENTENCEPIECE_FILES,
  "tokenizer_config.json",
  "special_tokens_map.json",
];

export interface DownloadProgress {
  /** The file just fetched (or found in the cache). */
  file: string;
  done: number;
  total: number;
}

export interface ResolveModelOptions {
  /** Use only the local cache. Default: env HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** Hub cache root. Default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Branch, tag or commit. Default "main". */
  revision?: string;
  /** Hub URL. Default: env HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Token for private or gated repos (must start with hf_). Default: env HF_TOKEN. */
  accessToken?: string;
  onProgress?: (p: DownloadProgress) => void;
}

const COMMIT = /^[0-9a-f]{40}$/;

function envFlag(name: string): boolean {
  const v = process.env[name]?.trim().toLowerCase();
  return v === "1" || v === "true" || v === "yes" || v === "on";
}

/** Hub repo id rules: `name` or `org/name`, alphanumerics with - _ ., no "--" or "..", at most 96 chars. */
export function isRepoId(id: string): boolean {
  if (id.length === 0 || id.length > 96 || id.includes("--") || id.includes("..")) return false;
  return /^[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9_])?(?:\/[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9_])?)?$/.test(id);
}

/**
 * Branch, tag or commit names the Hub accepts (git ref rules, simplified): word characters, ".", "-" and "/"
 * separated parts, no "..", no empty or "." part. A revision becomes a path under refs/ in the cache, so
 * anything that could step outside it is refused.
 */
export function isRevision(rev: string): boolean {
  if (rev.length === 0 || rev.length > 255 || rev.includes("..")) return false;
  return /^[\w.-]+$/.test(rev.split("/").join("_")) && rev.split("/").every((p) => p !== "" && p !== "." && !p.endsWith(".lock"));
}

/** Refuses a repo id or revision that is not valid, before anything touches the file system or network. */
export function checkHubRef(repoId: string, revision = "main"): void {
  if (!isRepoId(repoId)) {
    throw new ConfigError(
      `${JSON.stringify(repoId)} is not a valid Hugging Face Hub repo id ("name" or "org/name": letters, digits, "-", "_", ".", no "--" or "..", at most 96 characters)`,
    );
  }
  if (!isRevision(revision))
    throw new ConfigError(`${JSON.stringify(revision)} is not a valid Hub revision (a branch, tag or commit name)`);
}

/** Whether `s` can only mean a local path: absolute, starting with "." or "~", a backslash, or more than one "/". */
function isPathLike(s: string): boolean {
  return /^[./\\~]/.test(s) || s.includes("\\") || s.split("/").length > 2 || /^[A-Za-z]:/.test(s);
}

/** `<cacheDir>/models--org--name`. */
export function repoCacheDir(cacheDir: string, repoId: string): string {
  checkHubRef(repoId);
  return join(cacheDir, `models--${repoId.split("/").join("--")}`);
}

function shardNames(indexFile: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(indexFile, "utf8"));
  } catch (e) {
    throw new HubError(`${indexFile}: cannot read the shard index (${jsonProblem(e)})`);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== "object" || wm === null) throw new HubError(`${indexFile}: no weight_map`);
  const names = new Set<string>();
  for (const v of Object.values(wm)) {
    // Shards must be plain names: they are joined onto the snapshot directory.
    if (typeof v !== "string" || v === "" || basename(v) !== v || v === "..")
      throw new HubError(`${indexFile}: bad shard name ${JSON.stringify(v)}`);
    names.add(v);
  }
  return [...names];
}

const isShardIndex = (file: string): boolean => file.endsWith(".index.json");

/** True when `dir` holds a config and complete weights: the weight file checkpointTensors would pick, with its shards. */
function isCompleteSnapshot(dir: string): boolean {
  if (!existsSync(join(dir, "config.json"))) return false;
  const weights = WEIGHT_FILES.find((f) => existsSync(join(dir, f)));
  if (weights === undefined) return false;
  if (!isShardIndex(weights)) return true;
  try {
    return shardNames(join(dir, weights)).every((s) => existsSync(join(dir, s)));
  } catch {
    return false;
  }
}

/** The cached snapshot for `revision` (a commit, or a branch/tag recorded under refs/), or null. */
export function findCachedSnapshot(cacheDir: string, repoId: string, revision = "main"): string | null {
  checkHubRef(repoId, revision);
  const repoDir = repoCacheDir(cacheDir, repoId);
  let commit: string | null = COMMIT.test(revision) ? revision : null;
  if (commit === null) {
    const ref = join(repoDir, "refs", revision);
    if (!existsSync(ref)) return null;
    commit = readFileSync(ref, "utf8").trim();
    if (!COMMIT.test(commit)) return null;
  }
  const snap = join(repoDir, "snapshots", commit);
  return isCompleteSnapshot(snap) ? snap : null;
}

/** fetch failures (DNS, refused connection, reset) as opposed to HTTP error statuses. */
function isConnectionError(e: unknown): boolean {
  return (
    e instanceof TypeError &&
    /fetch failed|network|ECONNREFUSED|ENOTFOUND|ECONNRESET|EAI_AGAIN/i.test(
      `${e.message} ${String((e as { cause?: unknown }).cause ?? "")}`,
    )
  );
}

function describeError(e: unknown): string {
  if (e instanceof HubApiError) return `HTTP ${e.statusCode}: ${e.message}`;
  const cause = (e as { cause?: { message?: string } }).cause?.message;
  return `${(e as Error).message}${cause ? ` (${cause})` : ""}`;
}

/**
 * Returns a local directory for a model: `idOrDir` itself if it is a directory, else the Hub cache snapshot
 * of repo `idOrDir`, downloading config.json, weights (model.safetensors, else pytorch_model.bin: single file
 * or index + shards) and the tokenizer files the repo has. Offline (opts.offline or HF_HUB_OFFLINE=1) only the
 * cache is used; online, a network failure falls back to a complete cached snapshot when there is one.
 */
export async function resolveModel(idOrDir: string, opts: ResolveModelOptions = {}): Promise<string> {
  // A local directory wins, as in transformers. Anything else must be a valid repo id and revision, checked
  // before the Hub cache or the network is touched (both become paths in the cache).
  if (existsSync(idOrDir)) {
    if (!statSync(idOrDir).isDirectory()) throw new ConfigError(`${idOrDir} is a file; expected a model directory or a Hub repo id`);
    return idOrDir;
  }
  if (isPathLike(idOrDir)) throw new ConfigError(`${idOrDir}: no such model directory (and a path cannot be a Hub repo id)`);
  const repoId = idOrDir;
  const revision = opts.revision ?? "main";
  checkHubRef(repoId, revision);
  const cacheDir = opts.cacheDir ?? getHFHubCachePath();
  const offline = opts.offline ?? envFlag("HF_HUB_OFFLINE");
  if (offline) {
    const snap = findCachedSnapshot(cacheDir, repoId, revision);
    if (snap === null) {
      throw new HubError(
        `${repoId} (revision ${revision}) is not in the Hugging Face cache ${cacheDir}, and offline mode is on ` +
          `(${opts.offline ? "offline option" : "HF_HUB_OFFLINE"}). Download it once with network access, or pass a local directory.`,
      );
    }
    return snap;
  }
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  try {
    return await download(repoId, revision, cacheDir, endpoint, opts);
  } catch (e) {
    if (isConnectionError(e)) {
      const snap = findCachedSnapshot(cacheDir, repoId, revision);
      if (snap !== null) return snap;
      throw new HubError(`cannot reach ${endpoint} to download ${repoId} (${describeError(e)}), and it is not in the cache ${cacheDir}`);
    }
    if (e instanceof RoseError) throw e;
    if (e instanceof HubApiError && (e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 404)) {
      throw new HubError(
        `${repoId} (revision ${revision}) not found on ${endpoint}, or not accessible without a token: ${describeError(e)}`,
      );
    }
    throw new HubError(`downloading ${repoId} from ${endpoint} failed: ${describeError(e)}`);
  }
}

async function download(repoId: string, revision: string, cacheDir: string, endpoint: string, opts: ResolveModelOptions): Promise<string> {
  const accessToken = opts.accessToken ?? process.env.HF_TOKEN;
  const common = { hubUrl: endpoint, ...(accessToken ? { accessToken } : {}) };
  const info = await modelInfo({ name: repoId, revision, additionalFields: ["sha", "filePaths"], ...common });
  const commit = info.sha;
  if (typeof commit !== "string" || !COMMIT.test(commit)) throw new HubError(`${endpoint}: no commit hash for ${repoId} at ${revision}`);
  const available = new Set(info.filePaths ?? []);
  const repoDir = repoCacheDir(cacheDir, repoId);
  if (revision !== commit) {
    // refs/<branch> -> commit, so offline runs can resolve the branch name.
    const ref = join(repoDir, "refs", revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileAtomic(ref, commit);
  }
  if (!available.has("config.json")) throw new HubError(`${repoId} has no config.json at ${revision}: not a transformers model repo`);
  // Safetensors first, as transformers prefers them; pytorch_model.bin is read without running its pickle.
  const weights = WEIGHT_FILES.find((f) => available.has(f));
  if (weights === undefined) {
    throw new HubError(
      `${repoId} has no weights rose reads at ${revision} (${WEIGHT_FILES.join(", ")}); TensorFlow and Flax weights are not read. ` +
        `Try a revision with safetensors weights (e.g. the Hub's refs/pr/N conversion).`,
    );
  }
  const files = ["config.json", weights, ...TOKENIZER_FILES.filter((f) => available.has(f))];
  const fetchOne = (path: string): Promise<string> =>
    downloadFileToCacheDir({ repo: { type: "model", name: repoId }, path, revision: commit, cacheDir, ...common });
  let done = 0;
  let total = files.length;
  const snapshot = join(repoDir, "snapshots", commit);
  for (const file of files) {
    await fetchOne(file);
    opts.onProgress?.({ file, done: ++done, total });
    if (file === weights && isShardIndex(file)) {
      const shards = shardNames(join(snapshot, file));
      const missing = shards.filter((s) => !available.has(s));
      if (missing.length) throw new HubError(`${repoId}: ${file} names shards the repo lacks: ${missing.join(", ")}`);
      total += shards.length;
      for (const s of shards) {
        await fetchOne(s);
        opts.onProgress?.({ file: s, done: ++done, total });
      }
    }
  }
  return snapshot;
}
