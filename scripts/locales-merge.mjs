// Deep-merges translations into locales/*.json: `node scripts/locales-merge.mjs patch.json`, where
// patch.json is { "uz": {...}, "uz-Cyrl": {...}, "ru": {...} } with any subset of keys. Existing keys
// are overwritten by the patch; everything else is kept. Keeps several writers from clobbering
// each other's keys.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const localesDir = fileURLToPath(new URL("../locales/", import.meta.url));
const patchFile = process.argv[2];
if (!patchFile) {
  console.error("usage: node scripts/locales-merge.mjs <patch.json>");
  process.exit(2);
}
const patch = JSON.parse(readFileSync(patchFile, "utf8"));

function merge(target, source) {
  for (const [key, value] of Object.entries(source)) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      target[key] = merge(target[key] && typeof target[key] === "object" ? target[key] : {}, value);
    } else {
      target[key] = value;
    }
  }
  return target;
}

for (const [locale, tree] of Object.entries(patch)) {
  if (!["uz", "uz-Cyrl", "ru"].includes(locale)) throw new Error(`unknown locale ${locale}`);
  const file = `${localesDir}${locale}.json`;
  const merged = merge(JSON.parse(readFileSync(file, "utf8")), tree);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(merged, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
console.log(`merged ${Object.keys(patch).join(", ")}`);
