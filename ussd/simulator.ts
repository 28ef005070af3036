import type { Locale } from "../core/domain/vocabulary.js";
import { isLocale, LOCALES } from "../core/domain/vocabulary.js";
import type { Translator } from "../core/i18n/index.js";

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** JSON safe to embed in a <script> element. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

/**
 * The web phone: a feature-phone screen and keypad that talks to `POST /ussd` exactly as the
 * gateway does (form body with sessionId, serviceCode, phoneNumber, networkCode and the whole
 * `text` history), so anyone can try the service without a phone. One self-contained page.
 */
export function simulatorPage(translator: Translator, lang: string | undefined): string {
  const locale: Locale = isLocale(lang) ? lang : "uz";
  const t = (key: string) => escapeHtml(translator.t(locale, `ussd.simulator.${key}`));
  const languages = Object.fromEntries(LOCALES.map((l) => [l, translator.t(l, `language.name.${l}`)]));
  const strings = {
    ended: translator.t(locale, "ussd.simulator.ended"),
    idle: translator.t(locale, "ussd.simulator.idle"),
    failed: translator.t(locale, "ussd.simulator.failed"),
    waiting: translator.t(locale, "ussd.simulator.waiting"),
  };
  const switcher = LOCALES.map((l) =>
    l === locale
      ? `<strong>${escapeHtml(languages[l] ?? l)}</strong>`
      : `<a href="?lang=${encodeURIComponent(l)}">${escapeHtml(languages[l] ?? l)}</a>`,
  ).join(" · ");
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]
    .map((k) => `<button type="button" class="key" data-key="${k}" aria-label="${k}">${k}</button>`)
    .join("");

  return `<!doctype html>
<html lang="${locale === "ru" ? "ru" : "uz"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t("title")}</title>
<style>
  :root { color-scheme: light; font-family: system-ui, sans-serif; }
  body { margin: 0; background: #e9eef2; color: #1d2327; display: flex; flex-direction: column; align-items: center; }
  header { text-align: center; padding: 1rem; }
  header h1 { font-size: 1.25rem; margin: 0 0 .25rem; }
  nav { font-size: .9rem; }
  form.settings { display: grid; gap: .5rem; width: 18rem; margin-bottom: 1rem; }
  form.settings label { display: grid; gap: .15rem; font-size: .85rem; }
  input { font: inherit; padding: .35rem .5rem; border: 1px solid #8a949c; border-radius: 4px; }
  .phone { width: 18rem; background: #2b3137; border-radius: 2rem 2rem 1.5rem 1.5rem; padding: 1.5rem 1rem; box-shadow: 0 6px 18px #0004; }
  .display { background: #b9d3a5; color: #14210d; border-radius: .5rem; min-height: 13rem; padding: .6rem; font: 14px/1.3 "DejaVu Sans Mono", monospace; }
  #screen { white-space: pre-wrap; word-break: break-word; }
  .status { display: flex; justify-content: space-between; font-size: 11px; color: #2f4a20; border-bottom: 1px solid #7d9b69; margin-bottom: .35rem; padding-bottom: .2rem; }
  .reply { display: flex; gap: .35rem; margin: .75rem 0; }
  .reply input { flex: 1; min-width: 0; font-size: 1.05rem; }
  .actions { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: .5rem; margin-bottom: .75rem; }
  .actions button { font: inherit; font-weight: 600; border: 0; border-radius: 1rem; padding: .55rem 0; cursor: pointer; color: #fff; }
  #dial { background: #2f8f46; } #send { background: #2d6cb5; } #cancel { background: #b53a2d; }
  .keypad { display: grid; grid-template-columns: repeat(3, 1fr); gap: .45rem; }
  .key { font: 600 1.15rem system-ui, sans-serif; padding: .55rem 0; border-radius: .75rem; border: 0; background: #e4e7ea; cursor: pointer; }
  .key:active, .actions button:active { transform: translateY(1px); }
  .meta { color: #5b6670; font-size: .8rem; margin: .75rem 0 2rem; text-align: center; max-width: 20rem; }
  button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
</style>
</head>
<body>
<header>
  <h1>${t("title")}</h1>
  <nav aria-label="${t("page_language")}">${switcher}</nav>
</header>
<form class="settings" id="settings" onsubmit="return false">
  <label>${t("phone")} <input id="phone" name="phone" type="tel" value="+998901234567" autocomplete="off"></label>
  <label>${t("code")} <input id="code" name="code" value="*1146#" autocomplete="off"></label>
  <details><summary>${t("advanced")}</summary>
    <label>${t("token")} <input id="token" name="token" autocomplete="off"></label>
  </details>
</form>
<main class="phone">
  <div class="display" role="region" aria-label="${t("screen")}">
    <div class="status"><span>${t("language")}: <span id="language">—</span></span><span id="state"></span></div>
    <div id="screen" aria-live="polite">${t("idle")}</div>
  </div>
  <div class="reply">
    <label for="reply" class="visually-hidden" style="position:absolute;left:-9999px">${t("reply")}</label>
    <input id="reply" inputmode="numeric" autocomplete="off" disabled>
  </div>
  <div class="actions">
    <button type="button" id="dial">${t("dial")}</button>
    <button type="button" id="send" disabled>${t("send")}</button>
    <button type="button" id="cancel" disabled>${t("cancel")}</button>
  </div>
  <div class="keypad">${keys}</div>
</main>
<p class="meta" id="meta">${t("hint")}</p>
<script>
(() => {
  const LANGUAGES = ${scriptJson(languages)};
  const STRINGS = ${scriptJson(strings)};
  const $ = (id) => document.getElementById(id);
  const screen = $("screen"), reply = $("reply"), state = $("state"), meta = $("meta");
  let session = null;

  const token = new URLSearchParams(location.search).get("token");
  if (token) $("token").value = token;

  function setActive(active) {
    reply.disabled = !active;
    $("send").disabled = !active;
    $("cancel").disabled = !active;
    $("dial").disabled = active;
    if (active) reply.focus();
  }

  /** "*1146*3#" is the service code *1146# with "3" already typed. */
  function parseDial(value) {
    const parts = value.trim().replace(/^\\*/, "").replace(/#$/, "").split("*");
    return { serviceCode: "*" + (parts[0] || "") + "#", typed: parts.slice(1).filter((p) => p !== "") };
  }

  async function post(url, fields) {
    const qs = $("token").value ? "?token=" + encodeURIComponent($("token").value) : "";
    return fetch(url + qs, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async function exchange() {
    state.textContent = STRINGS.waiting;
    const text = session.inputs.join("*");
    let res, body;
    try {
      res = await post("/ussd", {
        sessionId: session.id, serviceCode: session.serviceCode,
        phoneNumber: $("phone").value, networkCode: "99999", text,
      });
      body = await res.text();
    } catch (err) {
      return fail(String(err));
    }
    if (!res.ok) return fail("HTTP " + res.status + " " + body);
    const locale = res.headers.get("x-ussd-locale");
    $("language").textContent = LANGUAGES[locale] || locale || "—";
    const ended = body.startsWith("END");
    screen.textContent = body.replace(/^(CON|END) ?/, "");
    state.textContent = ended ? "END" : "CON";
    meta.textContent = body.length + " / " + (res.headers.get("x-ussd-encoding") || "") + " · " + (res.headers.get("x-ussd-page") || "");
    if (ended) {
      session = null;
      setActive(false);
      state.textContent = STRINGS.ended;
    } else {
      setActive(true);
    }
  }

  function fail(message) {
    session = null;
    setActive(false);
    state.textContent = STRINGS.failed;
    screen.textContent = message;
  }

  $("dial").addEventListener("click", () => {
    const dial = parseDial($("code").value);
    session = {
      id: "SIM" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10),
      serviceCode: dial.serviceCode,
      inputs: dial.typed,
    };
    reply.value = "";
    exchange();
  });

  function send() {
    if (!session) return;
    session.inputs.push(reply.value);
    reply.value = "";
    exchange();
  }
  $("send").addEventListener("click", send);
  reply.addEventListener("keydown", (e) => { if (e.key === "Enter") send(); });

  $("cancel").addEventListener("click", () => {
    if (!session) return;
    const ended = session;
    session = null;
    setActive(false);
    screen.textContent = STRINGS.idle;
    state.textContent = STRINGS.ended;
    post("/ussd/events", {
      sessionId: ended.id, serviceCode: ended.serviceCode, phoneNumber: $("phone").value,
      networkCode: "99999", status: "Incomplete", hopsCount: String(ended.inputs.length + 1),
      input: ended.inputs[ended.inputs.length - 1] || "", errorMessage: "cancelled on the simulator",
    }).catch(() => {});
  });

  for (const key of document.querySelectorAll(".key")) {
    key.addEventListener("click", () => {
      const target = session ? reply : $("code");
      target.value += key.dataset.key;
    });
  }
})();
</script>
</body>
</html>
`;
}
