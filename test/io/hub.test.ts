// resolveModel against a local imitation of the Hub (127.0.0.1, random port). The endpoints are the ones
// @huggingface/hub calls: GET /api/models/{repo}/revision/{rev} (sha + siblings), POST
// /api/models/{repo}/paths-info/{rev} (oid / lfs oid = cache etag), GET /{repo}/resolve/{rev}/{file}
// (Range probe then full body, with ETag and X-Repo-Commit headers).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  lstatSync,
  readlinkSync,
  existsSync,
  copyFileSync,
  mkdirSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveModel, HubError, isRepoId, findCachedSnapshot } from "../../src/node/hub.ts";
import { checkpointTensors } from "../../src/io/checkpoint.ts";
import { writeSafetensors } from "../../src/node/safetensors.ts";
import { ConfigError } from "../../src/errors.ts";
import { dirFiles } from "../../src/node/files.ts";
import { saveTorchBin } from "../helpers/torch-zip.ts";

const BERT = new URL("../fixtures/golden/models/bert/", import.meta.url).pathname;
const BERT_BIN = new URL("../fixtures/golden/models/bert-bin/", import.meta.url).pathname;

interface Repo {
  dir: string;
  sha: string;
  files: string[];
}

interface FakeHub {
  url: string;
  log: string[];
  close(): Promise<void>;
}

function gitBlobSha1(data: Buffer): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

/** Files stored with LFS on the real Hub: their etag is the sha256 of the content. */
const isLfs = (f: string): boolean => f.endsWith(".safetensors") || f.endsWith(".bin");

