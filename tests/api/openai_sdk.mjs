// `kindred serve` through the official OpenAI Node SDK, used as an ordinary client would.
//   KINDRED_URL=http://127.0.0.1:PORT KINDRED_KEY=kr-... node tests/api/openai_sdk.mjs
// (tests/api/run_with_server.sh starts a server and sets both.) Every check runs; the script
// exits non-zero listing the checks that failed.
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError } from "openai";

const baseUrl = process.env.KINDRED_URL;
const apiKey = process.env.KINDRED_KEY;
if (!baseUrl || !apiKey) {
  console.error("usage: KINDRED_URL=http://127.0.0.1:PORT KINDRED_KEY=kr-... node openai_sdk.mjs");
  process.exit(2);
}
// A small model wanders; JSON-constrained replies get room to close their brackets.
const jsonMaxTokens = Number(process.env.KINDRED_JSON_MAX_TOKENS ?? 400);

// No retries: a retried request would hide a server that fails intermittently.
const client = new OpenAI({ baseURL: `${baseUrl.replace(/\/$/, "")}/v1`, apiKey, maxRetries: 0, timeout: 300_000 });

class CheckFailure extends Error {}
function expect(condition, message) {
  if (!condition) throw new CheckFailure(message);
}
const show = (v) => JSON.stringify(v)?.slice(0, 300);

const failures = [];
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    const detail = e instanceof CheckFailure ? e.message : `${e?.constructor?.name ?? "error"}: ${e?.message ?? e}`;
    console.log(`FAIL ${name}: ${detail}`);
    failures.push(name);
  }
}

// Checks a completion's usage block: non-negative integers that add up.
function expectUsage(usage, what) {
  expect(usage && typeof usage === "object", `${what}: no usage (${show(usage)})`);
  for (const k of ["prompt_tokens", "completion_tokens", "total_tokens"]) {
    expect(Number.isInteger(usage[k]) && usage[k] >= 0, `${what}: usage.${k} is ${show(usage[k])}`);
  }
  expect(usage.prompt_tokens > 0, `${what}: usage.prompt_tokens is 0`);
  expect(usage.total_tokens === usage.prompt_tokens + usage.completion_tokens,
    `${what}: total_tokens ${usage.total_tokens} != prompt ${usage.prompt_tokens} + completion ${usage.completion_tokens}`);
}

// Runs `call`, which must throw `errorClass` with HTTP `status` and an OpenAI-shaped error body.
async function expectApiError(call, errorClass, status, what) {
  let thrown = null;
  try {
    await call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown !== null, `${what}: the request succeeded`);
  expect(thrown instanceof errorClass,
    `${what}: expected ${errorClass.name}, got ${thrown?.constructor?.name} (${thrown?.status}: ${thrown?.message})`);
  expect(thrown.status === status, `${what}: status ${thrown.status}, expected ${status}`);
  expect(typeof thrown.error?.message === "string" && thrown.error.message.length > 0,
    `${what}: the error body has no error.message (${show(thrown.error)})`);
  expect(typeof thrown.error?.type === "string", `${what}: the error body has no error.type (${show(thrown.error)})`);
  return thrown;
}

const messages = [
  { role: "system", content: "You are a storyteller." },
  { role: "user", content: "Tell me a short story about a cat." },
];
let model = "";
let reference = null;  // the deterministic non-streamed completion the streamed one must match
const deterministic = { temperature: 0, seed: 42, max_tokens: 24 };

await check("models.list", async () => {
  const page = await client.models.list();
  const models = page.data;
  expect(Array.isArray(models) && models.length > 0, `no models listed (${show(models)})`);
  for (const m of models) {
    expect(typeof m.id === "string" && m.id.length > 0, `model without an id: ${show(m)}`);
    expect(m.object === "model", `model.object is ${show(m.object)}`);
    expect(Number.isInteger(m.created), `model.created is ${show(m.created)}`);
  }
  model = models[0].id;
  const one = await client.models.retrieve(model);
  expect(one.id === model, `models.retrieve(${model}) answered ${show(one)}`);
});

