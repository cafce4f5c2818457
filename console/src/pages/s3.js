// S3: buckets, objects (prefix navigation, paging, upload, download, delete), default encryption,
// Block Public Access, the bucket policy and an object's properties with its encryption settings.
import {
  ListBucketsCommand, CreateBucketCommand, ListObjectsV2Command, HeadObjectCommand,
  GetObjectCommand, DeleteObjectCommand, GetBucketEncryptionCommand, PutBucketEncryptionCommand,
  GetPublicAccessBlockCommand, PutPublicAccessBlockCommand, GetBucketPolicyCommand,
  PutBucketPolicyCommand, DeleteBucketPolicyCommand, GetBucketVersioningCommand,
  PutBucketVersioningCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { allAliases } from "./kms.js";
import {
  h, replace, table, link, button, section, details, field, radioGroup, checkbox, errorBox,
  notice, act, openDialog, formatDate, formatBytes, tabs,
} from "../ui.js";
import { client } from "../session.js";

const PAGE_SIZE = 50;
const PART_SIZE = 5 * 1024 * 1024;  // S3's smallest part: files above it go up in parts

const bucketHref = (bucket, prefix) =>
  `#/s3/buckets/${encodeURIComponent(bucket)}${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ""}`;
const objectHref = (bucket, key) =>
  `#/s3/object/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`;
export const keyHref = (keyArnOrId) => `#/kms/keys/${encodeURIComponent(keyArnOrId.split("/").pop())}`;

export async function bucketsPage(main) {
  const { Buckets = [] } = await client("s3").send(new ListBucketsCommand({}));
  replace(main,
    h("h1", {}, "Buckets"),
    h("div", { class: "toolbar" }, link("#/s3/create", "Create bucket", { class: "button primary" })),
    table(`General purpose buckets (${Buckets.length})`, [
      { label: "Name", cell: (b) => link(bucketHref(b.Name), b.Name) },
      { label: "Creation date", cell: (b) => formatDate(b.CreationDate) },
    ], Buckets, "You have no buckets."));
}

// AWS's naming rules for general purpose buckets, each checked as the name is typed.
const BUCKET_RULES = [
  ["Between 3 and 63 characters", (n) => n.length >= 3 && n.length <= 63],
  ["Only lowercase letters, numbers, dots (.) and hyphens (-)", (n) => /^[a-z0-9.-]*$/.test(n)],
  ["Begins and ends with a letter or number", (n) => /^[a-z0-9](.*[a-z0-9])?$/.test(n)],
  ["No two adjacent dots", (n) => !n.includes("..")],
  ["Not formatted as an IP address", (n) => !/^\d+\.\d+\.\d+\.\d+$/.test(n)],
  ["Does not start with xn--, sthree- or amzn-s3-demo-",
    (n) => !/^(xn--|sthree-|amzn-s3-demo-)/.test(n)],
  ["Does not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3",
    (n) => !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(n)],
];

export async function createBucketPage(main) {
  const name = h("input", { name: "bucketName", spellcheck: "false", autocomplete: "off",
                            "aria-invalid": "true" });
  const rules = h("ul", { class: "rules", id: "bucket-name-rules" });
  const errors = h("div", {});
  const submit = h("button", { type: "submit", class: "primary", disabled: true }, "Create bucket");
  const check = () => {
    const n = name.value;
    const results = BUCKET_RULES.map(([text, ok]) => [text, ok(n)]);
    replace(rules, results.map(([text, ok]) =>
      h("li", { class: ok ? "ok" : "bad" }, ok ? "✓ " : "✗ ", text)));
    const valid = results.every(([, ok]) => ok);
    name.setAttribute("aria-invalid", String(!valid));
    submit.disabled = !valid;
  };
  name.addEventListener("input", check);
  const form = h("form", { "aria-labelledby": "create-bucket-title" },
    h("h1", { id: "create-bucket-title" }, "Create bucket"),
    field("Bucket name", name, h("div", { class: "hint", id: "bucket-name-hint" },
      "Bucket names must be unique in this server and follow S3's naming rules:", rules)),
    errors, h("div", { class: "toolbar" }, submit, link("#/s3", "Cancel", { class: "button" })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const bucket = name.value;
    const done = await act(errors, () => client("s3").send(new CreateBucketCommand({ Bucket: bucket })), submit);
    if (done) location.hash = bucketHref(bucket);
  });
  check();
  replace(main, form);
}

function bucketTabs(bucket, current) {
  const base = `#/s3/buckets/${encodeURIComponent(bucket)}`;
  return tabs("Bucket", [[base, "Objects"], [`${base}/properties`, "Properties"],
    [`${base}/permissions`, "Permissions"]], current);
}

export async function bucketPage(main, [bucket], query) {
  const prefix = query.get("prefix") || "";
  const listing = h("div", {});
  const errors = h("div", {});
  const tokens = [undefined];  // continuation token of each page seen, for Previous
  let page = 0;

  const load = async () => {
    replace(listing, h("p", { role: "status" }, "Loading objects…"));
    try {
      const out = await client("s3").send(new ListObjectsV2Command({
        Bucket: bucket, Prefix: prefix || undefined, Delimiter: "/", MaxKeys: PAGE_SIZE,
        ContinuationToken: tokens[page] }));
      tokens[page + 1] = out.NextContinuationToken;
      renderListing(out);
    } catch (err) {
      replace(listing, errorBox(err));
    }
  };

  const renderListing = (out) => {
    const folders = (out.CommonPrefixes || []).map((p) => ({ folder: p.Prefix }));
    const objects = (out.Contents || []).filter((o) => o.Key !== prefix);
    const rows = [...folders, ...objects];
    const prev = button("Previous page", () => { page -= 1; load(); }, { disabled: page === 0 });
    const next = button("Next page", () => { page += 1; load(); },
      { disabled: !out.IsTruncated });
    replace(listing,
      table(`Objects (${rows.length}${out.IsTruncated ? "+" : ""})`, [
        { label: "Name", cell: (r) => r.folder
          ? link(bucketHref(bucket, r.folder), r.folder.slice(prefix.length))
          : link(objectHref(bucket, r.Key), r.Key.slice(prefix.length)) },
        { label: "Type", cell: (r) => (r.folder ? "Folder" : "Object") },
        { label: "Last modified", cell: (r) => (r.folder ? "-" : formatDate(r.LastModified)) },
        { label: "Size", cell: (r) => (r.folder ? "-" : formatBytes(r.Size)) },
        { label: "Actions", cell: (r) => r.folder ? "" : h("span", { class: "row-actions" },
          button("Download", (e) => download(bucket, r.Key, errors, e.currentTarget),
            { "aria-label": `Download ${r.Key}` }),
          button("Delete", () => confirmDelete(bucket, r.Key, errors, load),
            { "aria-label": `Delete ${r.Key}`, class: "danger" })) },
      ], rows, "No objects."),
      h("div", { class: "pager" }, prev, ` Page ${page + 1} `, next));
  };

  replace(main,
    h("h1", {}, bucket),
    bucketTabs(bucket, `#/s3/buckets/${encodeURIComponent(bucket)}`),
    breadcrumbs(bucket, prefix),
    uploadPanel(bucket, prefix, errors, load),
    errors,
    listing);
  await load();
}

function breadcrumbs(bucket, prefix) {
  const parts = prefix.split("/").filter(Boolean);
  const crumbs = [link(bucketHref(bucket), bucket)];
  let acc = "";
  for (const part of parts) {
    acc += `${part}/`;
    crumbs.push(" / ", link(bucketHref(bucket, acc), part));
  }
  return h("nav", { class: "breadcrumbs", "aria-label": "Folder" }, crumbs);
}

function uploadPanel(bucket, prefix, errors, reload) {
  const files = h("input", { type: "file", multiple: true, name: "files" });
  const progress = h("progress", { max: "1", value: "0", "aria-label": "Upload progress",
                                   hidden: true });
  const status = h("span", { role: "status", class: "upload-status" });
  const start = button("Upload", async () => {
    if (files.files.length === 0) {
      replace(errors, errorBox({ name: "NoFile", message: "Choose one or more files to upload." }));
      return;
    }
    const chosen = [...files.files];
    const total = chosen.reduce((n, f) => n + f.size, 0) || 1;
    let finished = 0;
    progress.hidden = false;
    progress.value = 0;
    const ok = await act(errors, async () => {
      for (const file of chosen) {
        replace(status, `Uploading ${file.name}…`);
        const upload = new Upload({
          client: client("s3"), partSize: PART_SIZE, queueSize: 2, leavePartsOnError: false,
          params: { Bucket: bucket, Key: prefix + file.name, Body: file,
                    ContentType: file.type || "application/octet-stream" } });
        upload.on("httpUploadProgress", (p) => {
          progress.value = (finished + (p.loaded || 0)) / total;
        });
        await upload.done();
        finished += file.size;
        progress.value = finished / total;
      }
      return true;
    }, start);
    replace(status, ok ? `Uploaded ${chosen.length} file(s).` : "Upload failed.");
    if (ok) {
      files.value = "";
      await reload();
    }
  }, { class: "primary" });
  return section("Upload", h("div", { class: "upload" },
    field("Files to upload", files), start, progress, status));
}

async function download(bucket, key, errors, btn) {
  await act(errors, async () => {
    const out = await client("s3").send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await out.Body.transformToByteArray();
    const url = URL.createObjectURL(new Blob([bytes], { type: out.ContentType }));
    const a = h("a", { href: url, download: key.split("/").pop(), hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }, btn);
}

async function confirmDelete(bucket, key, errors, after) {
  const yes = await openDialog("Delete object", (close) => h("div", {},
    h("p", {}, "Permanently delete ", h("code", {}, `s3://${bucket}/${key}`), "?"),
    h("p", {}, "In a bucket without versioning, the object cannot be recovered."),
    h("div", { class: "toolbar" },
      button("Delete object", () => close(true), { class: "danger" }),
      button("Cancel", () => close(false)))));
  if (!yes) return;
  const done = await act(errors, () => client("s3").send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  if (done) await after();
}

const ALGORITHMS = [
  { value: "AES256", label: "Server-side encryption with Amazon S3 managed keys (SSE-S3)" },
  { value: "aws:kms", label: "Server-side encryption with AWS Key Management Service keys (SSE-KMS)" },
  { value: "aws:kms:dsse",
    label: "Dual-layer server-side encryption with AWS Key Management Service keys (DSSE-KMS)" },
];

export const algorithmName = (value) =>
  ALGORITHMS.find((a) => a.value === value)?.label || value || "None";

async function keyChoices() {
  return (await allAliases()).filter((a) => a.TargetKeyId || a.AliasName === "alias/aws/s3");
}

export async function propertiesPage(main, [bucket]) {
  const s3 = client("s3");
  const base = `#/s3/buckets/${encodeURIComponent(bucket)}`;
  let current = { SSEAlgorithm: "AES256" };
  let bucketKey = false;
  let encryptionError = null;
  try {
    const out = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    const rule = out.ServerSideEncryptionConfiguration?.Rules?.[0];
    current = rule?.ApplyServerSideEncryptionByDefault || current;
    bucketKey = Boolean(rule?.BucketKeyEnabled);
  } catch (err) {
    if (err.name !== "ServerSideEncryptionConfigurationNotFoundError") encryptionError = err;
  }
  let aliases = [];
  let aliasError = null;
  try { aliases = await keyChoices(); } catch (err) { aliasError = err; }

  replace(main, h("h1", {}, bucket), bucketTabs(bucket, `${base}/properties`),
    await versioningSection(bucket),
    encryptionSection(bucket, current, bucketKey, aliases, encryptionError, aliasError));
}

async function versioningSection(bucket) {
  const errors = h("div", {});
  let status = "Disabled";
  try {
    status = (await client("s3").send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status || "Disabled";
  } catch (err) {
    replace(errors, errorBox(err));
  }
  const next = status === "Enabled" ? "Suspended" : "Enabled";
  const label = status === "Enabled" ? "Suspend versioning" : "Enable versioning";
  const btn = button(label, async () => {
    const done = await act(errors, () => client("s3").send(new PutBucketVersioningCommand({
      Bucket: bucket, VersioningConfiguration: { Status: next } })), btn);
    if (done) location.reload();
  });
  return section("Bucket Versioning", details([["Bucket Versioning", status]]), btn, errors);
}

function encryptionSection(bucket, current, bucketKeyEnabled, aliases, loadError, aliasError) {
  const errors = h("div", {});
  const saved = h("div", { "aria-live": "polite" });
  const keySelect = h("select", { name: "kmsKey" },
    h("option", { value: "" }, "AWS managed key (aws/s3)"),
    aliases.filter((a) => a.TargetKeyId && !a.AliasName.startsWith("alias/aws/")).map((a) =>
      h("option", { value: a.AliasArn.replace(/:alias\/.*$/, `:key/${a.TargetKeyId}`) },
        `${a.AliasName.replace(/^alias\//, "")} (${a.TargetKeyId})`)));
  const keyArn = h("input", { name: "kmsKeyArn", spellcheck: "false",
                              placeholder: "arn:aws:kms:region:account:key/id" });
  const configured = current.KMSMasterKeyID || "";
  if (configured) {
    const option = [...keySelect.options].find((o) => o.value === configured ||
      o.value.endsWith(`/${configured.split("/").pop()}`));
    if (option) option.selected = true;
    else keyArn.value = configured;
  }
  const bucketKey = radioGroup("Bucket Key", "bucketKey", [
    { value: "disable", label: "Disable" },
    { value: "enable", label: "Enable",
      hint: "reduces calls to KMS by using a bucket-level key for SSE-KMS" },
  ], bucketKeyEnabled ? "enable" : "disable");
  const kmsPart = h("div", { class: "kms-choice" },
    field("AWS KMS key", keySelect, "Choose one of your customer managed keys by alias."),
    field("Or enter an AWS KMS key ARN", keyArn));
  const dsseNote = h("p", { class: "hint" }, "Bucket Key is not supported for DSSE-KMS.");
  const sync = () => {
    const algorithm = type.value();
    kmsPart.hidden = algorithm === "AES256";
    const dsse = algorithm === "aws:kms:dsse";
    for (const input of bucketKey.inputs) input.disabled = dsse || algorithm === "AES256";
    dsseNote.hidden = !dsse;
  };
  const type = radioGroup("Encryption type", "sseAlgorithm", ALGORITHMS, current.SSEAlgorithm, sync);
  const save = button("Save changes", async () => {
    replace(saved);
    const algorithm = type.value();
    const byDefault = { SSEAlgorithm: algorithm };
    const key = keyArn.value.trim() || keySelect.value;
    if (algorithm !== "AES256" && key) byDefault.KMSMasterKeyID = key;
    const done = await act(errors, () => client("s3").send(new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{
        ApplyServerSideEncryptionByDefault: byDefault,
        BucketKeyEnabled: algorithm === "aws:kms" && bucketKey.value() === "enable" }] },
    })), save);
    if (done) replace(saved, notice("Default encryption saved."));
  }, { class: "primary" });
  sync();
  return section("Default encryption",
    loadError ? errorBox(loadError) : null,
    aliasError ? h("div", {}, "Key aliases could not be listed: ", errorBox(aliasError)) : null,
    h("form", { onsubmit: (e) => e.preventDefault() }, type.el, kmsPart, bucketKey.el, dsseNote,
      errors, save, saved));
}

export async function permissionsPage(main, [bucket]) {
  const base = `#/s3/buckets/${encodeURIComponent(bucket)}`;
  replace(main, h("h1", {}, bucket), bucketTabs(bucket, `${base}/permissions`),
    await publicAccessSection(bucket), await policySection(bucket));
}

const BPA_SETTINGS = [
  ["BlockPublicAcls", "Block public access to buckets and objects granted through new access control lists (ACLs)"],
  ["IgnorePublicAcls", "Block public access to buckets and objects granted through any access control lists (ACLs)"],
  ["BlockPublicPolicy", "Block public access to buckets and objects granted through new public bucket policies"],
  ["RestrictPublicBuckets", "Block public and cross-account access to buckets and objects through any public bucket policies"],
];

async function publicAccessSection(bucket) {
  const errors = h("div", {});
  const saved = h("div", { "aria-live": "polite" });
  let config = {};
  try {
    config = (await client("s3").send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
      .PublicAccessBlockConfiguration || {};
  } catch (err) {
    if (err.name !== "NoSuchPublicAccessBlockConfiguration") replace(errors, errorBox(err));
  }
  const boxes = BPA_SETTINGS.map(([name, text]) => [name, checkbox(text, { name, checked: config[name] })]);
  const save = button("Save changes", async () => {
    replace(saved);
    const next = Object.fromEntries(boxes.map(([name, box]) => [name, box.input.checked]));
    const done = await act(errors, () => client("s3").send(new PutPublicAccessBlockCommand({
      Bucket: bucket, PublicAccessBlockConfiguration: next })), save);
    if (done) replace(saved, notice("Block Public Access settings saved."));
  }, { class: "primary" });
  return section("Block public access (bucket settings)",
    h("fieldset", { class: "checks" }, h("legend", {}, "Block public access"),
      boxes.map(([, box]) => box.el)), errors, save, saved);
}

async function policySection(bucket) {
  const errors = h("div", {});
  const saved = h("div", { "aria-live": "polite" });
  const text = h("textarea", { name: "bucketPolicy", rows: "14", spellcheck: "false" });
  try {
    const out = await client("s3").send(new GetBucketPolicyCommand({ Bucket: bucket }));
    text.value = JSON.stringify(JSON.parse(out.Policy), null, 2);
  } catch (err) {
    if (err.name !== "NoSuchBucketPolicy") replace(errors, errorBox(err));
  }
  const save = button("Save policy", async () => {
    replace(saved);
    const done = await act(errors, () => client("s3").send(new PutBucketPolicyCommand({
      Bucket: bucket, Policy: text.value })), save);
    if (done) replace(saved, notice("Bucket policy saved."));
  }, { class: "primary" });
  const remove = button("Delete policy", async () => {
    replace(saved);
    const done = await act(errors, () => client("s3").send(new DeleteBucketPolicyCommand({ Bucket: bucket })), remove);
    if (done) { text.value = ""; replace(saved, notice("Bucket policy deleted.")); }
  }, { class: "danger" });
  return section("Bucket policy", field("Policy (JSON)", text), errors,
    h("div", { class: "toolbar" }, save, remove), saved);
}

export async function objectPage(main, [bucket, key]) {
  const errors = h("div", {});
  const head = await client("s3").send(new HeadObjectCommand({ Bucket: bucket, Key: key,
                                                               ChecksumMode: "ENABLED" }));
  const checksums = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
    .filter((name) => head[`Checksum${name}`])
    .map((name) => `${name}: ${head[`Checksum${name}`]}`);
  const keyArn = head.SSEKMSKeyId;
  const kms = head.ServerSideEncryption === "aws:kms" || head.ServerSideEncryption === "aws:kms:dsse";
  const prefix = key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "";
  replace(main,
    h("nav", { class: "breadcrumbs", "aria-label": "Location" },
      link(bucketHref(bucket), bucket), " / ", prefix ? [link(bucketHref(bucket, prefix), prefix), " "] : null),
    h("h1", {}, key.slice(prefix.length)),
    h("div", { class: "toolbar" },
      button("Download", (e) => download(bucket, key, errors, e.currentTarget), { class: "primary" }),
      button("Delete", () => confirmDelete(bucket, key, errors,
        async () => { location.hash = bucketHref(bucket, prefix); }), { class: "danger" })),
    errors,
    section("Object overview", details([
      ["Bucket", bucket],
      ["Key", key],
      ["S3 URI", `s3://${bucket}/${key}`],
      ["Size", `${formatBytes(head.ContentLength)} (${head.ContentLength} bytes)`],
      ["Type", head.ContentType],
      ["Last modified", formatDate(head.LastModified)],
      ["Entity tag (Etag)", head.ETag],
      ["Checksum", checksums.length ? checksums.join(", ") : "None"],
      head.VersionId ? ["Version ID", head.VersionId] : null,
    ])),
    section("Server-side encryption settings", h("div", { class: "sse", "data-testid": "sse" }, details([
      ["Encryption type", algorithmName(head.ServerSideEncryption)],
      ["Server-side encryption", head.ServerSideEncryption || (head.SSECustomerAlgorithm ? "SSE-C" : "None")],
      kms ? ["Encryption key ARN", keyArn ? link(keyHref(keyArn), keyArn) : "-"] : null,
      kms ? ["Bucket Key", head.BucketKeyEnabled ? "Enabled" : "Disabled"] : null,
    ]))));
}

