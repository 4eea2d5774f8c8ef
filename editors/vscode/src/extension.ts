// The VS Code client. Finds and starts the server (server.ts), restarts it when the settings that
// start it change, sends the analysis settings, and shows what the server finds: the status-bar
// item (status.ts), taint paths as a tree (taintPaths.ts) and slices as decorations (slices.ts);
// "Search code" is a quick pick over `flowsight/search` (search.ts).
import * as vscode from "vscode";
import {
  ClientCapabilities,
  ConfigurationParams,
  FeatureState,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  RevealOutputChannelOn,
  ShowMessageNotification,
  ShowMessageParams,
  StaticFeature,
  State,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
} from "vscode-languageclient/node";
import { serverSettings } from "./launch";
import { searchCode } from "./search";
import { findServer, LaunchProblem, pythonExtension } from "./server";
import { Slices } from "./slices";
import { StatusItem } from "./status";
import { TaintPaths } from "./taintPaths";

// Settings that decide what runs: a change restarts the server.
const LAUNCH_SETTINGS = ["flowsight.serverCommand", "flowsight.interpreter"];

let log: vscode.LogOutputChannel;
let status: StatusItem;
let taintPaths: TaintPaths;
let slices: Slices;
let client: LanguageClient | undefined;
let extensionPath = "";
// Starts and stops run one after another.
let lifecycle: Promise<void> = Promise.resolve();

function analysisSettings(): Record<string, unknown> {
  const configuration = vscode.workspace.getConfiguration("flowsight");
  return serverSettings((key) => configuration.get(key));
}

/** A notification with the fix: the setting to open, the log. */
async function showProblem(message: string, severity: "error" | "warning", setting?: string, file?: vscode.Uri): Promise<void> {
  const actions = [...(setting ? ["Open settings"] : []), ...(file ? ["Open pyproject.toml"] : []), "Show logs"];
  const show = severity === "error" ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
  const chosen = await show(message, ...actions);
  if (chosen === "Open settings") await vscode.commands.executeCommand("workbench.action.openSettings", setting);
  else if (chosen === "Open pyproject.toml" && file) await vscode.window.showTextDocument(file);
  else if (chosen === "Show logs") log.show();
}

/** The server's window/showMessage (bad settings, a bad rules file): with a button for the fix. */
function showServerMessage(params: ShowMessageParams): void {
  const setting = /\bflowsight\.(\w+)/.exec(params.message)?.[0] ?? (/`(disable|exclude|severity|rules)`/.exec(params.message) ? "flowsight" : undefined);
  const pyproject = /(\S*pyproject\.toml)/.exec(params.message)?.[1];
  const file = pyproject && pyproject.startsWith("/") ? vscode.Uri.file(pyproject) : undefined;
  if (params.type === MessageType.Error || params.type === MessageType.Warning) {
    void showProblem(params.message, params.type === MessageType.Error ? "error" : "warning", setting, file);
  } else {
    void vscode.window.showInformationMessage(params.message);
  }
}

/**
 * Work-done progress shown in the status item (indexing, analysing) instead of a separate
 * window progress, and the server's messages shown with their fix. Registered after the client's
 * own features, so its handlers replace theirs.
 */
class StatusFeature implements StaticFeature {
  constructor(private readonly languageClient: LanguageClient) {}

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }

  initialize(): void {
    const languageClient = this.languageClient;
    languageClient.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      const subscription = languageClient.onProgress(WorkDoneProgress.type, token, (value) => {
        status.progress(String(token), value);
        if (value.kind === "end") subscription.dispose();
      });
    });
    languageClient.onNotification(ShowMessageNotification.type, showServerMessage);
  }

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {}
}

async function start(): Promise<void> {
  status.starting();
  let launch;
  try {
    launch = await findServer(extensionPath, log);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error(message);
    status.error(message);
    void showProblem(message, "error", error instanceof LaunchProblem ? error.setting : undefined);
    return;
  }
  log.info(`starting ${launch.description}`);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "python" }],
    initializationOptions: analysisSettings(),
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.py") },
    outputChannel: log,
    // Problems come as notifications with their fix; the log opens from them or the status item.
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    middleware: {
      workspace: {
        // Only the analysis settings go to the server (never serverCommand or interpreter).
        configuration: (params: ConfigurationParams, token, next) => {
          if (params.items.every((item) => item.section === "flowsight")) return params.items.map(() => analysisSettings());
          return next(params, token);
        },
      },
      executeCommand: async (command, args, next) => {
        // Code actions: a slice is painted here (the server's showSlice would move the selection);
        // "Show taint path" opens the tree on the finding.
        if (command === "flowsight.showSlice") {
          const result = await next("flowsight.slice", args);
          if (result) await slices.show(result);
          return result;
        }
        if (command === "flowsight.explainTaint" && typeof args[0] === "string") {
          return vscode.commands.executeCommand("flowsight.showTaintPath", args[0]);
        }
        return next(command, args);
      },
    },
  };
  const languageClient = new LanguageClient("flowsight", "flowsight", { command: launch.command, args: launch.args, options: { env: launch.env } }, clientOptions);
  languageClient.registerFeature(new StatusFeature(languageClient));
  languageClient.onDidChangeState(({ newState }) => {
    if (languageClient !== client) return;
    if (newState === State.Stopped) status.stopped();
    else if (newState === State.Running) status.running(launch.description);
  });
  client = languageClient;
  const started = Date.now();
  try {
    await languageClient.start();
    log.info(`the server is running (${Date.now() - started} ms to initialize)`);
  } catch (error) {
    const message = `the language server did not start (${launch.description}): ${error instanceof Error ? error.message : error}`;
    log.error(message);
    status.error(message);
    void showProblem(`flowsight: ${message}`, "error", launch.description.endsWith("(flowsight.serverCommand)") ? "flowsight.serverCommand" : undefined);
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (!running) return;
  try {
    await running.dispose(2000);
  } catch (error) {
    log.warn(`stopping the server: ${error}`);
  }
}

