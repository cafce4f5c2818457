// Accessibility: axe-core over every console page (and the wizard's steps and the dialogs), at
// 1280x800 and on a narrow window. Any serious or critical violation fails; moderate and minor
// ones are printed. The pages are filled by data the test seeded through boto3 (HANGAR_A11Y_*).
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { launch, signIn, shot, step, rootKeyId, rootSecret } from "./browser.mjs";

const BUCKET = process.env.HANGAR_A11Y_BUCKET;
const OBJECT = process.env.HANGAR_A11Y_OBJECT;
const KEY_ID = process.env.HANGAR_A11Y_KEY_ID;
const USER = process.env.HANGAR_A11Y_USER;
assert.ok(BUCKET && OBJECT && KEY_ID && USER, "HANGAR_A11Y_BUCKET, _OBJECT, _KEY_ID and _USER must be set");

const { browser, page, problems } = await launch();
const serious = [];
let checked = 0;

async function audit(name) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]).analyze();
  checked += 1;
  for (const v of result.violations) {
    const line = `${name}: ${v.impact} ${v.id} (${v.nodes.length}) ${v.help} — ${v.nodes[0]?.target}`;
    if (v.impact === "serious" || v.impact === "critical") serious.push(line);
    else console.log(`note ${line}`);
  }
  // Readable on a narrow window: nothing wider than the viewport but tables, which scroll.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than the window`);
}

async function visit(hash, heading, name) {
  await page.goto(`${process.env.HANGAR_ENDPOINT}/console/#${hash}`);
  await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
  await page.getByRole("status").filter({ hasText: /^Loading/ }).waitFor({ state: "detached" });
  await audit(name);
}

const PAGES = [
  ["/s3", "Buckets", "bucket list"],
  ["/s3/create", "Create bucket", "create bucket"],
  [`/s3/buckets/${BUCKET}`, BUCKET, "bucket objects"],
  [`/s3/buckets/${BUCKET}/properties`, BUCKET, "bucket properties"],
  [`/s3/buckets/${BUCKET}/permissions`, BUCKET, "bucket permissions"],
  [`/s3/object/${BUCKET}/${encodeURIComponent(OBJECT)}`, OBJECT, "object"],
  ["/kms", "Key Management Service", "key list"],
  [`/kms/keys/${KEY_ID}`, /.+/, "key"],
  ["/iam/users", "Users", "users"],
  [`/iam/users/${USER}`, USER, "user"],
  ["/iam/groups", "User groups", "groups"],
  ["/iam/roles", "Roles", "roles"],
  ["/iam/policies", "Policies", "policies"],
  ["/cloudtrail", "Event history", "event history"],
  ["/securityhub", "Findings", "findings"],
];

try {
  await step("axe finds a violation planted on purpose", async () => {
    await page.goto(`${process.env.HANGAR_ENDPOINT}/console/`);
    await page.getByRole("heading", { name: "Sign in to Hangar" }).waitFor();
    await page.evaluate(() => {
      const img = document.createElement("img");
      img.id = "planted";
      img.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw=";
      document.body.append(img);
    });
    const result = await new AxeBuilder({ page }).withTags(["wcag2a"]).analyze();
    const found = result.violations.find((v) => v.id === "image-alt");
    assert.ok(found && ["serious", "critical"].includes(found.impact),
      "axe must report the planted image without alt text");
  });
  for (const [label, viewport] of [["wide", { width: 1280, height: 800 }], ["narrow", { width: 390, height: 800 }]]) {
    await page.setViewportSize(viewport);
    await step(`${label}: the sign-in page`, async () => {
      await page.goto(`${process.env.HANGAR_ENDPOINT}/console/`);
      await page.getByRole("heading", { name: "Sign in to Hangar" }).waitFor();
      await audit(`${label} sign-in`);
      await signIn(page, rootKeyId, rootSecret);
    });
    for (const [hash, heading, name] of PAGES) {
      await step(`${label}: ${name}`, () => visit(hash, heading, `${label} ${name}`));
    }
    await step(`${label}: the create-key wizard, every step`, async () => {
      await visit("/kms/create", "Create key", `${label} wizard step 1`);
      for (const [n, fill] of [[2, null], [3, async () => page.getByLabel("Alias").fill(`a11y-${label}`)], [4, null], [5, null]]) {
        if (fill) await fill();
        await page.getByRole("button", { name: "Next" }).click();
        await page.locator('ol.steps li[aria-current="step"]').filter({ hasText: `Step ${n}:` }).waitFor();
        await audit(`${label} wizard step ${n}`);
      }
    });
    await step(`${label}: the dialogs`, async () => {
      await visit(`/kms/keys/${KEY_ID}`, /.+/, `${label} key`);
      await page.getByRole("button", { name: /Key actions/ }).click();
      await audit(`${label} key actions menu`);
      await page.getByRole("menuitem", { name: "Schedule key deletion" }).click();
      await page.getByRole("dialog").waitFor();
      await audit(`${label} schedule deletion dialog`);
      await page.keyboard.press("Escape");
      await page.getByRole("dialog").waitFor({ state: "detached" });
      await visit(`/s3/buckets/${BUCKET}`, BUCKET, `${label} bucket`);
      await page.getByRole("button", { name: `Delete ${OBJECT}` }).click();
      await page.getByRole("dialog").waitFor();
      await audit(`${label} delete object dialog`);
      if (label === "narrow") await shot(page, "narrow-delete-dialog");
      await page.getByRole("button", { name: "Cancel" }).click();
    });
    await page.getByRole("button", { name: "Sign out" }).click();
  }

  await step("keyboard only: sign in and reach the KMS page", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${process.env.HANGAR_ENDPOINT}/console/`);
    await page.getByLabel("Access key ID").waitFor();
    await page.keyboard.type(rootKeyId);  // the access key field has focus on arrival
    await page.keyboard.press("Tab");
    await page.keyboard.type(rootSecret);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i += 1) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.textContent === "KMS");
    }
    assert.ok(reached, "the KMS link is reachable with Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Key Management Service", level: 1 }).waitFor();
  });

  console.log(`axe checked ${checked} page states`);
  assert.deepEqual(serious, [], `serious accessibility violations:\n${serious.join("\n")}`);
  assert.deepEqual(problems, []);
  console.log(JSON.stringify({ a11y: "passed", checked }));
} finally {
  await browser.close();
}