function startHub(repos: Map<string, Repo>): Promise<FakeHub> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const path = decodeURIComponent(url.pathname);
    log.push(`${req.method} ${path}${req.headers.range ? ` range=${req.headers.range}` : ""}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const notFound = (code: string) => json(404, { error: `${code}` }, { "X-Error-Code": code });
    let m = req.method === "GET" ? path.match(/^\/api\/models\/(.+)\/revision\/([^/]+)$/) : null;
    if (m) {
      const repo = repos.get(m[1]!);
      if (!repo || (m[2] !== "main" && m[2] !== repo.sha)) return notFound("RepoNotFound");
      return json(200, {
        _id: "0".repeat(24),
        id: m[1],
        sha: repo.sha,
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: "2024-01-01T00:00:00.000Z",
        siblings: repo.files.map((rfilename) => ({ rfilename })),
      });
    }
    m = req.method === "POST" ? path.match(/^\/api\/models\/(.+)\/paths-info\/([^/]+)$/) : null;
    if (m) {
      const repo = repos.get(m[1]!);
      if (!repo || m[2] !== repo.sha) return notFound("RepoNotFound");
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const { paths } = JSON.parse(body) as { paths: string[] };
        json(
          200,
          paths
            .filter((p) => repo.files.includes(p))
            .map((p) => {
              const data = readFileSync(join(repo.dir, p));
              return {
                type: "file",
                path: p,
                size: data.length,
                oid: gitBlobSha1(data),
                ...(isLfs(p) ? { lfs: { oid: createHash("sha256").update(data).digest("hex"), size: data.length, pointerSize: 134 } } : {}),
                lastCommit: { id: repo.sha, title: "upload", date: "2024-01-01T00:00:00.000Z" },
              };
            }),
        );
      });
      return;
    }
    m = req.method === "GET" || req.method === "HEAD" ? path.match(/^\/(.+?)\/resolve\/([^/]+)\/(.+)$/) : null;
    if (m) {
      const repo = repos.get(m[1]!);
      if (!repo || (m[2] !== "main" && m[2] !== repo.sha)) return notFound("RevisionNotFound");
      if (!repo.files.includes(m[3]!)) return notFound("EntryNotFound");
      const data = readFileSync(join(repo.dir, m[3]!));
      const etag = isLfs(m[3]!) ? createHash("sha256").update(data).digest("hex") : gitBlobSha1(data);
      const headers: Record<string, string> = {
        ETag: `"${etag}"`,
        "X-Repo-Commit": repo.sha,
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
      };
      const range = req.headers.range?.match(/^bytes=(\d+)-(\d+)$/);
      if (range) {
        const a = Number(range[1]);
        const b = Math.min(Number(range[2]), data.length - 1);
        res.writeHead(206, { ...headers, "Content-Range": `bytes ${a}-${b}/${data.length}`, "Content-Length": String(b - a + 1) });
        return res.end(req.method === "HEAD" ? undefined : data.subarray(a, b + 1));
      }
      res.writeHead(200, { ...headers, "Content-Length": String(data.length) });
      return res.end(req.method === "HEAD" ? undefined : data);
    }
    notFound("NotFound");
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        log,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), "rose-hub-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Sets environment variables (undefined removes one). */
function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** Runs `fn` with environment variables set (undefined removes one), restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  setEnv(vars);
  try {
    return await fn();
  } finally {
    setEnv(saved);
  }
}

const NO_HUB_ENV = { HF_HUB_OFFLINE: undefined, HF_ENDPOINT: undefined, HF_TOKEN: undefined };

test("repo id syntax", () => {
  for (const ok of ["bert-base-uncased", "org/name", "FacebookAI/roberta-base", "a/b.c_d-1"]) assert.ok(isRepoId(ok), ok);
  for (const bad of ["", "a/b/c", "./x", "/abs", "a--b/c", "a/..", "-a/b", "a/b.", "x y"]) assert.ok(!isRepoId(bad), bad);
});

test("local directories are returned as is; other strings need to be repo ids", async () => {
  assert.equal(await resolveModel(BERT), BERT);
  await assert.rejects(resolveModel(join(work, "no", "such", "dir")), ConfigError);
  await assert.rejects(resolveModel(join(BERT, "config.json")), ConfigError);
});

test("download from a Hub imitation into the HF cache, then offline", async () => {
  const cacheDir = join(work, "cache");
  // A sharded repo, built from the golden checkpoint.
  const shardedDir = join(work, "sharded-src");
  const tensors = checkpointTensors(dirFiles(BERT));
  const names = [...tensors.keys()];
  mkdirSync(shardedDir);
  const half = Math.ceil(names.length / 2);
  const shardFiles = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
  const weightMap: Record<string, string> = {};
  shardFiles.forEach((f, s) => {
    const part = names.slice(s * half, (s + 1) * half);
    writeSafetensors(
      join(shardedDir, f),
      part.map((n) => [n, tensors.get(n)!]),
    );
    for (const n of part) weightMap[n] = f;
  });
  writeFileSync(join(shardedDir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  for (const f of ["config.json", "vocab.txt"]) copyFileSync(join(BERT, f), join(shardedDir, f));

  const bertSha = "1".repeat(40);
  const shardSha = "2".repeat(40);
  const repos = new Map<string, Repo>([
    ["rose-test/tiny-bert", { dir: BERT, sha: bertSha, files: readdirSync(BERT) }],
    ["tiny-sharded", { dir: shardedDir, sha: shardSha, files: readdirSync(shardedDir) }],
  ]);
  const hub = await startHub(repos);
  let snap: string;
  try {
    await withEnv(NO_HUB_ENV, async () => {
      const progress: string[] = [];
      snap = await resolveModel("rose-test/tiny-bert", {
        cacheDir,
        endpoint: hub.url,
        onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.file}`),
      });
      const repoDir = join(cacheDir, "models--rose-test--tiny-bert");
      assert.equal(snap, join(repoDir, "snapshots", bertSha));
      assert.equal(readFileSync(join(repoDir, "refs", "main"), "utf8"), bertSha);
      // Exactly the files the project needs, byte-identical, as symlinks into blobs/ named by etag.
      const wanted = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"];
      assert.deepEqual(readdirSync(snap).sort(), wanted);
      for (const f of wanted) {
        assert.deepEqual(readFileSync(join(snap, f)), readFileSync(join(BERT, f)), f);
        assert.ok(lstatSync(join(snap, f)).isSymbolicLink(), f);
      }
      const sha256 = createHash("sha256")
        .update(readFileSync(join(BERT, "model.safetensors")))
        .digest("hex");
      assert.ok(readlinkSync(join(snap, "model.safetensors")).endsWith(`blobs/${sha256}`));
      assert.deepEqual(progress, [
        "1/5 config.json",
        "2/5 model.safetensors",
        "3/5 tokenizer.json",
        "4/5 vocab.txt",
        "5/5 tokenizer_config.json",
      ]);
      assert.ok(!hub.log.some((l) => l.includes("case.json") || l.includes("expected.safetensors")), "only needed files are fetched");

      // A second resolve finds the snapshot: one metadata request, no file transfer.
      hub.log.length = 0;
      assert.equal(await resolveModel("rose-test/tiny-bert", { cacheDir, endpoint: hub.url }), snap);
      assert.deepEqual(
        hub.log.map((l) => l.split("?")[0]),
        [`GET /api/models/rose-test/tiny-bert/revision/main`],
      );

      // Unknown repo online: a HubError naming it.
      await assert.rejects(
        resolveModel("rose-test/absent", { cacheDir, endpoint: hub.url }),
        (e: unknown) => e instanceof HubError && /rose-test\/absent/.test(e.message) && /not found/.test(e.message),
      );
    });

    // HF_ENDPOINT is honoured; sharded weights come with their shards and load like the single file.
    await withEnv({ ...NO_HUB_ENV, HF_ENDPOINT: hub.url }, async () => {
      const s = await resolveModel("tiny-sharded", { cacheDir });
      assert.equal(s, join(cacheDir, "models--tiny-sharded", "snapshots", shardSha));
      assert.deepEqual(readdirSync(s).sort(), ["config.json", "model.safetensors.index.json", ...shardFiles, "vocab.txt"].sort());
      const loaded = checkpointTensors(dirFiles(s));
      assert.equal(loaded.size, tensors.size);
      for (const [n, t] of tensors) assert.deepEqual(loaded.get(n)!.data, t.data, n);
    });
  } finally {
    await hub.close();
  }

  // Server gone: offline by option, by HF_HUB_OFFLINE, and online fallback all find the cached snapshot.
  await withEnv(NO_HUB_ENV, async () => {
    assert.equal(await resolveModel("rose-test/tiny-bert", { cacheDir, offline: true }), snap!);
    assert.equal(await resolveModel("rose-test/tiny-bert", { cacheDir, offline: true, revision: bertSha }), snap!);
    assert.equal(await resolveModel("rose-test/tiny-bert", { cacheDir, endpoint: hub.url }), snap!);
    assert.equal(findCachedSnapshot(cacheDir, "tiny-sharded"), join(cacheDir, "models--tiny-sharded", "snapshots", shardSha));
    await assert.rejects(resolveModel("rose-test/absent", { cacheDir, offline: true }), (e: unknown) => {
      assert.ok(e instanceof HubError, String(e));
      assert.match(e.message, /rose-test\/absent/);
      assert.match(e.message, /not in the Hugging Face cache/);
      assert.ok(e.message.includes(cacheDir));
      return true;
    });
    await assert.rejects(resolveModel("rose-test/tiny-bert", { cacheDir, offline: true, revision: "v2" }), HubError);
    await assert.rejects(
      resolveModel("rose-test/absent", { cacheDir, endpoint: hub.url }),
      (e: unknown) => e instanceof HubError && /cannot reach/.test(e.message),
    );
  });
  await withEnv({ ...NO_HUB_ENV, HF_HUB_OFFLINE: "1", HF_HUB_CACHE: cacheDir }, async () => {
    assert.equal(await resolveModel("rose-test/tiny-bert"), snap!);
    await assert.rejects(resolveModel("rose-test/absent"), HubError);
  });
  assert.ok(existsSync(snap!));
});

