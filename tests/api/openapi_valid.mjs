// Validates docs/openapi.json against the OpenAPI 3 schema and resolves every $ref, with
// swagger-parser. Also checks that each route of docs/SERVER_API.md is documented.
//   node tests/api/openapi_valid.mjs [path/to/openapi.json]
// Exits non-zero with the reason on failure.
import SwaggerParser from "@apidevtools/swagger-parser";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const file = process.argv[2] ?? join(here, "..", "..", "docs", "openapi.json");

// Every route the contract names (docs/SERVER_API.md), as "METHOD path".
const contractRoutes = [
  "GET /v1/models", "POST /v1/chat/completions", "POST /v1/completions", "POST /v1/embeddings",
  "POST /completion", "GET /props", "POST /tokenize", "POST /detokenize", "GET /slots", "POST /slots/{id}",
  "POST /api/extra/abort",
  "GET /kindred/v1/characters", "POST /kindred/v1/characters", "POST /kindred/v1/characters/import",
  "GET /kindred/v1/characters/{id}", "PUT /kindred/v1/characters/{id}", "DELETE /kindred/v1/characters/{id}",
  "GET /kindred/v1/characters/{id}/export",
  "POST /kindred/v1/sessions", "GET /kindred/v1/sessions", "GET /kindred/v1/sessions/{id}", "DELETE /kindred/v1/sessions/{id}",
  "POST /kindred/v1/sessions/{id}/messages", "POST /kindred/v1/sessions/{id}/regenerate",
  "POST /kindred/v1/sessions/{id}/swipe", "POST /kindred/v1/sessions/{id}/undo", "GET /kindred/v1/sessions/{id}/affect",
  "GET /kindred/v1/sessions/{id}/memories", "GET /kindred/v1/sessions/{id}/export",
  "GET /kindred/v1/intents", "POST /kindred/v1/affect/appraise",
  "POST /kindred/v1/admin/keys", "GET /kindred/v1/admin/keys", "DELETE /kindred/v1/admin/keys/{id}",
  "GET /health", "GET /metrics", "GET /",
];
const requiredSchemas = ["Character", "Session", "Turn", "AffectPoint", "AffectState", "Error", "ChatCompletion",
  "ChatCompletionChunk", "Completion", "Model", "Embedding"];
const publicRoutes = new Set(["GET /health", "GET /metrics", "GET /"]);

function fail(message) {
  console.error(`FAIL openapi: ${message}`);
  process.exit(1);
}

let raw;
try {
  raw = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  fail(`${file} is not readable JSON: ${e.message}`);
}
if (raw.openapi !== "3.0.3") fail(`expected "openapi": "3.0.3", found ${JSON.stringify(raw.openapi)}`);

let api;
try {
  // validate() checks the document against the OpenAPI 3.0 schema and resolves every $ref.
  api = await SwaggerParser.validate(structuredClone(raw));
} catch (e) {
  fail(`${file} is not a valid OpenAPI document: ${e.message}`);
}

const problems = [];
for (const route of contractRoutes) {
  const [method, path] = route.split(" ");
  const operation = api.paths?.[path]?.[method.toLowerCase()];
  if (!operation) {
    problems.push(`${route} is in SERVER_API.md but not documented`);
    continue;
  }
  const codes = Object.keys(operation.responses ?? {});
  if (!codes.some((c) => c.startsWith("2"))) problems.push(`${route} documents no success response`);
  const isPublic = publicRoutes.has(route);
  if (isPublic && !(Array.isArray(operation.security) && operation.security.length === 0)) {
    problems.push(`${route} needs no key but does not say so (security: [])`);
  }
  if (!isPublic && !codes.includes("401")) problems.push(`${route} needs a key but documents no 401`);
}
for (const name of requiredSchemas) {
  if (!raw.components?.schemas?.[name]) problems.push(`components/schemas/${name} is missing`);
}
if (raw.components?.securitySchemes?.bearer?.scheme !== "bearer") problems.push("securitySchemes.bearer is not an HTTP bearer scheme");
if (problems.length) fail(problems.join("\n  "));
console.log(`ok: ${file} is valid OpenAPI ${raw.openapi} (${Object.keys(raw.paths).length} paths, ` +
  `${Object.keys(raw.components.schemas).length} schemas; all ${contractRoutes.length} contract routes documented)`);
