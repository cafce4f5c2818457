// The console's other pages, each checked on the page and through boto3: a large bucket paged
// and browsed by folder, delete with confirmation, Block Public Access, the bucket policy editor
// (the server's MalformedPolicy shown in place), CloudTrail event history with a record's JSON,
// Security Hub findings with a workflow change, an access key deactivated and deleted. Last, the
// console served from another origin (HANGAR_CONSOLE_ORIGIN) still calls STS, KMS and, with the
// bucket's CORS rules, S3.
import assert from "node:assert/strict";
import { launch, newPage, signIn, shot, state, step, rootKeyId, rootSecret } from "./browser.mjs";

const BUCKET = process.env.HANGAR_BROWSE_BUCKET;        // logs/0000.txt … logs/0119.txt, top.txt
const CORS_BUCKET = process.env.HANGAR_BROWSE_CORS_BUCKET;  // CORS rules allow the other origin
const KEY_ID = process.env.HANGAR_BROWSE_KEY_ID;        // rotation off: Security Hub's KMS.4 fails
const USER = process.env.HANGAR_BROWSE_USER;            // has one access key
const OTHER_ORIGIN = process.env.HANGAR_CONSOLE_ORIGIN;
assert.ok(BUCKET && CORS_BUCKET && KEY_ID && USER && OTHER_ORIGIN, "the HANGAR_BROWSE_* variables must be set");

const { browser, page, problems } = await launch();
const base = `${process.env.HANGAR_ENDPOINT}/console/`;
const go = async (hash, heading) => {
  await page.goto(`${base}#${hash}`);
  await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
  // The heading comes with the page's "Loading …" status, in the same task: wait for it to go.
  await page.getByRole("status").filter({ hasText: /^Loading/ }).waitFor({ state: "detached" });
};
const rowNames = async () => (await page.locator("tbody tr td:first-child").allTextContents());

