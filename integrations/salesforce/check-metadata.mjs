// Checks the package's metadata the way the Salesforce CLI reads it, with the
// CLI's own library (@salesforce/source-deploy-retrieve), before an admin
// tries a deploy:
// - every file in a package directory is a component of a known metadata type,
//   in the folder and with the suffix that type needs (a stray file fails);
// - the source converts to Metadata API format (what a deploy uploads);
// - every name one component gives for another (a permission set's class, page,
//   tab, field or External Credential principal; a permission set group's
//   permission sets; the Named Credential's External Credential; a button's
//   page; the event trigger's subscriber config) exists in the package;
// - every deploy-time replacement of sfdx-project.json finds its placeholder.
//
// Usage: node check-metadata.mjs
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import sdr from "@salesforce/source-deploy-retrieve";

const { ComponentSet, ForceIgnore, MetadataConverter } = sdr;
const root = fileURLToPath(new URL(".", import.meta.url));
const project = JSON.parse(readFileSync(join(root, "sfdx-project.json"), "utf8"));
const directories = project.packageDirectories.map((directory) => join(root, directory.path));
const problems = [];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

// 1. Every file resolves to a component, but those .forceignore keeps out of
// a deploy (the component tests).
let set;
try {
  set = ComponentSet.fromSource(directories);
} catch (error) {
  console.error(`metadata: ${error.name}: ${error.message}`);
  process.exit(1);
}
const components = set.getSourceComponents().toArray();
const claimed = new Set();
for (const component of components) {
  if (component.xml) claimed.add(component.xml);
  for (const path of component.walkContent()) claimed.add(path);
  for (const child of component.getChildren()) {
    if (child.xml) claimed.add(child.xml);
  }
}
const ignored = ForceIgnore.findAndCreate(root);
for (const path of directories.flatMap(files)) {
  if (!claimed.has(path) && !ignored.denies(path)) {
    problems.push(`${relative(root, path)}: not part of any component (wrong folder or suffix?)`);
  }
}

// 2. It converts to what a deploy uploads.
const out = mkdtempSync(join(tmpdir(), "sf-metadata-"));
try {
  await new MetadataConverter().convert(set, "metadata", {
    type: "directory",
    outputDirectory: out,
    genUniqueDir: false,
  });
} catch (error) {
  problems.push(`conversion to Metadata API format failed: ${error.message}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

// 3. Names refer to components that exist.
const names = new Map();
const known = (type, name) => names.get(type)?.has(name) ?? false;
for (const component of [...components, ...components.flatMap((c) => c.getChildren())]) {
  if (!names.has(component.type.name)) names.set(component.type.name, new Set());
  names.get(component.type.name).add(component.fullName);
}
const standardObjects = new Set(["Case", "User", "AgentWork"]);
const tags = (xml, tag) =>
  [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((match) => match[1].trim());
const block = (xml, tag) => [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]);
const principals = new Set();
for (const component of components.filter((c) => c.type.name === "ExternalCredential")) {
  const xml = readFileSync(component.xml, "utf8");
  for (const parameter of block(xml, "externalCredentialParameters")) {
    if (tags(parameter, "parameterType")[0] === "NamedPrincipal") {
      principals.add(`${component.fullName}-${tags(parameter, "parameterName")[0]}`);
    }
  }
}
function expect(component, what, type, name) {
  const ok =
    type === "CustomField" && standardObjects.has(name.split(".")[0]) && !name.endsWith("__c")
      ? true
      : type === "CustomObject" && standardObjects.has(name)
        ? true
        : type === "Principal"
          ? principals.has(name)
          : known(type, name);
  if (!ok) {
    problems.push(`${relative(root, component.xml)}: ${what} \`${name}\` is not in the package`);
  }
}
for (const component of [...components, ...components.flatMap((c) => c.getChildren())]) {
  if (!component.xml) continue;
  const xml = readFileSync(component.xml, "utf8");
  switch (component.type.name) {
    case "PermissionSet":
      for (const name of tags(xml, "apexClass")) expect(component, "class", "ApexClass", name);
      for (const name of tags(xml, "apexPage")) expect(component, "page", "ApexPage", name);
      for (const name of tags(xml, "tab")) expect(component, "tab", "CustomTab", name);
      for (const name of tags(xml, "field")) expect(component, "field", "CustomField", name);
      for (const name of tags(xml, "object")) expect(component, "object", "CustomObject", name);
      for (const name of tags(xml, "externalCredentialPrincipal")) {
        expect(component, "External Credential principal", "Principal", name);
      }
      break;
    case "PermissionSetGroup":
      for (const name of tags(xml, "permissionSets")) expect(component, "permission set", "PermissionSet", name);
      break;
    case "NamedCredential":
      for (const name of tags(xml, "externalCredential")) {
        expect(component, "External Credential", "ExternalCredential", name);
      }
      break;
    case "WebLink":
      for (const name of tags(xml, "page")) expect(component, "button page", "ApexPage", name);
      break;
    case "CustomObject":
      for (const name of tags(xml, "listViewButtons")) {
        expect(component, "list view button", "WebLink", `${component.fullName}.${name}`);
      }
      break;
    case "PlatformEventSubscriberConfig":
      for (const name of tags(xml, "platformEventConsumer")) expect(component, "trigger", "ApexTrigger", name);
      break;
    case "CustomTab":
      expect(component, "object", "CustomObject", component.fullName);
      break;
    default:
      break;
  }
}

// 4. Deploy-time replacements find their placeholders.
for (const replacement of project.replacements ?? []) {
  const path = join(root, replacement.filename);
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    problems.push(`sfdx-project.json: replacement file ${replacement.filename} does not exist`);
    continue;
  }
  const count = text.split(replacement.stringToReplace).length - 1;
  if (count !== 1) {
    problems.push(
      `${replacement.filename}: placeholder \`${replacement.stringToReplace}\` found ${count} times, expected once`,
    );
  }
}

for (const problem of problems) console.error(problem);
console.log(`metadata: ${components.length} components checked, ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
