#!/usr/bin/env node
// The `weft` command. In a source checkout it runs the TypeScript sources through tsx;
// an installed package runs the compiled dist/.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const source = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
let entry;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = pathToFileURL(source).href;
} else {
  entry = new URL("../dist/cli/main.js", import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
