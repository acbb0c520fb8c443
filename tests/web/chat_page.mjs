// End-to-end test of the web chat page that `kindred serve` embeds, in Debian's Chromium.
//
//   node tests/web/chat_page.mjs /path/to/kindred
//
// Starts the real server (its embedded tiny story model, --no-auth, a fresh database), then
// drives the page: import a card, start a session, send two streamed messages, regenerate and
// swipe, undo. Writes a screenshot to $KINDRED_SCREENSHOT (default tests/web/out/chat.png).
// Exits 0 on success, 1 with a message naming the failed check otherwise; the server is
// stopped in every case.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const RUN_LIMIT_MS = 60_000;       // the whole run; it normally takes 7 to 15 s
const SERVER_READY_MS = 30_000;
const STEP_MS = 30_000;            // one UI step, a streamed reply included
const HERE = path.dirname(fileURLToPath(import.meta.url));
const screenshotPath = process.env.KINDRED_SCREENSHOT || path.join(HERE, 'out', 'chat.png');

const started = Date.now();
let server = null;
let serverExited = false;
let serverOutput = '';
let browser = null;
let tempDir = null;
const pageErrors = [];
const consoleErrors = [];

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function startServer(binary, port, dbPath) {
  server = spawn(binary, ['serve', '--no-auth', '--port', String(port), '--db', dbPath],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk) => { serverOutput = (serverOutput + chunk.toString()).slice(-6000); };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  server.once('exit', (code, signal) => {
    serverExited = true;
    serverOutput += `\n(the server exited: ${signal || `code ${code}`})`;
  });
  server.once('error', (e) => {
    serverExited = true;
    serverOutput += `\n(the server could not start: ${e.message})`;
  });
}

async function waitForHealth(base) {
  const deadline = Date.now() + SERVER_READY_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    check(!serverExited, `kindred serve stopped before it answered /health`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return res.json();
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause ? e.cause.code || e.message : e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CheckFailed(`GET /health did not answer 200 within ${SERVER_READY_MS / 1000} s (last: ${last})`);
}

async function stopServer() {
  if (!server || serverExited) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => { if (!serverExited) server.kill('SIGKILL'); }, 3000);
  await exited;
  clearTimeout(timer);
}

async function cleanUp() {
  if (browser) await browser.close().catch(() => {});
  await stopServer();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
}

// Last resort: never leave a server behind, even when the process is killed by the limit.
process.on('exit', () => { if (server && !serverExited) server.kill('SIGKILL'); });

function writeCard(dir) {
  const card = {
    spec: 'chara_card_v2',
    spec_version: '2.0',
    data: {
      name: 'Mira',
      description: 'Mira is a cheerful lighthouse keeper who loves stories about the sea.',
      personality: 'warm, curious, a little teasing',
      scenario: 'A stormy evening at the lighthouse.',
      first_mes: 'Welcome to the lighthouse! Sit by the fire and tell me about your day.',
      mes_example: '',
      creator_notes: 'Written for the Kindred web page test.',
      system_prompt: '',
      post_history_instructions: '',
      alternate_greetings: [],
      tags: ['test'],
      creator: 'kindred tests',
      character_version: '1',
      extensions: {},
    },
  };
  const file = path.join(dir, 'mira.json');
  fs.writeFileSync(file, JSON.stringify(card, null, 2));
  return file;
}

