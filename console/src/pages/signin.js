import { h, field, act, replace } from "../ui.js";
import { signIn } from "../session.js";

export function signInPage(main, onSignedIn) {
  const accessKeyId = h("input", { name: "accessKeyId", autocomplete: "username", required: true,
                                   spellcheck: "false" });
  const secret = h("input", { name: "secretAccessKey", type: "password",
                              autocomplete: "current-password", required: true });
  const token = h("input", { name: "sessionToken", type: "password", autocomplete: "off" });
  const region = h("input", { name: "region", value: "us-east-1", required: true });
  const endpoint = h("input", { name: "endpoint", type: "url", value: window.location.origin,
                                required: true, spellcheck: "false" });
  const errors = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Hangar"),
    h("p", {}, "Use an access key of an account root, an IAM user or temporary credentials. ",
      "The secret stays in this browser tab's session storage."),
    field("Access key ID", accessKeyId),
    field("Secret access key", secret),
    field("Session token (temporary credentials only)", token),
    field("Region", region),
    field("Endpoint", endpoint, "Hangar's address; the origin of this page unless the console is served elsewhere."),
    errors,
    submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const who = await act(errors, () => signIn({
      accessKeyId: accessKeyId.value.trim(),
      secretAccessKey: secret.value,
      sessionToken: token.value.trim() || undefined,
      region: region.value.trim(),
      endpoint: endpoint.value.trim().replace(/\/+$/, ""),
    }), submit);
    if (who) onSignedIn(who);
  });
  replace(main, form);
  accessKeyId.focus();
}
