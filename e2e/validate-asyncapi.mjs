// Parses an AsyncAPI document (a URL or a path) with the official
// @asyncapi/parser and fails on any diagnostic: error, warning,
// information or hint. Usage: node validate-asyncapi.mjs <url-or-path>
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const where = process.argv[2];
if (!where) throw new Error("usage: node validate-asyncapi.mjs <url-or-path>");
const text = /^https?:/.test(where) ? await (await fetch(where)).text() : await readFile(where, "utf8");
const { document, diagnostics } = await new Parser().parse(text);
for (const d of diagnostics) {
  console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code}: ${d.message} at ${d.path.join(".")}`);
}
if (!document || diagnostics.length > 0) {
  console.log(`${where}: ${diagnostics.length} diagnostic(s)`);
  process.exit(1);
}
console.log(`${where}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ${document.operations().length} operations, ${document.messages().length} messages, no diagnostics`);
