#!/usr/bin/env node
// Load test and concurrency benchmark for `kindred serve` (no npm packages: Node's own fetch).
//
//   node scripts/load-test.mjs --url http://127.0.0.1:8080 --streams 1,8,32,64 --seconds 20 \
//        [--key KEY] [--pid SERVER_PID] [--max-tokens 32] [--json out.json]
//
// For each concurrency level it keeps that many streaming /v1/chat/completions requests in flight
// for --seconds, and reports aggregate generated tokens/s (content chunks), requests, errors, the
// median and p95 time to first token, and — with --pid — the server's resident memory at the start
// and end of the level (flat memory under load is part of the check). Exits 1 if any request failed.
import { readFileSync, writeFileSync } from "node:fs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const url = args.url ?? "http://127.0.0.1:8080";
const levels = (args.streams ?? "1,8,32,64").split(",").map(Number);
const seconds = Number(args.seconds ?? 20);
const maxTokens = Number(args["max-tokens"] ?? 32);
const headers = { "Content-Type": "application/json" };
if (args.key) headers.Authorization = `Bearer ${args.key}`;

function rssMiB(pid) {
  if (!pid) return null;
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : null;
}

const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
const p95 = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] : NaN);

async function oneStream(i, stats) {
  const started = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      messages: [{ role: "user", content: `Tell story number ${i} about a cat.` }],
      max_tokens: maxTokens,
      temperature: 0.8,
      stream: true,
    }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = "";
  let first = true;
  let done = false;
  for await (const part of res.body) {
    buffer += decoder.decode(part, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!frame.startsWith("data: ")) continue;
      const data = frame.slice(6);
      if (data === "[DONE]") { done = true; continue; }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const content = chunk.choices?.[0]?.delta?.content;
      if (content) {
        if (first) { stats.ttft.push(performance.now() - started); first = false; }
        stats.chunks += 1;
      }
    }
  }
  if (!done) throw new Error("the stream ended without [DONE]");
  stats.requests += 1;
}

async function level(n, pid) {
  const stats = { chunks: 0, requests: 0, errors: 0, ttft: [], messages: new Set() };
  const rssStart = rssMiB(pid);
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, async (_, w) => {
    for (let i = 0; performance.now() < deadline; ++i) {
      try {
        await oneStream(w * 100000 + i, stats);
      } catch (e) {
        stats.errors += 1;
        stats.messages.add(String(e.message).slice(0, 200));
      }
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  return {
    streams: n,
    seconds: Number(wall.toFixed(1)),
    requests: stats.requests,
    errors: stats.errors,
    error_messages: [...stats.messages],
    tokens_per_second: Number((stats.chunks / wall).toFixed(1)),
    ttft_median_ms: Number(median(stats.ttft).toFixed(1)),
    ttft_p95_ms: Number(p95(stats.ttft).toFixed(1)),
    rss_start_mib: rssStart && Number(rssStart.toFixed(1)),
    rss_end_mib: pid ? Number(rssMiB(pid).toFixed(1)) : null,
  };
}

const results = [];
for (const n of levels) {
  const r = await level(n, args.pid && Number(args.pid));
  results.push(r);
  console.log(JSON.stringify(r));
}
console.log("\nstreams  tokens/s  requests  errors  ttft p50 ms  ttft p95 ms  rss MiB start→end");
for (const r of results) {
  console.log(`${String(r.streams).padStart(7)}  ${String(r.tokens_per_second).padStart(8)}  ${String(r.requests).padStart(8)}  ${String(r.errors).padStart(6)}  ${String(r.ttft_median_ms).padStart(11)}  ${String(r.ttft_p95_ms).padStart(11)}  ${r.rss_start_mib ?? "-"}→${r.rss_end_mib ?? "-"}`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
process.exit(results.some((r) => r.errors > 0) ? 1 : 0);
