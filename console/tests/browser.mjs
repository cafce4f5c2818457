// What the console tests share: Debian's Chromium driven by playwright-core, signing in through
// the page, screenshots of each step, and the server's state read back with boto3 (aws_state.py).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const endpoint = process.env.HANGAR_ENDPOINT;
export const rootKeyId = process.env.AWS_ACCESS_KEY_ID;
export const rootSecret = process.env.AWS_SECRET_ACCESS_KEY;
const shotsDir = process.env.HANGAR_CONSOLE_SCREENSHOTS || join(here, "..", "screenshots");
const python = process.env.HANGAR_E2E_PYTHON || "python3";

if (!endpoint || !rootKeyId || !rootSecret) {
  throw new Error("HANGAR_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
}

let mainPage = null;  // shot when a step fails

export async function launch() {
  const browser = await launchBrowser();
  const opened = await newPage(browser);
  mainPage = opened.page;
  return { browser, ...opened };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.HANGAR_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // This machine has no route out: keep Chromium from trying (and from waiting on) Google.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// A fresh context (its own sessionStorage) and page, with the problems it records.
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  // Nothing may be fetched from anywhere but the server itself (and, when the console is served
  // from another origin, that origin).
  const allowed = [endpoint, process.env.HANGAR_CONSOLE_ORIGIN, "blob:", "data:"].filter(Boolean);
  page.on("request", (req) => {
    if (!allowed.some((prefix) => req.url().startsWith(prefix))) {
      problems.push(`request to a foreign origin: ${req.url()}`);
    }
  });
  return { context, page, problems };
}

// Signs in on the console at `consoleUrl` (Hangar's own by default), with Hangar's endpoint.
export async function signIn(page, accessKeyId, secret, consoleUrl = `${endpoint}/console/`) {
  await page.goto(consoleUrl);
  await page.getByLabel("Access key ID").fill(accessKeyId);
  await page.getByLabel("Secret access key").fill(secret);
  await page.getByLabel("Endpoint").fill(endpoint);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

export async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to Hangar" }).waitFor();
}

let shotNumber = 0;
// Full-page by default; a dialog is shot as the window shows it (the backdrop covers the window).
export async function shot(page, name, { fullPage = true } = {}) {
  mkdirSync(shotsDir, { recursive: true });
  shotNumber += 1;
  const file = join(shotsDir, `${String(shotNumber).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

// The server's state as boto3 sees it (credentials: the account root's, from the environment).
export function state(operation, ...args) {
  const out = execFileSync(python, [join(here, "aws_state.py"), operation, ...args],
    { env: process.env, encoding: "utf8" });
  return JSON.parse(out);
}

export async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    if (mainPage) {
      const file = await shot(mainPage, "FAILED").catch(() => "(no screenshot)");
      console.log(`FAILED  ${name}: the page is in ${file}`);
    }
    throw err;
  }
  console.log(`ok  ${name} (${Date.now() - started} ms)`);
}
