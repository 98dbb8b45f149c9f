#!/usr/bin/env node
// The extension's side of the contracts, generated from schemas/ (which `gastown schemas` generates from the
// server's pydantic models and tables):
//   schemas/*.schema.json       -> extension/src/protocol.ts (the types)
//   schemas/protocol.json       -> extension/src/contracts.ts (Methods, ServerCommands, BEAD_ROW)
//   schemas/editor-settings.json -> extension/src/contracts.ts (SETTINGS) and package.json's contributes.configuration
//   node extension/scripts/gen-types.mjs          write them
//   node extension/scripts/gen-types.mjs --check  fail (writing nothing) if a checked-in file differs
// All schemas are merged into one document (their $defs hoisted, duplicates must be identical), so each
// type is declared once. Property titles are dropped so that only the models become named types.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const schemaDir = join(repo, "schemas");
const target = join(repo, "extension/src/protocol.ts");
const contractsTarget = join(repo, "extension/src/contracts.ts");
const manifest = join(repo, "package.json");

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

// pydantic writes tuples as 2020-12 `prefixItems`; json-schema-to-typescript reads draft-07 tuples.
function draft7Tuples(node) {
  if (Array.isArray(node)) return node.map(draft7Tuples);
  if (!node || typeof node !== "object") return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, draft7Tuples(v)]));
  if (Array.isArray(out.prefixItems)) {
    out.items = out.prefixItems;
    out.additionalItems = false;
    delete out.prefixItems;
  }
  return out;
}

export function mergedSchema() {
  const files = readdirSync(schemaDir).filter((f) => f.endsWith(".schema.json")).sort();
  if (files.length === 0) throw new Error(`no *.schema.json in ${schemaDir} (run: gastown schemas)`);
  const defs = new Map();
  const add = (name, schema, from) => {
    const clean = canonical(draft7Tuples(dropInnerTitles({ ...schema, title: name }, true)));
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

const CONTRACTS_BANNER = `/* eslint-disable */
// GENERATED FILE - DO NOT EDIT.
// Made by \`npm run gen:types\` (extension/scripts/gen-types.mjs) from schemas/protocol.json and
// schemas/editor-settings.json, which \`gastown schemas\` generates from server/gastown/lsp/protocol.py and
// server/gastown/lsp/editor_settings.py (with server/gastown/config.py's Settings).`;

const readJson = (name) => JSON.parse(readFileSync(join(schemaDir, name), "utf8"));

/** The kind the extension validates a setting value as. */
function kindOf(conf) {
  if (conf.type === "integer") return "int";
  if (conf.type === "number" || conf.type === "boolean" || conf.type === "string") return conf.type;
  throw new Error(`editor setting type ${JSON.stringify(conf.type)} is not supported`);
}

export function generateContracts() {
  const { methods, commands, beadRow } = readJson("protocol.json");
  const settings = readJson("editor-settings.json").map(({ key, option, send, configuration: c }) => {
    const spec = { setting: key };
    if (option) spec.option = option;
    spec.send = send;
    spec.kind = kindOf(c);
    if (c.minimum !== undefined) spec.min = c.minimum;
    if (c.exclusiveMinimum !== undefined) spec.exclusiveMin = c.exclusiveMinimum;
    if (c.maximum !== undefined) spec.max = c.maximum;
    if (c.enum) spec.values = c.enum;
    return spec;
  });
  const entries = (obj) =>
    Object.entries(obj)
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)},`)
      .join("\n");
  return `${CONTRACTS_BANNER}

/** Every gastown/* request and notification. */
export const Methods = {
${entries(methods)}
} as const;

/** The server's workspace commands (workspace/executeCommand). */
export const ServerCommands = {
${entries(commands)}
} as const;

/** The columns of a BeadRow (gastown/beads answers each bead as an array of its BeadSummary's fields). */
export const BEAD_ROW = ${JSON.stringify(beadRow).replaceAll(",", ", ")} as const;

/** How the extension reads one \`gastown.*\` setting and what it fills in the server's initializationOptions. */
export interface SettingSpec {
  /** Key under \`gastown.\`. */
  readonly setting: string;
  /** Dotted path in initializationOptions (absent: the extension's own setting). */
  readonly option?: string;
  /** \`set\`: sent only when the user set it; \`always\`: sent by the extension's own code; \`never\`: not sent. */
  readonly send: "set" | "always" | "never";
  readonly kind: "int" | "number" | "boolean" | "string";
  readonly min?: number;
  readonly exclusiveMin?: number;
  readonly max?: number;
  readonly values?: readonly string[];
}

/** Every \`gastown.*\` setting, in package.json's order. */
export const SETTINGS: readonly SettingSpec[] = [
${settings.map((s) => `  { ${Object.entries(s).map(([k, v]) => `${k}: ${JSON.stringify(v).replaceAll(",", ", ")}`).join(", ")} },`).join("\n")}
];
`;
}

/** package.json with its contributes.configuration regenerated (everything else kept, byte for byte). */
export function generateManifest() {
  const pkg = JSON.parse(readFileSync(manifest, "utf8"));
  const properties = Object.fromEntries(
    readJson("editor-settings.json").map(({ key, configuration }) => [`gastown.${key}`, configuration]),
  );
  pkg.contributes.configuration = { title: "Gas Town", properties };
  // The manifest's own style: two-space JSON, non-ASCII escaped.
  const ascii = (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  return `${JSON.stringify(pkg, null, 2).replace(/[\u007f-\uffff]/g, ascii)}\n`;
}

const check = process.argv.includes("--check");
const outputs = [
  [target, await generate(), "npm run gen:types"],
  [contractsTarget, generateContracts(), "npm run gen:types"],
  [manifest, generateManifest(), "npm run gen:types"],
];
if (check) {
  const stale = [];
  for (const [file, text] of outputs) {
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {
      current = "";
    }
    if (current !== text) {
      // A fresh copy is kept for a diff.
      const dir = mkdtempSync(join(tmpdir(), "gastown-types-"));
      const fresh = join(dir, file.split("/").pop());
      writeFileSync(fresh, text);
      stale.push(`${file.slice(repo.length + 1)} (fresh copy: ${fresh})`);
    }
  }
  if (stale.length) {
    console.error(`Out of date with schemas/: ${stale.join(", ")}.\nRun: make contracts (or npm run gen:types)`);
    process.exitCode = 1;
  } else {
    console.log("extension/src/protocol.ts, extension/src/contracts.ts and package.json match schemas/");
  }
} else {
  for (const [file, text] of outputs) {
    let current;
    try {
      current = readFileSync(file, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== text) writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