function restart(): Promise<void> {
  lifecycle = lifecycle.then(async () => {
    await stop();
    slices.clear();
    await start();
  });
  return lifecycle;
}

async function slice(direction: "backward" | "forward"): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) return;
  const position = editor.selection.active;
  const result = await client.sendRequest<Parameters<Slices["show"]>[0]>("workspace/executeCommand", {
    command: "flowsight.slice",
    arguments: [{ uri: editor.document.uri.toString(), position: { line: position.line, character: position.character }, direction, thin: false }],
  });
  await slices.show(result);
}

interface ServerStatus {
  folders: { root: string; files: number }[];
  openDocuments: number;
  lastAnalysis: { scopes?: number; reused?: number; analysed?: number; milliseconds?: number };
  latencies: { event: string; milliseconds: number; publishes: number }[];
}

// `flowsight/status` in the log: what is indexed, what the last analysis re-ran, and how long
// recent changes took to reach the editor (server time).
async function showStatus(): Promise<void> {
  if (!client || client.state !== State.Running) {
    log.info(`no server status: the server is ${client ? State[client.state].toLowerCase() : "not started"}`);
    log.show(true);
    return;
  }
  const serverStatus: ServerStatus = await client.sendRequest("flowsight/status", {});
  const analysis = serverStatus.lastAnalysis;
  const lines = [
    "status:",
    ...serverStatus.folders.map((folder) => `  ${folder.root}: ${folder.files} files`),
    `  open documents: ${serverStatus.openDocuments}`,
    `  last analysis: ${analysis.analysed ?? 0} of ${analysis.scopes ?? 0} functions analysed, ${analysis.reused ?? 0} reused, ${(analysis.milliseconds ?? 0).toFixed(1)} ms`,
    "  recent changes → diagnostics published:",
    ...serverStatus.latencies.slice(-10).map((sample) => `    ${sample.event}: ${sample.milliseconds.toFixed(1)} ms`),
  ];
  log.info(lines.join("\n"));
  log.show(true);
}

async function showTaintPath(id?: unknown): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const finding =
    typeof id === "string" ? taintPaths.find(id) : editor ? taintPaths.find(undefined, editor.document.uri, editor.selection.active.line) : undefined;
  if (finding) {
    await taintPaths.reveal(finding);
    return;
  }
  await vscode.commands.executeCommand("flowsight.taintPaths.focus");
  if (typeof id === "string") void vscode.window.showInformationMessage("flowsight: that finding is gone (the code changed since).");
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extensionPath = context.extensionPath;
  log = vscode.window.createOutputChannel("flowsight", { log: true });
  status = new StatusItem();
  taintPaths = new TaintPaths();
  slices = new Slices(context.extensionUri);
  context.subscriptions.push(
    log,
    status,
    taintPaths,
    slices,
    taintPaths.onDidCount(({ findings, files }) => status.setFindings(findings, files)),
    vscode.commands.registerCommand("flowsight.backwardSlice", () => slice("backward")),
    vscode.commands.registerCommand("flowsight.forwardSlice", () => slice("forward")),
    vscode.commands.registerCommand("flowsight.clearSlice", () => slices.clear()),
    vscode.commands.registerCommand("flowsight.showTaintPath", showTaintPath),
    vscode.commands.registerCommand("flowsight.showStatus", showStatus),
    vscode.commands.registerCommand("flowsight.searchCode", () => searchCode(client, log)),
    vscode.commands.registerCommand("flowsight.showLogs", () => log.show()),
    vscode.commands.registerCommand("flowsight.restart", () => {
      log.info("restart requested");
      return restart();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      log.debug("settings changed");
      if (LAUNCH_SETTINGS.some((key) => event.affectsConfiguration(key))) {
        log.info("settings that start the server changed: restarting");
        void restart();
      } else if (event.affectsConfiguration("flowsight") && client?.state === State.Running) {
        void client.sendNotification("workspace/didChangeConfiguration", { settings: { flowsight: analysisSettings() } });
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info("the workspace is trusted now: restarting with its settings");
      void restart();
    }),
  );
  // A different interpreter selected in the Python extension: start with it.
  void pythonExtension().then((environments) => {
    if (!environments) return;
    context.subscriptions.push(
      environments.onDidChangeActiveEnvironmentPath(() => {
        log.info("the Python extension's interpreter changed: restarting");
        void restart();
      }),
    );
  });
  lifecycle = start();
  await lifecycle;
}

export async function deactivate(): Promise<void> {
  await stop();
}
