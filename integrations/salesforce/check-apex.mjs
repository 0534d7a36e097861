// Parses every Apex class and trigger in the package directories of
// sfdx-project.json and fails on any syntax error, so broken Apex cannot
// land. Usage: node check-apex.mjs
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ApexErrorListener, ApexParserFactory } from "@apexdevtools/apex-parser";

const root = fileURLToPath(new URL(".", import.meta.url));
const project = JSON.parse(readFileSync(join(root, "sfdx-project.json"), "utf8"));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

class Collect extends ApexErrorListener {
  constructor() {
    super();
    this.errors = [];
  }
  apexSyntaxError(line, column, message) {
    this.errors.push(`${line}:${column} ${message}`);
  }
}

let checked = 0;
let failed = 0;
const sources = project.packageDirectories.flatMap((directory) => files(join(root, directory.path)));
for (const path of sources.filter((p) => p.endsWith(".cls") || p.endsWith(".trigger"))) {
  const listener = new Collect();
  const { parser } = ApexParserFactory.createLexerAndParser(readFileSync(path, "utf8"), listener);
  if (path.endsWith(".trigger")) {
    parser.triggerUnit();
  } else {
    parser.compilationUnit();
  }
  checked += 1;
  for (const error of listener.errors) {
    failed += 1;
    console.error(`${relative(root, path)}:${error}`);
  }
}
if (checked === 0) {
  console.error("no Apex found in the package directories");
  process.exit(1);
}
console.log(`apex: ${checked} files parsed, ${failed} syntax errors`);
process.exit(failed === 0 ? 0 : 1);
