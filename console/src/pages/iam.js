// IAM: users (access keys, policy attachments, inline policies, groups), groups, roles and
// customer managed policies — enough to create a key administrator and give them credentials.
import {
  ListUsersCommand, CreateUserCommand, GetUserCommand, DeleteUserCommand, ListAccessKeysCommand,
  CreateAccessKeyCommand, UpdateAccessKeyCommand, DeleteAccessKeyCommand,
  ListAttachedUserPoliciesCommand, AttachUserPolicyCommand, DetachUserPolicyCommand,
  ListUserPoliciesCommand, PutUserPolicyCommand, DeleteUserPolicyCommand, ListGroupsCommand,
  CreateGroupCommand, ListGroupsForUserCommand, AddUserToGroupCommand, RemoveUserFromGroupCommand,
  ListRolesCommand, CreateRoleCommand, ListPoliciesCommand, CreatePolicyCommand,
} from "@aws-sdk/client-iam";
import {
  h, replace, table, link, button, section, details, field, errorBox, act, openDialog,
  formatDate, tabs,
} from "../ui.js";
import { client, currentIdentity } from "../session.js";

const userHref = (name) => `#/iam/users/${encodeURIComponent(name)}`;
const iam = () => client("iam");
const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));

function iamTabs(current) {
  return tabs("IAM", [["#/iam/users", "Users"], ["#/iam/groups", "User groups"],
    ["#/iam/roles", "Roles"], ["#/iam/policies", "Policies"]], current);
}

// Every page of an IAM list call (Marker/IsTruncated pagination).
async function listAll(Command, input, field) {
  const items = [];
  let marker;
  do {
    const out = await iam().send(new Command({ ...input, Marker: marker }));
    items.push(...(out[field] || []));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return items;
}

// A one-field create form: a labelled input and a button; `create(value)` makes the call.
function createForm(label, buttonText, create, extra = []) {
  const input = h("input", { name: label.replace(/\W+/g, ""), spellcheck: "false", autocomplete: "off" });
  const errors = h("div", {});
  const submit = h("button", { type: "submit", class: "primary" }, buttonText);
  const form = h("form", { class: "inline-form" }, field(label, input), extra.map((e) => e.el), submit, errors);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const done = await act(errors, () => create(input.value.trim()), submit);
    if (done) reload();
  });
  return form;
}

export async function usersPage(main) {
  const users = await listAll(ListUsersCommand, {}, "Users");
  replace(main, h("h1", {}, "Users"), iamTabs("#/iam/users"),
    section("Create user", createForm("User name", "Create user",
      async (name) => { await iam().send(new CreateUserCommand({ UserName: name })); return true; })),
    table(`Users (${users.length})`, [
      { label: "User name", cell: (u) => link(userHref(u.UserName), u.UserName) },
      { label: "ARN", cell: (u) => u.Arn },
      { label: "Created", cell: (u) => formatDate(u.CreateDate) },
    ], users, "No users."));
}

export async function userPage(main, [name]) {
  const user = (await iam().send(new GetUserCommand({ UserName: name }))).User;
  const errors = h("div", {});
  const remove = button("Delete user", async () => {
    const yes = await openDialog("Delete user", (close) => h("div", {},
      h("p", {}, `Delete the IAM user ${name}? Its access keys stop working at once.`),
      h("div", { class: "toolbar" }, button("Delete user", () => close(true), { class: "danger" }),
        button("Cancel", () => close(false)))));
    if (!yes) return;
    const done = await act(errors, () => iam().send(new DeleteUserCommand({ UserName: name })), remove);
    if (done) location.hash = "#/iam/users";
  }, { class: "danger" });
  replace(main,
    h("nav", { class: "breadcrumbs", "aria-label": "Location" }, link("#/iam/users", "Users"), " / "),
    h("h1", {}, name), h("div", { class: "toolbar" }, remove), errors,
    section("Summary", details([["ARN", user.Arn], ["User ID", user.UserId],
      ["Created", formatDate(user.CreateDate)]])),
    await accessKeysSection(name),
    await attachedPoliciesSection(name),
    await inlinePoliciesSection(name),
    await groupsSection(name));
}

