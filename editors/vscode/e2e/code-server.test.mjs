// The extension in a real VS Code: code-server (VS Code in the browser) driven through headless
// Chromium by playwright-core, with the built .vsix installed into a fresh profile that has no
// settings, on a copy of examples/vulnerable_app. Checks what a user sees: the status item, the
// Problems panel, the lightbulb, the taint-path tree, slice decorations in two editors (one
// opened after the slice), clearing on edit, "Search code" (a quick pick over flowsight/search),
// the restart command, bad settings as notifications with their fix; last, with a stand-in of the Python extension (e2e/python-extension-stub), that
// the interpreter it selected runs the server. Screenshots of each step go to
// $FLOWSIGHT_E2E_SCREENSHOTS (default dist/e2e/).
//
// Needs: $FLOWSIGHT_CODE_SERVER (the launcher scripts/ensure-code-server.sh prints), Chromium
// at $FLOWSIGHT_CHROMIUM (default /usr/bin/chromium), dist/flowsight.vsix (`npm run package`),
// and $FLOWSIGHT_PYTHON (a Python with flowsight, for the expected slice from the CLI).
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const extension = resolve(import.meta.dirname, "..");
const repository = resolve(extension, "../..");
const codeServer = process.env.FLOWSIGHT_CODE_SERVER;
const browserPath = process.env.FLOWSIGHT_CHROMIUM ?? "/usr/bin/chromium";
const python = resolve(process.env.FLOWSIGHT_PYTHON ?? join(repository, ".venv/bin/python"));
const screenshots = process.env.FLOWSIGHT_E2E_SCREENSHOTS ?? join(extension, "dist/e2e");
// Extension-gallery requests stay on this machine (nothing listens there): no network needed.
const gallery = JSON.stringify({
  serviceUrl: "http://127.0.0.1:9/gallery",
  itemUrl: "http://127.0.0.1:9/item",
  resourceUrlTemplate: "http://127.0.0.1:9/{publisher}/{name}/{version}/{path}",
});

let work, project, profile, environment, server, browser, page;
let shot = 0;

async function freePort() {
  const probe = createServer();
  await new Promise((done) => probe.listen(0, "127.0.0.1", done));
  const { port } = probe.address();
  await new Promise((done) => probe.close(done));
  return port;
}

async function screenshot(name) {
  shot += 1;
  await page.screenshot({ path: join(screenshots, `${String(shot).padStart(2, "0")}-${name}.png`) });
}

/** Runs a command from the palette by its title (as shown: "flowsight: Restart server"). */
async function command(title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 15000 });
  await row.click();
  await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
}

/** Opens a file of the project through Quick Open, in the active editor group. */
async function openFile(name) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(name);
  const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: name.split("/").pop() }).first();
  await row.waitFor({ state: "visible", timeout: 15000 });
  await row.click();
  await page.locator(".editor-group-container.active .tab.active", { hasText: name.split("/").pop() }).waitFor();
}

async function goToLine(line) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`:${line}`);
  await page.waitForTimeout(200);
  await page.keyboard.press("Enter");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
}

/** Runs a code action of the cursor's line from the Quick Fix menu (Ctrl+.). */
async function codeAction(title, screenshotName) {
  const action = page.locator(".action-widget .monaco-list-row", { hasText: title });
  // The menu lists what the server answered; asked again if it opened before the answer.
  await waitFor(`"${title}" in the code-action menu`, async () => {
    await command("Quick Fix...");
    return action.waitFor({ timeout: 5000 }).then(
      () => true,
      () => page.keyboard.press("Escape").then(() => false),
    );
  });
  if (screenshotName) await screenshot(screenshotName);
  await action.click();
}

async function statusText() {
  return (await page.locator(".statusbar-item", { hasText: "flowsight:" }).first().textContent()).trim();
}

async function waitFor(what, check, timeout = 60000, describe = async () => "") {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeout) assert.fail(`timed out waiting for ${what} ${await describe()}`);
    await page.waitForTimeout(250);
  }
}

