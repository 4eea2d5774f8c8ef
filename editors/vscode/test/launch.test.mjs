// How the extension decides what to start (src/launch.ts, bundled by `npm run pretest`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import {
  effectiveValue,
  moduleArguments,
  noPythonMessage,
  parseProbeOutput,
  parseServerCommand,
  PROBE_SCRIPT,
  serverEnvironment,
  serverSettings,
  unusableReason,
} from "../dist/test/launch.mjs";

test("workspace values of launch settings count only in a trusted workspace", () => {
  const inspected = { globalValue: ["/usr/bin/flowsight", "serve"], workspaceValue: ["./evil.sh"] };
  assert.deepEqual(effectiveValue(inspected, true), { value: ["./evil.sh"], ignoredUntrusted: false });
  assert.deepEqual(effectiveValue(inspected, false), { value: ["/usr/bin/flowsight", "serve"], ignoredUntrusted: true });
  assert.deepEqual(effectiveValue({ workspaceFolderValue: "/x/python" }, false), { value: undefined, ignoredUntrusted: true });
  assert.deepEqual(effectiveValue({ globalValue: "/usr/bin/python3" }, false), { value: "/usr/bin/python3", ignoredUntrusted: false });
  assert.deepEqual(effectiveValue(undefined, false), { value: undefined, ignoredUntrusted: false });
});

test("serverCommand: unset or [] is the bundled server; a bad value names the fix", () => {
  assert.deepEqual(parseServerCommand(undefined), {});
  assert.deepEqual(parseServerCommand([]), {});
  assert.deepEqual(parseServerCommand(["/venv/bin/flowsight", "serve"]), { command: { command: "/venv/bin/flowsight", args: ["serve"] } });
  assert.match(parseServerCommand("flowsight serve").problem, /must be a list of strings, not one string: \["flowsight","serve"\]/);
  assert.match(parseServerCommand([1, 2]).problem, /list of strings with the program first/);
  assert.match(parseServerCommand([""]).problem, /\[\] for the bundled server/);
});

test("a probed Python is used only when it is 3.11+ and can import flowsight", () => {
  const base = { origin: "python3 on PATH", python: "python3" };
  const good = parseProbeOutput(base, "3 12 True /usr/bin/python3.12\n");
  assert.deepEqual(good.version, [3, 12]);
  assert.equal(good.executable, "/usr/bin/python3.12");
  assert.equal(unusableReason(good), undefined);
  assert.match(unusableReason(parseProbeOutput(base, "3 10 True /usr/bin/python3.10")), /is Python 3\.10; flowsight needs 3\.11 or later/);
  assert.match(unusableReason(parseProbeOutput(base, "3 11 False /usr/bin/python3")), /cannot import flowsight/);
  assert.match(unusableReason(parseProbeOutput(base, "(2, 7, True)")), /could not be run: unexpected output/);
  assert.match(unusableReason({ ...base, error: "spawn python3 ENOENT" }), /could not be run: spawn python3 ENOENT/);
  const message = noPythonMessage(["python3 (not on PATH)"]);
  assert.match(message, /^flowsight needs Python 3\.11 or later .* Install it .*Python: Select Interpreter.*flowsight\.interpreter\. Tried: python3 \(not on PATH\)\.$/);
});

test("the bundled libraries replace PYTHONPATH; only analysis settings reach the server", () => {
  const environment = serverEnvironment({ PATH: "/usr/bin", PYTHONPATH: "/home/me/old-pygls", UNSET: undefined }, "/ext/bundled/libs");
  assert.deepEqual(environment, { PATH: "/usr/bin", PYTHONPATH: "/ext/bundled/libs", PYTHONUNBUFFERED: "1" });
  assert.equal(serverEnvironment({ PYTHONPATH: "/keep" }, undefined).PYTHONPATH, "/keep");
  const configured = { serverCommand: ["x"], interpreter: "/p", disable: ["xss"], rules: "", severity: {}, syntaxErrors: "off" };
  assert.deepEqual(serverSettings((key) => configured[key]), { disable: ["xss"], severity: {}, syntaxErrors: "off" });
});

// The probe and the launch arguments against a real Python with the bundled libraries (when
// `npm run bundle-server` has run; otherwise the repository's environment).
test("the probe and the server's module arguments work with a real Python", () => {
  const libs = resolve(import.meta.dirname, "../bundled/libs");
  const python = process.env.FLOWSIGHT_PYTHON ?? join(import.meta.dirname, "../../../.venv/bin/python");
  const probed = spawnSync(python, ["-c", PROBE_SCRIPT], { env: serverEnvironment(process.env, libs), encoding: "utf8" });
  const found = parseProbeOutput({ origin: "test", python }, probed.stdout);
  assert.equal(unusableReason(found), undefined);
  const help = spawnSync(found.executable, [...moduleArguments().slice(0, -1), "--help"], { env: serverEnvironment(process.env, libs), encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /serve/);
});