await check("chat.completions non-streaming", async () => {
  const r = await client.chat.completions.create({ model, messages, ...deterministic });
  expect(r.object === "chat.completion", `object is ${show(r.object)}`);
  expect(typeof r.id === "string" && r.id.length > 0, `id is ${show(r.id)}`);
  expect(Array.isArray(r.choices) && r.choices.length === 1, `expected one choice, got ${show(r.choices)}`);
  const c = r.choices[0];
  expect(c.index === 0, `choice index ${c.index}`);
  expect(c.message.role === "assistant", `role is ${show(c.message.role)}`);
  expect(typeof c.message.content === "string", `content is ${show(c.message.content)}`);
  expect(c.message.content.length > 0, "content is empty");
  expect(["stop", "length"].includes(c.finish_reason), `finish_reason is ${show(c.finish_reason)}`);
  expectUsage(r.usage, "usage");
  expect(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= deterministic.max_tokens,
    `completion_tokens ${r.usage.completion_tokens} outside 1..${deterministic.max_tokens}`);
  if (c.finish_reason === "length") {
    expect(r.usage.completion_tokens === deterministic.max_tokens,
      `finish_reason length after ${r.usage.completion_tokens} of ${deterministic.max_tokens} tokens`);
  }
  reference = r;
});

await check("chat.completions same seed, same answer", async () => {
  expect(reference, "no reference completion (the non-streaming check failed)");
  const again = await client.chat.completions.create({ model, messages, ...deterministic });
  expect(again.choices[0].message.content === reference.choices[0].message.content,
    `two identical requests differ: ${show(reference.choices[0].message.content)} vs ${show(again.choices[0].message.content)}`);
});

