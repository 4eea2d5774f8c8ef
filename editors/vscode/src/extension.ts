// The VS Code client: starts `flowsight serve` over stdio, passes the `flowsight.*` settings as
// initialization options (and on change), and paints slices as editor decorations.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let statusChannel: vscode.OutputChannel | undefined;
const sliceDecoration = vscode.window.createTextEditorDecorationType({
  backgroundColor: new vscode.ThemeColor("editor.findMatchHighlightBackground"),
  isWholeLine: true,
});

function settings(): Record<string, unknown> {
  const configuration = vscode.workspace.getConfiguration("flowsight");
  const result: Record<string, unknown> = {
    disable: configuration.get("disable", []),
    exclude: configuration.get("exclude", []),
    severity: configuration.get("severity", {}),
  };
  const rules = configuration.get<string | null>("rules", null);
  if (rules) result.rules = rules;
  return result;
}

async function showSlice(direction: "backward" | "forward"): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) return;
  const position = editor.selection.active;
  const result: { files: Record<string, { start: { line: number }; end: { line: number } }[]> } =
    await client.sendRequest("workspace/executeCommand", {
      command: "flowsight.slice",
      arguments: [{ uri: editor.document.uri.toString(), position: { line: position.line, character: position.character }, direction, thin: false }],
    });
  for (const visible of vscode.window.visibleTextEditors) {
    const ranges = result.files[visible.document.uri.toString()] ?? [];
    visible.setDecorations(sliceDecoration, ranges.map((r) => new vscode.Range(r.start.line, 0, r.end.line, 0)));
  }
}

interface ServerStatus {
  folders: { root: string; files: number }[];
  openDocuments: number;
  lastAnalysis: { scopes?: number; reused?: number; analysed?: number; milliseconds?: number };
  latencies: { event: string; milliseconds: number; publishes: number }[];
}

// `flowsight/status` in an output channel: what is indexed, what the last analysis re-ran,
// and how long recent changes took to reach the editor (server time).
async function showStatus(): Promise<void> {
  if (!client) return;
  const status: ServerStatus = await client.sendRequest("flowsight/status", {});
  statusChannel ??= vscode.window.createOutputChannel("flowsight status");
  const recent = status.latencies.slice(-20).map((sample) => `  ${sample.event}: ${sample.milliseconds.toFixed(1)} ms`);
  const analysis = status.lastAnalysis;
  statusChannel.clear();
  statusChannel.appendLine(status.folders.map((folder) => `${folder.root}: ${folder.files} files`).join("\n"));
  statusChannel.appendLine(`open documents: ${status.openDocuments}`);
  statusChannel.appendLine(
    `last analysis: ${analysis.analysed ?? 0} of ${analysis.scopes ?? 0} functions analysed, ${analysis.reused ?? 0} reused, ${(analysis.milliseconds ?? 0).toFixed(1)} ms`,
  );
  statusChannel.appendLine(["recent changes → diagnostics published:", ...recent].join("\n"));
  statusChannel.show(true);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const [command, ...args] = vscode.workspace.getConfiguration("flowsight").get<string[]>("serverCommand", ["flowsight", "serve"]);
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "python" }],
    initializationOptions: settings(),
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.py") },
  };
  client = new LanguageClient("flowsight", "flowsight", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand("flowsight.backwardSlice", () => showSlice("backward")),
    vscode.commands.registerCommand("flowsight.forwardSlice", () => showSlice("forward")),
    vscode.commands.registerCommand("flowsight.showStatus", showStatus),
    vscode.commands.registerCommand("flowsight.clearSlice", () => {
      for (const editor of vscode.window.visibleTextEditors) editor.setDecorations(sliceDecoration, []);
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("flowsight") && client) {
        client.sendNotification("workspace/didChangeConfiguration", { settings: { flowsight: settings() } });
      }
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
