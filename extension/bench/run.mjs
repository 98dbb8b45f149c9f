#!/usr/bin/env node
// `npm run bench`: bundle extension/bench/tree.bench.ts with `vscode` aliased to the test stub (as vitest
// does), then run it with node. Prints the bench's JSON lines.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = join(repo, ".cache", "bench");
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, "tree.bench.cjs");
await esbuild.build({
  absWorkingDir: repo,
  entryPoints: ["extension/bench/tree.bench.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  alias: { vscode: "./extension/test/vscode-stub.ts" },
  logLevel: "warning",
});
const run = spawnSync(process.execPath, [outfile], { stdio: "inherit" });
process.exit(run.status ?? 1);
