// Beyond one machine, with real processes (no npm packages needed):
//  1. two `kindred serve` processes on one PostgreSQL database serve the same sessions: a session
//     created on A is continued on B and then on A again, and both see every turn;
//  2. `--backend openai://A` makes a third server generate on A while it keeps the characters,
//     sessions and affect itself.
// Needs KINDRED_BIN and KINDRED_TEST_PG_URL (scripts/start-postgres.sh prints one). Without the URL
// the test is skipped (exit 77), except under CI=true.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

const bin = process.env.KINDRED_BIN ?? process.argv[2];
const pg = process.env.KINDRED_TEST_PG_URL;
if (!pg) {
  if (process.env.CI === "true") { console.error("FAIL (CI): KINDRED_TEST_PG_URL is not set"); process.exit(1); }
  console.error("SKIP: KINDRED_TEST_PG_URL is not set (run scripts/start-postgres.sh)");
  process.exit(77);
}
const admin = "kr-admin-" + randomBytes(16).toString("hex");
const dir = mkdtempSync(join(tmpdir(), "kindred-multi-"));
const children = [];

function start(name, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["serve", "--port", "0", "--admin-key", admin, "--log-level", "warn", "--max-reply", "12", ...args]);
    children.push(child);
    let out = "", err = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), 30000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/http:\/\/[^ \n]+/);
      if (m) { clearTimeout(timer); resolve({ name, url: m[0].replace(/\/$/, ""), child }); }
    });
    child.stderr.on("data", (d) => { err += d; });
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}: ${err}`)));
  });
}

async function call(server, method, path, key, body) {
  const res = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json };
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function metric(server, name) {
  const text = await (await fetch(server.url + "/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : 0;
}

try {
  const a = await start("A", ["--db", pg, "--state-dir", join(dir, "a")]);
  const b = await start("B", ["--db", pg, "--state-dir", join(dir, "b")]);
  const tenant = "multi-" + randomBytes(4).toString("hex");
  const made = await call(a, "POST", "/kindred/v1/admin/keys", admin, { tenant, name: "multi" });
  check(made.status === 201, `key creation: ${JSON.stringify(made.body)}`);
  const key = made.body.key;
  const character = await call(a, "POST", "/kindred/v1/characters", key, {
    name: "Mira", description: "A cheerful baker.", first_mes: "Welcome to my bakery!" });
  check(character.status === 201, `character: ${JSON.stringify(character.body)}`);
  const session = await call(a, "POST", "/kindred/v1/sessions", key, { character_id: character.body.id });
  check(session.status === 201, `session: ${JSON.stringify(session.body)}`);
  const id = session.body.id;
  const onB = await call(b, "POST", `/kindred/v1/sessions/${id}/messages`, key, { content: "Hello from B!" });
  check(onB.status === 200, `message on B: ${JSON.stringify(onB.body)}`);
  const seenOnA = await call(a, "GET", `/kindred/v1/sessions/${id}`, key);
  check(seenOnA.status === 200 && seenOnA.body.turns.length === 3, `A sees ${seenOnA.body.turns?.length} turns, expected 3`);
  check(seenOnA.body.turns[1].text === "Hello from B!", "A does not see B's user turn");
  check(seenOnA.body.turns[2].text === onB.body.reply.text, "A does not see B's reply");
  const onA = await call(a, "POST", `/kindred/v1/sessions/${id}/messages`, key, { content: "And now from A." });
  check(onA.status === 200, `message on A: ${JSON.stringify(onA.body)}`);
  const seenOnB = await call(b, "GET", `/kindred/v1/sessions/${id}`, key);
  check(seenOnB.body.turns.length === 5, `B sees ${seenOnB.body.turns.length} turns, expected 5`);
  check(seenOnB.body.turns[3].text === "And now from A.", "B does not see A's user turn");
  console.log(`two processes on one PostgreSQL: session ${id} continued across A and B (5 turns)`);

  // A third server generating on A.
  const before = await metric(a, "kindred_generated_tokens_total");
  const c = await start("C", ["--db", join(dir, "c.db"), "--state-dir", join(dir, "c"), "--backend", `openai://${a.url.replace("http://", "")}`,
                              "--backend-key", key]);
  const cchar = await call(c, "POST", "/kindred/v1/characters", admin, { name: "Remo", description: "A terse guard.", first_mes: "Halt." });
  check(cchar.status === 201, `character on C: ${JSON.stringify(cchar.body)}`);
  const csession = await call(c, "POST", "/kindred/v1/sessions", admin, { character_id: cchar.body.id });
  const creply = await call(c, "POST", `/kindred/v1/sessions/${csession.body.id}/messages`, admin, { content: "May I pass?" });
  check(creply.status === 200 && typeof creply.body.reply.text === "string", `message on C: ${JSON.stringify(creply.body)}`);
  check(creply.body.user.affect && creply.body.user.affect.user_emotion, "C's user turn lacks the detected emotion");
  const after = await metric(a, "kindred_generated_tokens_total");
  check(after > before, `A generated no tokens for C (${before} → ${after})`);
  // Raw completions are not proxied: C says so rather than generating locally.
  const raw = await call(c, "POST", "/v1/chat/completions", admin, { messages: [{ role: "user", content: "hi" }] });
  check(raw.status === 501 && raw.body.error, `raw completion on C: HTTP ${raw.status}`);
  console.log(`remote backend: C's reply was generated on A (${after - before} tokens)`);
} catch (e) {
  console.error("FAIL:", e.message);
  process.exitCode = 1;
} finally {
  for (const ch of children) ch.kill();
  rmSync(dir, { recursive: true, force: true });
}
