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

export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.HANGAR_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // This machine has no route out: keep Chromium from trying (and from waiting on) Google.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  // Nothing may be fetched from anywhere but the server itself.
  page.on("request", (req) => {
    if (!req.url().startsWith(endpoint) && !req.url().startsWith("blob:") && !req.url().startsWith("data:")) {
      problems.push(`request to a foreign origin: ${req.url()}`);
    }
  });
  return { browser, context, page, problems };
}

export async function signIn(page, accessKeyId, secret) {
  await page.goto(`${endpoint}/console/`);
  await page.getByLabel("Access key ID").fill(accessKeyId);
  await page.getByLabel("Secret access key").fill(secret);
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
  await fn();
  console.log(`ok  ${name} (${Date.now() - started} ms)`);
}