test("pytorch_model.bin (or its shards) is fetched only when a repo has no safetensors", async () => {
  const cacheDir = join(work, "cache-bin");
  const tensors = checkpointTensors(dirFiles(BERT));
  // Both formats: safetensors are preferred, the .bin is never requested.
  const bothDir = join(work, "both-src");
  mkdirSync(bothDir);
  for (const f of readdirSync(BERT)) copyFileSync(join(BERT, f), join(bothDir, f));
  copyFileSync(join(BERT_BIN, "pytorch_model.bin"), join(bothDir, "pytorch_model.bin"));
  // Sharded .bin, and a repo with TensorFlow weights only.
  const shardedDir = join(work, "sharded-bin-src");
  mkdirSync(shardedDir);
  const names = [...tensors.keys()];
  const shardFiles = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"];
  const weightMap: Record<string, string> = {};
  shardFiles.forEach((f, s) => {
    const part = names.slice(s * 21, (s + 1) * 21);
    writeFileSync(join(shardedDir, f), saveTorchBin(new Map(part.map((n) => [n, tensors.get(n)!]))));
    for (const n of part) weightMap[n] = f;
  });
  writeFileSync(join(shardedDir, "pytorch_model.bin.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const tfDir = join(work, "tf-src");
  mkdirSync(tfDir);
  copyFileSync(join(BERT, "config.json"), join(tfDir, "config.json"));
  writeFileSync(join(tfDir, "tf_model.h5"), "HDF");
  for (const f of ["config.json", "vocab.txt"]) copyFileSync(join(BERT, f), join(shardedDir, f));
  const repos = new Map<string, Repo>([
    ["bin/only", { dir: BERT_BIN, sha: "3".repeat(40), files: readdirSync(BERT_BIN) }],
    ["bin/both", { dir: bothDir, sha: "4".repeat(40), files: readdirSync(bothDir) }],
    ["bin/sharded", { dir: shardedDir, sha: "5".repeat(40), files: readdirSync(shardedDir) }],
    ["bin/tf", { dir: tfDir, sha: "6".repeat(40), files: readdirSync(tfDir) }],
  ]);
  const hub = await startHub(repos);
  try {
    await withEnv(NO_HUB_ENV, async () => {
      const only = await resolveModel("bin/only", { cacheDir, endpoint: hub.url });
      assert.deepEqual(readdirSync(only).sort(), [
        "config.json",
        "pytorch_model.bin",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
      ]);
      const loaded = checkpointTensors(dirFiles(only));
      for (const [n, t] of tensors) assert.deepEqual(loaded.get(n)!.data, t.data, n);

      hub.log.length = 0;
      const both = await resolveModel("bin/both", { cacheDir, endpoint: hub.url });
      assert.ok(readdirSync(both).includes("model.safetensors"));
      assert.ok(!readdirSync(both).includes("pytorch_model.bin"));
      assert.ok(!hub.log.some((l) => l.includes("pytorch_model.bin")), "safetensors preferred: the .bin is not fetched");

      const progress: string[] = [];
      const sharded = await resolveModel("bin/sharded", { cacheDir, endpoint: hub.url, onProgress: (p) => progress.push(p.file) });
      assert.deepEqual(readdirSync(sharded).sort(), ["config.json", "pytorch_model.bin.index.json", ...shardFiles, "vocab.txt"].sort());
      assert.deepEqual(progress, ["config.json", "pytorch_model.bin.index.json", ...shardFiles, "vocab.txt"]);
      const fromShards = checkpointTensors(dirFiles(sharded));
      assert.equal(fromShards.size, tensors.size);
      for (const [n, t] of tensors) assert.deepEqual(fromShards.get(n)!.data, t.data, n);

      await assert.rejects(
        resolveModel("bin/tf", { cacheDir, endpoint: hub.url }),
        (e: unknown) => e instanceof HubError && /bin\/tf has no weights rose reads/.test(e.message) && /TensorFlow/.test(e.message),
      );
    });
  } finally {
    await hub.close();
  }
  // Offline, cached .bin snapshots (single and sharded) are complete.
  await withEnv(NO_HUB_ENV, async () => {
    assert.equal(
      await resolveModel("bin/only", { cacheDir, offline: true }),
      join(cacheDir, "models--bin--only", "snapshots", "3".repeat(40)),
    );
    assert.equal(findCachedSnapshot(cacheDir, "bin/sharded"), join(cacheDir, "models--bin--sharded", "snapshots", "5".repeat(40)));
    // A shard missing from the cache makes the snapshot incomplete.
    rmSync(join(cacheDir, "models--bin--sharded", "snapshots", "5".repeat(40), shardFiles[1]!));
    assert.equal(findCachedSnapshot(cacheDir, "bin/sharded"), null);
  });
});

test("invalid repo ids and revisions are refused before the cache or the network is touched", async () => {
  const work = mkdtempSync(join(tmpdir(), "rose-hubref-"));
  try {
    const cacheDir = join(work, "cache"); // never created: nothing may be written or read there
    // Port 9 (discard) on loopback: were a request made, the error would be a HubError, not a ConfigError.
    const endpoint = "http://127.0.0.1:9";
    const refused = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof ConfigError && re.test(e.message));
    for (const rev of ["../../../../tmp/escape", "/abs", "a//b", "refs/../../x", "", "x y"]) {
      await refused(resolveModel("org/name", { cacheDir, endpoint, revision: rev }), /not a valid Hub revision/);
      await refused(resolveModel("org/name", { cacheDir, endpoint, revision: rev, offline: true }), /not a valid Hub revision/);
    }
    for (const id of ["a--b/c", "-a/b", "x y", "a/b."])
      await refused(resolveModel(id, { cacheDir, endpoint }), /not a valid Hugging Face Hub repo id/);
    for (const path of ["../../no-such-rose-model", "/abs/no/such/model", "./nope", "a/b/c", "~/x"]) {
      await refused(resolveModel(path, { cacheDir, endpoint }), /no such model directory/);
    }
    assert.throws(() => findCachedSnapshot(cacheDir, "../.."), ConfigError);
    assert.throws(() => findCachedSnapshot(cacheDir, "org/name", "../../../etc"), ConfigError);
    assert.ok(!existsSync(cacheDir));
    // Valid forms still pass the check.
    for (const rev of ["main", "v1.0", "refs/pr/1", "a".repeat(40), "feature/x-y_z"])
      assert.equal(findCachedSnapshot(cacheDir, "org/name", rev), null);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
