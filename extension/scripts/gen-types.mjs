#!/usr/bin/env node
// schemas/*.schema.json (generated from the server's pydantic models) -> extension/src/protocol.ts.
//   node extension/scripts/gen-types.mjs          write extension/src/protocol.ts
//   node extension/scripts/gen-types.mjs --check  regenerate into a temp file, fail if the checked-in file differs
// All schemas are merged into one document (their $defs hoisted, duplicates must be identical), so each
// type is declared once. Property titles are dropped so that only the models become named types.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const schemaDir = join(repo, "schemas");
const target = join(repo, "extension/src/protocol.ts");

const BANNER = `/* eslint-disable */
// GENERATED FILE - DO NOT EDIT.
// Made by \`npm run gen:types\` (extension/scripts/gen-types.mjs) from schemas/*.schema.json, which
// \`gastown schemas\` generates from the server's pydantic models (server/gastown/lsp/protocol.py).
// \`npm run check:types\` fails when this file is out of date.`;

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

// Drop `title` everywhere below a model's root (pydantic titles every property: "Bead Id", ...).
function dropInnerTitles(node, isRoot) {
  if (Array.isArray(node)) return node.map((n) => dropInnerTitles(n, false));
  if (!node || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "title" && !isRoot && typeof v === "string") continue;
    // Keys of `properties` are names, not schemas with titles of their own.
    if (k === "properties") {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, dropInnerTitles(s, false)]));
    } else {
      out[k] = dropInnerTitles(v, false);
    }
  }
  return out;
}

export function mergedSchema() {
  const files = readdirSync(schemaDir).filter((f) => f.endsWith(".schema.json")).sort();
  if (files.length === 0) throw new Error(`no *.schema.json in ${schemaDir} (run: gastown schemas)`);
  const defs = new Map();
  const add = (name, schema, from) => {
    const clean = canonical(dropInnerTitles({ ...schema, title: name }, true));
    const seen = defs.get(name);
    if (seen && JSON.stringify(seen.schema) !== JSON.stringify(clean)) {
      throw new Error(`schema ${name} differs between ${seen.from} and ${from}`);
    }
    if (!seen) defs.set(name, { schema: clean, from });
  };
  const roots = [];
  for (const file of files) {
    const name = file.replace(/\.schema\.json$/, "");
    const { $defs = {}, ...schema } = JSON.parse(readFileSync(join(schemaDir, file), "utf8"));
    for (const [defName, defSchema] of Object.entries($defs)) add(defName, defSchema, file);
    add(name, schema, file);
    roots.push(name);
  }
  const names = [...defs.keys()].sort();
  return {
    title: "GastownProtocol",
    description: "Every generated model, by schema name.",
    type: "object",
    properties: Object.fromEntries(roots.map((n) => [n, { $ref: `#/$defs/${n}` }])),
    required: roots,
    additionalProperties: false,
    $defs: Object.fromEntries(names.map((n) => [n, defs.get(n).schema])),
  };
}

export async function generate() {
  return compile(mergedSchema(), "GastownProtocol", {
    bannerComment: BANNER,
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    unknownAny: true,
    format: true,
    style: { printWidth: 110, singleQuote: false, trailingComma: "all" },
    cwd: schemaDir,
  });
}

const check = process.argv.includes("--check");
const text = await generate();
if (check) {
  const dir = mkdtempSync(join(tmpdir(), "gastown-types-"));
  try {
    const fresh = join(dir, "protocol.ts");
    writeFileSync(fresh, text);
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      current = "";
    }
    if (current !== readFileSync(fresh, "utf8")) {
      console.error(
        `extension/src/protocol.ts is out of date with schemas/ (fresh copy: ${fresh}).\n` +
          "Run: npm run gen:types",
      );
      process.exitCode = 1; // the fresh copy is kept for a diff
    } else {
      console.log("extension/src/protocol.ts matches schemas/");
    }
  } finally {
    if (process.exitCode !== 1) rmSync(dir, { recursive: true, force: true });
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
