// lint.mjs: lints an OpenAPI document with Redocly's recommended ruleset
// (@redocly/openapi-core, the engine of `redocly lint`) and prints the
// problems as JSON lines: {"severity","rule","message","where"}.
// Usage: node lint.mjs <document.json>
import { readFile } from "node:fs/promises";
import { createConfig, lintFromString } from "@redocly/openapi-core";

const path = process.argv[2];
const source = await readFile(path, "utf8");
const config = await createConfig({ extends: ["recommended"] });
const problems = await lintFromString({ source, absoluteRef: path, config });
for (const p of problems) {
  const where = (p.location || []).map((l) => l.pointer).join(", ");
  console.log(JSON.stringify({ severity: p.severity, rule: p.ruleId, message: p.message, where }));
}
