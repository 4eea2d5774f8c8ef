// The "Taint paths" tree view: every flowsight finding (a diagnostic on its sink) with its steps
// (the diagnostic's related information) as children; clicking a step opens it. Built from the
// diagnostics VS Code holds, pushed or pulled, so it always shows what the Problems panel shows.
import * as vscode from "vscode";

interface Finding {
  kind: "finding";
  id: string;
  uri: vscode.Uri;
  diagnostic: vscode.Diagnostic;
  steps: Step[];
}

interface Step {
  kind: "step";
  finding: Finding;
  number: number;
  stepKind: string;
  text: string;
  location: vscode.Location;
}

type Node = Finding | Step;

const STEP_ICONS: Record<string, string> = {
  source: "debug-start",
  sink: "flame",
  call: "call-outgoing",
  return: "reply",
  argument: "symbol-parameter",
  assignment: "symbol-variable",
};

/** The finding id the server puts in a diagnostic's `data` (kept by vscode-languageclient). */
function findingId(uri: vscode.Uri, diagnostic: vscode.Diagnostic): string {
  const data = (diagnostic as { data?: { findingId?: unknown } }).data;
  if (data && typeof data.findingId === "string") return data.findingId;
  return `${uri.toString()}#${diagnostic.range.start.line}:${diagnostic.range.start.character}:${String(diagnostic.code)}`;
}

function code(diagnostic: vscode.Diagnostic): string {
  const value = typeof diagnostic.code === "object" ? diagnostic.code.value : diagnostic.code;
  return String(value ?? "finding");
}

export function isFinding(diagnostic: vscode.Diagnostic): boolean {
  return diagnostic.source === "flowsight" && (diagnostic.relatedInformation?.length ?? 0) > 0;
}

export class TaintPaths implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private findings: Finding[] = [];
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly counted = new vscode.EventEmitter<{ findings: number; files: number }>();
  /** Fires with the number of findings and of files holding them, after each refresh. */
  readonly onDidCount = this.counted.event;
  readonly view: vscode.TreeView<Node>;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.view = vscode.window.createTreeView("flowsight.taintPaths", { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.changed,
      this.counted,
      vscode.languages.onDidChangeDiagnostics(() => this.scheduleRefresh()),
    );
    this.refresh();
  }

  private scheduleRefresh(): void {
    // Diagnostics arrive file by file: rebuild once they pause.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 100);
  }

  refresh(): void {
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const [uri, diagnostics] of vscode.languages.getDiagnostics()) {
      for (const diagnostic of diagnostics) {
        if (!isFinding(diagnostic)) continue;
        const id = findingId(uri, diagnostic);
        // A pulled and a pushed collection can both hold a file for a moment.
        if (seen.has(id)) continue;
        seen.add(id);
        const finding: Finding = { kind: "finding", id, uri, diagnostic, steps: [] };
        finding.steps = (diagnostic.relatedInformation ?? []).map((related, index) => {
          const match = /^(\d+)\. (\w+): (.*)$/s.exec(related.message);
          return {
            kind: "step",
            finding,
            number: match ? Number(match[1]) : index + 1,
            stepKind: match ? match[2] : "step",
            text: match ? match[3] : related.message,
            location: related.location,
          };
        });
        findings.push(finding);
      }
    }
    findings.sort((a, b) => a.uri.toString().localeCompare(b.uri.toString()) || a.diagnostic.range.start.compareTo(b.diagnostic.range.start));
    this.findings = findings;
    const files = new Set(findings.map((finding) => finding.uri.toString())).size;
    this.view.description = findings.length ? `${findings.length} in ${files} file${files === 1 ? "" : "s"}` : undefined;
    this.view.message = findings.length ? undefined : "No taint paths: flowsight found no user input reaching a sink.";
    this.changed.fire(undefined);
    this.counted.fire({ findings: findings.length, files });
  }

  /** The finding with this id, or the one whose sink is on the given line. */
  find(id?: string, uri?: vscode.Uri, line?: number): Finding | undefined {
    if (id !== undefined) return this.findings.find((finding) => finding.id === id);
    const here = this.findings.filter((finding) => finding.uri.toString() === uri?.toString());
    return here.find((finding) => finding.diagnostic.range.start.line === line) ?? here.find((finding) => finding.steps.some((s) => s.location.range.start.line === line));
  }

  /** Opens the view on a finding, expanded, without taking focus from the editor. */
  async reveal(finding: Finding): Promise<void> {
    try {
      await this.view.reveal(finding, { select: true, focus: false, expand: true });
    } catch {
      // The diagnostics changed under it (the tree was rebuilt): show the view at least.
      await vscode.commands.executeCommand("flowsight.taintPaths.focus");
    }
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.findings;
    return node.kind === "finding" ? node.steps : [];
  }

  getParent(node: Node): Node | undefined {
    return node.kind === "step" ? node.finding : undefined;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "finding") {
      const { diagnostic, uri } = node;
      const item = new vscode.TreeItem(code(diagnostic), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.id;
      item.description = `${vscode.workspace.asRelativePath(uri)}:${diagnostic.range.start.line + 1} · ${node.steps.length} steps`;
      item.tooltip = diagnostic.message;
      item.iconPath = new vscode.ThemeIcon(
        diagnostic.severity === vscode.DiagnosticSeverity.Error ? "error" : "warning",
        new vscode.ThemeColor(diagnostic.severity === vscode.DiagnosticSeverity.Error ? "problemsErrorIcon.foreground" : "problemsWarningIcon.foreground"),
      );
      item.contextValue = "finding";
      item.command = { command: "vscode.open", title: "Open the sink", arguments: [uri, { selection: diagnostic.range, preserveFocus: true }] };
      return item;
    }
    const item = new vscode.TreeItem(`${node.number}. ${node.stepKind}: ${node.text}`, vscode.TreeItemCollapsibleState.None);
    item.id = `${node.finding.id}/${node.number}`;
    const { uri, range } = node.location;
    item.description = `${vscode.workspace.asRelativePath(uri)}:${range.start.line + 1}`;
    item.tooltip = `${node.stepKind}: ${node.text}\n${item.description}`;
    item.iconPath = new vscode.ThemeIcon(STEP_ICONS[node.stepKind] ?? "arrow-small-right");
    item.contextValue = "step";
    item.command = { command: "vscode.open", title: "Open the step", arguments: [uri, { selection: range }] };
    return item;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
