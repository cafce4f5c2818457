// The lab, clicked through in Chromium: sign in as root, create IAM user Kzax01 with an access
// key, create a bucket, create key cloud_user in the wizard with Kzax01 as its administrator, set
// SSE-KMS with that key and a Bucket Key as the bucket's default encryption, upload (a small
// file, and a large one in parts), read the object's encryption on its page, download it,
// schedule the key's deletion (7 days), see it pending, cancel, enable it again. Then sign in as
// Kzax01 and see S3 refuse a listing and an upload with the API's AccessDenied text. Each step
// asserts on the page and on the server's state through boto3.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, signIn, signOut, shot, state, step, rootKeyId, rootSecret } from "./browser.mjs";

const USER = "Kzax01";
const BUCKET = "lab-console-bucket";
const ALIAS = "cloud_user";
const work = mkdtempSync(join(tmpdir(), "hangar-console-"));
const smallFile = join(work, "flight-record.txt");
const largeFile = join(work, "telemetry.bin");
const smallBody = "flight record 7: encrypted at rest under cloud_user\n";
writeFileSync(smallFile, smallBody);
// Above the 5 MiB part size: the console uploads it as a multipart upload of two parts.
const large = Buffer.alloc(6 * 1024 * 1024 + 123);
for (let i = 0; i < large.length; i += 1) large[i] = (i * 31 + 7) & 0xff;
writeFileSync(largeFile, large);