/**
 * Per editor group: the file its active tab shows, the line numbers with a slice mark in the
 * gutter (matched to line numbers by position on screen) and the criterion note, if shown.
 */
async function sliceMarks() {
  return page.evaluate(() =>
    [...document.querySelectorAll(".editor-group-container")].map((group) => {
      const file = group.querySelector(".tab.active")?.getAttribute("data-resource-name") ?? "";
      const editor = group.querySelector(".monaco-editor");
      const numbers = [...(editor?.querySelectorAll(".line-numbers") ?? [])].map((element) => ({ element, box: element.getBoundingClientRect() }));
      const lines = new Set();
      for (const mark of editor?.querySelectorAll(".cgmr") ?? []) {
        if (!getComputedStyle(mark).backgroundImage.includes("slice-gutter")) continue;
        const box = mark.getBoundingClientRect();
        const middle = box.top + box.height / 2;
        const row = numbers.find((number) => number.box.top <= middle && middle < number.box.bottom);
        if (row) lines.add(Number(row.element.textContent));
      }
      // The note after the criterion line is CSS content of an injected span.
      const criterion = [...(editor?.querySelectorAll(".view-lines span") ?? [])]
        .map((span) => getComputedStyle(span, "::after").content)
        .find((content) => content.includes("slice criterion"));
      return { file, lines: [...lines].sort((a, b) => a - b), criterion };
    }),
  );
}

/** The flowsight log of this session (VS Code writes output channels to the profile's logs). */
function flowsightLog() {
  const found = [];
  const walk = (directory) => {
    for (const name of readdirSync(directory)) {
      const path = join(directory, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === "flowsight.log") found.push(path);
    }
  };
  walk(join(work, "user", "logs"));
  return found.map((path) => readFileSync(path, "utf8")).join("\n");
}

