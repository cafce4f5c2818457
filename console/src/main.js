// The console's shell: the header, the service navigation and a hash router. Every page is a
// function (main, params, query) that fills <main> from Hangar's public APIs.
import { h, replace, button, errorBox } from "./ui.js";
import { resume, signOut, currentIdentity } from "./session.js";
import { signInPage } from "./pages/signin.js";
import * as s3 from "./pages/s3.js";
import * as kms from "./pages/kms.js";
import * as iam from "./pages/iam.js";
import * as oversight from "./pages/oversight.js";

const ROUTES = [
  [/^\/s3$/, s3.bucketsPage],
  [/^\/s3\/create$/, s3.createBucketPage],
  [/^\/s3\/buckets\/([^/]+)$/, s3.bucketPage],
  [/^\/s3\/buckets\/([^/]+)\/properties$/, s3.propertiesPage],
  [/^\/s3\/buckets\/([^/]+)\/permissions$/, s3.permissionsPage],
  [/^\/s3\/object\/([^/]+)\/(.+)$/, s3.objectPage],
  [/^\/kms$/, kms.keysPage],
  [/^\/kms\/create$/, kms.createKeyWizard],
  [/^\/kms\/keys\/([^/]+)$/, kms.keyPage],
  [/^\/iam$/, iam.usersPage],
  [/^\/iam\/users$/, iam.usersPage],
  [/^\/iam\/users\/([^/]+)$/, iam.userPage],
  [/^\/iam\/groups$/, iam.groupsPage],
  [/^\/iam\/roles$/, iam.rolesPage],
  [/^\/iam\/policies$/, iam.policiesPage],
  [/^\/cloudtrail$/, oversight.eventHistoryPage],
  [/^\/securityhub$/, oversight.findingsPage],
];

const SERVICES = [
  ["#/s3", "S3"], ["#/kms", "KMS"], ["#/iam", "IAM"],
  ["#/cloudtrail", "CloudTrail"], ["#/securityhub", "Security Hub"],
];

const header = document.getElementById("header");
const main = document.getElementById("main");

function renderHeader() {
  const who = currentIdentity();
  const service = "#/" + (location.hash.slice(2).split(/[/?]/)[0] || "");
  replace(header,
    h("a", { class: "brand", href: "#/s3" }, "Hangar console"),
    who ? h("nav", { "aria-label": "Services", class: "services" },
      SERVICES.map(([href, text]) =>
        h("a", { href, "aria-current": href === service ? "page" : false }, text))) : null,
    who ? h("div", { class: "who" },
      h("span", { class: "arn", title: who.arn }, who.arn), " ",
      button("Sign out", () => { signOut(); location.hash = "#/signin"; route(); })) : null);
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/s3";
  const [path, queryString = ""] = raw.split("?");
  return { path, query: new URLSearchParams(queryString) };
}

let generation = 0;

async function route() {
  const current = ++generation;
  renderHeader();
  if (!currentIdentity()) {
    signInPage(main, () => {
      if (location.hash === "#/signin" || !location.hash) location.hash = "#/s3";
      else route();
    });
    return;
  }
  const { path, query } = parseHash();
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    // Each visit renders into its own view: a page still loading when the hash moves on keeps
    // writing into a view that is no longer shown, never over its successor.
    const view = h("div", { class: "view" }, h("p", { class: "loading", role: "status" }, "Loading…"));
    replace(main, view);
    try {
      await page(view, match.slice(1).map(decodeURIComponent), query);
    } catch (err) {
      replace(view, h("h1", {}, "Error"), errorBox(err));
    }
    if (current === generation) {
      const heading = main.querySelector("h1");
      if (heading) document.title = `${heading.textContent} – Hangar console`;
      main.focus({ preventScroll: true });
    }
    return;
  }
  replace(main, h("h1", {}, "Not found"), h("p", {}, "This console page does not exist."),
    h("a", { href: "#/s3" }, "Go to S3"));
}

window.addEventListener("hashchange", route);
resume().finally(route);

// The skip link focuses <main> without touching the hash the router reads.
document.querySelector(".skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
