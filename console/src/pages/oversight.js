// Oversight: CloudTrail event history (filtered by resource, user or event name, each record's
// JSON on demand) and Security Hub findings (severity, status, workflow changes).
import { LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { GetFindingsCommand, BatchUpdateFindingsCommand } from "@aws-sdk/client-securityhub";
import {
  h, replace, table, button, section, field, errorBox, notice, act, formatDate, errorText,
} from "../ui.js";
import { client } from "../session.js";

// An API the server does not offer answers with an unknown-operation or unknown-service error.
function unavailable(err, api) {
  const missing = ["UnknownOperationException", "UnrecognizedClientException", "NotImplemented",
    "InvalidAction"].includes(err.name) || err.$metadata?.httpStatusCode === 404;
  return missing ? h("div", { class: "notice", role: "status" },
    `The ${api} API is not available on this server (${errorText(err)}).`) : errorBox(err);
}

const LOOKUP_ATTRIBUTES = [
  ["ResourceName", "Resource name"], ["Username", "User name"], ["EventName", "Event name"],
  ["EventSource", "Event source"], ["ResourceType", "Resource type"], ["AccessKeyId", "AWS access key"],
  ["ReadOnly", "Read-only"], ["EventId", "Event ID"],
];

export async function eventHistoryPage(main, _params, query) {
  const attribute = h("select", { name: "lookupAttribute" },
    LOOKUP_ATTRIBUTES.map(([value, label]) =>
      h("option", { value, selected: value === (query.get("attribute") || "ResourceName") }, label)));
  const value = h("input", { name: "lookupValue", value: query.get("value") || "", spellcheck: "false" });
  const results = h("div", {});
  const tokens = [undefined];
  let page = 0;
  const load = async () => {
    replace(results, h("p", { role: "status" }, "Loading events…"));
    try {
      const lookup = value.value.trim()
        ? [{ AttributeKey: attribute.value, AttributeValue: value.value.trim() }] : undefined;
      const out = await client("cloudtrail").send(new LookupEventsCommand({
        LookupAttributes: lookup, MaxResults: 50, NextToken: tokens[page] }));
      tokens[page + 1] = out.NextToken;
      const events = out.Events || [];
      replace(results,
        table(`Event history (${events.length}${out.NextToken ? "+" : ""})`, [
          { label: "Event time", cell: (e) => formatDate(e.EventTime) },
          { label: "Event name", cell: (e) => e.EventName },
          { label: "User name", cell: (e) => e.Username || "-" },
          { label: "Event source", cell: (e) => e.EventSource },
          { label: "Resources", cell: (e) => (e.Resources || []).map((r) => r.ResourceName).join(", ") || "-" },
          { label: "Record", cell: (e) => {
            const pre = h("pre", { class: "record", tabindex: "0", "aria-label": "Event record JSON" },
              JSON.stringify(JSON.parse(e.CloudTrailEvent || "{}"), null, 2));
            return h("details", {}, h("summary", {}, "View event record"), pre);
          } },
        ], events, "No events match."),
        h("div", { class: "pager" },
          button("Previous page", () => { page -= 1; load(); }, { disabled: page === 0 }),
          ` Page ${page + 1} `,
          button("Next page", () => { page += 1; load(); }, { disabled: !out.NextToken })));
    } catch (err) {
      replace(results, unavailable(err, "CloudTrail LookupEvents"));
    }
  };
  const form = h("form", { class: "inline-form", "aria-label": "Filter events" },
    field("Lookup attribute", attribute), field("Value", value),
    h("button", { type: "submit", class: "primary" }, "Search"));
  form.addEventListener("submit", (e) => { e.preventDefault(); tokens.length = 1; page = 0; load(); });
  replace(main, h("h1", {}, "Event history"), form, results);
  await load();
}

const WORKFLOW = ["NEW", "NOTIFIED", "SUPPRESSED", "RESOLVED"];

export async function findingsPage(main) {
  const results = h("div", {});
  const errors = h("div", {});
  const recordState = h("select", { name: "recordState" },
    ["ACTIVE", "ARCHIVED"].map((s) => h("option", { value: s }, s)));
  const selected = new Set();
  const load = async () => {
    replace(results, h("p", { role: "status" }, "Loading findings…"));
    selected.clear();
    try {
      const findings = [];
      let token;
      do {
        const out = await client("securityhub").send(new GetFindingsCommand({
          Filters: { RecordState: [{ Value: recordState.value, Comparison: "EQUALS" }] },
          MaxResults: 100, NextToken: token }));
        findings.push(...(out.Findings || []));
        token = out.NextToken;
      } while (token && findings.length < 1000);
      replace(results, table(`Findings (${findings.length})`, [
        { label: "Select", cell: (f) => h("input", { type: "checkbox", "aria-label": `Select finding ${f.Title}`,
          onchange: (e) => (e.target.checked ? selected.add(f) : selected.delete(f)) }) },
        { label: "Severity", cell: (f) => h("span", { class: `sev sev-${(f.Severity?.Label || "").toLowerCase()}` },
          f.Severity?.Label || "-") },
        { label: "Workflow status", cell: (f) => f.Workflow?.Status || "-" },
        { label: "Title", cell: (f) => f.Title },
        { label: "Resource", cell: (f) => (f.Resources || []).map((r) => r.Id).join(", ") },
        { label: "Updated", cell: (f) => formatDate(f.UpdatedAt) },
      ], findings, "No findings."));
    } catch (err) {
      replace(results, unavailable(err, "Security Hub GetFindings"));
    }
  };
  const status = h("select", { name: "workflowStatus" }, WORKFLOW.map((s) => h("option", { value: s }, s)));
  const update = button("Set workflow status", async () => {
    if (selected.size === 0) {
      replace(errors, errorBox({ name: "NothingSelected", message: "Select one or more findings." }));
      return;
    }
    const ids = [...selected].map((f) => ({ Id: f.Id, ProductArn: f.ProductArn }));
    const out = await act(errors, () => client("securityhub").send(new BatchUpdateFindingsCommand({
      FindingIdentifiers: ids, Workflow: { Status: status.value } })), update);
    if (!out) return;
    if (out.UnprocessedFindings?.length) {
      replace(errors, errorBox({ name: out.UnprocessedFindings[0].ErrorCode,
        message: out.UnprocessedFindings[0].ErrorMessage }));
    } else {
      replace(errors, notice(`Updated ${out.ProcessedFindings?.length || 0} finding(s).`));
    }
    await load();
  });
  recordState.addEventListener("change", load);
  replace(main, h("h1", {}, "Findings"),
    h("div", { class: "inline-form" }, field("Record state", recordState), field("Workflow status", status), update),
    errors, section("Security Hub findings", results));
  await load();
}