async function accessKeysSection(name) {
  const errors = h("div", {});
  const keys = await listAll(ListAccessKeysCommand, { UserName: name }, "AccessKeyMetadata");
  const create = button("Create access key", async () => {
    const out = await act(errors, () => iam().send(new CreateAccessKeyCommand({ UserName: name })), create);
    if (!out) return;
    const key = out.AccessKey;
    await openDialog("Retrieve access key", (close) => h("div", {},
      h("p", { class: "warning", role: "note" },
        "This is the only time the secret access key can be viewed or copied. You cannot recover it later."),
      details([["Access key", h("code", { "data-testid": "new-access-key-id" }, key.AccessKeyId)],
        ["Secret access key", h("code", { "data-testid": "new-secret-access-key" }, key.SecretAccessKey)]]),
      h("div", { class: "toolbar" }, button("Done", () => close(true), { class: "primary" }))));
    reload();
  }, { class: "primary" });
  const setStatus = (k, status) => async (e) => {
    const done = await act(errors, () => iam().send(new UpdateAccessKeyCommand({
      UserName: name, AccessKeyId: k.AccessKeyId, Status: status })), e.currentTarget);
    if (done) reload();
  };
  const deleteKey = (k) => async (e) => {
    const yes = await openDialog("Delete access key", (close) => h("div", {},
      h("p", {}, `Delete access key ${k.AccessKeyId}? Requests signed with it will be refused.`),
      h("div", { class: "toolbar" }, button("Delete", () => close(true), { class: "danger" }),
        button("Cancel", () => close(false)))));
    if (!yes) return;
    const done = await act(errors, () => iam().send(new DeleteAccessKeyCommand({
      UserName: name, AccessKeyId: k.AccessKeyId })), e.currentTarget);
    if (done) reload();
  };
  return section("Access keys", create, errors,
    table(`Access keys (${keys.length})`, [
      { label: "Access key ID", cell: (k) => k.AccessKeyId },
      { label: "Status", cell: (k) => k.Status },
      { label: "Created", cell: (k) => formatDate(k.CreateDate) },
      { label: "Actions", cell: (k) => h("span", { class: "row-actions" },
        k.Status === "Active"
          ? button("Deactivate", setStatus(k, "Inactive"), { "aria-label": `Deactivate ${k.AccessKeyId}` })
          : button("Activate", setStatus(k, "Active"), { "aria-label": `Activate ${k.AccessKeyId}` }),
        button("Delete", deleteKey(k), { class: "danger", "aria-label": `Delete ${k.AccessKeyId}` })) },
    ], keys, "No access keys."));
}

async function attachedPoliciesSection(name) {
  const errors = h("div", {});
  const attached = await listAll(ListAttachedUserPoliciesCommand, { UserName: name }, "AttachedPolicies");
  let available = [];
  try { available = await listAll(ListPoliciesCommand, { Scope: "All" }, "Policies"); } catch (err) {
    replace(errors, errorBox(err));
  }
  const choice = h("select", { name: "policyArn" },
    available.map((p) => h("option", { value: p.Arn }, `${p.PolicyName} (${p.Arn})`)));
  const attach = button("Attach policy", async () => {
    const done = await act(errors, () => iam().send(new AttachUserPolicyCommand({
      UserName: name, PolicyArn: choice.value })), attach);
    if (done) reload();
  }, { disabled: available.length === 0 });
  return section("Permissions policies",
    table(`Attached policies (${attached.length})`, [
      { label: "Policy name", cell: (p) => p.PolicyName },
      { label: "ARN", cell: (p) => p.PolicyArn },
      { label: "Actions", cell: (p) => button("Detach", async (e) => {
        const done = await act(errors, () => iam().send(new DetachUserPolicyCommand({
          UserName: name, PolicyArn: p.PolicyArn })), e.currentTarget);
        if (done) reload();
      }, { "aria-label": `Detach ${p.PolicyName}` }) },
    ], attached, "No attached policies."),
    h("div", { class: "inline-form" }, field("Managed policy", choice), attach), errors);
}

