#!/usr/bin/env node
// `npm run bench -- <area>` runs bench/<area>.ts; with no area it runs every bench file.
import { spawnSync } from "node:child_process";
import { readdirSync, existsSync } from "node:fs";

const areas = process.argv.slice(2);
const all = readdirSync("bench")
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_") && !f.endsWith("-child.ts"))
  .map((f) => f.slice(0, -3));
const chosen = areas.length > 0 ? areas : all;
let status = 0;
for (const area of chosen) {
  const file = `bench/${area}.ts`;
  if (!existsSync(file)) {
    console.error(`unknown bench area "${area}"; available: ${all.join(", ")}`);
    process.exit(2);
  }
  const result = spawnSync(process.execPath, ["--import", "tsx", file], { stdio: "inherit" });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
