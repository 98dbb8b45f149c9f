// vitest for the extension: `vscode` is aliased to a small stub, so modules that build tree items run
// without VS Code. Pure modules (views/*Model.ts) do not import vscode at all.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: resolve(here, ".."),
  resolve: {
    alias: { vscode: resolve(here, "test/vscode-stub.ts") },
  },
  test: {
    include: ["extension/test/**/*.test.ts"],
    environment: "node",
  },
});
