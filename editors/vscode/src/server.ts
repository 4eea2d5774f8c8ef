// Finding the server to start, the way ruff's extension does: `flowsight.serverCommand` when the
// user set one; otherwise the server bundled in the extension (bundled/libs) run by a Python
// 3.11+: `flowsight.interpreter`, else the interpreter selected in the Python extension, else
// python3 on PATH. Settings that start programs count only from the user's settings in an
// untrusted workspace.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import * as vscode from "vscode";
import {
  effectiveValue,
  moduleArguments,
  noPythonMessage,
  parseProbeOutput,
  parseServerCommand,
  Probe,
  PROBE_SCRIPT,
  serverEnvironment,
  unusableReason,
} from "./launch";

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** One line for the log and the status tooltip: what runs and why. */
  description: string;
}

/** A problem with how to fix it: the setting to open, when there is one. */
export class LaunchProblem extends Error {
  constructor(
    message: string,
    readonly setting?: string,
  ) {
    super(message);
  }
}

/** The subset of the Python extension's API used here (ms-python.python, `environments`). */
interface PythonEnvironments {
  getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
  resolveEnvironment(environment: { path: string }): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
}

export async function pythonExtension(): Promise<PythonEnvironments | undefined> {
  const extension = vscode.extensions.getExtension<{ environments?: PythonEnvironments }>("ms-python.python");
  if (!extension) return undefined;
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    return api?.environments;
  } catch {
    return undefined;
  }
}

function which(program: string): string | undefined {
  if (isAbsolute(program)) return existsSync(program) ? program : undefined;
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    if (directory && existsSync(join(directory, program))) return join(directory, program);
  }
  return undefined;
}

function probe(origin: string, python: string, env: Record<string, string>): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(python, ["-c", PROBE_SCRIPT], { env, timeout: 15000 }, (error, stdout) => {
      const base: Probe = { origin, python };
      if (error) resolve({ ...base, error: error.message.split("\n")[0] });
      else resolve(parseProbeOutput(base, stdout));
    });
  });
}

function setting<T>(key: string, log: vscode.LogOutputChannel): T | undefined {
  const inspected = vscode.workspace.getConfiguration("flowsight").inspect<T>(key);
  const { value, ignoredUntrusted } = effectiveValue(inspected, vscode.workspace.isTrusted);
  if (ignoredUntrusted) log.warn(`flowsight.${key} from the workspace settings is ignored: the workspace is not trusted`);
  return value;
}

export async function findServer(extensionPath: string, log: vscode.LogOutputChannel): Promise<Launch> {
  const { command, problem } = parseServerCommand(setting<unknown>("serverCommand", log));
  if (problem) throw new LaunchProblem(problem, "flowsight.serverCommand");
  if (command) {
    if (!which(command.command)) {
      throw new LaunchProblem(
        `flowsight.serverCommand: ${command.command} was not found (the extension host's PATH is not your shell's: use an absolute path, or [] for the bundled server)`,
        "flowsight.serverCommand",
      );
    }
    return { ...command, env: serverEnvironment(process.env, undefined), description: `${[command.command, ...command.args].join(" ")} (flowsight.serverCommand)` };
  }

  const libs = join(extensionPath, "bundled", "libs");
  const bundled = existsSync(join(libs, "flowsight")) ? libs : undefined;
  const env = serverEnvironment(process.env, bundled);
  const server = bundled ? "the bundled server" : "flowsight from the interpreter's environment";
  const launch = (found: Probe): Launch => ({
    command: found.executable || found.python,
    args: moduleArguments(),
    env,
    description: `${server} with Python ${found.version?.join(".")} ${found.executable} (${found.origin})`,
  });

  const interpreter = setting<string>("interpreter", log);
  if (interpreter) {
    const found = await probe("flowsight.interpreter", interpreter, env);
    const reason = unusableReason(found);
    if (reason) throw new LaunchProblem(`flowsight.interpreter: ${reason}`, "flowsight.interpreter");
    return launch(found);
  }

  // In order: the Python extension's interpreter, python3, python; each tried only if the
  // one before cannot run the server.
  const tried: string[] = [];
  const candidates: (() => Promise<[string, string] | undefined>)[] = [
    async () => {
      const environments = await pythonExtension();
      if (!environments) return undefined;
      try {
        const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
        const active = environments.getActiveEnvironmentPath(resource);
        const resolved = await environments.resolveEnvironment(active);
        return ["the Python extension's interpreter", resolved?.executable.uri?.fsPath ?? active.path];
      } catch (error) {
        tried.push(`the Python extension's interpreter (${error})`);
        return undefined;
      }
    },
    ...["python3", "python"].map((name) => async (): Promise<[string, string] | undefined> => {
      const path = which(name);
      if (!path) tried.push(`${name} (not on PATH)`);
      return path ? [`${name} on PATH`, path] : undefined;
    }),
  ];
  for (const candidate of candidates) {
    const next = await candidate();
    if (!next) continue;
    const [origin, python] = next;
    const found = await probe(origin, python, env);
    const reason = unusableReason(found);
    if (!reason) return launch(found);
    log.info(`not using ${reason}`);
    tried.push(reason);
  }
  throw new LaunchProblem(noPythonMessage(tried), "flowsight.interpreter");
}
