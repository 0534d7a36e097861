// The static gate on the package's Apex: Salesforce Code Analyzer's PMD
// engine (PMD 7, run on the machine's Java) with the Recommended, Security
// and Performance rule sets, over every package directory of
// sfdx-project.json (force-app/ and omni-channel/).
// Any violation fails the run. A finding that is wrong for this code is
// suppressed where it occurs, with @SuppressWarnings('PMD.<Rule>') and a
// comment saying why, so the reason sits beside the code it excuses.
//
// Usage: node analyze-apex.mjs
import { CodeAnalyzer, CodeAnalyzerConfig, EventType, LogLevel } from "@salesforce/code-analyzer-core";
import { createEnginePlugin } from "@salesforce/code-analyzer-pmd-engine";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const project = JSON.parse(readFileSync(join(here, "sfdx-project.json"), "utf8"));
const sources = project.packageDirectories.map((directory) => join(here, directory.path));
const selectors = ["pmd:Recommended", "pmd:Security", "pmd:Performance"];

const config = CodeAnalyzerConfig.fromObject({
  // The gate judges only the package: no other engine, no CPD.
  engines: { cpd: { disable_engine: true } },
});
const analyzer = new CodeAnalyzer(config);
analyzer.onEvent(EventType.LogEvent, (event) => {
  if (event.logLevel <= LogLevel.Warn) {
    console.error(`code analyzer: ${event.message}`);
  }
});
await analyzer.addEnginePlugin(createEnginePlugin());

// A canary with one known violation runs beside the package: an engine that
// did not really run (no Java, a broken install) finds nothing, and a gate
// that finds nothing must not pass because of it.
const canaryDir = mkdtempSync(join(tmpdir(), "apex-canary-"));
const canary = join(canaryDir, "SwitchboardGateCanary.cls");
writeFileSync(
  canary,
  "/** Not deployed: proves the gate runs. */\n" +
    "public with sharing class SwitchboardGateCanary {\n" +
    "    /** Logs. */\n" +
    "    public static void log() {\n" +
    "        System.debug(LoggingLevel.INFO, 'canary');\n" +
    "    }\n" +
    "}\n",
);
process.on("exit", () => rmSync(canaryDir, { recursive: true, force: true }));
const workspace = await analyzer.createWorkspace([...sources, canaryDir]);
const rules = await analyzer.selectRules(selectors, { workspace });
if (rules.getCount() === 0) {
  console.error(`no rule matched ${selectors.join(", ")}: is the PMD engine installed?`);
  process.exit(1);
}
const results = await analyzer.run(rules, { workspace });

const all = results.getViolations();
const fromCanary = all.filter((violation) => violation.getPrimaryLocation().getFile() === canary);
const violations = all.filter((violation) => violation.getPrimaryLocation().getFile() !== canary);
for (const violation of violations) {
  const at = violation.getPrimaryLocation();
  const file = at.getFile() ? relative(here, at.getFile()) : "?";
  console.error(
    `${file}:${at.getStartLine() ?? "?"}: ${violation.getRule().getName()}: ${violation.getMessage()}`,
  );
}
if (!fromCanary.some((violation) => violation.getRule().getName() === "AvoidDebugStatements")) {
  console.error(
    "apex analysis did not run: the canary's System.debug was not reported. " +
      "Is Java 11 or later on PATH (java -version)? Engine messages: " +
      all.filter((violation) => !violation.getPrimaryLocation().getFile()).map((v) => v.getMessage()).join("; "),
  );
  process.exit(1);
}
console.log(
  `apex analysis: ${rules.getCount()} rules (${selectors.join(", ")}), ` +
    `${violations.length} violation(s)`,
);
process.exit(violations.length === 0 ? 0 : 1);
