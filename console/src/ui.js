// Small DOM helpers: the console builds its pages from plain elements, so that there is nothing
// to compile at run time and nothing inline for the Content-Security-Policy to allow.

// h("button", {class: "primary", onclick: f}, "Save") -> <button class="primary">Save</button>.
// Attributes named on* become listeners; false/null attributes are left out; children may be
// strings, nodes, arrays or null.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "value") {
      el.value = value;
    } else if (name === "checked" || name === "disabled" || name === "selected") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A labelled form control. `hint` (optional) is tied to the control with aria-describedby.
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = hint instanceof Node ? hint : h("div", { class: "hint" }, hint);
    hintEl.id = hintEl.id || uid("hint");
    control.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

export function checkbox(label, attrs = {}) {
  const input = h("input", { type: "checkbox", ...attrs });
  return { input, el: h("label", { class: "check" }, input, " ", label) };
}

// Radio buttons in a fieldset with a legend; returns {el, value()}.
export function radioGroup(legend, name, options, selected, onchange) {
  const inputs = options.map((o) =>
    h("input", { type: "radio", name, value: o.value, checked: o.value === selected,
                 disabled: o.disabled, onchange }));
  const el = h("fieldset", { class: "radios" }, h("legend", {}, legend),
    options.map((o, i) => h("label", { class: "check" }, inputs[i], " ", o.label,
      o.hint ? h("span", { class: "hint" }, " — ", o.hint) : null)));
  return { el, inputs, value: () => inputs.find((i) => i.checked)?.value };
}

// An API error where it happened: the service's own code and message, never swallowed.
export function errorText(err) {
  if (!err) return "";
  if (err instanceof TypeError && /fetch/i.test(err.message)) {
    // fetch() rejects without a response: the server is unreachable, or the browser withheld
    // the answer (CORS) from a console served by another origin.
    return `NetworkError: ${err.message}. The request did not reach Hangar, or the browser ` +
      "blocked its answer (a console served from another origin cannot read S3's bucket list " +
      "nor buckets without CORS rules for that origin).";
  }
  const code = err.name && err.name !== "Error" ? err.name : err.Code || "Error";
  const message = err.message && err.message !== "UnknownError" ? err.message : "";
  const status = err.$metadata?.httpStatusCode;
  return message ? `${code}: ${message}` : `${code}${status ? ` (HTTP ${status})` : ""}`;
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, errorText(err));
}

export function notice(text) {
  return h("div", { class: "notice", role: "status" }, text);
}

// A table with a caption and column headers; columns: [{label, cell(row) -> node|string}].
export function table(caption, columns, rows, emptyText = "None") {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
    h("tbody", {}, rows.length === 0
      ? h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, emptyText))
      : rows.map((row) => h("tr", {}, columns.map((c) => h("td", {}, c.cell(row)))))));
}

// Label/value pairs, as the AWS console's "General configuration" panels.
export function details(pairs) {
  return h("dl", { class: "details" },
    pairs.filter(Boolean).map(([term, value]) =>
      h("div", {}, h("dt", {}, term), h("dd", {}, value ?? "-"))));
}

export function section(title, ...children) {
  const id = uid("sec");
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), children);
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export function button(text, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, text);
}

// A modal dialog (<dialog> gives role=dialog, focus trapping and Escape). `build(close)` returns
// the body; the promise resolves with what close() was given.
export function openDialog(title, build) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const dlg = h("dialog", { "aria-labelledby": titleId, "aria-modal": "true" });
    const close = (value) => {
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(undefined); });
    replace(dlg, h("h2", { id: titleId }, title), build(close));
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Runs an API call for a button: disables it meanwhile and shows the error in `errorSlot`.
export async function act(errorSlot, fn, busyButton) {
  if (errorSlot) replace(errorSlot);
  if (busyButton) busyButton.disabled = true;
  try {
    return await fn();
  } catch (err) {
    if (errorSlot) replace(errorSlot, errorBox(err));
    else throw err;
    return undefined;
  } finally {
    if (busyButton) busyButton.disabled = false;
  }
}

export function formatDate(d) {
  if (!d) return "-";
  const date = d instanceof Date ? d : new Date(d);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function formatBytes(n) {
  if (n === undefined || n === null) return "-";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

// Tabs as links: the current one is marked aria-current.
export function tabs(label, items, current) {
  return h("nav", { class: "tabs", "aria-label": label },
    items.map(([href, text]) =>
      h("a", { href, "aria-current": href === current ? "page" : false }, text)));
}