async function run(binary) {
  check(fs.existsSync(binary), `no kindred binary at ${binary}`);
  if (!fs.existsSync(CHROMIUM)) {
    throw new CheckFailed(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  }
  const { chromium } = await import('playwright-core').catch((e) => {
    throw new CheckFailed(`playwright-core is not installed (run npm ci in ${HERE}): ${e.message}`);
  });

  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindred-web-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  startServer(binary, port, path.join(tempDir, 'k.db'));
  const health = await waitForHealth(base);
  log(`kindred serve is up on port ${port} (model: ${health.model ?? 'unknown'})`);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  // Counts text updates of a reply while it streams, to see the tokens arrive one by one.
  await page.addInitScript(() => {
    window.__streamedUpdates = 0;
    new MutationObserver((records) => {
      for (const r of records) {
        const node = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
        if (node && node.closest('.message.streaming .message-text')) window.__streamedUpdates += 1;
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });

  const response = await page.goto(`${base}/`);
  check(response && response.ok(), `GET / answered ${response ? response.status() : 'nothing'}`);
  check((response.headers()['content-type'] || '').startsWith('text/html'), 'GET / is not text/html');
  await page.waitForSelector('#character-list');
  log('page loaded');

  // The API key is kept in localStorage and sent as a Bearer token.
  const isCharacterList = (r) => new URL(r.url()).pathname === '/kindred/v1/characters';
  const keyed = page.waitForRequest((r) => isCharacterList(r) && r.headers().authorization === 'Bearer test-key');
  await page.fill('#api-key', 'test-key');
  await page.dispatchEvent('#api-key', 'change');
  await keyed.catch(() => { throw new CheckFailed('the API key was not sent as "Authorization: Bearer test-key"'); });
  check(await page.evaluate(() => localStorage.getItem('kindred.apiKey')) === 'test-key',
    'the API key was not kept in localStorage');
  const unkeyed = page.waitForResponse((r) => isCharacterList(r.request()) && !r.request().headers().authorization);
  await page.fill('#api-key', '');
  await page.dispatchEvent('#api-key', 'change');
  await unkeyed;
  check(await page.evaluate(() => localStorage.getItem('kindred.apiKey')) === null, 'clearing the API key did not forget it');

  // A file that is no card: the API's error must reach the visible banner.
  const badCard = path.join(tempDir, 'broken.json');
  fs.writeFileSync(badCard, 'this is not a character card');
  await page.setInputFiles('#import-card', badCard);
  await page.waitForSelector('#error', { state: 'visible' });
  const errorText = await page.textContent('#error-text');
  check(/^4\d\d: \S/.test(errorText), `the error banner does not show the API's 4xx error: "${errorText}"`);
  log(`a broken card is refused in the banner: ${errorText}`);
  await page.click('#error-dismiss');
  await page.waitForSelector('#error', { state: 'hidden' });

  // Import a V2 card through the file input; the new character is chosen.
  await page.setInputFiles('#import-card', writeCard(tempDir));
  await page.waitForSelector('#character-list [data-testid="character-item"][aria-pressed="true"]');
  const chosen = await page.textContent('#character-list [aria-pressed="true"] .item-name');
  check(chosen === 'Mira', `the imported character is listed as "${chosen}", not "Mira"`);
  log('card imported');

  await page.click('#new-session');
  await page.waitForSelector('#session-list [data-testid="session-item"][aria-current="true"]');
  await page.waitForSelector('#messages .message[data-role="assistant"]');
  const sessionId = await page.getAttribute('#messages', 'data-session-id');
  check(/^\d+$/.test(sessionId || ''), `the open session has no id (data-session-id="${sessionId}")`);
  const greeting = await page.textContent('#messages .message[data-role="assistant"] .message-text');
  check(greeting.includes('lighthouse'), `the session does not start with the card's greeting: "${greeting}"`);
  log(`session ${sessionId} started`);

  const messages = ['Hello Mira! I had a wonderful day, I finally finished my painting.',
    'But then I lost my keys on the way home and I am really angry about it.'];
  const chartPointCounts = [];
  for (const [i, text] of messages.entries()) {
    await page.fill('#message-input', text);
    await page.click('#send');
    await page.waitForFunction((n) => document.body.dataset.busy === 'false' &&
      document.querySelectorAll('#messages .message[data-role="assistant"]').length === n + 2 &&
      !document.querySelector('#messages .streaming') &&
      document.querySelectorAll('#mood-chart [data-testid="mood-point"]').length > 0, i);
    await checkNoError(page, `after message ${i + 1}`);
    chartPointCounts.push(await page.locator('#mood-chart [data-testid="mood-point"]').count());
    log(`reply ${i + 1} streamed`);
  }
  const streamedUpdates = await page.evaluate(() => window.__streamedUpdates);
  check(streamedUpdates >= 2, `the replies were not appended token by token (${streamedUpdates} text updates)`);
  check(chartPointCounts[1] > chartPointCounts[0],
    `the chart did not grow after the second reply (${chartPointCounts.join(' then ')} points)`);

  const replies = await page.$$eval('#messages .message[data-role="assistant"] .message-text',
    (nodes) => nodes.map((n) => n.textContent));
  check(replies.length === 3, `expected the greeting and 2 replies, found ${replies.length} assistant messages`);
  replies.forEach((r, i) => check(r.trim().length > 0, `assistant message ${i} is empty`));
  const userTexts = await page.$$eval('#messages .message[data-role="user"] .message-text',
    (nodes) => nodes.map((n) => n.textContent));
  check(JSON.stringify(userTexts) === JSON.stringify(messages), `the user messages read ${JSON.stringify(userTexts)}`);
  const emotionBadges = await page.$$eval('#messages .message[data-role="user"]',
    (nodes) => nodes.map((n) => n.querySelector('[data-testid="user-emotion"]')?.textContent ?? null));
  emotionBadges.forEach((b, i) => check(b !== null && /^\S+ \d+%$/.test(b),
    `user message ${i + 1} has no emotion badge "label NN%" (found ${JSON.stringify(b)})`));
  log(`user emotion badges: ${emotionBadges.join(', ')}`);

  // The chart has one point per annotated turn of the trajectory, the new turns included.
  const affect = await (await fetch(`${base}/kindred/v1/sessions/${sessionId}/affect`)).json();
  check(Array.isArray(affect.trajectory), `GET /sessions/${sessionId}/affect has no trajectory`);
  const trajectory = affect.trajectory.filter((p) => p.character);
  const chartPositions = await page.$$eval('#mood-chart [data-testid="mood-point"]',
    (nodes) => nodes.map((n) => Number(n.dataset.position)));
  check(chartPositions.length === trajectory.length,
    `the chart shows ${chartPositions.length} points for a trajectory of ${trajectory.length}`);
  const turnPositions = await page.$$eval('#messages .message[data-role="user"], #messages .message[data-role="assistant"]',
    (nodes) => nodes.map((n) => Number(n.dataset.position)));
  const exchangeTurns = turnPositions.slice(-4);  // the two user messages and their replies
  for (const position of exchangeTurns) {
    check(chartPositions.includes(position), `the chart has no point for turn ${position} ` +
      `(points at ${chartPositions.join(', ')})`);
  }
  const userMarkers = await page.locator('#mood-chart [data-testid="user-emotion-marker"]').count();
  check(userMarkers === trajectory.filter((p) => p.user_emotion).length && userMarkers >= 2,
    `the chart shows ${userMarkers} user-emotion markers`);
  const chartLabel = await page.getAttribute('#mood-chart', 'aria-label');
  check(/pleasure/.test(chartLabel || ''), `the chart's aria-label does not describe it: "${chartLabel}"`);
  log(`chart: ${chartPositions.length} points, ${userMarkers} user-emotion markers`);

  // Regenerate adds a second swipe of the last reply; the arrows move between the two.
  const last = '#messages .message:last-child';
  const firstReply = await page.textContent(`${last} .message-text`);
  await page.click('#regenerate');
  await page.waitForFunction((sel) => {
    const m = document.querySelector(sel);
    return document.body.dataset.busy === 'false' && m && m.dataset.swipeCount === '2' &&
      !m.classList.contains('streaming');
  }, last);
  await checkNoError(page, 'after regenerate');
  check(await page.getAttribute(last, 'data-active-swipe') === '1', 'regenerate did not show the new swipe');
  check((await page.textContent(`${last} .message-text`)).trim().length > 0, 'the regenerated reply is empty');
  await page.click('#swipe-prev');
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.activeSwipe === '0' &&
    document.body.dataset.busy === 'false', last);
  check(await page.textContent(`${last} .message-text`) === firstReply,
    'swiping back does not show the first reply again');
  await page.click('#swipe-next');
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.activeSwipe === '1' &&
    document.body.dataset.busy === 'false', last);
  check(await page.textContent('.swipe-counter') === '2/2', 'the swipe counter does not read 2/2');
  await checkNoError(page, 'after swiping');
  log('regenerate made a second swipe; swipe ◀ ▶ moved between them');

  fs.mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  log(`screenshot: ${screenshotPath}`);

  const before = await page.locator('#messages .message').count();
  await page.click('#undo');
  await page.waitForFunction((n) => document.body.dataset.busy === 'false' &&
    document.querySelectorAll('#messages .message').length < n, before);
  await checkNoError(page, 'after undo');
  log(`undo: ${before} → ${await page.locator('#messages .message').count()} messages`);

  check(pageErrors.length === 0, `the page threw: ${pageErrors.join(' | ')}`);
}

async function checkNoError(page, when) {
  if (await page.isVisible('#error')) {
    throw new CheckFailed(`the page shows an error ${when}: ${await page.textContent('#error-text')}`);
  }
}

async function main() {
  const binary = process.argv[2];
  if (!binary) {
    console.error('usage: node chat_page.mjs /path/to/kindred');
    return 2;
  }
  const limit = setTimeout(() => {
    console.error(`FAIL: the test ran past its ${RUN_LIMIT_MS / 1000} s limit`);
    if (serverOutput) console.error(`--- kindred serve output (tail) ---\n${serverOutput}`);
    cleanUp().finally(() => process.exit(1));
  }, RUN_LIMIT_MS);
  try {
    await run(path.resolve(binary));
    log('PASS');
    return 0;
  } catch (e) {
    console.error(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
    if (consoleErrors.length) console.error(`--- browser console errors ---\n${consoleErrors.join('\n')}`);
    if (pageErrors.length) console.error(`--- page exceptions ---\n${pageErrors.join('\n')}`);
    if (serverOutput) console.error(`--- kindred serve output (tail) ---\n${serverOutput}`);
    return 1;
  } finally {
    clearTimeout(limit);
    await cleanUp();
  }
}

process.exitCode = await main();
