// How the extension decides what to start, as plain functions (no `vscode` import, so the
// node:test suite checks them directly): which settings count under workspace trust, what a
// valid `flowsight.serverCommand` is, whether a Python can run the bundled server, and the
// environment the bundled server runs in.

/** The minimum Python of the server (its native module is abi3 for CPython 3.11+). */
export const MINIMUM_PYTHON: readonly [number, number] = [3, 11];

/** What `WorkspaceConfiguration.inspect` reports for one setting. */
export interface Inspected<T> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export interface Effective<T> {
  value: T | undefined;
  /** A workspace value was set and ignored because the workspace is not trusted. */
  ignoredUntrusted: boolean;
}

/**
 * The value of a setting that starts a program. In an untrusted workspace only the user's own
 * (global) value counts: a cloned repository must not choose what runs on the user's machine.
 */
export function effectiveValue<T>(inspected: Inspected<T> | undefined, trusted: boolean): Effective<T> {
  if (!inspected) return { value: undefined, ignoredUntrusted: false };
  const workspace = inspected.workspaceFolderValue ?? inspected.workspaceValue;
  if (trusted) return { value: workspace ?? inspected.globalValue, ignoredUntrusted: false };
  return { value: inspected.globalValue, ignoredUntrusted: workspace !== undefined };
}

export interface Command {
  command: string;
  args: string[];
}

/**
 * `flowsight.serverCommand`: unset or `[]` means "use the bundled server"; otherwise a non-empty
 * list of strings, the program first. Anything else is a problem whose message says the fix.
 */
export function parseServerCommand(value: unknown): { command?: Command; problem?: string } {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return {};
  const example = 'e.g. ["/path/to/venv/bin/flowsight", "serve"]';
  if (typeof value === "string") {
    return { problem: `flowsight.serverCommand must be a list of strings, not one string: ${JSON.stringify(value.split(/\s+/))}, ${example}` };
  }
  if (!Array.isArray(value) || !value.every((part) => typeof part === "string") || (value[0] as string).trim() === "") {
    return { problem: `flowsight.serverCommand must be a list of strings with the program first, ${example}; or [] for the bundled server` };
  }
  const [command, ...args] = value as string[];
  return { command: { command, args } };
}

/** What running a Python with `PROBE_SCRIPT` found out (or why it could not run). */
export interface Probe {
  /** Where the interpreter came from, for messages: "flowsight.interpreter", "the Python extension", "python3 on PATH". */
  origin: string;
  python: string;
  version?: [number, number];
  executable?: string;
  /** `flowsight` is importable in the server's environment (bundled libs or the interpreter's own). */
  hasFlowsight?: boolean;
  error?: string;
}

/** Printed by the probe: major, minor, whether flowsight is importable, the executable. */
export const PROBE_SCRIPT =
  "import sys, importlib.util; print(sys.version_info[0], sys.version_info[1], importlib.util.find_spec('flowsight') is not None, sys.executable)";

export function parseProbeOutput(probe: Probe, stdout: string): Probe {
  const match = /^(\d+) (\d+) (True|False) (.*)$/m.exec(stdout.trim());
  if (!match) return { ...probe, error: `unexpected output ${JSON.stringify(stdout.trim().slice(0, 200))}` };
  return { ...probe, version: [Number(match[1]), Number(match[2])], hasFlowsight: match[3] === "True", executable: match[4] };
}

/** Why a probed Python cannot run the server (undefined: it can). */
export function unusableReason(probe: Probe): string | undefined {
  if (probe.error !== undefined) return `${probe.python} (${probe.origin}) could not be run: ${probe.error}`;
  const [major, minor] = probe.version ?? [0, 0];
  if (major < MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor < MINIMUM_PYTHON[1])) {
    return `${probe.python} (${probe.origin}) is Python ${major}.${minor}; flowsight needs ${MINIMUM_PYTHON.join(".")} or later`;
  }
  if (!probe.hasFlowsight) return `${probe.python} (${probe.origin}) cannot import flowsight (this build of the extension bundles no server)`;
  return undefined;
}

/** The message shown when no Python could run the server: what to do, then what was tried. */
export function noPythonMessage(tried: string[]): string {
  return (
    `flowsight needs Python ${MINIMUM_PYTHON.join(".")} or later to run its language server. Install it (as python3 on PATH), ` +
    `choose one with "Python: Select Interpreter", or set flowsight.interpreter. Tried: ${tried.join("; ") || "nothing"}.`
  );
}

/** Arguments that start the server as a module (`-P`: never import from the working directory). */
export function moduleArguments(): string[] {
  return ["-P", "-m", "flowsight", "serve"];
}

/**
 * The server's environment: the bundled libraries (when there are any) replace PYTHONPATH, so
 * neither the user's PYTHONPATH nor the interpreter's site-packages shadow the server's pygls.
 */
export function serverEnvironment(base: Record<string, string | undefined>, bundledLibs: string | undefined): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) environment[key] = value;
  if (bundledLibs !== undefined) environment.PYTHONPATH = bundledLibs;
  environment.PYTHONUNBUFFERED = "1";
  return environment;
}

/** The analysis settings the server reads (client-only keys such as serverCommand stay here). */
export const SERVER_SETTINGS = ["rules", "disable", "exclude", "severity", "syntaxErrors", "logLevel"] as const;

export function serverSettings(get: (key: string) => unknown): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) {
    const value = get(key);
    if (value !== undefined && value !== null && value !== "") settings[key] = value;
  }
  return settings;
}
