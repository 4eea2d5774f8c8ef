// The wire contract the extension relies on, checked against the real server over stdio with
// the same protocol library (no VS Code needed): diagnostics with related steps, the slice
// command's result shape, and the experimental capability.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from "vscode-languageserver-protocol/node.js";

const repository = resolve(import.meta.dirname, "../../..");
const python = process.env.FLOWSIGHT_PYTHON ?? join(repository, ".venv/bin/python");

test("diagnostics, slice command and capabilities over stdio", async () => {
  const project = join(mkdtempSync(join(tmpdir(), "flowsight-")), "vulnerable_app");
  cpSync(join(repository, "examples/vulnerable_app"), project, { recursive: true });
  const server = spawn(python, ["-m", "flowsight", "serve", "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
  const connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  const diagnostics = new Map();
  connection.onNotification("textDocument/publishDiagnostics", (params) => diagnostics.set(params.uri, params.diagnostics));
  connection.onRequest("window/workDoneProgress/create", () => null);
  connection.onNotification("$/progress", () => {});
  connection.listen();
  const root = pathToFileURL(project).href;
  const initialized = await connection.sendRequest("initialize", {
    processId: process.pid,
    rootUri: root,
    workspaceFolders: [{ uri: root, name: "vulnerable_app" }],
    capabilities: { window: { workDoneProgress: true }, textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } } },
  });
  assert.deepEqual(initialized.capabilities.experimental.flowsight.requests, ["flowsight/slice", "flowsight/status", "flowsight/search"]);
  assert.ok(initialized.capabilities.executeCommandProvider.commands.includes("flowsight.slice"));
  await connection.sendNotification("initialized", {});
  const db = pathToFileURL(join(project, "shop/db.py")).href;
  for (let waited = 0; !diagnostics.has(db) && waited < 20000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  const [sql] = diagnostics.get(db);
  assert.equal(sql.code, "sql-injection");
  assert.equal(sql.relatedInformation.length, 6);
  const views = pathToFileURL(join(project, "shop/views.py")).href;
  const slice = await connection.sendRequest("workspace/executeCommand", {
    command: "flowsight.slice",
    arguments: [{ uri: views, position: { line: 16, character: 4 }, direction: "backward", thin: false }],
  });
  assert.deepEqual(slice.files[views].map((r) => r.start.line), [5, 9, 15, 16]);
  // "Search code": the request its quick pick sends, and the fields it shows.
  const search = await connection.sendRequest("flowsight/search", { query: "find products", mode: "lexical", limit: 5 });
  assert.equal(search.mode, "lexical");
  assert.equal(search.partial, false);
  const [hit] = search.results;
  assert.equal(hit.uri, db);
  assert.equal(hit.name, "find_products");
  assert.equal(hit.kind, "function");
  assert.equal(hit.preview, "def find_products(term):");
  assert.deepEqual([hit.findings, hit.reaches, hit.readsInput], [1, ["sql-injection"], false]);
  assert.ok(hit.range.start.line >= 0 && hit.range.end.line > hit.range.start.line);
  const filtered = await connection.sendRequest("flowsight/search", { query: "search", readsInput: true });
  assert.ok(filtered.results.length > 0 && filtered.results.every((result) => result.readsInput));
  // The status the "Show server status" command displays.
  const status = await connection.sendRequest("flowsight/status", {});
  assert.equal(status.folders.length, 1);
  const [folder] = status.folders;
  assert.deepEqual([folder.root, folder.files], [root, 5]);
  // The cache's stored syntax trees: files built from one, trees written and removed.
  assert.deepEqual(Object.keys(folder.trees).sort(), ["loaded", "removed", "written"]);
  assert.ok(Object.values(folder.trees).every((count) => Number.isInteger(count) && count >= 0));
  assert.ok(folder.trees.loaded <= folder.files);
  assert.ok(status.lastAnalysis.scopes > 0);
  assert.ok(status.latencies.every((sample) => typeof sample.event === "string" && sample.milliseconds >= 0));
  await connection.sendRequest("shutdown");
  await connection.sendNotification("exit");
  connection.dispose();
  server.kill();
});