async function inlinePoliciesSection(name) {
  const errors = h("div", {});
  const names = await listAll(ListUserPoliciesCommand, { UserName: name }, "PolicyNames");
  const policyName = h("input", { name: "inlinePolicyName" });
  const document_ = h("textarea", { name: "inlinePolicyDocument", rows: "8", spellcheck: "false" });
  const save = button("Save inline policy", async () => {
    const done = await act(errors, () => iam().send(new PutUserPolicyCommand({
      UserName: name, PolicyName: policyName.value.trim(), PolicyDocument: document_.value })), save);
    if (done) reload();
  });
  return section("Inline policies",
    table(`Inline policies (${names.length})`, [
      { label: "Policy name", cell: (n) => n },
      { label: "Actions", cell: (n) => button("Delete", async (e) => {
        const done = await act(errors, () => iam().send(new DeleteUserPolicyCommand({
          UserName: name, PolicyName: n })), e.currentTarget);
        if (done) reload();
      }, { "aria-label": `Delete inline policy ${n}` }) },
    ], names, "No inline policies."),
    field("Policy name", policyName), field("Policy document (JSON)", document_), save, errors);
}

async function groupsSection(name) {
  const errors = h("div", {});
  const groups = await listAll(ListGroupsForUserCommand, { UserName: name }, "Groups");
  const all = await listAll(ListGroupsCommand, {}, "Groups");
  const choice = h("select", { name: "groupName" },
    all.filter((g) => !groups.some((m) => m.GroupName === g.GroupName))
      .map((g) => h("option", { value: g.GroupName }, g.GroupName)));
  const add = button("Add to group", async () => {
    const done = await act(errors, () => iam().send(new AddUserToGroupCommand({
      UserName: name, GroupName: choice.value })), add);
    if (done) reload();
  }, { disabled: choice.options.length === 0 });
  return section("Groups",
    table(`Groups (${groups.length})`, [
      { label: "Group name", cell: (g) => g.GroupName },
      { label: "Actions", cell: (g) => button("Remove", async (e) => {
        const done = await act(errors, () => iam().send(new RemoveUserFromGroupCommand({
          UserName: name, GroupName: g.GroupName })), e.currentTarget);
        if (done) reload();
      }, { "aria-label": `Remove from ${g.GroupName}` }) },
    ], groups, "Not in any group."),
    h("div", { class: "inline-form" }, field("Group", choice), add), errors);
}

export async function groupsPage(main) {
  const groups = await listAll(ListGroupsCommand, {}, "Groups");
  replace(main, h("h1", {}, "User groups"), iamTabs("#/iam/groups"),
    section("Create group", createForm("Group name", "Create group",
      async (name) => { await iam().send(new CreateGroupCommand({ GroupName: name })); return true; })),
    table(`User groups (${groups.length})`, [
      { label: "Group name", cell: (g) => g.GroupName }, { label: "ARN", cell: (g) => g.Arn },
      { label: "Created", cell: (g) => formatDate(g.CreateDate) },
    ], groups, "No groups."));
}

const DEFAULT_TRUST = (account) => JSON.stringify({ Version: "2012-10-17", Statement: [{
  Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }] }, null, 2);

export async function rolesPage(main) {
  const roles = await listAll(ListRolesCommand, {}, "Roles");
  const trust = h("textarea", { name: "trustPolicy", rows: "8", spellcheck: "false",
                                value: DEFAULT_TRUST(currentIdentity().account) });
  replace(main, h("h1", {}, "Roles"), iamTabs("#/iam/roles"),
    section("Create role", createForm("Role name", "Create role", async (name) => {
      await iam().send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust.value }));
      return true;
    }, [{ el: field("Trust policy (JSON)", trust) }])),
    table(`Roles (${roles.length})`, [
      { label: "Role name", cell: (r) => r.RoleName }, { label: "ARN", cell: (r) => r.Arn },
      { label: "Created", cell: (r) => formatDate(r.CreateDate) },
    ], roles, "No roles."));
}

export async function policiesPage(main) {
  const policies = await listAll(ListPoliciesCommand, { Scope: "Local" }, "Policies");
  const documentText = h("textarea", { name: "policyDocument", rows: "8", spellcheck: "false",
    value: JSON.stringify({ Version: "2012-10-17", Statement: [] }, null, 2) });
  replace(main, h("h1", {}, "Policies"), iamTabs("#/iam/policies"),
    section("Create policy", createForm("Policy name", "Create policy", async (name) => {
      await iam().send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: documentText.value }));
      return true;
    }, [{ el: field("Policy document (JSON)", documentText) }])),
    table(`Customer managed policies (${policies.length})`, [
      { label: "Policy name", cell: (p) => p.PolicyName }, { label: "ARN", cell: (p) => p.Arn },
      { label: "Attachments", cell: (p) => String(p.AttachmentCount ?? 0) },
    ], policies, "No customer managed policies."));
}

