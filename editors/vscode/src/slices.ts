// A program slice on screen: decorations (whole-line background in the slice colour, a gutter
// mark, overview-ruler marks) in every editor showing a file of the slice — also editors opened
// after the slice was taken — and the "Slice" tree view listing its files and lines with the
// count. Editing a file of the slice clears it (its lines no longer describe the text), and so
// does "flowsight: Clear slice". Painting never moves the cursor or the selection.
import * as vscode from "vscode";

interface SliceResult {
  files: Record<string, { start: { line: number }; end: { line: number } }[]>;
  criterion: { uri: string; line: number; character: number };
  direction: "backward" | "forward";
}

interface FileNode {
  kind: "file";
  uri: vscode.Uri;
  lines: number[];
}

interface LineNode {
  kind: "line";
  file: FileNode;
  line: number;
}

type Node = FileNode | LineNode;

export class Slices implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly lineDecoration: vscode.TextEditorDecorationType;
  private readonly criterionDecoration: vscode.TextEditorDecorationType;
  private current: { result: SliceResult; files: FileNode[]; lineCount: number } | undefined;
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<Node>;
  private readonly disposables: vscode.Disposable[] = [];
  // Text of lines shown in the list, per file (read once per slice).
  private texts = new Map<string, string[]>();

  constructor(extensionUri: vscode.Uri) {
    this.lineDecoration = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor("flowsight.sliceBackground"),
      overviewRulerColor: new vscode.ThemeColor("flowsight.sliceOverviewRuler"),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
      gutterIconPath: vscode.Uri.joinPath(extensionUri, "media", "slice-gutter.svg"),
      gutterIconSize: "contain",
    });
    this.criterionDecoration = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      borderWidth: "1px 0",
      borderStyle: "solid",
      borderColor: new vscode.ThemeColor("flowsight.sliceCriterionBorder"),
      after: { color: new vscode.ThemeColor("flowsight.sliceCriterionForeground"), margin: "0 0 0 2em" },
    });
    this.view = vscode.window.createTreeView("flowsight.slice", { treeDataProvider: this, showCollapseAll: true });
    this.view.message = "No slice. Put the cursor on a line and run “flowsight: Backward slice from here” (or Forward).";
    this.disposables.push(
      this.view,
      this.changed,
      this.lineDecoration,
      this.criterionDecoration,
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((editor) => this.paint(editor))),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length > 0 && this.current?.result.files[event.document.uri.toString()]) this.clear();
      }),
    );
  }

  /** Shows a slice (the result of the server's `flowsight.slice`). */
  async show(result: SliceResult): Promise<void> {
    const files: FileNode[] = Object.entries(result.files)
      .map(([uri, ranges]) => ({ kind: "file" as const, uri: vscode.Uri.parse(uri), lines: [...new Set(ranges.map((r) => r.start.line))].sort((a, b) => a - b) }))
      .sort((a, b) => (a.uri.toString() === result.criterion.uri ? -1 : b.uri.toString() === result.criterion.uri ? 1 : a.uri.toString().localeCompare(b.uri.toString())));
    const lineCount = files.reduce((sum, file) => sum + file.lines.length, 0);
    this.current = { result, files, lineCount };
    this.texts = new Map();
    await Promise.all(files.map(async (file) => this.texts.set(file.uri.toString(), await this.read(file.uri))));
    for (const editor of vscode.window.visibleTextEditors) this.paint(editor);
    const summary = `${result.direction} slice: ${lineCount} line${lineCount === 1 ? "" : "s"} in ${files.length} file${files.length === 1 ? "" : "s"}`;
    this.view.description = summary;
    this.view.message = undefined;
    this.view.badge = { value: lineCount, tooltip: summary };
    this.changed.fire(undefined);
    vscode.window.setStatusBarMessage(`flowsight: ${summary}`, 5000);
    // Opens the list without taking focus. The slice may be gone by then (an edit, a new slice):
    // revealing is a convenience, never an error.
    if (files.length > 0) await Promise.resolve(this.view.reveal(files[0], { select: false, focus: false, expand: true })).catch(() => undefined);
  }

  clear(): void {
    this.current = undefined;
    for (const editor of vscode.window.visibleTextEditors) this.paint(editor);
    this.view.description = undefined;
    this.view.badge = undefined;
    this.view.message = "No slice. Put the cursor on a line and run “flowsight: Backward slice from here” (or Forward).";
    this.changed.fire(undefined);
  }

  /** Lines of the slice in a document (for tests and the status). */
  linesOf(uri: vscode.Uri): number[] {
    return this.current?.files.find((file) => file.uri.toString() === uri.toString())?.lines ?? [];
  }

  private paint(editor: vscode.TextEditor): void {
    const uri = editor.document.uri.toString();
    const lines = this.current?.files.find((file) => file.uri.toString() === uri)?.lines ?? [];
    editor.setDecorations(
      this.lineDecoration,
      lines.filter((line) => line < editor.document.lineCount).map((line) => new vscode.Range(line, 0, line, 0)),
    );
    const criterion = this.current?.result.criterion;
    if (criterion && criterion.uri === uri && criterion.line < editor.document.lineCount) {
      const text = `◀ ${this.current?.result.direction} slice criterion · ${this.view.description?.replace(/^\w+ slice: /, "")}`;
      editor.setDecorations(this.criterionDecoration, [
        { range: new vscode.Range(criterion.line, 0, criterion.line, 0), renderOptions: { after: { contentText: text } } },
      ]);
    } else {
      editor.setDecorations(this.criterionDecoration, []);
    }
  }

  private async read(uri: vscode.Uri): Promise<string[]> {
    const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri.toString());
    if (open) return open.getText().split(/\r\n|\r|\n/);
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)).split(/\r\n|\r|\n/);
    } catch {
      return [];
    }
  }

  getChildren(node?: Node): Node[] {
    if (!this.current) return [];
    if (!node) return this.current.files;
    return node.kind === "file" ? node.lines.map((line) => ({ kind: "line" as const, file: node, line })) : [];
  }

  getParent(node: Node): Node | undefined {
    return node.kind === "line" ? node.file : undefined;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "file") {
      const item = new vscode.TreeItem(node.uri, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `slice:${node.uri.toString()}`;
      item.description = `${vscode.workspace.asRelativePath(node.uri, false)} · ${node.lines.length} line${node.lines.length === 1 ? "" : "s"}`;
      item.iconPath = vscode.ThemeIcon.File;
      return item;
    }
    const text = this.texts.get(node.file.uri.toString())?.[node.line]?.trim() ?? "";
    const item = new vscode.TreeItem(`${node.line + 1}: ${text}`, vscode.TreeItemCollapsibleState.None);
    item.id = `slice:${node.file.uri.toString()}:${node.line}`;
    const criterion = this.current?.result.criterion;
    item.iconPath = new vscode.ThemeIcon(
      criterion?.uri === node.file.uri.toString() && criterion.line === node.line ? "target" : "circle-small-filled",
      new vscode.ThemeColor("flowsight.sliceOverviewRuler"),
    );
    item.command = {
      command: "vscode.open",
      title: "Open the line",
      arguments: [node.file.uri, { selection: new vscode.Range(node.line, 0, node.line, 0) }],
    };
    return item;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
