// Validates an OpenAPI document (a URL or a file) with swagger-parser,
// which checks it against the OpenAPI 3 schema and resolves every $ref.
import SwaggerParser from "@apidevtools/swagger-parser";

const src = process.argv[2];
if (!src) {
  console.error("usage: node validate.mjs <url-or-file>");
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(src);
  const ops = Object.values(api.paths).flatMap((p) => Object.keys(p)).length;
  console.log(`valid: ${api.info.title} ${api.info.version}, ${Object.keys(api.paths).length} paths, ${ops} operations`);
} catch (err) {
  console.error(`invalid: ${err.message}`);
  process.exit(1);
}