const { browser, page, problems } = await launch();
let kzax = null;
let key = null;
try {
  await step("sign in as the account root", async () => {
    await signIn(page, rootKeyId, rootSecret);
    await page.getByRole("banner").getByText(/arn:aws:iam::\d{12}:root/).waitFor();
    await shot(page, "signed-in");
  });

  await step("create IAM user Kzax01 and an access key", async () => {
    await page.getByRole("link", { name: "IAM" }).click();
    await page.getByLabel("User name").fill(USER);
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("link", { name: USER, exact: true }).click();
    await page.getByRole("heading", { name: USER, level: 1 }).waitFor();
    assert.equal(state("user", USER).exists, true);
    await page.getByRole("button", { name: "Create access key" }).click();
    const dialog = page.getByRole("dialog", { name: "Retrieve access key" });
    const id = await dialog.getByTestId("new-access-key-id").textContent();
    const secret = await dialog.getByTestId("new-secret-access-key").textContent();
    await shot(page, "access-key-once", { fullPage: false });
    await dialog.getByRole("button", { name: "Done" }).click();
    await page.getByRole("cell", { name: id, exact: true }).waitFor();
    kzax = { id, secret, arn: state("user", USER).arn };
    assert.deepEqual(state("user", USER).accessKeys, [{ id, status: "Active" }]);
    assert.match(secret, /^\S{40}$/);
  });

  await step("create a bucket, its name checked as typed", async () => {
    await page.getByRole("link", { name: "S3" }).click();
    await page.getByRole("link", { name: "Create bucket" }).click();
    const name = page.getByLabel("Bucket name");
    const create = page.getByRole("button", { name: "Create bucket" });
    await name.fill("Lab_Bucket");
    await assert.doesNotReject(page.getByText("✗ Only lowercase letters").waitFor());
    assert.equal(await create.isDisabled(), true);
    assert.equal(await name.getAttribute("aria-invalid"), "true");
    await name.fill(BUCKET);
    assert.equal(await create.isDisabled(), false);
    await shot(page, "create-bucket");
    await create.click();
    await page.getByRole("heading", { name: BUCKET, level: 1 }).waitFor();
    assert.equal(state("bucket", BUCKET).exists, true);
  });

  await step("create key cloud_user in the wizard, Kzax01 its administrator", async () => {
    await page.getByRole("link", { name: "KMS" }).click();
    await page.getByRole("link", { name: "Create key" }).click();
    await page.getByRole("heading", { name: "Configure key" }).waitFor();
    assert.equal(await page.getByRole("radio", { name: /Symmetric/ }).isChecked(), true);
    assert.equal(await page.getByRole("radio", { name: /Encrypt and decrypt/ }).isChecked(), true);
    assert.equal(await page.getByRole("radio", { name: /Single-Region key/ }).isChecked(), true);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("button", { name: "Next" }).click();  // no alias yet: refused in place
    await page.getByRole("alert").getByText("Enter an alias.").waitFor();
    await page.getByLabel("Alias").fill(ALIAS);
    await page.getByLabel("Description (optional)").fill("The lab's customer managed key");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: "Define key administrative permissions" }).waitFor();
    await page.getByRole("checkbox", { name: `User ${USER}` }).check();
    assert.equal(await page.getByRole("checkbox", { name: /Allow key administrators to delete/ }).isChecked(), true);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: "Define key usage permissions" }).waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: "Review" }).waitFor();
    const shown = JSON.parse(await page.getByTestId("review-policy").textContent());
    const admin = shown.Statement.find((s) => s.Sid === "Allow access for Key Administrators");
    assert.deepEqual(admin.Principal.AWS, [kzax.arn]);
    assert.ok(admin.Action.includes("kms:ScheduleKeyDeletion"));
    assert.equal(shown.Statement.find((s) => s.Sid === "Allow use of the key"), undefined);
    await shot(page, "wizard-review");
    await page.getByRole("button", { name: "Finish" }).click();
    await page.getByRole("heading", { name: ALIAS, level: 1 }).waitFor();
    key = state("key", ALIAS);
    assert.equal(key.state, "Enabled");
    assert.equal(key.description, "The lab's customer managed key");
    assert.deepEqual(key.policy, shown);  // the policy the review page showed is the key's policy
    await page.getByRole("cell", { name: kzax.arn }).first().waitFor();  // default policy view
  });

  await step("set default encryption: SSE-KMS with cloud_user and a Bucket Key", async () => {
    await page.getByRole("link", { name: "S3" }).click();
    await page.getByRole("link", { name: BUCKET }).click();
    await page.getByRole("link", { name: "Properties" }).click();
    await page.getByRole("radio", { name: /\(DSSE-KMS\)/ }).check();
    assert.equal(await page.getByRole("radio", { name: /^Enable/ }).isDisabled(), true);  // as on AWS
    await page.getByRole("radio", { name: /\(SSE-KMS\)/ }).check();
    await page.getByLabel("AWS KMS key", { exact: true }).selectOption({ label: `${ALIAS} (${key.keyId})` });
    await page.getByRole("radio", { name: /^Enable/ }).check();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Default encryption saved.").waitFor();
    await shot(page, "default-encryption");
    const rule = state("bucket", BUCKET).encryption;
    assert.equal(rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm, "aws:kms");
    assert.equal(rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID, key.arn);
    assert.equal(rule.BucketKeyEnabled, true);
  });

  await step("upload a file and a large file (multipart) with a progress bar", async () => {
    await page.getByRole("link", { name: "Objects" }).click();
    await page.getByLabel("Files to upload").setInputFiles([smallFile, largeFile]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.getByText("Uploaded 2 file(s).").waitFor();
    assert.equal(await page.getByRole("progressbar", { name: "Upload progress" }).getAttribute("value"), "1");
    await page.getByRole("link", { name: "flight-record.txt" }).waitFor();
    await shot(page, "uploaded");
    const small = state("head", BUCKET, "flight-record.txt");
    assert.equal(small.size, smallBody.length);
    assert.equal(small.sse, "aws:kms");
    assert.equal(small.kmsKeyId, key.arn);
    assert.equal(small.bucketKey, true);
    const big = state("head", BUCKET, "telemetry.bin");
    assert.equal(big.size, large.length);
    assert.match(big.etag, /-2"$/);  // two parts
    assert.equal(big.kmsKeyId, key.arn);
  });

  await step("the object's page shows aws:kms, the key ARN and the Bucket Key", async () => {
    await page.getByRole("link", { name: "flight-record.txt" }).click();
    await page.getByRole("heading", { name: "flight-record.txt", level: 1 }).waitFor();
    const sse = page.getByTestId("sse");
    await sse.getByText("aws:kms", { exact: true }).waitFor();
    await sse.getByRole("link", { name: key.arn }).waitFor();
    const bucketKey = sse.locator("div", { has: page.getByText("Bucket Key", { exact: true }) });
    assert.equal((await bucketKey.locator("dd").textContent()).trim(), "Enabled");
    await shot(page, "object-encryption");
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download" }).click();
    const saved = join(work, "downloaded.txt");
    await (await download).saveAs(saved);
    assert.equal(readFileSync(saved, "utf8"), smallBody);
  });

  await step("schedule the key's deletion with a 7-day waiting period", async () => {
    await page.getByTestId("sse").getByRole("link", { name: key.arn }).click();
    await page.getByRole("heading", { name: ALIAS, level: 1 }).waitFor();
    await page.getByRole("button", { name: /Key actions/ }).click();
    await page.getByRole("menuitem", { name: "Schedule key deletion" }).click();
    const dialog = page.getByRole("dialog", { name: "Schedule key deletion" });
    await dialog.getByLabel("Waiting period (in days)").fill("7");
    const schedule = dialog.getByRole("button", { name: "Schedule deletion" });
    assert.equal(await schedule.isDisabled(), true);  // not before the consequences are confirmed
    await dialog.getByRole("checkbox", { name: /after a 7-day waiting period/ }).check();
    await dialog.getByText(/becomes unrecoverable/).waitFor();
    await shot(page, "schedule-deletion", { fullPage: false });
    const before = Date.now() / 1000;
    await schedule.click();
    await page.getByText("This key is pending deletion.").waitFor();
    const scheduled = state("key", ALIAS);
    assert.equal(scheduled.state, "PendingDeletion");
    const days = (scheduled.deletionDate - before) / 86400;
    assert.ok(days > 6.9 && days < 7.1, `deletion in ${days} days`);
    await page.getByRole("link", { name: "Key Management Service" }).click();
    const row = page.getByRole("row", { name: new RegExp(key.keyId) });
    await row.getByRole("cell", { name: "Pending deletion" }).waitFor();
    assert.match(await row.textContent(), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC.*\d{4}-\d\d-\d\d/);
    await shot(page, "pending-deletion");
  });

  await step("cancel the deletion, then enable the key", async () => {
    await page.getByRole("link", { name: key.keyId }).click();
    await page.getByRole("button", { name: /Key actions/ }).click();
    await page.getByRole("menuitem", { name: "Cancel key deletion" }).click();
    await page.getByText("This key is pending deletion.").waitFor({ state: "detached" });
    assert.equal(state("key", ALIAS).state, "Disabled");  // as on AWS: cancelled keys are disabled
    await page.getByRole("button", { name: /Key actions/ }).click();
    await page.getByRole("menuitem", { name: "Enable" }).click();
    await page.locator("dd", { hasText: /^Enabled$/ }).waitFor();
    assert.equal(state("key", ALIAS).state, "Enabled");
    await shot(page, "key-enabled");
  });

  await step("sign in as Kzax01: S3 refuses with the API's AccessDenied text", async () => {
    await signOut(page);
    await signIn(page, kzax.id, kzax.secret);
    await page.getByRole("banner").getByText(kzax.arn, { exact: true }).waitFor();
    await page.goto(`${page.url().split("#")[0]}#/s3/buckets/${BUCKET}`);
    const refusal = page.getByRole("alert").filter({ hasText: "AccessDenied" }).first();
    await refusal.waitFor();
    assert.match(await refusal.textContent(), new RegExp(`User: ${kzax.arn} is not authorized to perform: s3:ListBucket`));
    await page.getByLabel("Files to upload").setInputFiles([smallFile]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.getByText("Upload failed.").waitFor();
    const uploadRefusal = page.getByRole("alert").filter({ hasText: "s3:PutObject" });
    assert.match(await uploadRefusal.textContent(), /^AccessDenied: User: .* is not authorized to perform: s3:PutObject/);
    await shot(page, "kzax01-refused");
    assert.equal(state("head", BUCKET, "flight-record.txt").size, smallBody.length);  // unchanged
    // As the key's administrator, Kzax01 may read the key: the key page opens.
    await page.goto(`${page.url().split("#")[0]}#/kms/keys/${key.keyId}`);
    await page.getByRole("heading", { name: ALIAS, level: 1 }).waitFor();
  });

  assert.deepEqual(problems, []);
  console.log(JSON.stringify({ lab: "passed" }));
} finally {
  await browser.close();
}
