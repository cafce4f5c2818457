// KMS: the key list, the create-key wizard in the AWS console's steps, and a key's page with its
// configuration, key policy (default and JSON views), rotation, tags, aliases and key actions.
import {
  ListKeysCommand, DescribeKeyCommand, ListAliasesCommand, CreateKeyCommand, CreateAliasCommand,
  DeleteAliasCommand, GetKeyPolicyCommand, PutKeyPolicyCommand, GetKeyRotationStatusCommand,
  EnableKeyRotationCommand, DisableKeyRotationCommand, ListResourceTagsCommand, TagResourceCommand,
  UntagResourceCommand, EnableKeyCommand, DisableKeyCommand, ScheduleKeyDeletionCommand,
  CancelKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { ListUsersCommand, ListRolesCommand } from "@aws-sdk/client-iam";
import {
  h, replace, table, link, button, section, details, field, radioGroup, checkbox, errorBox,
  notice, act, openDialog, formatDate, uid,
} from "../ui.js";
import { client, currentIdentity } from "../session.js";

const keyHref = (id) => `#/kms/keys/${encodeURIComponent(id)}`;

// Every alias (of one key, if `keyId` is given), across ListAliases pages.
export async function allAliases(keyId) {
  const aliases = [];
  let marker;
  do {
    const out = await client("kms").send(new ListAliasesCommand({ KeyId: keyId, Marker: marker }));
    aliases.push(...(out.Aliases || []));
    marker = out.Truncated ? out.NextMarker : undefined;
  } while (marker);
  return aliases;
}

async function allKeys() {
  const keys = [];
  let marker;
  do {
    const out = await client("kms").send(new ListKeysCommand({ Marker: marker }));
    keys.push(...(out.Keys || []));
    marker = out.Truncated ? out.NextMarker : undefined;
  } while (marker);
  return keys;
}

const keyType = (m) => (m.KeySpec === "SYMMETRIC_DEFAULT" ? "Symmetric"
  : m.KeySpec?.startsWith("HMAC") ? "HMAC" : "Asymmetric");

const statusText = (m) => (m.KeyState === "PendingDeletion" ? "Pending deletion"
  : m.KeyState === "PendingImport" ? "Pending import"
  : m.KeyState === "PendingReplicaDeletion" ? "Pending replica deletion"
  : m.KeyState);

export async function keysPage(main) {
  const [keys, aliases] = await Promise.all([allKeys(), allAliases()]);
  const byKey = new Map();
  for (const a of aliases) {
    if (!a.TargetKeyId) continue;
    if (!byKey.has(a.TargetKeyId)) byKey.set(a.TargetKeyId, []);
    byKey.get(a.TargetKeyId).push(a.AliasName.replace(/^alias\//, ""));
  }
  const rows = [];
  const failures = [];
  await Promise.all(keys.map(async (k) => {
    try {
      rows.push((await client("kms").send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata);
    } catch (err) {
      failures.push([k.KeyId, err]);
    }
  }));
  rows.sort((a, b) => new Date(a.CreationDate) - new Date(b.CreationDate));
  const columns = [
    { label: "Aliases", cell: (m) => (byKey.get(m.KeyId) || []).join(", ") || "-" },
    { label: "Key ID", cell: (m) => link(keyHref(m.KeyId), m.KeyId) },
    { label: "Status", cell: (m) => statusText(m) },
    { label: "Key type", cell: keyType },
    { label: "Key spec", cell: (m) => m.KeySpec },
    { label: "Key usage", cell: (m) => m.KeyUsage },
    { label: "Creation date", cell: (m) => formatDate(m.CreationDate) },
    { label: "Deletion date", cell: (m) => (m.DeletionDate ? formatDate(m.DeletionDate) : "-") },
  ];
  const customer = rows.filter((m) => m.KeyManager === "CUSTOMER");
  const awsManaged = rows.filter((m) => m.KeyManager !== "CUSTOMER");
  replace(main,
    h("h1", {}, "Key Management Service"),
    h("div", { class: "toolbar" }, link("#/kms/create", "Create key", { class: "button primary" })),
    failures.map(([id, err]) => h("div", {}, `Key ${id}: `, errorBox(err))),
    table(`Customer managed keys (${customer.length})`, columns, customer, "No customer managed keys."),
    table(`AWS managed keys (${awsManaged.length})`, columns, awsManaged, "No AWS managed keys."));
}

// The key policy the AWS console writes for chosen administrators and users (reference: kms.md
// §12, "Console default policy").
export function consoleKeyPolicy(account, admins, users, adminsMayDelete) {
  const statements = [{
    Sid: "Enable IAM User Permissions", Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*",
  }];
  if (admins.length) {
    const actions = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
      "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
      "kms:UntagResource"];
    if (adminsMayDelete) actions.push("kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion");
    statements.push({ Sid: "Allow access for Key Administrators", Effect: "Allow",
      Principal: { AWS: admins }, Action: actions, Resource: "*" });
  }
  if (users.length) {
    statements.push({ Sid: "Allow use of the key", Effect: "Allow", Principal: { AWS: users },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
        "kms:DescribeKey"], Resource: "*" });
    statements.push({ Sid: "Allow attachment of persistent resources", Effect: "Allow",
      Principal: { AWS: users }, Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      Resource: "*", Condition: { Bool: { "kms:GrantIsForAWSResource": true } } });
  }
  return { Version: "2012-10-17", Id: "key-consolepolicy-3", Statement: statements };
}

async function principals() {
  const iam = client("iam");
  const users = [];
  const roles = [];
  let marker;
  do {
    const out = await iam.send(new ListUsersCommand({ Marker: marker }));
    users.push(...(out.Users || []));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  do {
    const out = await iam.send(new ListRolesCommand({ Marker: marker }));
    roles.push(...(out.Roles || []));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return [...users.map((u) => ({ name: u.UserName, type: "User", arn: u.Arn })),
    ...roles.map((r) => ({ name: r.RoleName, type: "Role", arn: r.Arn }))];
}

const WIZARD_STEPS = ["Configure key", "Add labels", "Define key administrative permissions",
  "Define key usage permissions", "Review"];

export async function createKeyWizard(main) {
  const state = { keyType: "SYMMETRIC", usage: "ENCRYPT_DECRYPT", multiRegion: false,
    alias: "", description: "", tags: [], admins: new Set(), users: new Set(), adminsMayDelete: true };
  let people = [];
  let peopleError = null;
  try { people = await principals(); } catch (err) { peopleError = err; }
  let step = 0;
  const render = () => {
    const errors = h("div", {});
    const body = [configureStep, labelsStep, adminsStep, usersStep, reviewStep][step](state, people, peopleError);
    const next = step < WIZARD_STEPS.length - 1
      ? button("Next", () => {
        const problem = body.validate?.();
        if (problem) { replace(errors, errorBox({ name: "ValidationError", message: problem })); return; }
        step += 1;
        render();
      }, { class: "primary" })
      : button("Finish", async (e) => {
        const keyId = await act(errors, () => createKey(state), e.currentTarget);
        if (keyId) location.hash = keyHref(keyId);
      }, { class: "primary" });
    replace(main,
      h("h1", {}, "Create key"),
      h("ol", { class: "steps", "aria-label": "Steps" }, WIZARD_STEPS.map((s, i) =>
        h("li", { "aria-current": i === step ? "step" : false, class: i < step ? "done" : "" },
          `Step ${i + 1}: ${s}`))),
      section(WIZARD_STEPS[step], body.el),
      errors,
      h("div", { class: "toolbar" },
        link("#/kms", "Cancel", { class: "button" }),
        step > 0 ? button("Previous", () => { step -= 1; render(); }) : null,
        next));
    main.querySelector("h2")?.focus?.();
  };
  render();
}

function configureStep(state) {
  const type = radioGroup("Key type", "keyType", [
    { value: "SYMMETRIC", label: "Symmetric", hint: "a single key for encrypting and decrypting data" },
    { value: "ASYMMETRIC", label: "Asymmetric", hint: "create asymmetric keys with the API (CreateKey KeySpec)", disabled: true },
  ], state.keyType);
  const usage = radioGroup("Key usage", "keyUsage", [
    { value: "ENCRYPT_DECRYPT", label: "Encrypt and decrypt" },
    { value: "GENERATE_VERIFY_MAC", label: "Generate and verify MAC", hint: "create HMAC keys with the API", disabled: true },
  ], state.usage);
  const regionality = radioGroup("Regionality", "regionality", [
    { value: "single", label: "Single-Region key", hint: "never leaves the Region where it was created" },
    { value: "multi", label: "Multi-Region key" },
  ], state.multiRegion ? "multi" : "single", () => { state.multiRegion = regionality.value() === "multi"; });
  return {
    el: h("div", {}, type.el, usage.el,
      h("fieldset", { class: "radios" }, h("legend", {}, "Advanced options"),
        h("p", {}, "Key material origin: KMS (recommended)"), regionality.el)),
  };
}

const ALIAS_PATTERN = /^[a-zA-Z0-9/_-]+$/;

function labelsStep(state) {
  const alias = h("input", { name: "alias", value: state.alias, spellcheck: "false", required: true });
  const description = h("textarea", { name: "description", rows: "3", value: state.description });
  const tagKey = h("input", { name: "tagKey", value: state.tags[0]?.TagKey || "" });
  const tagValue = h("input", { name: "tagValue", value: state.tags[0]?.TagValue || "" });
  const sync = () => {
    state.alias = alias.value.trim().replace(/^alias\//, "");
    state.description = description.value;
    state.tags = tagKey.value.trim() ? [{ TagKey: tagKey.value.trim(), TagValue: tagValue.value }] : [];
  };
  for (const input of [alias, description, tagKey, tagValue]) input.addEventListener("input", sync);
  return {
    el: h("div", {},
      field("Alias", alias, "Letters, numbers, slashes (/), underscores (_) and hyphens (-); not starting with aws/."),
      field("Description (optional)", description),
      h("fieldset", { class: "tags" }, h("legend", {}, "Tags (optional)"),
        field("Tag key", tagKey), field("Tag value", tagValue))),
    validate: () => {
      sync();
      if (!state.alias) return "Enter an alias.";
      if (!ALIAS_PATTERN.test(state.alias) || state.alias.length > 250) {
        return "The alias may contain only letters, numbers, /, _ and -, at most 250 characters.";
      }
      if (state.alias.startsWith("aws/")) return "Aliases beginning with aws/ are reserved for AWS managed keys.";
      return null;
    },
  };
}

function principalPicker(caption, people, peopleError, chosen) {
  if (peopleError) return h("div", {}, "IAM users and roles could not be listed: ", errorBox(peopleError));
  return table(caption, [
    { label: "Select", cell: (p) => {
      const box = h("input", { type: "checkbox", checked: chosen.has(p.arn), "aria-label": `${p.type} ${p.name}`,
        onchange: (e) => (e.target.checked ? chosen.add(p.arn) : chosen.delete(p.arn)) });
      return box;
    } },
    { label: "Name", cell: (p) => p.name },
    { label: "Type", cell: (p) => p.type },
    { label: "ARN", cell: (p) => p.arn },
  ], people, "No IAM users or roles in this account.");
}

function adminsStep(state, people, peopleError) {
  const mayDelete = checkbox("Allow key administrators to delete this key.",
    { name: "adminsMayDelete", checked: state.adminsMayDelete,
      onchange: (e) => { state.adminsMayDelete = e.target.checked; } });
  return {
    el: h("div", {},
      h("p", {}, "Choose the IAM users and roles who can administer this key through the KMS API."),
      principalPicker("Key administrators", people, peopleError, state.admins),
      h("h3", {}, "Key deletion"), mayDelete.el),
  };
}

function usersStep(state, people, peopleError) {
  return {
    el: h("div", {},
      h("p", {}, "Choose the IAM users and roles who can use this key in cryptographic operations."),
      principalPicker("Key users", people, peopleError, state.users)),
  };
}

function wizardPolicy(state) {
  return consoleKeyPolicy(currentIdentity().account, [...state.admins], [...state.users],
    state.adminsMayDelete);
}

function reviewStep(state) {
  const policy = JSON.stringify(wizardPolicy(state), null, 2);
  return {
    el: h("div", {},
      h("h3", {}, "Key configuration"),
      details([["Key type", "Symmetric"], ["Key spec", "SYMMETRIC_DEFAULT"],
        ["Key usage", "Encrypt and decrypt"], ["Origin", "AWS_KMS"],
        ["Regionality", state.multiRegion ? "Multi-Region" : "Single-Region"]]),
      h("h3", {}, "Alias and description"),
      details([["Alias", state.alias], ["Description", state.description || "-"]]),
      h("h3", {}, "Tags"),
      details(state.tags.length ? state.tags.map((t) => [t.TagKey, t.TagValue]) : [["Tags", "None"]]),
      h("h3", {}, "Key policy"),
      h("pre", { class: "policy", "data-testid": "review-policy", tabindex: "0",
                 "aria-label": "Key policy JSON" }, policy)),
  };
}

async function createKey(state) {
  const out = await client("kms").send(new CreateKeyCommand({
    Description: state.description || undefined, KeySpec: "SYMMETRIC_DEFAULT",
    KeyUsage: "ENCRYPT_DECRYPT", MultiRegion: state.multiRegion,
    Policy: JSON.stringify(wizardPolicy(state)),
    Tags: state.tags.length ? state.tags : undefined,
  }));
  const keyId = out.KeyMetadata.KeyId;
  await client("kms").send(new CreateAliasCommand({ AliasName: `alias/${state.alias}`, TargetKeyId: keyId }));
  return keyId;
}

export async function keyPage(main, [keyId]) {
  const kms = client("kms");
  const meta = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
  const aliases = await allAliases(meta.KeyId).catch(() => []);
  const errors = h("div", {});
  const title = aliases[0]?.AliasName.replace(/^alias\//, "") || meta.KeyId;
  replace(main,
    h("nav", { class: "breadcrumbs", "aria-label": "Location" }, link("#/kms", "Key Management Service"), " / "),
    h("h1", {}, title),
    keyActions(meta, errors),
    errors,
    meta.KeyState === "PendingDeletion"
      ? h("div", { class: "warning", role: "note" },
        `This key is pending deletion. It will be deleted on ${formatDate(meta.DeletionDate)}; `,
        "until then you can cancel its deletion.") : null,
    section("General configuration", details([
      ["Alias", aliases.map((a) => a.AliasName.replace(/^alias\//, "")).join(", ") || "-"],
      ["ARN", meta.Arn], ["Key ID", meta.KeyId], ["Status", statusText(meta)],
      ["Description", meta.Description || "-"], ["Creation date", formatDate(meta.CreationDate)],
      ["Deletion date", meta.DeletionDate ? formatDate(meta.DeletionDate) : "-"],
      ["Regionality", meta.MultiRegion ? "Multi-Region" : "Single-Region"],
    ])),
    section("Cryptographic configuration", details([
      ["Key type", keyType(meta)], ["Key spec", meta.KeySpec], ["Key usage", meta.KeyUsage],
      ["Origin", meta.Origin], ["Key manager", meta.KeyManager],
    ])),
    await policySection(meta),
    meta.KeySpec === "SYMMETRIC_DEFAULT" ? await rotationSection(meta) : null,
    await tagsSection(meta),
    aliasesSection(meta, aliases));
}

function keyActions(meta, errors) {
  const state = meta.KeyState;
  const run = async (command, btn) => {
    const done = await act(errors, () => client("kms").send(command), btn);
    if (done) await reload();
  };
  const items = [
    ["Enable", state === "Disabled", () => run(new EnableKeyCommand({ KeyId: meta.KeyId }))],
    ["Disable", state === "Enabled", () => run(new DisableKeyCommand({ KeyId: meta.KeyId }))],
    ["Schedule key deletion", state !== "PendingDeletion" && meta.KeyManager === "CUSTOMER",
      () => scheduleDeletion(meta, errors)],
    ["Cancel key deletion", state === "PendingDeletion",
      () => run(new CancelKeyDeletionCommand({ KeyId: meta.KeyId }))],
  ];
  const menuId = uid("menu");
  const menu = h("ul", { role: "menu", id: menuId, hidden: true, class: "menu" });
  const toggle = h("button", { type: "button", "aria-haspopup": "menu", "aria-expanded": "false",
                               "aria-controls": menuId }, "Key actions ▾");
  const close = () => { menu.hidden = true; toggle.setAttribute("aria-expanded", "false"); };
  const entries = items.map(([text, enabled, fn]) => h("li", { role: "none" },
    h("button", { type: "button", role: "menuitem", disabled: !enabled,
      onclick: () => { close(); fn(); } }, text)));
  replace(menu, entries);
  toggle.addEventListener("click", () => {
    const open = menu.hidden;
    menu.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) menu.querySelector("button:not([disabled])")?.focus();
  });
  menu.addEventListener("keydown", (e) => {
    const buttons = [...menu.querySelectorAll("button:not([disabled])")];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === "Escape") { close(); toggle.focus(); }
    if (e.key === "ArrowDown") { e.preventDefault(); buttons[(i + 1) % buttons.length]?.focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); buttons[(i - 1 + buttons.length) % buttons.length]?.focus(); }
  });
  return h("div", { class: "toolbar actions" }, toggle, menu);
}

async function reload() {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

async function scheduleDeletion(meta, errors) {
  const scheduled = await openDialog("Schedule key deletion", (close) => {
    const days = h("input", { type: "number", min: "7", max: "30", value: "30", name: "pendingWindow",
                              required: true });
    const confirmText = h("span", {});
    const confirm = checkbox(confirmText, { name: "confirmDeletion" });
    const dialogErrors = h("div", {});
    const schedule = button("Schedule deletion", async (e) => {
      const out = await act(dialogErrors, () => client("kms").send(new ScheduleKeyDeletionCommand({
        KeyId: meta.KeyId, PendingWindowInDays: Number(days.value) })), e.currentTarget);
      if (out) close(out);
    }, { class: "danger", disabled: true });
    const sync = () => {
      const n = Number(days.value);
      const valid = Number.isInteger(n) && n >= 7 && n <= 30;
      replace(confirmText, `Confirm that you want to schedule this key for deletion after a ${valid ? n : "7–30"}-day waiting period.`);
      schedule.disabled = !(valid && confirm.input.checked);
    };
    days.addEventListener("input", sync);
    confirm.input.addEventListener("change", sync);
    sync();
    return h("div", {},
      h("div", { class: "warning", role: "note" },
        h("p", {}, "Deleting a KMS key is destructive and potentially dangerous. After the waiting period ",
          "the key material is deleted and every piece of data encrypted under this key — S3 objects ",
          "encrypted with it, their Bucket Keys and data keys — becomes unrecoverable."),
        h("p", {}, "To stop the key from being used while you decide, disable it instead.")),
      details([["Key", meta.Arn]]),
      field("Waiting period (in days)", days, "Enter a whole number of days between 7 and 30."),
      confirm.el, dialogErrors,
      h("div", { class: "toolbar" }, button("Cancel", () => close(undefined)), schedule));
  });
  if (scheduled) {
    replace(errors, notice(`Key scheduled for deletion on ${formatDate(scheduled.DeletionDate)}.`));
    await reload();
  }
}

// The console's default view of a key policy: who administers and who uses the key, read from the
// statements the console writes; any other policy is shown as JSON only.
function policyRoles(policy) {
  const principalsOf = (sid) => {
    const st = (policy.Statement || []).find((s) => s.Sid === sid);
    if (!st) return [];
    const aws = st.Principal?.AWS;
    return Array.isArray(aws) ? aws : aws ? [aws] : [];
  };
  return { admins: principalsOf("Allow access for Key Administrators"),
           users: principalsOf("Allow use of the key") };
}

async function policySection(meta) {
  const errors = h("div", {});
  const saved = h("div", { "aria-live": "polite" });
  let policyText = "";
  try {
    policyText = (await client("kms").send(new GetKeyPolicyCommand({ KeyId: meta.KeyId, PolicyName: "default" }))).Policy;
  } catch (err) {
    return section("Key policy", errorBox(err));
  }
  let policy = {};
  try { policy = JSON.parse(policyText); } catch { /* shown as text */ }
  const roles = policyRoles(policy);
  const defaultView = h("div", { class: "policy-default" },
    table("Key administrators", [{ label: "Principal", cell: (arn) => arn }], roles.admins, "No key administrators."),
    table("Key users", [{ label: "Principal", cell: (arn) => arn }], roles.users, "No key users."));
  const text = h("textarea", { name: "keyPolicy", rows: "16", spellcheck: "false",
    value: (() => { try { return JSON.stringify(JSON.parse(policyText), null, 2); } catch { return policyText; } })() });
  const save = button("Save changes", async () => {
    replace(saved);
    const done = await act(errors, () => client("kms").send(new PutKeyPolicyCommand({
      KeyId: meta.KeyId, PolicyName: "default", Policy: text.value })), save);
    if (done) replace(saved, notice("Key policy saved."));
  }, { class: "primary" });
  const jsonView = h("div", { hidden: true }, field("Key policy (JSON)", text), errors, save, saved);
  const toggle = button("Switch to policy view", () => {
    const toJson = jsonView.hidden;
    jsonView.hidden = !toJson;
    defaultView.hidden = toJson;
    toggle.textContent = toJson ? "Switch to default view" : "Switch to policy view";
  });
  return section("Key policy", toggle, defaultView, jsonView);
}

async function rotationSection(meta) {
  const errors = h("div", {});
  const saved = h("div", { "aria-live": "polite" });
  let status = { KeyRotationEnabled: false, RotationPeriodInDays: 365 };
  try {
    status = await client("kms").send(new GetKeyRotationStatusCommand({ KeyId: meta.KeyId }));
  } catch (err) {
    replace(errors, errorBox(err));
  }
  const enabled = checkbox("Automatically rotate this KMS key", { name: "rotation", checked: status.KeyRotationEnabled });
  const period = h("input", { type: "number", min: "90", max: "2560", name: "rotationPeriod",
                              value: String(status.RotationPeriodInDays || 365) });
  const save = button("Save rotation", async () => {
    replace(saved);
    const done = await act(errors, () => client("kms").send(enabled.input.checked
      ? new EnableKeyRotationCommand({ KeyId: meta.KeyId, RotationPeriodInDays: Number(period.value) })
      : new DisableKeyRotationCommand({ KeyId: meta.KeyId })), save);
    if (done) replace(saved, notice("Key rotation saved."));
  });
  return section("Key rotation", enabled.el, field("Rotation period (in days)", period, "90 to 2560 days"),
    status.NextRotationDate ? details([["Next rotation date", formatDate(status.NextRotationDate)]]) : null,
    errors, save, saved);
}

async function tagsSection(meta) {
  const errors = h("div", {});
  let tags = [];
  try {
    tags = (await client("kms").send(new ListResourceTagsCommand({ KeyId: meta.KeyId }))).Tags || [];
  } catch (err) {
    replace(errors, errorBox(err));
  }
  const key = h("input", { name: "newTagKey" });
  const value = h("input", { name: "newTagValue" });
  const add = button("Add tag", async () => {
    const done = await act(errors, () => client("kms").send(new TagResourceCommand({
      KeyId: meta.KeyId, Tags: [{ TagKey: key.value, TagValue: value.value }] })), add);
    if (done) await reload();
  });
  return section("Tags",
    table(`Tags (${tags.length})`, [
      { label: "Key", cell: (t) => t.TagKey }, { label: "Value", cell: (t) => t.TagValue },
      { label: "Actions", cell: (t) => button("Remove", async (e) => {
        const done = await act(errors, () => client("kms").send(new UntagResourceCommand({
          KeyId: meta.KeyId, TagKeys: [t.TagKey] })), e.currentTarget);
        if (done) await reload();
      }, { "aria-label": `Remove tag ${t.TagKey}` }) },
    ], tags, "No tags."),
    h("div", { class: "inline-form" }, field("Tag key", key), field("Tag value", value), add), errors);
}

function aliasesSection(meta, aliases) {
  const errors = h("div", {});
  const name = h("input", { name: "newAlias", spellcheck: "false" });
  const add = button("Create alias", async () => {
    const done = await act(errors, () => client("kms").send(new CreateAliasCommand({
      AliasName: `alias/${name.value.trim().replace(/^alias\//, "")}`, TargetKeyId: meta.KeyId })), add);
    if (done) await reload();
  });
  return section("Aliases",
    table(`Aliases (${aliases.length})`, [
      { label: "Alias name", cell: (a) => a.AliasName }, { label: "Alias ARN", cell: (a) => a.AliasArn },
      { label: "Actions", cell: (a) => button("Delete", async (e) => {
        const done = await act(errors, () => client("kms").send(new DeleteAliasCommand({ AliasName: a.AliasName })), e.currentTarget);
        if (done) await reload();
      }, { "aria-label": `Delete alias ${a.AliasName}` }) },
    ], aliases, "No aliases."),
    h("div", { class: "inline-form" }, field("New alias", name), add), errors);
}