await check("chat.completions streaming with include_usage", async () => {
  expect(reference, "no reference completion (the non-streaming check failed)");
  const stream = await client.chat.completions.create({
    model, messages, ...deterministic, stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  expect(chunks.length >= 2, `only ${chunks.length} chunks`);
  let text = "";
  let finishReason = null;
  for (const [i, chunk] of chunks.entries()) {
    expect(chunk.object === "chat.completion.chunk", `chunk ${i}: object is ${show(chunk.object)}`);
    expect(chunk.id === chunks[0].id, `chunk ${i}: id ${chunk.id} differs from the first chunk's ${chunks[0].id}`);
    for (const choice of chunk.choices) {
      expect(choice.index === 0, `chunk ${i}: choice index ${choice.index}`);
      if (typeof choice.delta?.content === "string") text += choice.delta.content;
      if (choice.finish_reason) {
        expect(finishReason === null, `chunk ${i}: a second finish_reason`);
        finishReason = choice.finish_reason;
      }
    }
    if (i < chunks.length - 1) expect(!chunk.usage, `chunk ${i} (not the last) carries usage`);
  }
  const last = chunks[chunks.length - 1];
  expect(Array.isArray(last.choices) && last.choices.length === 0, `the usage chunk has choices: ${show(last.choices)}`);
  expectUsage(last.usage, "the last chunk's usage");
  const want = reference.choices[0].message.content;
  expect(text === want, `streamed text ${show(text)} != non-streamed ${show(want)}`);
  expect(finishReason === reference.choices[0].finish_reason,
    `finish_reason ${show(finishReason)} != non-streamed ${show(reference.choices[0].finish_reason)}`);
  expect(last.usage.completion_tokens === reference.usage.completion_tokens,
    `streamed completion_tokens ${last.usage.completion_tokens} != non-streamed ${reference.usage.completion_tokens}`);
  expect(last.usage.prompt_tokens === reference.usage.prompt_tokens,
    `streamed prompt_tokens ${last.usage.prompt_tokens} != non-streamed ${reference.usage.prompt_tokens}`);
});

await check("chat.completions n=2", async () => {
  const r = await client.chat.completions.create({ model, messages, n: 2, max_tokens: 16, temperature: 1, seed: 7 });
  expect(r.choices.length === 2, `expected 2 choices, got ${r.choices.length}`);
  const indexes = r.choices.map((c) => c.index).sort();
  expect(indexes[0] === 0 && indexes[1] === 1, `choice indexes ${show(indexes)}`);
  for (const c of r.choices) {
    expect(typeof c.message.content === "string" && c.message.content.length > 0, `choice ${c.index}: content ${show(c.message.content)}`);
    expect(["stop", "length"].includes(c.finish_reason), `choice ${c.index}: finish_reason ${show(c.finish_reason)}`);
  }
  expectUsage(r.usage, "usage");
  expect(r.usage.completion_tokens >= 2, `completion_tokens ${r.usage.completion_tokens} for two choices`);
});

await check("chat.completions logprobs with top_logprobs=2", async () => {
  const r = await client.chat.completions.create({ model, messages, ...deterministic, logprobs: true, top_logprobs: 2 });
  const c = r.choices[0];
  const content = c.logprobs?.content;
  expect(Array.isArray(content) && content.length > 0, `logprobs.content is ${show(c.logprobs)}`);
  expect(content.length === r.usage.completion_tokens,
    `${content.length} logprob entries for ${r.usage.completion_tokens} completion tokens`);
  for (const [i, entry] of content.entries()) {
    expect(typeof entry.token === "string", `entry ${i}: token ${show(entry.token)}`);
    expect(typeof entry.logprob === "number" && entry.logprob <= 1e-6, `entry ${i}: logprob ${show(entry.logprob)}`);
    expect(Array.isArray(entry.top_logprobs) && entry.top_logprobs.length === 2,
      `entry ${i}: ${entry.top_logprobs?.length} top_logprobs, expected 2`);
    const [first, second] = entry.top_logprobs;
    expect(first.logprob >= second.logprob, `entry ${i}: top_logprobs not sorted (${show(entry.top_logprobs)})`);
    // Greedy decoding picks the most likely token, so it heads its own alternatives.
    expect(first.token === entry.token && Math.abs(first.logprob - entry.logprob) < 1e-4,
      `entry ${i}: at temperature 0 the chosen token ${show(entry.token)} (${entry.logprob}) is not the top alternative ${show(first)}`);
  }
});

// A tiny model (the embedded stories260K) never closes a JSON object by itself: it writes keys
// and values until max_tokens. A logit_bias toward the tokens holding `}` or `"` (ids from the
// llama.cpp /tokenize route) lets it finish without changing what is checked: that the reply is
// exactly one JSON object and generation stops once it closes. Without /tokenize, no bias.
async function closingTokenBias() {
  const bias = {};
  for (const content of ["}", "\"", "\"}", " \"}\""]) {
    const res = await fetch(`${baseUrl.replace(/\/$/, "")}/tokenize`, {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ content, with_pieces: true }),
    });
    if (!res.ok) return undefined;
    for (const t of (await res.json()).tokens ?? []) {
      if (t && typeof t === "object" && /["}]/.test(t.piece)) bias[String(t.id)] = 10;
    }
  }
  return Object.keys(bias).length ? bias : undefined;
}

await check("chat.completions response_format json_object", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Describe a cat as a JSON object." }],
    response_format: { type: "json_object" }, temperature: 0, seed: 1, max_tokens: jsonMaxTokens,
    logit_bias: await closingTokenBias(),
  });
  const c = r.choices[0];
  expect(c.finish_reason === "stop",
    `finish_reason ${show(c.finish_reason)}: the JSON was cut at max_tokens ${jsonMaxTokens}: ${show(c.message.content)}`);
  let parsed;
  try {
    parsed = JSON.parse(c.message.content);
  } catch (e) {
    throw new CheckFailure(`content is not JSON (${e.message}): ${show(c.message.content)}`);
  }
  expect(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `parsed to ${show(parsed)}, not an object`);
});

await check("chat.completions response_format json_schema", async () => {
  const schema = {
    type: "object",
    properties: {
      name: { type: "string", maxLength: 24 },
      age: { type: "integer", minimum: 0, maximum: 30 },
      likes_milk: { type: "boolean" },
    },
    required: ["name", "age", "likes_milk"],
    additionalProperties: false,
  };
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Give the cat a name and an age." }],
    response_format: { type: "json_schema", json_schema: { name: "cat", strict: true, schema } },
    temperature: 0, seed: 1, max_tokens: jsonMaxTokens,
  });
  const c = r.choices[0];
  expect(c.finish_reason === "stop", `finish_reason ${show(c.finish_reason)}: the JSON was cut at max_tokens ${jsonMaxTokens}`);
  let parsed;
  try {
    parsed = JSON.parse(c.message.content);
  } catch (e) {
    throw new CheckFailure(`content is not JSON (${e.message}): ${show(c.message.content)}`);
  }
  expect(typeof parsed.name === "string" && parsed.name.length <= 24, `name is ${show(parsed.name)}`);
  expect(Number.isInteger(parsed.age) && parsed.age >= 0 && parsed.age <= 30, `age is ${show(parsed.age)}`);
  expect(typeof parsed.likes_milk === "boolean", `likes_milk is ${show(parsed.likes_milk)}`);
  expect(Object.keys(parsed).every((k) => k in schema.properties), `extra keys in ${show(parsed)}`);
});

