#!/usr/bin/env node
// Bundle the extension: extension/src/extension.ts -> dist/extension.js (CommonJS, Node, `vscode` external).
// vscode-languageclient is bundled in, so the extension needs no node_modules at run time.
//   node extension/scripts/build.mjs [--watch] [--minify]
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const watch = process.argv.includes("--watch");

/** @type {import("esbuild").BuildOptions} */
const options = {
  absWorkingDir: repo,
  entryPoints: ["extension/src/extension.ts"],
  outfile: "dist/extension.js",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["vscode"],
  sourcemap: true,
  minify: process.argv.includes("--minify"),
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
