// Browser test of the finance page, in Debian's headless Chromium driven by playwright-core.
//
//   BASE_URL=http://127.0.0.1:PORT KEY=<admin or finance key> [CLIENT_KEY=<client key>] \
//     node tests/web/finance_page.mjs
//
// Needs at least one issued invoice (tests/web/run.sh makes one). Every check is reported as
// PASS or FAIL; the exit status is 1 when any check failed. Screenshots go to /tmp/sb-web/.

import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BASE_URL = (process.env.BASE_URL || "").replace(/\/+$/, "");
const KEY = process.env.KEY || "";
const CLIENT_KEY = process.env.CLIENT_KEY || "";
const SHOTS = process.env.SCREENSHOT_DIR || "/tmp/sb-web";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

if (!BASE_URL || !KEY) {
  console.error("usage: BASE_URL=http://HOST:PORT KEY=<api key> node finance_page.mjs");
  process.exit(2);
}

const results = [];
function pass(name, detail = "") {
  results.push({ name, ok: true, detail });
  console.log(`PASS  ${name}${detail ? ` (${detail})` : ""}`);
}
function fail(name, detail) {
  results.push({ name, ok: false, detail });
  console.log(`FAIL  ${name}: ${detail}`);
}
/** Runs one check; an exception fails it with its message instead of crashing the run. */
async function check(name, fn) {
  try {
    const detail = await fn();
    pass(name, typeof detail === "string" ? detail : "");
    return true;
  } catch (e) {
    fail(name, (e && e.message ? e.message : String(e)).split("\n")[0]);
    return false;
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

mkdirSync(SHOTS, { recursive: true });
async function shot(page, name) {
  try {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  } catch (e) {
    console.log(`(screenshot ${name} failed: ${e.message})`);
  }
}

/**
 * Clicks a download link and waits for either the download or, when the server answers with
 * an error page instead of an attachment, that page. Returns {bytes, name} or throws with the
 * page's message.
 */
async function downloadVia(page, locator, what) {
  const href = await locator.getAttribute("href");
  const escaped = href.replace(/[.?*+^$()[\]{}|\\]/g, "\\$&");
  // A download aborts the navigation (net::ERR_ABORTED), so a failed wait only means "not this
  // outcome"; the timer fails the check when neither a file nor a page arrives.
  const never = () => new Promise(() => {});
  const download = page.waitForEvent("download", { timeout: 30000 }).then((d) => ({ download: d }), never);
  const errorPage = page
    .waitForURL(new RegExp(escaped + "$"), { timeout: 30000, waitUntil: "load" })
    .then(() => ({ errorPage: true }), never);
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: neither a file nor a page arrived in 25 s`)), 25000);
  });
  await locator.click();
  const outcome = await Promise.race([download, errorPage, timeout]).finally(() => clearTimeout(timer));
  if (outcome.errorPage) {
    await shot(page, `error-${what.replace(/\W+/g, "-")}`);
    const status = (await page.locator(".error-page .status").textContent().catch(() => "")) || "no status";
    const message = (await page.locator(".notice.error").first().textContent().catch(() => "")) || "no message";
    await page.goBack().catch(() => {});
    throw new Error(`${what}: the server answered ${status.trim()} instead of a file: ${message.trim()}`);
  }
  const path = await outcome.download.path();
  return { bytes: readFileSync(path), name: outcome.download.suggestedFilename() };
}

const userDataDir = mkdtempSync(join(tmpdir(), "sb-chromium-"));
let context;
const consoleErrors = [];
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    acceptDownloads: true,
    viewport: { width: 1280, height: 860 },
  });
  context.setDefaultTimeout(20000);
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
  // Confirm dialogs (issue, void, run) are accepted.
  page.on("dialog", (d) => d.accept().catch(() => {}));

  // --- Sign-in -------------------------------------------------------------------------------
  await check("sign-in form renders at /", async () => {
    const r = await page.goto(`${BASE_URL}/`);
    expect(r.status() === 200, `GET / answered ${r.status()}`);
    const csp = r.headers()["content-security-policy"] || "";
    expect(csp.includes("default-src 'self'"), `Content-Security-Policy is "${csp}"`);
    await page.locator("input[name=key]").waitFor();
    await shot(page, "01-sign-in");
  });

  await check("a wrong key is refused with a clear message (401)", async () => {
    await page.fill("input[name=key]", "sb_not_a_real_key");
    const [r] = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    expect(r.status() === 401, `POST /login answered ${r.status()}`);
    const text = await page.locator(".notice.error").textContent();
    expect(/not recognised/i.test(text), `message was "${text}"`);
    await shot(page, "02-sign-in-refused");
  });

  const signedIn = await check("sign in with the key lands on the invoice list", async () => {
    await page.fill("input[name=key]", KEY);
    await Promise.all([page.waitForURL(/\/invoices$/), page.click("button[type=submit]")]);
    const cookies = await context.cookies(BASE_URL);
    const c = cookies.find((c) => c.name === "sb_session");
    expect(c, "no sb_session cookie was set");
    expect(c.httpOnly && c.sameSite === "Strict", `cookie flags: httpOnly=${c.httpOnly} sameSite=${c.sameSite}`);
    expect(!c.value.includes(KEY) && !KEY.includes(c.value), "the session cookie holds the API key");
  });
  if (!signedIn) throw new Error("cannot continue without signing in");

  // --- Invoice list --------------------------------------------------------------------------
  await check("invoice list renders with rows", async () => {
    await page.locator("table.invoices").waitFor();
    const rows = await page.locator("table.invoices tbody tr").count();
    expect(rows > 0, "the invoice table has no rows");
    const headers = (await page.locator("table.invoices thead th").allTextContents()).map((t) => t.trim());
    for (const h of ["Number", "Status", "Customer", "Period", "Issued", "Total"]) {
      expect(headers.includes(h), `column ${h} missing (have ${headers.join(", ")})`);
    }
    await shot(page, "03-invoices");
    return `${rows} rows`;
  });

  await check("filter by status=issued shows only issued invoices", async () => {
    await Promise.all([page.waitForURL(/status=issued/), page.selectOption("select[name=status]", "issued")]);
    await page.locator("table.invoices").waitFor();
    const statuses = await page.locator("table.invoices tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.status));
    expect(statuses.length > 0, "no issued invoice is listed");
    expect(statuses.every((s) => s === "issued"), `statuses shown: ${statuses.join(", ")}`);
    const badges = await page.locator("table.invoices tbody .badge").allTextContents();
    expect(badges.every((b) => b.trim() === "issued"), `badges shown: ${badges.join(", ")}`);
    await shot(page, "04-invoices-issued");
    return `${statuses.length} issued`;
  });

  // --- One invoice ---------------------------------------------------------------------------
  let invoiceUrl = "";
  await check("open an issued invoice", async () => {
    const first = page.locator("table.invoices tbody tr a").first();
    const number = (await first.textContent()).trim();
    await Promise.all([page.waitForURL(/\/invoices\/\d+$/), first.click()]);
    invoiceUrl = page.url();
    const h1 = (await page.locator("h1").textContent()).trim();
    expect(h1.includes(number), `heading "${h1}" does not name ${number}`);
    const lines = await page.locator("table.lines tbody tr").count();
    expect(lines > 0, "no invoice lines shown");
    const total = (await page.locator("table.lines tr.total td.num").textContent()).trim();
    expect(/\d/.test(total), `total is "${total}"`);
    await shot(page, "05-invoice");
    return `${number}, ${lines} lines, total ${total}`;
  });

  await check("download the invoice CSV", async () => {
    const { bytes, name } = await downloadVia(page, page.locator("a", { hasText: "Download CSV" }), "invoice CSV");
    const firstLine = bytes.toString("utf8").split(/\r?\n/)[0];
    expect(firstLine.startsWith("invoice_number"), `first line is "${firstLine.slice(0, 80)}"`);
    return `${name}, ${bytes.length} bytes`;
  });

  await check("download the invoice PDF", async () => {
    if (page.url() !== invoiceUrl) await page.goto(invoiceUrl);
    const { bytes, name } = await downloadVia(page, page.locator("a", { hasText: "Download PDF" }), "invoice PDF");
    const head = bytes.subarray(0, 5).toString("latin1");
    expect(head === "%PDF-", `the file starts with ${JSON.stringify(head)}, not "%PDF-"`);
    return `${name}, ${bytes.length} bytes`;
  });

  // --- Usage ---------------------------------------------------------------------------------
  await check("usage summary shows a table", async () => {
    await page.goto(invoiceUrl || `${BASE_URL}/invoices`);
    await Promise.all([page.waitForURL(/\/usage/), page.click("header nav a:has-text('Usage')")]);
    await page.locator("table.usage").waitFor();
    const rows = await page.locator("table.usage tbody tr").count();
    expect(rows > 0, "the usage table has no rows");
    await shot(page, "06-usage");
    return `${rows} rows`;
  });

  await check("usage grouping by category", async () => {
    await page.selectOption("select[name=group_by]", "category");
    await Promise.all([page.waitForURL(/group_by=category/), page.click("form.filters button[type=submit]")]);
    const head = (await page.locator("table.usage thead th").first().textContent()).trim();
    expect(head === "Category", `first column is "${head}"`);
  });

  await check("download the usage CSV", async () => {
    const { bytes, name } = await downloadVia(page, page.locator("a", { hasText: "Download CSV" }), "usage CSV");
    const firstLine = bytes.toString("utf8").split(/\r?\n/)[0];
    expect(firstLine.startsWith("key,label"), `first line is "${firstLine.slice(0, 80)}"`);
    return name;
  });

  await check("download the usage PDF", async () => {
    const { bytes, name } = await downloadVia(page, page.locator("a", { hasText: "Download PDF" }), "usage PDF");
    const head = bytes.subarray(0, 5).toString("latin1");
    expect(head === "%PDF-", `the file starts with ${JSON.stringify(head)}`);
    return name;
  });

  // --- Actions: run, issue, void -------------------------------------------------------------
  // run.sh already ran last month (the form's default), so everything in it is claimed.
  await check("run invoices again for last month: nothing left to bill, said clearly", async () => {
    await page.goto(`${BASE_URL}/invoices`);
    const month = await page.inputValue("#run-month");
    await Promise.all([page.waitForURL(/flash=run/), page.click("form[action='/invoices/run'] button")]);
    const text = (await page.locator(".notice").first().textContent()).trim();
    expect(/^nothing to invoice for/i.test(text), `notice after running ${month} was "${text}"`);
    await shot(page, "10-run-nothing");
  });

  await check("issue a draft, then void it", async () => {
    await page.goto(`${BASE_URL}/invoices?status=draft`);
    const first = page.locator("table.invoices tbody tr a").first();
    await Promise.all([page.waitForURL(/\/invoices\/\d+$/), first.click()]);
    await Promise.all([page.waitForURL(/flash=issued/), page.click("form[action$='/issue'] button")]);
    const issued = (await page.locator(".notice.success").textContent()).trim();
    expect(/INV-\d{6} issued/.test(issued), `notice was "${issued}"`);
    await shot(page, "11-issued");
    await Promise.all([page.waitForURL(/flash=voided/), page.click("form[action$='/void'] button")]);
    const badge = (await page.locator("h1 .badge").textContent()).trim();
    expect(badge === "void", `status badge is "${badge}"`);
    expect((await page.locator("form[action$='/void'], form[action$='/issue']").count()) === 0, "actions still offered on a void invoice");
    await shot(page, "12-voided");
  });

  // --- Errors and CSRF -----------------------------------------------------------------------
  await check("an unknown invoice shows an HTML 404 page", async () => {
    const r = await page.goto(`${BASE_URL}/invoices/999999999`);
    expect(r.status() === 404, `status ${r.status()}`);
    expect((r.headers()["content-type"] || "").startsWith("text/html"), `content type ${r.headers()["content-type"]}`);
    await page.locator(".notice.error").waitFor();
    await shot(page, "07-not-found");
  });

  await check("a cross-site POST is refused (403)", async () => {
    const r = await context.request.post(`${BASE_URL}/invoices/run`, {
      headers: { Origin: "http://attacker.example", "Content-Type": "application/x-www-form-urlencoded" },
      data: "month=2020-01",
      maxRedirects: 0,
    });
    expect(r.status() === 403, `status ${r.status()}`);
  });

  await check("sign out", async () => {
    await page.goto(`${BASE_URL}/invoices`);
    await Promise.all([page.waitForURL(/\/\?notice=signed_out/), page.click("form.signout button")]);
    await page.locator("input[name=key]").waitFor();
    const r = await page.goto(`${BASE_URL}/invoices`);
    expect(new URL(r.url()).pathname === "/", `after sign-out /invoices went to ${r.url()}`);
    await shot(page, "08-signed-out");
  });

  // --- A client key (optional) ---------------------------------------------------------------
  if (CLIENT_KEY) {
    await check("a client sees its issued invoices and no actions", async () => {
      await page.goto(`${BASE_URL}/`);
      await page.fill("input[name=key]", CLIENT_KEY);
      await Promise.all([page.waitForURL(/\/invoices$/), page.click("button[type=submit]")]);
      expect((await page.locator("form[action='/invoices/run']").count()) === 0, "the run form is shown to a client");
      expect((await page.locator("select[name=customer]").count()) === 0, "the customer filter is shown to a client");
      const statuses = await page.locator("table.invoices tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.status));
      expect(statuses.length > 0, "the client sees no invoices");
      expect(statuses.every((s) => s !== "draft"), `a client sees drafts: ${statuses.join(", ")}`);
      await page.locator("table.invoices tbody tr a").first().click();
      await page.waitForURL(/\/invoices\/\d+$/);
      const buttons = await page.locator("form[action$='/issue'], form[action$='/void']").count();
      expect(buttons === 0, "issue/void buttons are shown to a client");
      const id = page.url().match(/\/invoices\/(\d+)$/)[1];
      // With the client's own form token (from its sign-out form), so the role decides.
      const status = await page.evaluate(async (id) => {
        const csrf = document.querySelector("input[name=csrf]").value;
        const r = await fetch(`/invoices/${id}/void`, {
          method: "POST",
          redirect: "manual",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: `csrf=${encodeURIComponent(csrf)}`,
        });
        return r.status;
      }, id);
      expect(status === 404, `a client's POST /invoices/${id}/void answered ${status}`);
      await shot(page, "09-client-invoice");
    });
  }

  await check("no console errors (CSP violations, script errors)", async () => {
    // Error pages (404, 500 from a missing PDF renderer) log their status; anything else counts.
    const real = consoleErrors.filter((t) => !/Failed to load resource: the server responded with a status of (401|404|500)/.test(t));
    expect(real.length === 0, real.join(" | "));
  });
} catch (e) {
  fail("browser run", e && e.stack ? e.stack.split("\n").slice(0, 3).join(" ") : String(e));
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${SHOTS}`);
for (const f of failed) console.log(`  FAILED: ${f.name}: ${f.detail}`);
process.exit(failed.length ? 1 : 0);