before(async () => {
  assert.ok(codeServer && existsSync(codeServer), "set FLOWSIGHT_CODE_SERVER to the launcher scripts/ensure-code-server.sh prints");
  const vsix = join(extension, "dist/flowsight.vsix");
  assert.ok(existsSync(vsix), "build the .vsix first: npm run package");
  rmSync(screenshots, { recursive: true, force: true });
  mkdirSync(screenshots, { recursive: true });
  work = mkdtempSync(join(tmpdir(), "flowsight-e2e-"));
  project = join(work, "vulnerable_app");
  cpSync(join(repository, "examples/vulnerable_app"), project, { recursive: true });
  // A fresh profile: user data and extensions in the temporary directory, no settings.json.
  profile = ["--user-data-dir", join(work, "user"), "--extensions-dir", join(work, "extensions"), "--config", join(work, "config.yaml")];
  // (The last test installs a stand-in of the Python extension that selects this interpreter.)
  environment = { ...process.env, EXTENSIONS_GALLERY: gallery, FLOWSIGHT_E2E_SELECTED_PYTHON: python };
  execFileSync(codeServer, [...profile, "--install-extension", vsix], { env: environment, stdio: ["ignore", "ignore", "inherit"] });
  const port = await freePort();
  server = spawn(
    codeServer,
    [...profile, "--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-workspace-trust", "--disable-telemetry", "--disable-update-check", project],
    { env: environment, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  server.stdout.on("data", (data) => (output += data));
  server.stderr.on("data", (data) => (output += data));
  for (let waited = 0; !output.includes("HTTP server listening"); waited += 100) {
    if (waited > 30000 || server.exitCode !== null) assert.fail(`code-server did not start:\n${output}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  browser = await chromium.launch({
    executablePath: browserPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(project)}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
});

afterEach(async (context) => {
  await screenshot(`after-${context.name.split(" ").slice(0, 4).join("-")}`);
  // No error dialog or notification from flowsight at any point.
  const dialogs = await page.locator(".monaco-dialog-box").allTextContents();
  const toasts = await page.locator(".notifications-toasts .notification-toast").allTextContents();
  const errors = [...dialogs, ...toasts].filter((text) => /flowsight/i.test(text));
  if (errors.length > 0) await page.keyboard.press("Escape");
  assert.deepEqual(errors, []);
});

after(async () => {
  await browser?.close();
  if (server?.exitCode === null) process.kill(-server.pid, "SIGTERM");
  if (work) rmSync(work, { recursive: true, force: true });
  console.log(`screenshots: ${screenshots}`);
});

test("with no settings the bundled server starts and the status item counts the findings", async () => {
  // The CLI's count (it exits 1 when it finds something).
  const scan = spawnSync(python, ["-m", "flowsight", "scan", "--format", "json", project], { encoding: "utf8" });
  const expected = JSON.parse(scan.stdout).findings.length;
  const text = await waitFor("the status item to count findings", async () => {
    const current = await statusText().catch(() => "");
    return /\d+ findings?/.test(current) && current;
  });
  assert.equal(text, `flowsight: ${expected} findings`);
  await command("View: Hide Secondary Side Bar");
  await screenshot("started");
  const log = flowsightLog();
  assert.match(log, /starting the bundled server with Python 3\.\d+/);
  // Client-only settings never reach the server's settings check.
  assert.doesNotMatch(log, /unknown (setting|key)/);
});

test("the Problems panel lists the findings with their steps", async () => {
  await command("View: Focus Problems (Errors, Warnings, Infos)").catch(() => command("Problems: Focus on Problems View"));
  const panel = page.locator(".markers-panel");
  await panel.waitFor();
  await waitFor("sql-injection in the Problems panel", () => panel.locator(".monaco-list-row", { hasText: "cursor.execute" }).count());
  const rows = await panel.locator(".monaco-list-row").allTextContents();
  assert.ok(rows.some((row) => row.includes("user input from `request.args` reaches `cursor.execute`")), rows.join("\n"));
  assert.ok(rows.some((row) => row.includes("sql-injection")));
  // Related information: the steps of the path, each a row.
  assert.ok(rows.some((row) => row.includes("1. source: user input `request.args`")), rows.join("\n"));
  await screenshot("problems");
  await command("View: Hide Panel");
});

test("the lightbulb shows only on a line with a finding", async () => {
  await openFile("shop/db.py");
  // (On code: by default VS Code shows the lightbulb only with the cursor on code.)
  const lightbulb = page.locator(".editor-group-container.active .lightBulbWidget").filter({ visible: true });
  await goToLine("3:3");
  await page.waitForTimeout(1500);
  assert.equal(await lightbulb.count(), 0, "a lightbulb on a line without a finding");
  await goToLine("16:9");
  await lightbulb.first().waitFor({ timeout: 15000 });
  await screenshot("lightbulb");
});

test("Show taint path opens the tree on the finding's steps; a step opens its line", async () => {
  // The code action on the sink (the palette command does the same for the cursor's line).
  await codeAction("Show taint path (sql-injection)");
  const view = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Taint paths" }) });
  const step = view.locator(".monaco-list-row", { hasText: "1. source: user input `request.args`" });
  await step.waitFor({ timeout: 15000 });
  const rows = await view.locator(".monaco-list-row").allTextContents();
  for (const expected of ["sql-injection", "2. assignment: assigned to `term`", "3. call: through `find_products`", "6. sink: `cursor.execute`"]) {
    assert.ok(rows.some((row) => row.includes(expected)), `${expected} not in\n${rows.join("\n")}`);
  }
  await screenshot("taint-path");
  await step.click();
  await page.locator(".editor-group-container.active .tab.active", { hasText: "views.py" }).waitFor();
  await waitFor("the cursor on the source line", async () => (await page.locator(".statusbar-item", { hasText: /Ln \d+/ }).first().textContent()).includes("Ln 16"));
});

test("a slice paints every editor of its files, also one opened later; cleared by command and on edit", async () => {
  const expected = JSON.parse(
    execFileSync(python, ["-m", "flowsight", "slice", "--format", "json", "--root", project, join(project, "shop/db.py:16"), project], { encoding: "utf8" }),
  ).files;
  await openFile("shop/db.py");
  // Column 1: the whole statement is the criterion (on a name it would be that name).
  await goToLine(16);
  // The code action (Ctrl+.): painting the slice leaves the cursor and the selection alone.
  await codeAction("Backward slice from here", "code-actions");
  await waitFor("the slice in db.py", async () => (await sliceMarks()).some((group) => group.lines.length > 0));
  assert.match(await page.locator(".statusbar-item", { hasText: /Ln \d+/ }).first().textContent(), /^\s*Ln 16, Col 1\s*$/);
  await command("View: Split Editor Right");
  await openFile("shop/views.py");
  const marks = await waitFor(
    "slice marks in both editors",
    async () => {
      const current = await sliceMarks();
      return current.length === 2 && current.every((group) => group.lines.length > 0) && current;
    },
    20000,
    async () => JSON.stringify(await sliceMarks()),
  );
  const byFile = Object.fromEntries(marks.map((group) => [group.file, group]));
  assert.deepEqual(byFile["db.py"].lines, expected["shop/db.py"]);
  assert.deepEqual(byFile["views.py"].lines, expected["shop/views.py"]);
  const total = expected["shop/db.py"].length + expected["shop/views.py"].length;
  assert.match(byFile["db.py"].criterion ?? "", new RegExp(`backward slice criterion · ${total} lines in 2 files`));
  // The list and the count.
  const view = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Slice" }) });
  await view.locator(".pane-header", { hasText: `backward slice: ${total} lines in 2 files` }).waitFor({ timeout: 10000 });
  await view.locator(".monaco-list-row", { hasText: "17: rows = find_products(term)" }).waitFor();
  await screenshot("slice-two-editors");
  const cleared = async () => (await sliceMarks()).every((group) => group.lines.length === 0);
  await command("flowsight: Clear slice");
  await waitFor("the slice to clear", cleared);
  // Again from the palette, in views.py; then an edit in a file of the slice clears it everywhere.
  await goToLine("17:5");
  await command("flowsight: Backward slice from here");
  await waitFor("the slice again", async () => (await sliceMarks()).every((group) => group.lines.length > 0));
  await page.keyboard.press("End");
  await page.keyboard.type(" ");
  await waitFor("the slice to clear on edit", cleared);
  await page.keyboard.press("Control+Z");
  await screenshot("slice-cleared");
});

test("Search code: a quick pick that asks the server as you type, with previews, opens the chosen chunk", async () => {
  await page.keyboard.press("F1");
  const widget = page.locator(".quick-input-widget");
  const input = widget.locator("input");
  await input.waitFor({ state: "visible" });
  await input.fill(">flowsight: Search code");
  await widget.locator(".monaco-list-row", { hasText: "flowsight: Search code" }).first().click();
  // The palette closes and the search's own quick pick opens.
  await waitFor("the search quick pick", async () => (await widget.locator(".quick-input-title").textContent().catch(() => "")) === "flowsight: Search code");
  await input.pressSequentially("read_invoice", { delay: 40 });
  const first = widget.locator(".monaco-list-row").first();
  await waitFor("read_invoice first", async () => ((await first.textContent().catch(() => "")) ?? "").includes("read_invoice"), 30000);
  const rows = await widget.locator(".monaco-list-row").allTextContents();
  for (const expected of ["read_invoice", "shop/files.py:11", "1 finding · reaches path-traversal", "def read_invoice(name):"]) {
    assert.ok(rows[0].includes(expected), `${expected} not in\n${rows.join("\n")}`);
  }
  assert.ok(rows.some((row) => row.includes("read_invoice_safely")), rows.join("\n"));
  // The title names the mode that answered (and why, when the answer is partial).
  assert.match(await widget.locator(".quick-input-title").textContent(), /^flowsight: Search code \((hybrid|lexical)\)/);
  await screenshot("search-code");
  await page.keyboard.press("Enter");
  await widget.waitFor({ state: "hidden" });
  await page.locator(".editor-group-container.active .tab.active", { hasText: "files.py" }).waitFor();
  await waitFor("the cursor on the chunk's first line", async () => (await page.locator(".statusbar-item", { hasText: /Ln \d+/ }).first().textContent()).includes("Ln 11"));
});

test("Restart server starts a new server; the status item shows the log when clicked", async () => {
  const before = flowsightLog().match(/starting the bundled server/g).length;
  await command("flowsight: Restart server");
  await waitFor("a second server", () => flowsightLog().match(/starting the bundled server/g).length === before + 1);
  await waitFor("it to run", () => flowsightLog().match(/the server is running/g)?.length === before + 1);
  const text = await waitFor("the findings after the restart", async () => {
    const current = await statusText();
    return /\d+ findings/.test(current) && current;
  });
  assert.match(text, /flowsight: \d+ findings/);
  await page.locator(".statusbar-item", { hasText: "flowsight:" }).first().click();
  await waitFor("the server's status in the log", () => /status:\n\s+\S+: \d+ files/.test(flowsightLog()));
  await screenshot("restarted-status");
});

test("a bad setting is a notification with the fix; changing launch settings restarts the server", async () => {
  // Workspace settings (the folder is watched; with trust off in this test the workspace is trusted).
  mkdirSync(join(project, ".vscode"), { recursive: true });
  const settings = join(project, ".vscode", "settings.json");
  const starts = () => flowsightLog().match(/starting the bundled server/g)?.length ?? 0;
  const toast = (text) => page.locator(".notifications-toasts .notification-toast", { hasText: text });
  // A launch setting of the wrong type: no server, an error status, a notification with a button to the setting.
  writeFileSync(settings, JSON.stringify({ "flowsight.serverCommand": "flowsight serve" }));
  await toast("flowsight.serverCommand must be a list of strings").waitFor({ timeout: 20000 });
  assert.equal(await toast("flowsight.serverCommand").locator(".monaco-button", { hasText: "Open settings" }).count(), 1);
  await waitFor("the error status", async () => (await statusText()) === "flowsight: error");
  await screenshot("bad-setting");
  await command("Notifications: Clear All Notifications");
  // Back to no launch setting, and an unknown rule id for the server: a warning naming it, the
  // other rules keep reporting.
  const before = starts();
  writeFileSync(settings, JSON.stringify({ "flowsight.disable": ["no-such-rule"] }));
  await waitFor("the bundled server again", () => starts() === before + 1);
  await toast("unknown rule id 'no-such-rule'").waitFor({ timeout: 30000 });
  await waitFor("the findings", async () => /flowsight: \d+ findings/.test(await statusText()));
  await screenshot("unknown-rule");
  await command("Notifications: Clear All Notifications");
  rmSync(join(project, ".vscode"), { recursive: true });
});

test("with the Python extension installed, the interpreter it selected runs the bundled server", async () => {
  const stub = join(work, "python-extension.vsix");
  execFileSync(join(extension, "node_modules/.bin/vsce"), ["package", "--no-dependencies", "--out", stub], {
    cwd: join(extension, "e2e/python-extension-stub"),
    stdio: ["ignore", "ignore", "inherit"],
  });
  execFileSync(codeServer, [...profile, "--install-extension", stub], { env: environment, stdio: ["ignore", "ignore", "inherit"] });
  await command("Developer: Reload Window");
  await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
  await waitFor(
    "a server started with the Python extension's interpreter",
    () => flowsightLog().includes(`${python} (the Python extension's interpreter)`),
    60000,
    async () => `; the log:\n${flowsightLog().slice(-3000)}`,
  );
  await waitFor("the findings", async () => /flowsight: \d+ findings/.test(await statusText().catch(() => "")));
  await screenshot("python-extension");
});