await check("completions.create", async () => {
  const request = { model, prompt: "Once upon a time", max_tokens: 16, temperature: 0, seed: 3 };
  const r = await client.completions.create(request);
  expect(r.object === "text_completion", `object is ${show(r.object)}`);
  expect(r.choices.length === 1, `expected one choice, got ${r.choices.length}`);
  const c = r.choices[0];
  expect(typeof c.text === "string" && c.text.length > 0, `text is ${show(c.text)}`);
  expect(["stop", "length"].includes(c.finish_reason), `finish_reason ${show(c.finish_reason)}`);
  expectUsage(r.usage, "usage");
  expect(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 16, `completion_tokens ${r.usage.completion_tokens}`);
  // The streamed form gives the same text.
  const stream = await client.completions.create({ ...request, stream: true });
  let text = "";
  for await (const chunk of stream) {
    for (const choice of chunk.choices) text += choice.text ?? "";
  }
  expect(text === c.text, `streamed text ${show(text)} != non-streamed ${show(c.text)}`);
});

// Each embedding must be a non-empty vector of finite numbers with unit L2 norm.
function expectUnitVectors(r, count, what) {
  expect(r.object === "list", `${what}: object is ${show(r.object)}`);
  expect(Array.isArray(r.data) && r.data.length === count, `${what}: ${r.data?.length} embeddings, expected ${count}`);
  for (const [i, item] of r.data.entries()) {
    expect(item.index === i, `${what}: item ${i} has index ${item.index}`);
    const v = Array.from(item.embedding);
    expect(v.length > 0, `${what}: embedding ${i} is empty`);
    expect(v.every(Number.isFinite), `${what}: embedding ${i} holds a non-finite number`);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    expect(Math.abs(norm - 1) < 1e-3, `${what}: embedding ${i} has norm ${norm}`);
  }
  expect(r.data.every((d) => d.embedding.length === r.data[0].embedding.length), `${what}: vectors differ in length`);
  expect(Number.isInteger(r.usage?.prompt_tokens) && r.usage.prompt_tokens > 0, `${what}: usage ${show(r.usage)}`);
}

await check("embeddings.create (encoding_format float)", async () => {
  const r = await client.embeddings.create({ model, input: ["a cat on a mat", "the dog barked"], encoding_format: "float" });
  expectUnitVectors(r, 2, "float");
});

// With no encoding_format the SDK asks for base64 and decodes it itself, so this is what
// most client code sends.
await check("embeddings.create (SDK default: base64)", async () => {
  const r = await client.embeddings.create({ model, input: "a cat on a mat" });
  expectUnitVectors(r, 1, "base64");
  const float = await client.embeddings.create({ model, input: "a cat on a mat", encoding_format: "float" });
  const a = Array.from(r.data[0].embedding), b = float.data[0].embedding;
  expect(a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6), "base64 and float embeddings differ");
});

await check("error: unknown model is NotFoundError (404)", async () => {
  await expectApiError(() => client.chat.completions.create({ model: "no-such-model-for-kindred", messages, max_tokens: 4 }),
    NotFoundError, 404, "unknown model");
});

await check("error: bad temperature is BadRequestError (400)", async () => {
  const e = await expectApiError(() => client.chat.completions.create({ model, messages, temperature: 7, max_tokens: 4 }),
    BadRequestError, 400, "temperature 7");
  expect(e.error.param === "temperature", `error.param is ${show(e.error.param)}, expected "temperature"`);
});

await check("error: bad key is AuthenticationError (401)", async () => {
  const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: "kr-not-a-key-this-server-issued", maxRetries: 0 });
  await expectApiError(() => stranger.models.list(), AuthenticationError, 401, "bad key");
  await expectApiError(() => stranger.chat.completions.create({ model, messages, max_tokens: 4 }),
    AuthenticationError, 401, "bad key on chat.completions");
});

if (failures.length) {
  console.error(`\n${failures.length} check(s) failed: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("\nall OpenAI SDK checks passed");
