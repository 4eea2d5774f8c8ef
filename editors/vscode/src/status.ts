// The status-bar item: starting → indexing / analysing (the server's work-done progress) →
// "n findings", or an error. Clicking shows the server's status (or the log after an error).
import * as vscode from "vscode";

type State =
  | { kind: "starting" }
  | { kind: "stopped" }
  | { kind: "busy"; title: string; detail?: string }
  | { kind: "ready" }
  | { kind: "error"; message: string };

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("flowsight.status", vscode.StatusBarAlignment.Left, 10);
  private state: State = { kind: "starting" };
  private findings = 0;
  private files = 0;
  private launch = "";
  // Work-done progress tokens still running (indexing and analysis can overlap briefly).
  private readonly busy = new Map<string, { title: string; detail?: string }>();

  constructor() {
    this.item.name = "flowsight";
    this.render();
    this.item.show();
  }

  starting(): void {
    this.busy.clear();
    this.state = { kind: "starting" };
    this.render();
  }

  running(launch: string): void {
    this.launch = launch;
    this.state = { kind: "ready" };
    this.render();
  }

  stopped(): void {
    this.busy.clear();
    this.state = { kind: "stopped" };
    this.render();
  }

  error(message: string): void {
    this.busy.clear();
    this.state = { kind: "error", message };
    this.render();
  }

  progress(token: string, value: { kind: "begin" | "report" | "end"; title?: string; message?: string; percentage?: number }): void {
    if (this.state.kind === "error") return;
    if (value.kind === "end") this.busy.delete(token);
    else {
      const previous = this.busy.get(token);
      const title = (value.title ?? previous?.title ?? "working").replace(/^flowsight: /, "");
      const detail = value.percentage !== undefined ? `${value.percentage}%` : (value.message ?? previous?.detail);
      this.busy.set(token, { title, detail });
    }
    const [current] = [...this.busy.values()].slice(-1);
    this.state = current ? { kind: "busy", ...current } : { kind: "ready" };
    this.render();
  }

  setFindings(findings: number, files: number): void {
    this.findings = findings;
    this.files = files;
    this.render();
  }

  /** The text shown, for tests and the log. */
  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const item = this.item;
    item.backgroundColor = undefined;
    item.command = "flowsight.showStatus";
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    switch (this.state.kind) {
      case "starting":
        item.text = "$(loading~spin) flowsight: starting";
        item.tooltip = "flowsight: starting the language server";
        break;
      case "stopped":
        item.text = "$(circle-slash) flowsight: stopped";
        item.tooltip = "flowsight: the language server is stopped. Click for the log; run “flowsight: Restart server” to start it.";
        item.command = "flowsight.showLogs";
        break;
      case "busy":
        item.text = `$(loading~spin) flowsight: ${this.state.title}${this.state.detail ? ` ${this.state.detail}` : ""}`;
        item.tooltip = `flowsight: ${this.state.title}\n${this.launch}`;
        break;
      case "ready":
        item.text = this.findings === 0 ? "$(pass) flowsight: no findings" : `$(shield) flowsight: ${plural(this.findings, "finding")}`;
        item.tooltip = `flowsight: ${plural(this.findings, "taint finding")} in ${plural(this.files, "file")}\n${this.launch}\nClick for the server's status.`;
        break;
      case "error":
        item.text = "$(error) flowsight: error";
        item.tooltip = `flowsight: ${this.state.message}\nClick for the log.`;
        item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
        item.command = "flowsight.showLogs";
        break;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