try {
  await step("sign in", () => signIn(page, rootKeyId, rootSecret));

  await step("a folder of 120 objects, in pages of 50", async () => {
    await go(`/s3/buckets/${BUCKET}`, BUCKET);
    assert.deepEqual(await rowNames(), ["logs/", "top.txt"]);
    await page.getByRole("link", { name: "logs/" }).click();
    await page.getByRole("navigation", { name: "Folder" }).getByRole("link", { name: "logs" }).waitFor();
    await page.getByRole("table", { name: "Objects (50+)" }).waitFor();
    const first = await rowNames();
    assert.equal(first.length, 50);
    assert.equal(first[0], "0000.txt");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2").waitFor();
    assert.equal((await rowNames())[0], "0050.txt");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByRole("table", { name: "Objects (20)" }).waitFor();
    assert.equal((await rowNames()).at(-1), "0119.txt");
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByText("Page 2").waitFor();
    assert.equal((await rowNames())[0], "0050.txt");
    await shot(page, "browse-paging");
  });

  await step("delete an object, after a confirmation that can be cancelled", async () => {
    await go(`/s3/buckets/${BUCKET}`, BUCKET);
    await page.getByRole("button", { name: "Delete top.txt" }).click();
    await page.getByRole("dialog", { name: "Delete object" }).getByRole("button", { name: "Cancel" }).click();
    assert.equal(state("head", BUCKET, "top.txt").exists, true);
    await page.getByRole("button", { name: "Delete top.txt" }).click();
    await page.getByRole("dialog", { name: "Delete object" }).getByRole("button", { name: "Delete object" }).click();
    await page.getByRole("link", { name: "top.txt" }).waitFor({ state: "detached" });
    assert.equal(state("head", BUCKET, "top.txt").exists, false);
  });

  await step("Block Public Access and the bucket policy editor", async () => {
    await go(`/s3/buckets/${BUCKET}/permissions`, BUCKET);
    for (const box of await page.getByRole("group", { name: "Block public access" }).getByRole("checkbox").all()) {
      await box.check();
    }
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Block Public Access settings saved.").waitFor();
    assert.deepEqual(state("bpa", BUCKET), { BlockPublicAcls: true, IgnorePublicAcls: true,
      BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const policy = page.getByLabel("Policy (JSON)");
    await policy.fill(JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "s3:GetObject",
      Resource: "arn:aws:s3:::some-other-bucket/*" }] }));  // a bucket policy speaks of its bucket only
    await page.getByRole("button", { name: "Save policy" }).click();
    const refusal = page.getByRole("alert").filter({ hasText: "MalformedPolicy: Policy has invalid resource" });
    await refusal.waitFor();
    await shot(page, "policy-refused");
    assert.equal(state("policy", BUCKET).policy, null);
    const account = state("whoami").account;
    const good = { Version: "2012-10-17", Statement: [{ Sid: "ReadForTheAccount", Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "s3:GetObject",
      Resource: `arn:aws:s3:::${BUCKET}/*` }] };
    await policy.fill(JSON.stringify(good));
    await page.getByRole("button", { name: "Save policy" }).click();
    await page.getByText("Bucket policy saved.").waitFor();
    assert.equal(await refusal.count(), 0);
    assert.equal(state("policy", BUCKET).policy.Statement[0].Sid, "ReadForTheAccount");
  });

  await step("CloudTrail event history, filtered, with a record's JSON", async () => {
    await go("/cloudtrail", "Event history");
    await page.getByLabel("Lookup attribute").selectOption("EventName");
    await page.getByLabel("Value").fill("PutBucketPolicy");
    await page.getByRole("button", { name: "Search" }).click();
    const rows = page.getByRole("table", { name: /^Event history/ }).locator("tbody tr");
    await rows.first().getByRole("cell", { name: "PutBucketPolicy" }).waitFor();
    const names = await rows.locator("td:nth-child(2)").allTextContents();
    assert.ok(names.length >= 2 && names.every((n) => n === "PutBucketPolicy"), names.join());
    await rows.first().getByText("View event record").click();
    const record = JSON.parse(await rows.first().locator("pre").textContent());
    assert.equal(record.eventName, "PutBucketPolicy");
    assert.equal(record.requestParameters.bucketName, BUCKET);
    await shot(page, "event-history");
  });

  await step("Security Hub findings: KMS.4 for the key, workflow set to NOTIFIED", async () => {
    await go("/securityhub", "Findings");
    const row = page.getByRole("row").filter({ hasText: "key rotation should be enabled" })
      .filter({ hasText: KEY_ID });
    await row.waitFor();
    assert.match(await row.textContent(), /MEDIUM.*NEW/);
    await row.getByRole("checkbox").check();
    await page.getByLabel("Workflow status").selectOption("NOTIFIED");
    await page.getByRole("button", { name: "Set workflow status" }).click();
    await page.getByText("Updated 1 finding(s).").waitFor();
    await row.getByRole("cell", { name: "NOTIFIED" }).waitFor();
    assert.equal(state("finding", "KMS.4", KEY_ID).workflow, "NOTIFIED");
    await shot(page, "findings");
  });

  await step("an access key deactivated, then deleted", async () => {
    const [key] = state("user", USER).accessKeys;
    await go(`/iam/users/${USER}`, USER);
    await page.getByRole("button", { name: `Deactivate ${key.id}` }).click();
    await page.getByRole("button", { name: `Activate ${key.id}` }).waitFor();
    assert.deepEqual(state("user", USER).accessKeys, [{ id: key.id, status: "Inactive" }]);
    await page.getByRole("button", { name: `Delete ${key.id}` }).click();
    await page.getByRole("dialog", { name: "Delete access key" }).getByRole("button", { name: "Delete" }).click();
    await page.getByText("No access keys.").waitFor();
    assert.deepEqual(state("user", USER).accessKeys, []);
  });

  await step("a key's rotation, tags, aliases and policy JSON", async () => {
    await go(`/kms/keys/${KEY_ID}`, KEY_ID);
    await page.getByRole("checkbox", { name: "Automatically rotate this KMS key" }).check();
    await page.getByLabel("Rotation period (in days)").fill("180");
    await page.getByRole("button", { name: "Save rotation" }).click();
    await page.getByText("Key rotation saved.").waitFor();
    await page.getByLabel("Tag key", { exact: true }).fill("programme");
    await page.getByLabel("Tag value", { exact: true }).fill("sat-link-7");
    await page.getByRole("button", { name: "Add tag" }).click();
    await page.getByRole("cell", { name: "sat-link-7" }).waitFor();
    await page.getByLabel("New alias").fill("browse-key");
    await page.getByRole("button", { name: "Create alias" }).click();
    await page.getByRole("heading", { name: "browse-key", level: 1 }).waitFor();  // named by its alias now
    assert.deepEqual(state("key-extras", KEY_ID), { rotation: true, rotationPeriod: 180,
      tags: { programme: "sat-link-7" }, aliases: ["alias/browse-key"] });
    await page.getByRole("button", { name: "Switch to policy view" }).click();
    const shown = JSON.parse(await page.getByLabel("Key policy (JSON)").inputValue());
    assert.deepEqual(shown, state("key", "browse-key").policy);
    await page.getByRole("button", { name: "Switch to default view" }).waitFor();
  });

  await step("IAM: a policy, a group, a role; the policy attached and the group joined", async () => {
    await go("/iam/policies", "Policies");
    await page.getByLabel("Policy name").fill("ReadLogs");
    await page.getByLabel("Policy document (JSON)").fill(JSON.stringify({ Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${BUCKET}/logs/*` }] }));
    await page.getByRole("button", { name: "Create policy" }).click();
    await page.getByRole("cell", { name: "ReadLogs", exact: true }).waitFor();
    await go("/iam/groups", "User groups");
    await page.getByLabel("Group name").fill("operators");
    await page.getByRole("button", { name: "Create group" }).click();
    await page.getByRole("cell", { name: "operators", exact: true }).waitFor();
    await go("/iam/roles", "Roles");
    await page.getByLabel("Role name").fill("auditor");
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("cell", { name: "auditor", exact: true }).waitFor();
    await go(`/iam/users/${USER}`, USER);
    await page.getByLabel("Managed policy").selectOption(`arn:aws:iam::${state("whoami").account}:policy/ReadLogs`);
    await page.getByRole("button", { name: "Attach policy" }).click();
    await page.getByRole("button", { name: "Detach ReadLogs" }).waitFor();
    await page.getByLabel("Group", { exact: true }).selectOption("operators");
    await page.getByRole("button", { name: "Add to group" }).click();
    await page.getByRole("button", { name: "Remove from operators" }).waitFor();
    const now = state("permissions", USER);
    assert.deepEqual([now.attached, now.groups], [["ReadLogs"], ["operators"]]);
    assert.ok(now.roles.includes("auditor") && now.policies.includes("ReadLogs"));
  });

  await step("sign in with temporary credentials (a session token)", async () => {
    const temp = state("session-credentials");
    const other = await newPage(browser);
    await other.page.goto(base);
    await other.page.getByLabel("Access key ID").fill(temp.id);
    await other.page.getByLabel("Secret access key").fill(temp.secret);
    await other.page.getByLabel(/^Session token/).fill(temp.token);
    await other.page.getByRole("button", { name: "Sign in" }).click();
    await other.page.getByRole("banner").getByText(/arn:aws:iam::\d{12}:root/).waitFor();
    await other.page.getByRole("link", { name: BUCKET }).waitFor();  // S3 answers those credentials
    // Only this tab's session storage holds them, and a sign-out clears it.
    const stored = await other.page.evaluate(() => JSON.stringify({ ...sessionStorage }));
    assert.ok(stored.includes(temp.token));
    assert.equal(await other.page.evaluate(() => localStorage.length), 0);
    await other.page.getByRole("button", { name: "Sign out" }).click();
    assert.equal(await other.page.evaluate(() => sessionStorage.length), 0);
    assert.deepEqual(other.problems, []);
    await other.context.close();
  });

  await step("served from another origin: STS, KMS and a CORS-enabled bucket still answer", async () => {
    const other = await newPage(browser);
    // Straight to KMS: S3's bucket list (ListBuckets) has no CORS rules to answer another origin,
    // on AWS as here.
    await signIn(other.page, rootKeyId, rootSecret, `${OTHER_ORIGIN}/index.html#/kms`);
    await other.page.getByRole("link", { name: KEY_ID }).waitFor();
    await other.page.goto(`${OTHER_ORIGIN}/index.html#/s3/buckets/${CORS_BUCKET}`);
    await other.page.getByRole("link", { name: "shared.txt" }).waitFor();
    await other.page.getByRole("link", { name: "shared.txt" }).click();
    await other.page.getByText("Server-side encryption settings").waitFor();
    assert.deepEqual(other.problems, []);
    await other.context.close();
  });

  assert.deepEqual(problems, []);
  console.log(JSON.stringify({ browse: "passed" }));
} finally {
  await browser.close();
}
